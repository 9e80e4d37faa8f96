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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, select
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
    # False until the favourite dishes are read (see ``add_favourites``): they are the one
    # costly part of a context, and most offer decisions never look at them.
    favourites_known: bool = True

    @property
    def predicted(self) -> bool:
        return self.prediction_id is not None


FAVOURITE_FIELDS = frozenset({"favourite_dish", "favourite_category"})


def build_contexts(session: Session, customer_ids: Sequence[int], *, now: datetime,
                   settings: Settings, favourites: bool = True) -> dict[int, CustomerContext]:
    """Contexts for the given guests (unknown ids are left out), as of ``now`` (aware).

    ``favourites=False`` leaves the favourite dishes unread (None) until ``add_favourites``.
    """
    ids = list(dict.fromkeys(int(c) for c in customer_ids))
    if not ids:
        return {}
    params = {"ids": ids, "now": now, "year_ago": now - timedelta(days=365)}
    rows = {row.Customer.id: row for row in session.execute(_CONTEXT, params)}
    dishes = _favourites(session, ids, now) if favourites else {}

    local_today = now.astimezone(settings.tz).date()
    out: dict[int, CustomerContext] = {}
    for cid in ids:
        row = rows.get(cid)
        if row is None:
            continue
        customer, account = row.Customer, row.LoyaltyAccount
        predicted = row.prediction_id is not None
        explained = row.explanation_id is not None
        features = dict(row.feature_values or {}) if explained else {}
        reason_codes = (row.reason_codes or {}) if explained else {}
        features.pop("visit_history", None)
        last_visit, spend_year = _last_visit(row.last_visit), float(row.spend_year or 0.0)
        tier = account.tier if account is not None else "bronze"
        next_tier, to_next = _next_tier(spend_year, settings.tier_thresholds)
        day_part = _usual_day_part(features)
        codes = list(reason_codes.get("codes", []))

        values: dict[str, Any] = {
            **features,
            "churn_probability": row.churn_probability if predicted else None,
            "predicted_tier": row.predicted_tier if predicted else None,
            "tier": tier,
            "spend_to_next_tier": to_next,
            "reason_codes": codes,
            "segment": row.segment_key,
            "segment_name": row.segment_name,
            "days_since_last_visit": (None if last_visit is None
                                      else (now - last_visit).total_seconds() / 86_400),
            "birthday_month": customer.birthday.month if customer.birthday else None,
            "days_to_birthday": _days_to_anniversary(customer.birthday, local_today),
            "days_to_anniversary": _days_to_anniversary(customer.signup_date, local_today),
            "month": local_today.month,
            "weekday": WEEKDAYS[local_today.weekday()],
            "usual_day_part": day_part,
            "language": customer.language,
            "marketing_opt_in": bool(customer.marketing_opt_in),
        }
        lang = customer.language if customer.language in DAY_PART_WORDS else "en"
        slots = {
            "first_name": customer.first_name,
            "usual_day_part": DAY_PART_WORDS[lang].get(day_part) if day_part else None,
            "tier": TIER_WORDS.get(tier, tier),
            "next_tier": TIER_WORDS.get(next_tier) if next_tier else None,
            "restaurant": row.restaurant,
            "points": account.points if account is not None else None,
        }
        reward_inputs = {
            "monetary_avg": features.get("monetary_avg"),
            "frequency_90d": features.get("frequency_90d"),
            "tier": tier,
        }
        reasons = {language: line for language in ("en", "es")
                   if (line := (reason_codes.get(language) or {}).get("line"))}
        ctx = out[cid] = CustomerContext(
            customer_id=cid, language=lang, values=values, slots=slots,
            reward_inputs=reward_inputs, reasons=reasons,
            prediction_id=row.prediction_id, explanation_id=row.explanation_id,
            segment_id=row.segment_id)
        _set_favourites(ctx, dishes.get(cid, {}), known=favourites)
    return out


def add_favourites(session: Session, contexts: Sequence[CustomerContext], *,
                   now: datetime) -> None:
    """Read the favourite dishes of the contexts built without them."""
    missing = [ctx for ctx in contexts if not ctx.favourites_known]
    if missing:
        dishes = _favourites(session, [ctx.customer_id for ctx in missing], now)
        for ctx in missing:
            _set_favourites(ctx, dishes.get(ctx.customer_id, {}), known=True)


def _set_favourites(ctx: CustomerContext, favs: dict[str, tuple[str, float]], *,
                    known: bool) -> None:
    favourite = max(favs.values(), key=lambda dq: dq[1], default=(None, 0))[0]
    category = next((c for c, (d, _) in favs.items() if d == favourite), None)
    ctx.values.update(favourite_dish=favourite, favourite_category=category)
    ctx.slots.update(favourite_dish=favourite, favourite_category=category)
    ctx.reward_inputs.update(favourite_dish=favourite, favourites_by_category={
        cat: dish for cat, (dish, _) in favs.items()})
    ctx.favourites_known = known


