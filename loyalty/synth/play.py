"""Play the offer window forward on synthetic data: guests respond, redeem, and earn points.

The demo issues offers at the end of the synthetic history; this writes what the guests then
do, by the response model of :mod:`loyalty.synth.response`: their visits while the offers are
open (source ``synthetic-response``), the redemptions of the treated guests who came, the
points those visits earn, and the expiry of the offers nobody used. Deterministic, and safe to
run again: a visit already written is not written twice, a redeemed offer stays redeemed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loyalty.errors import OfferError
from loyalty.models import Customer, Explanation, Location, Offer, Prediction, RewardRule, Visit
from loyalty.offers.lifecycle import expire_offers, redeem
from loyalty.offers.points import earn_for_visit
from loyalty.synth.response import simulate_responses

SOURCE = "synthetic-response"
REWARD_VALUE_KEYS = {"percent_off": "percent", "amount_off": "amount", "free_item": "price",
                     "points_multiplier": "multiplier"}


@dataclass
class PlayOutcome:
    offers: int
    visits: int
    redeemed: int
    expired: int
    window_end: datetime | None

    def lines(self) -> list[str]:
        return [f"played the offer window: {self.visits:,} visits by guests holding "
                f"{self.offers:,} offers, {self.redeemed:,} redeemed, {self.expired:,} expired"]


def offers_frame(session: Session) -> pd.DataFrame:
    """The issued offers (given and control) with what the response model needs."""
    rows = session.execute(
        select(Offer.id, Offer.customer_id, Offer.is_control, Offer.issued_at,
               Offer.expires_at, Offer.reward, RewardRule.key, Prediction.churn_probability,
               Explanation.feature_values)
        .join(RewardRule, RewardRule.id == Offer.rule_id)
        .outerjoin(Prediction, Prediction.id == Offer.prediction_id)
        .outerjoin(Explanation, Explanation.id == Offer.explanation_id)
        .where(Offer.status == "issued")
        .order_by(Offer.id)).all()
    records = []
    for oid, cid, control, issued, expires, reward, key, churn, features in rows:
        features = features or {}
        kind = (reward or {}).get("type")
        records.append({
            "offer_id": oid, "customer_id": cid, "is_control": bool(control),
            "issued_at": issued, "expires_at": expires, "churn_probability": churn,
            "monetary_avg": features.get("monetary_avg"),
            "gap_mean_days": features.get("gap_mean_days"),
            "reward_type": kind,
            "reward_value": float((reward or {}).get(REWARD_VALUE_KEYS.get(kind, ""), 0) or 0),
            "addresses_complaint": key.startswith("recovery"),
        })
    return pd.DataFrame.from_records(records, columns=[
        "offer_id", "customer_id", "is_control", "issued_at", "expires_at",
        "churn_probability", "monetary_avg", "gap_mean_days", "reward_type", "reward_value",
        "addresses_complaint"])


def play_offer_window(engine: Engine, *, seed: int = 0) -> PlayOutcome:
    """Write the guests' responses to every issued offer, then expire what is left."""
    with Session(engine) as session:
        frame = offers_frame(session)
    if frame.empty:
        return PlayOutcome(0, 0, 0, 0, None)
    for col in ("issued_at", "expires_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    responses = simulate_responses(frame, seed=seed)
    window_end = frame["expires_at"].max().to_pydatetime()
    visits = redeemed = 0
    with Session(engine, expire_on_commit=False) as session, session.begin():
        holders = select(Offer.customer_id).where(Offer.status == "issued")
        homes = dict(session.execute(select(Customer.id, Customer.home_location_id)
                                     .where(Customer.id.in_(holders))).all())
        fallback = session.scalar(select(Location.id).order_by(Location.id).limit(1))
        existing = set(session.scalars(select(Visit.external_id).where(Visit.source == SOURCE)))
        counter: dict[int, int] = {}
        for r in responses.sort_values(["visited_at", "offer_id"]).itertuples(index=False):
            n = counter[r.offer_id] = counter.get(r.offer_id, 0) + 1
            external = f"offer-{r.offer_id}-{n}"
            if external in existing:
                continue
            visit = Visit(source=SOURCE, external_id=external, customer_id=int(r.customer_id),
                          location_id=homes.get(int(r.customer_id)) or fallback,
                          visited_at=r.visited_at.to_pydatetime(), channel="dine_in",
                          total_amount=round(float(r.total_amount), 2))
            session.add(visit)
            session.flush()
            visits += 1
            if r.redeemed:
                # Redeeming a points offer books the visit's points and the bonus itself. A
                # bill under the reward's minimum spend does not qualify: the guest came anyway.
                try:
                    with session.begin_nested():
                        redeem(session, int(r.offer_id), visit_id=visit.id,
                               now=visit.visited_at)
                    redeemed += 1
                except OfferError:
                    pass
            earn_for_visit(session, visit.id)
        expired = expire_offers(session, now=window_end)
    return PlayOutcome(len(frame), visits, redeemed, expired, window_end)
