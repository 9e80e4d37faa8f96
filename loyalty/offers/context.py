"""What the rule engine knows about a guest at the moment an offer is considered.

One :class:`CustomerContext` per guest, built with a handful of set-based queries for a whole
batch of guests (an offer run over 100,000 guests must not cost 100,000 round trips per table):

- ``values``: the fields a rule's conditions test (``loyalty.rules.vocabulary.FIELDS``): the
  features the latest prediction was explained with, its churn probability and tier, the risk
  reason codes, the segment, the card's tier, and facts about *now* (days since the last visit,
  days to the birthday and to the sign-up anniversary, month, weekday);
- ``slots``: what a message template may say (first name, favourite dish, ...);
- ``reward_inputs``: what pricing a reward needs (typical spend, favourites by category, tier).

Dates are local to the restaurant group (``Settings.timezone``): a birthday is a local day.
Spend to the next tier follows the features' convention (``loyalty.features.tabular``): a year
of spend against the horizon thresholds times six.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from loyalty.config import Settings
from loyalty.features.tabular import YEAR_TIER_SCALE
from loyalty.models import (
    TIERS,
    Customer,
    Explanation,
    Location,
    LoyaltyAccount,
    MenuItem,
    OrderItem,
    Prediction,
    Segment,
    SegmentMembership,
    Visit,
)
from loyalty.models.base import UTCDateTime

DAY_PARTS = ("breakfast", "lunch", "dinner", "late")
DAY_PART_WORDS = {
    "en": {"breakfast": "breakfast", "lunch": "lunch", "dinner": "dinner", "late": "late night"},
    "es": {"breakfast": "desayuno", "lunch": "almuerzo", "dinner": "cena", "late": "trasnoche"},
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIER_WORDS = {"bronze": "Bronze", "silver": "Silver", "gold": "Gold", "platinum": "Platinum"}


@dataclass
class CustomerContext:
    customer_id: int
    language: str
    values: dict[str, Any]
    slots: dict[str, Any]
    reward_inputs: dict[str, Any]
    reasons: dict[str, str] = field(default_factory=dict)  # language -> one-line reason
    prediction_id: int | None = None
    explanation_id: int | None = None
    segment_id: int | None = None

    @property
    def predicted(self) -> bool:
        return self.prediction_id is not None


def build_contexts(session: Session, customer_ids: Sequence[int], *, now: datetime,
                   settings: Settings) -> dict[int, CustomerContext]:
    """Contexts for the given guests (unknown ids are left out), as of ``now`` (aware)."""
    ids = list(dict.fromkeys(int(c) for c in customer_ids))
    if not ids:
        return {}
    people = {row.Customer.id: row for row in session.execute(
        select(Customer, LoyaltyAccount, Location.name.label("restaurant"))
        .outerjoin(LoyaltyAccount, LoyaltyAccount.customer_id == Customer.id)
        .outerjoin(Location, Location.id == Customer.home_location_id)
        .where(Customer.id.in_(ids)))}
    predictions = _latest_predictions(session, ids)
    segments = {row.customer_id: row for row in session.execute(
        select(SegmentMembership.customer_id, Segment.id, Segment.key, Segment.name)
        .join(Segment, Segment.id == SegmentMembership.segment_id)
        .where(SegmentMembership.customer_id.in_(ids), Segment.status == "active"))}
    visits = _visit_facts(session, ids, now)
    favourites = _favourites(session, ids, now)

    local_today = now.astimezone(settings.tz).date()
    out: dict[int, CustomerContext] = {}
    for cid in ids:
        person = people.get(cid)
        if person is None:
            continue
        customer, account = person.Customer, person.LoyaltyAccount
        pred, churn_expl = predictions.get(cid, (None, None))
        features = dict(churn_expl.feature_values) if churn_expl is not None else {}
        features.pop("visit_history", None)
        last_visit, spend_year = visits.get(cid, (None, 0.0))
        favs = favourites.get(cid, {})
        by_category = {cat: dish for cat, (dish, _) in favs.items()}
        favourite = max(favs.values(), key=lambda dq: dq[1], default=(None, 0))[0]
        favourite_category = next((c for c, (d, _) in favs.items() if d == favourite), None)
        tier = account.tier if account is not None else "bronze"
        next_tier, to_next = _next_tier(spend_year, settings.tier_thresholds)
        seg = segments.get(cid)
        day_part = _usual_day_part(features)
        codes = list((churn_expl.reason_codes or {}).get("codes", [])) if churn_expl else []

        values: dict[str, Any] = {
            **features,
            "churn_probability": pred.churn_probability if pred is not None else None,
            "predicted_tier": pred.tier if pred is not None else None,
            "tier": tier,
            "spend_to_next_tier": to_next,
            "reason_codes": codes,
            "segment": seg.key if seg is not None else None,
            "segment_name": seg.name if seg is not None else None,
            "days_since_last_visit": (None if last_visit is None
                                      else (now - last_visit).total_seconds() / 86_400),
            "birthday_month": customer.birthday.month if customer.birthday else None,
            "days_to_birthday": _days_to_anniversary(customer.birthday, local_today),
            "days_to_anniversary": _days_to_anniversary(customer.signup_date, local_today),
            "month": local_today.month,
            "weekday": WEEKDAYS[local_today.weekday()],
            "usual_day_part": day_part,
            "favourite_dish": favourite,
            "favourite_category": favourite_category,
            "language": customer.language,
            "marketing_opt_in": bool(customer.marketing_opt_in),
        }
        lang = customer.language if customer.language in DAY_PART_WORDS else "en"
        slots = {
            "first_name": customer.first_name,
            "favourite_dish": favourite,
            "favourite_category": favourite_category,
            "usual_day_part": DAY_PART_WORDS[lang].get(day_part) if day_part else None,
            "tier": TIER_WORDS.get(tier, tier),
            "next_tier": TIER_WORDS.get(next_tier) if next_tier else None,
            "restaurant": person.restaurant,
            "points": account.points if account is not None else None,
        }
        reward_inputs = {
            "monetary_avg": features.get("monetary_avg"),
            "frequency_90d": features.get("frequency_90d"),
            "tier": tier,
            "favourite_dish": favourite,
            "favourites_by_category": by_category,
        }
        reasons = {}
        if churn_expl is not None:
            for language in ("en", "es"):
                line = (churn_expl.reason_codes or {}).get(language, {}).get("line")
                if line:
                    reasons[language] = line
        out[cid] = CustomerContext(
            customer_id=cid, language=lang, values=values, slots=slots,
            reward_inputs=reward_inputs, reasons=reasons,
            prediction_id=pred.id if pred is not None else None,
            explanation_id=churn_expl.id if churn_expl is not None else None,
            segment_id=seg.id if seg is not None else None)
    return out


def _latest_predictions(session: Session, ids: Iterable[int]
                        ) -> dict[int, tuple[Prediction, Explanation | None]]:
    """Each guest's latest prediction (latest as-of, then latest written) and its churn
    explanation."""
    ranked = (select(Prediction.id, func.row_number().over(
        partition_by=Prediction.customer_id,
        order_by=(Prediction.as_of.desc(), Prediction.id.desc())).label("rank"))
        .where(Prediction.customer_id.in_(list(ids))).subquery())
    rows = session.execute(
        select(Prediction, Explanation)
        .join(ranked, and_(ranked.c.id == Prediction.id, ranked.c.rank == 1))
        .outerjoin(Explanation, and_(Explanation.prediction_id == Prediction.id,
                                     Explanation.target == "churn")))
    return {pred.customer_id: (pred, expl) for pred, expl in rows}


def _visit_facts(session: Session, ids: list[int], now: datetime
                 ) -> dict[int, tuple[datetime | None, float]]:
    """Last visit (not a return) up to now, and net spend in the 365 days up to now."""
    year_ago = now - timedelta(days=365)
    rows = session.execute(
        select(Visit.customer_id,
               func.max(Visit.visited_at).filter(Visit.is_return.is_(False)),
               func.coalesce(func.sum(Visit.total_amount).filter(Visit.visited_at > year_ago),
                             0.0))
        .where(Visit.customer_id.in_(ids), Visit.visited_at <= now)
        .group_by(Visit.customer_id))
    decode = UTCDateTime().process_result_value
    out = {}
    for cid, last, spend in rows:
        # An aggregate loses the column type on SQLite: give the timestamp its zone back.
        if isinstance(last, str):
            last = datetime.fromisoformat(last)
        out[cid] = (decode(last, None) if last is not None else None, float(spend or 0.0))
    return out


def _favourites(session: Session, ids: list[int], now: datetime
                ) -> dict[int, dict[str, tuple[str, float]]]:
    """Per guest and menu category: the most-ordered dish and its quantity (ties: by name)."""
    rows = session.execute(
        select(Visit.customer_id, MenuItem.category, MenuItem.name,
               func.sum(OrderItem.quantity).label("qty"))
        .join(OrderItem, OrderItem.visit_id == Visit.id)
        .join(MenuItem, MenuItem.id == OrderItem.menu_item_id)
        .where(Visit.customer_id.in_(ids), Visit.is_return.is_(False), Visit.visited_at <= now)
        .group_by(Visit.customer_id, MenuItem.category, MenuItem.name))
    best: dict[int, dict[str, tuple[str, float]]] = defaultdict(dict)
    for cid, category, name, qty in rows:
        qty = float(qty or 0)
        if qty <= 0:
            continue
        current = best[cid].get(category)
        if current is None or (qty, _neg(name)) > (current[1], _neg(current[0])):
            best[cid][category] = (name, qty)
    return best


def _neg(name: str) -> tuple[int, ...]:
    # Ties go to the alphabetically first dish: compare negated code points.
    return tuple(-ord(ch) for ch in name)


def _next_tier(spend_year: float, thresholds: Sequence[float]) -> tuple[str | None, float | None]:
    yearly = [t * YEAR_TIER_SCALE for t in thresholds]
    rank = sum(spend_year >= t for t in yearly)
    if rank >= len(yearly):
        return None, None
    return TIERS[rank + 1], round(yearly[rank] - max(spend_year, 0.0), 2)


def _usual_day_part(features: dict[str, Any]) -> str | None:
    shares = [(features.get(f"share_{p}"), p) for p in DAY_PARTS]
    known = [(s, p) for s, p in shares if s is not None]
    if not known or max(s for s, _ in known) <= 0:
        return None
    return max(known, key=lambda sp: sp[0])[1]


def _days_to_anniversary(day: date | None, today: date) -> int | None:
    """Days from today to the next anniversary of ``day`` (0 = today); 29 Feb counts as 28."""
    if day is None:
        return None
    for year in (today.year, today.year + 1):
        try:
            candidate = day.replace(year=year)
        except ValueError:
            candidate = date(year, 2, 28)
        if candidate >= today:
            return (candidate - today).days
    return None
