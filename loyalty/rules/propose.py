"""Draft reward rules from the data: per segment where its profile calls for one, and a few
programme-wide ones.

Kinds of draft (``kind`` in the key), most specific first by priority:

- ``recovery`` (priority 10), per segment whose reviews complain about service or wait, or
  whose churn drivers are the service / wait / negative-review features: a free dessert for
  guests whose own reasons or aspect scores show the complaint;
- ``winback`` (20), per segment with a mean churn probability of at least ``WINBACK_CHURN``:
  a percentage off for members at high risk (20% where the segment carries more than its share
  of revenue, else 15%);
- ``birthday`` (30) and ``anniversary`` (35), programme-wide, once a year each;
- ``tier-nudge`` (40), programme-wide: double points for guests about one typical visit short
  of the next tier;
- ``favourite`` (50), per loyal segment (churn below the population's): the guest's favourite
  in the segment's favourite category, on the house, once a quarter;
- ``off-peak`` (60), programme-wide: 10% for guests who come at the busiest day part, valid
  at the quietest (the message says when).

Expected value (per offer cycle, summed over the guests the rule matches today, read from the
same contexts the rule engine will evaluate), with the assumptions in :class:`Assumptions`:

    value(guest) = p_churn × save_rate × spend_H + lift_visits × spend_visit
                   − redemption_rate × cost

where ``spend_H`` is the guest's usual spend over the horizon (spend per visit × visits per 90
days scaled to H, at least one visit), and ``cost`` is the reward's expected cost for that
guest. The assumptions are deliberately modest; the uplift report measures the real effect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tqdm.auto import tqdm

from loyalty.config import Settings
from loyalty.errors import NotFoundError
from loyalty.models import Prediction, RewardRule, Segment, Visit
from loyalty.offers.context import DAY_PARTS, CustomerContext, build_contexts
from loyalty.offers.issue import load_menu
from loyalty.rules.conditions import evaluate
from loyalty.rules.rewards import MenuEntry, resolve_reward
from loyalty.rules.store import save_rule

# Proposed rules hold back a fifth of their guests: twice the default, because a programme
# that is new has its effects to prove, and a tenth of a segment is too few to prove them.
CONTROL_SHARE = 0.2
WINBACK_CHURN = 0.35
HIGH_RISK = 0.5
RECOVERY_FEATURES = {"aspect_service", "aspect_wait", "negative_reviews", "has_negative_review",
                     "days_since_negative", "sentiment_latest", "sentiment_mean"}
DAY_PART_WORDS = {"en": {"breakfast": "breakfast", "lunch": "lunch", "dinner": "dinner",
                         "late": "late night"},
                  "es": {"breakfast": "el desayuno", "lunch": "el almuerzo", "dinner": "la cena",
                         "late": "la trasnoche"}}


@dataclass(frozen=True)
class Assumptions:
    save_rate: float = 0.15        # share of would-be churners an offer keeps for one horizon
    redemption_rate: float = 0.35  # share of guests given an offer who redeem it
    lift_visits: float = 0.10      # extra visits per guest given an offer


@dataclass
class Proposal:
    doc: dict[str, Any]
    matched: int                 # guests the rule matches today
    expected_value: float        # per offer cycle, all matched guests
    rule_id: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.doc["key"]


def propose(engine: Engine, settings: Settings, *, now: datetime,
            assumptions: Assumptions = Assumptions(), save: bool = True,
            progress: bool = False) -> list[Proposal]:
    """Draft rules for the current segments and predictions; saved as drafts when ``save``.

    Re-running updates the drafts with the same keys (active and retired rules are left alone),
    so proposing twice creates nothing new.
    """
    with Session(engine, expire_on_commit=False) as session:
        segments = list(session.scalars(select(Segment).where(Segment.status == "active")
                                        .order_by(Segment.key)))
        ids = list(session.scalars(select(Prediction.customer_id).distinct()))
        menu = load_menu(session)
        quiet, busy = _quiet_and_busy_day_parts(session, settings)
    if not ids:
        raise NotFoundError("no predictions: run `loyalty predict` first")
    contexts: dict[int, CustomerContext] = {}
    for start in tqdm(range(0, len(ids), 1000), desc="contexts", disable=not progress):
        with Session(engine) as session:
            contexts.update(build_contexts(session, ids[start:start + 1000], now=now,
                                           settings=settings))
    population_churn = _mean([c.values.get("churn_probability") for c in contexts.values()])
    typical_visit = _median([c.values.get("monetary_avg") for c in contexts.values()])

    docs: list[dict[str, Any]] = []
    for seg in segments:
        docs += _segment_drafts(seg, population_churn, menu)
    docs += _programme_drafts(typical_visit, quiet, busy)

    proposals = []
    for doc in docs:
        doc.setdefault("control_share", CONTROL_SHARE)
        segment_id = next((s.id for s in segments if s.key == doc.get("segment")), None)
        members = [c for c in contexts.values()
                   if (segment_id is None or c.segment_id == segment_id)
                   and evaluate(doc["conditions"], c.values)]
        value = sum(_guest_value(doc["reward"], c, menu, settings, assumptions)
                    for c in members)
        doc["expected_value"] = round(value, 2)
        doc["rationale"] = (f"{doc['rationale']} Matches {len(members):,} guests today; "
                            f"expected value {value:,.2f} per offer cycle (save rate "
                            f"{assumptions.save_rate:.0%}, redemption "
                            f"{assumptions.redemption_rate:.0%}, "
                            f"{assumptions.lift_visits:.2f} extra visits per offer).")
        proposals.append(Proposal(doc, len(members), round(value, 2)))
    if save:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            for p in proposals:
                existing = session.scalars(select(RewardRule).where(
                    RewardRule.key == p.key)).first()
                if existing is not None and existing.status != "draft":
                    p.rule_id = existing.id
                    p.notes.append(f"already {existing.status}; left as it is")
                    continue
                p.rule_id = save_rule(session, p.doc, menu=menu).id
    return proposals


def _segment_drafts(seg: Segment, population_churn: float,
                    menu: Mapping[str, MenuEntry]) -> list[dict[str, Any]]:
    profile = seg.profile or {}
    churn = seg.mean_churn_probability or 0.0
    complaints = list(profile.get("complaints", []))
    drivers = [d.get("feature") for d in profile.get("drivers", [])
               if (d.get("difference") or 0) > 0]
    short = seg.key.removeprefix("seg-")
    out = []
    if {"service", "wait"} & set(complaints) or RECOVERY_FEATURES & set(drivers):
        about = next((a for a in complaints if a in ("service", "wait")), "service")
        out.append({
            "key": f"recovery-{short}", "segment": seg.key, "priority": 10,
            "name": f"Service recovery: {seg.name}",
            "description": f"Apologise for the {about} with a dessert on the house.",
            "rationale": f"{seg.name}: reviews complain about {about}"
                         + (f"; churn is driven up by {', '.join(drivers)}." if drivers
                            else "."),
            "conditions": {"all": [
                {"field": "churn_probability", "op": ">=", "value": 0.3},
                {"any": [{"field": "reason_codes", "op": "contains", "value": "NEG_SERVICE"},
                         {"field": "reason_codes", "op": "contains", "value": "NEG_WAIT"},
                         {"field": "aspect_service", "op": "<", "value": -0.2},
                         {"field": "aspect_wait", "op": "<", "value": -0.2}]}]},
            "reward": _dessert(menu),
            "message": "{first_name|Hello}, we are sorry your last visit fell short. "
                       "Next time, enjoy {reward} on us, until {expires}.",
            "messages": {"es": "{first_name|Hola}, lamentamos que tu última visita no haya "
                               "estado a la altura. Te invitamos {reward} en tu próxima "
                               "visita, hasta el {expires}."},
            "per_customer_limit": 1, "per_customer_window_days": 90,
        })
    if churn >= WINBACK_CHURN:
        valuable = (seg.revenue_share or 0) > (profile.get("customer_share") or 1)
        percent = 20 if valuable else 15
        out.append({
            "key": f"winback-{short}", "segment": seg.key, "priority": 20,
            "name": f"Win-back: {seg.name}",
            "description": f"{percent}% off the next visit for members at high churn risk.",
            "rationale": f"{seg.name}: mean churn probability {churn:.0%} against "
                         f"{population_churn:.0%} overall"
                         + (f"; {seg.revenue_share:.0%} of revenue." if valuable else "."),
            "conditions": {"field": "churn_probability", "op": ">=", "value": HIGH_RISK},
            "reward": {"type": "percent_off", "percent": percent, "max_amount": 60},
            "message": "{first_name|Hello}, we miss you! Come back for {reward}, "
                       "until {expires}.",
            "messages": {"es": "¡{first_name|Hola}, te extrañamos! Vuelve y disfruta "
                               "{reward}, hasta el {expires}."},
            "per_customer_limit": 1, "per_customer_window_days": 60,
        })
    if churn < population_churn and profile.get("favourite_dishes"):
        top = next((menu[d].category for d in profile["favourite_dishes"] if d in menu), None)
        if top is not None:
            out.append({
                "key": f"favourite-{short}", "segment": seg.key, "priority": 50,
                "name": f"Favourite {top}: {seg.name}",
                "description": f"The guest's favourite {top}, on the house, once a quarter.",
                "rationale": f"{seg.name}: churn {churn:.0%} below the {population_churn:.0%} "
                             f"overall; favourite dishes "
                             f"{', '.join(profile['favourite_dishes'])}.",
                "conditions": {"field": "favourite_dish", "op": "exists", "value": True},
                "reward": {"type": "free_item", "favourite_in_category": top},
                "message": "Thank you for coming back, {first_name|friend}: {reward} is on us "
                           "next time, until {expires}.",
                "messages": {"es": "Gracias por volver, {first_name|amigo}: te invitamos "
                                   "{reward} en tu próxima visita, hasta el {expires}."},
                "per_customer_limit": 1, "per_customer_window_days": 90,
            })
    return out


def _programme_drafts(typical_visit: float, quiet: str, busy: str) -> list[dict[str, Any]]:
    near = max(round(typical_visit * 1.5), 1)
    return [
        {"key": "birthday", "priority": 30, "name": "Birthday dessert",
         "description": "A dessert on the house in the two weeks before a birthday.",
         "rationale": "Birthdays bring groups; a small gift is remembered.",
         "conditions": {"field": "days_to_birthday", "op": "between", "value": [0, 14]},
         "reward": {"type": "free_item", "favourite_in_category": "dessert"},
         "message": "Happy birthday, {first_name|friend}! Celebrate with us: {reward} is on "
                    "us until {expires}.",
         "messages": {"es": "¡Feliz cumpleaños, {first_name|amigo}! Celébralo con nosotros: "
                            "te invitamos {reward} hasta el {expires}."},
         "per_customer_limit": 1, "per_customer_window_days": 300, "offer_valid_days": 21},
        {"key": "anniversary", "priority": 35, "name": "Membership anniversary",
         "description": "A fixed amount off in the week of the membership anniversary.",
         "rationale": "Guests of at least a year: recognition at the anniversary.",
         "conditions": {"all": [
             {"field": "days_to_anniversary", "op": "between", "value": [0, 7]},
             {"field": "tenure_days", "op": ">=", "value": 330}]},
         "reward": {"type": "amount_off", "amount": 15, "min_spend": 60},
         "message": "{first_name|Hello}, another year with us! Enjoy {reward}, until "
                    "{expires}.",
         "messages": {"es": "¡{first_name|Hola}, un año más con nosotros! Disfruta {reward}, "
                            "hasta el {expires}."},
         "per_customer_limit": 1, "per_customer_window_days": 300},
        {"key": "tier-nudge", "priority": 40, "name": "Next-tier nudge",
         "description": "Double points for guests about one visit short of the next tier.",
         "rationale": f"About one typical visit (up to {near:,} in spend) short of the next "
                      "tier: double points make the step.",
         "conditions": {"all": [
             {"field": "spend_to_next_tier", "op": "<=", "value": near},
             {"field": "churn_probability", "op": "<", "value": 0.7}]},
         "reward": {"type": "points_multiplier", "multiplier": 2, "visits": 1},
         "message": "{first_name|Hello}, you are close to {next_tier|the next tier}: enjoy "
                    "{reward} until {expires}.",
         "messages": {"es": "{first_name|Hola}, estás cerca del nivel {next_tier|siguiente}: "
                            "disfruta {reward} hasta el {expires}."},
         "per_customer_limit": 1, "per_customer_window_days": 60},
        {"key": "off-peak", "priority": 60, "name": f"Off-peak {quiet}",
         "description": f"10% off at {quiet}, the quietest day part, for {busy} regulars.",
         "rationale": f"{busy.capitalize()} is the busiest day part and {quiet} the quietest: "
                      "moving some visits fills empty tables.",
         "conditions": {"all": [
             {"field": "usual_day_part", "op": "==", "value": busy},
             {"field": "frequency_90d", "op": ">=", "value": 2}]},
         "reward": {"type": "percent_off", "percent": 10, "max_amount": 30},
         "message": "{first_name|Hello}, try us at " + DAY_PART_WORDS["en"][quiet]
                    + ": {reward} until {expires}.",
         "messages": {"es": "{first_name|Hola}, visítanos en " + DAY_PART_WORDS["es"][quiet]
                            + ": {reward} hasta el {expires}."},
         "per_customer_limit": 1, "per_customer_window_days": 60},
    ]


def _dessert(menu: Mapping[str, MenuEntry]) -> dict[str, Any]:
    if any(entry.category == "dessert" for entry in menu.values()):
        return {"type": "free_item", "favourite_in_category": "dessert"}
    return {"type": "percent_off", "percent": 15, "max_amount": 30}


def _guest_value(reward: Mapping[str, Any], ctx: CustomerContext,
                 menu: Mapping[str, MenuEntry], settings: Settings, a: Assumptions) -> float:
    cost = resolve_reward(reward, ctx.reward_inputs, menu, point_value=settings.point_value,
                          tier_thresholds=settings.tier_thresholds).expected_cost
    visit = float(ctx.values.get("monetary_avg") or 0.0)
    per_90 = float(ctx.values.get("frequency_90d") or 0.0)
    spend_h = visit * max(per_90 * settings.horizon_days / 90.0, 1.0)
    churn = float(ctx.values.get("churn_probability") or 0.0)
    return churn * a.save_rate * spend_h + a.lift_visits * visit - a.redemption_rate * cost


def _quiet_and_busy_day_parts(session: Session, settings: Settings) -> tuple[str, str]:
    """The meals (breakfast, lunch, dinner: late night is not a meal to move guests to) with
    the fewest and the most visits, local time, over the latest 20,000 visits (the current
    pattern, and the same answer on every run)."""
    counts = {p: 0 for p in DAY_PARTS}
    rows = session.execute(select(Visit.visited_at).where(Visit.is_return.is_(False))
                           .order_by(Visit.id.desc()).limit(20_000))
    tz = settings.tz
    for (moment,) in rows:
        hour = moment.astimezone(tz).hour
        part = ("breakfast" if 5 <= hour < 11 else "lunch" if 11 <= hour < 16
                else "dinner" if 16 <= hour < 22 else "late")
        counts[part] += 1
    meals = {p: n for p, n in counts.items() if p != "late"}
    busy = max(meals, key=meals.get)
    quiet = min(meals, key=meals.get)
    return quiet, busy


def _mean(values: Sequence[Any]) -> float:
    known = [float(v) for v in values if v is not None]
    return sum(known) / len(known) if known else 0.0


def _median(values: Sequence[Any]) -> float:
    known = sorted(float(v) for v in values if v is not None)
    return known[len(known) // 2] if known else 0.0