# The statements are built once: building a select costs more than running it for one guest,
# and the staff offer lookup runs this for one guest per request. ``ids`` expands to the list.
_IDS = bindparam("ids", expanding=True)
_NOW = bindparam("now", type_=UTCDateTime())

_RANKED = (select(Prediction.id, func.row_number().over(
    partition_by=Prediction.customer_id,
    order_by=(Prediction.as_of.desc(), Prediction.id.desc())).label("rank"))
    .where(Prediction.customer_id.in_(_IDS)).subquery())

# Each guest's latest prediction (latest as-of, then latest written) and of its churn
# explanation only the columns a context reads: the row also holds every SHAP value.
_LATEST = (
    select(Prediction.id, Prediction.customer_id, Prediction.churn_probability,
           Prediction.tier, Explanation.id.label("explanation_id"), Explanation.feature_values,
           Explanation.reason_codes)
    .join(_RANKED, and_(_RANKED.c.id == Prediction.id, _RANKED.c.rank == 1))
    .outerjoin(Explanation, and_(Explanation.prediction_id == Prediction.id,
                                 Explanation.target == "churn"))
    .subquery("latest"))

_SEGMENT = (select(SegmentMembership.customer_id, Segment.id, Segment.key, Segment.name)
            .join(Segment, Segment.id == SegmentMembership.segment_id)
            .where(SegmentMembership.customer_id.in_(_IDS), Segment.status == "active")
            .subquery("segment"))

# The last visit (not a return) up to now, and net spend in the 365 days up to now.
_VISITS = (
    select(Visit.customer_id,
           func.max(Visit.visited_at).filter(Visit.is_return.is_(False)).label("last_visit"),
           func.coalesce(func.sum(Visit.total_amount)
                         .filter(Visit.visited_at > bindparam("year_ago", type_=UTCDateTime())),
                         0.0).label("spend_year"))
    .where(Visit.customer_id.in_(_IDS), Visit.visited_at <= _NOW)
    .group_by(Visit.customer_id)
    .subquery("visits"))

# Everything but the favourite dishes in one statement: one round trip per batch of guests.
_CONTEXT = (
    select(Customer, LoyaltyAccount, Location.name.label("restaurant"),
           _LATEST.c.id.label("prediction_id"), _LATEST.c.churn_probability,
           _LATEST.c.tier.label("predicted_tier"), _LATEST.c.explanation_id,
           _LATEST.c.feature_values, _LATEST.c.reason_codes,
           _SEGMENT.c.id.label("segment_id"), _SEGMENT.c.key.label("segment_key"),
           _SEGMENT.c.name.label("segment_name"),
           _VISITS.c.last_visit, _VISITS.c.spend_year)
    .outerjoin(LoyaltyAccount, LoyaltyAccount.customer_id == Customer.id)
    .outerjoin(Location, Location.id == Customer.home_location_id)
    .outerjoin(_LATEST, _LATEST.c.customer_id == Customer.id)
    .outerjoin(_SEGMENT, _SEGMENT.c.customer_id == Customer.id)
    .outerjoin(_VISITS, _VISITS.c.customer_id == Customer.id)
    .where(Customer.id.in_(_IDS)))

_FAVOURITES = (
    select(Visit.customer_id, MenuItem.category, MenuItem.name,
           func.sum(OrderItem.quantity).label("qty"))
    .join(OrderItem, OrderItem.visit_id == Visit.id)
    .join(MenuItem, MenuItem.id == OrderItem.menu_item_id)
    .where(Visit.customer_id.in_(_IDS), Visit.is_return.is_(False), Visit.visited_at <= _NOW)
    .group_by(Visit.customer_id, MenuItem.category, MenuItem.name))


_DECODE = UTCDateTime().process_result_value


def _last_visit(value: Any) -> datetime | None:
    # An aggregate loses the column type on SQLite: give the timestamp its zone back.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return _DECODE(value, None) if value is not None else None


def _favourites(session: Session, ids: list[int], now: datetime
                ) -> dict[int, dict[str, tuple[str, float]]]:
    """Per guest and menu category: the most-ordered dish and its quantity (ties: by name)."""
    best: dict[int, dict[str, tuple[str, float]]] = defaultdict(dict)
    for cid, category, name, qty in session.execute(_FAVOURITES, {"ids": ids, "now": now}):
        qty = float(qty or 0)
        if qty <= 0:
            continue
        current = best[cid].get(category)
        # Ties go to the alphabetically first dish.
        if current is None or qty > current[1] or (qty == current[1] and name < current[0]):
            best[cid][category] = (name, qty)
    return best


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
