"""Reward documents of a rule: validation, and resolution for one customer with its cost.

Types (JSON-compatible dicts):

- ``{"type": "percent_off", "percent": 1..100, "max_amount": > 0 (optional)}``
- ``{"type": "amount_off", "amount": > 0, "min_spend": >= 0 (optional)}``
- ``{"type": "free_item", "item": "<dish>"}`` or ``{"type": "free_item",
  "favourite_in_category": "<category>", "fallback_item": "<dish>" (optional)}``
- ``{"type": "points_multiplier", "multiplier": 1 < m <= 10, "visits": 1..5 (default 1)}``
- ``{"type": "tier_upgrade", "to": "next" | "silver" | "gold" | "platinum",
  "days": 1..365 (default 90)}``

Cost model (``ResolvedReward.expected_cost``, in currency units, rounded to cents). "Typical
spend" is the customer's ``monetary_avg`` (missing or negative counts as 0).

- percent_off: percent / 100 x typical spend, capped at ``max_amount``.
- amount_off: the amount (``min_spend`` is a condition of use, not a cost).
- free_item: the dish's menu price, a conservative cost (the restaurant's food cost is lower).
  ``favourite_in_category`` gives the customer's most-ordered dish of that category when it is
  on the menu, else ``fallback_item`` when it is on the menu, else the cheapest dish of the
  category on the menu (ties by name); a category without any dish on the menu raises
  ``RuleValidationError`` at ``reward.favourite_in_category``.
- points_multiplier: (m - 1) x typical spend x visits x ``point_value``: points are earned one per
  currency unit spent and ``point_value`` is what one point is worth when redeemed.
- tier_upgrade: ``TIER_BENEFIT_RATE`` (5 %) x tier steps gained x typical spend x expected
  visits during ``days`` (``frequency_90d`` x days / 90, at least 1). A customer already at or
  above the target tier (e.g. "next" for a platinum customer) gains nothing: cost 0 and the
  description confirms the current status, so an offer run never fails on them. A missing
  current tier counts as bronze.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from loyalty.errors import RuleValidationError
from loyalty.models import TIERS
from loyalty.rules.conditions import is_number, quote, suggestion, type_name

TIER_BENEFIT_RATE = 0.05
DEFAULT_UPGRADE_DAYS = 90
REWARD_TYPES: tuple[str, ...] = (
    "percent_off", "amount_off", "free_item", "points_multiplier", "tier_upgrade",
)
_KEYS: dict[str, tuple[str, ...]] = {
    "percent_off": ("type", "percent", "max_amount"),
    "amount_off": ("type", "amount", "min_spend"),
    "free_item": ("type", "item", "favourite_in_category", "fallback_item"),
    "points_multiplier": ("type", "multiplier", "visits"),
    "tier_upgrade": ("type", "to", "days"),
}

Issues = list[tuple[str, str]]


@dataclass(frozen=True)
class MenuEntry:
    """One dish on the menu (keyed by its name in a menu mapping)."""

    category: str
    price: float


@dataclass(frozen=True)
class ResolvedReward:
    """A reward made concrete for one customer."""

    type: str
    description: dict[str, str]  # {"en": ..., "es": ...}
    expected_cost: float
    details: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Validation


def _number(doc: Mapping[str, Any], key: str, path: str, issues: Issues, *,
            required: bool, low: float, high: float | None = None,
            low_open: bool = False, whole: bool = False) -> None:
    if key not in doc:
        if required:
            issues.append((f"{path}.{key}", f'missing "{key}"'))
        return
    value = doc[key]
    here = f"{path}.{key}"
    if not is_number(value):
        issues.append((here, f'"{key}" must be a number, not {quote(value)}'))
        return
    if whole and not float(value).is_integer():
        issues.append((here, f'"{key}" must be a whole number, not {quote(value)}'))
        return
    too_low = value <= low if low_open else value < low
    if too_low or (high is not None and value > high):
        low_text = f"above {_num(low)}" if low_open else f"at least {_num(low)}"
        if high is None:
            rule = f"must be {low_text}"
        elif low_open:
            rule = f"must be {low_text} and at most {_num(high)}"
        else:
            rule = f"must be between {_num(low)} and {_num(high)}"
        issues.append((here, f'"{key}" {rule}, not {quote(value)}'))


def _name(doc: Mapping[str, Any], key: str, path: str, issues: Issues) -> str | None:
    value = doc[key]
    if not isinstance(value, str) or not value.strip():
        issues.append((f"{path}.{key}", f'"{key}" must be a name, not {quote(value)}'))
        return None
    return value


def _check_dish(name: str, menu: Mapping[str, MenuEntry], here: str, issues: Issues) -> None:
    if name not in menu:
        issues.append((here, f'"{name}" is not on the menu{suggestion(name, menu)}'))


def reward_issues(doc: Any, menu: Mapping[str, MenuEntry] | None = None,
                  path: str = "reward") -> Issues:
    """Every problem of a reward document, as ``(path, message)`` pairs (empty if valid)."""
    issues: Issues = []
    if not isinstance(doc, Mapping):
        return [(path, f'the reward must be an object such as {{"type": "percent_off", '
                       f'"percent": 10}}, not {type_name(doc)}')]
    kind = doc.get("type")
    if "type" not in doc:
        issues.append((f"{path}.type", f"missing \"type\": one of {', '.join(REWARD_TYPES)}"))
        return issues
    if not isinstance(kind, str) or kind not in REWARD_TYPES:
        hint = suggestion(kind, REWARD_TYPES) if isinstance(kind, str) else ""
        issues.append((f"{path}.type", f"unknown reward type {quote(kind)}{hint} "
                                       f"(types: {', '.join(REWARD_TYPES)})"))
        return issues
    allowed = _KEYS[kind]
    for key in doc:
        if key not in allowed:
            name = str(key)
            hint = suggestion(name, allowed) or (
                f"; a {kind} reward takes {', '.join(k for k in allowed if k != 'type')}")
            issues.append((f"{path}.{name}", f'unknown key "{name}"{hint}'))

    if kind == "percent_off":
        _number(doc, "percent", path, issues, required=True, low=1, high=100)
        _number(doc, "max_amount", path, issues, required=False, low=0, low_open=True)
    elif kind == "amount_off":
        _number(doc, "amount", path, issues, required=True, low=0, low_open=True)
        _number(doc, "min_spend", path, issues, required=False, low=0)
    elif kind == "points_multiplier":
        _number(doc, "multiplier", path, issues, required=True, low=1, high=10, low_open=True)
        _number(doc, "visits", path, issues, required=False, low=1, high=5, whole=True)
    elif kind == "tier_upgrade":
        _number(doc, "days", path, issues, required=False, low=1, high=365, whole=True)
        targets = ("next", *TIERS[1:])
        if "to" not in doc:
            issues.append((f"{path}.to", f"missing \"to\": one of {', '.join(targets)}"))
        elif doc["to"] == TIERS[0]:
            issues.append((f"{path}.to", f'"{TIERS[0]}" is the lowest tier, nobody can be '
                                         f"upgraded to it; use one of {', '.join(targets)}"))
        elif doc["to"] not in targets:
            value = doc["to"]
            hint = suggestion(value, targets) if isinstance(value, str) else ""
            issues.append((f"{path}.to", f"unknown tier {quote(value)}{hint} "
                                         f"(use one of {', '.join(targets)})"))
    else:  # free_item
        has_item, has_category = "item" in doc, "favourite_in_category" in doc
        if has_item and has_category:
            issues.append((path, 'give either "item" or "favourite_in_category", not both'))
        elif not has_item and not has_category:
            issues.append((f"{path}.item", 'missing "item" (a dish on the menu) or '
                                           '"favourite_in_category" (a menu category)'))
        if "fallback_item" in doc and not has_category:
            issues.append((f"{path}.fallback_item",
                           '"fallback_item" only goes with "favourite_in_category"'))
        for key in ("item", "fallback_item"):
            if key in doc:
                name = _name(doc, key, path, issues)
                if name is not None and menu is not None:
                    _check_dish(name, menu, f"{path}.{key}", issues)
        if has_category:
            category = _name(doc, "favourite_in_category", path, issues)
            if category is not None and menu is not None:
                categories = sorted({entry.category for entry in menu.values()})
                if category not in categories:
                    issues.append((f"{path}.favourite_in_category",
                                   f'no dish on the menu is in the category "{category}"'
                                   f"{suggestion(category, categories)}"))
    return issues


def validate_reward(doc: Any, menu: Mapping[str, MenuEntry] | None = None,
                    path: str = "reward") -> None:
    """Raise ``RuleValidationError`` listing every problem of a reward document.

    With a ``menu`` (dish name -> ``MenuEntry``), dishes and categories must be on it.
    """
    issues = reward_issues(doc, menu, path)
    if issues:
        raise RuleValidationError(issues)


# --------------------------------------------------------------------------------------------
# Resolution


def _num(value: float) -> str:
    """A number as people write it: 15, 12.5, 1.25."""
    value = float(value)
    if value.is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _money(value: float) -> str:
    """An amount of money: 10, 12.50."""
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.2f}"


def _cents(value: float) -> float:
    return round(float(value) + 0.0, 2) + 0.0  # + 0.0 turns -0.0 into 0.0


def _real(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _typical_spend(customer: Mapping[str, Any]) -> float:
    value = _real(customer.get("monetary_avg"))
    return max(value, 0.0) if value is not None else 0.0


def _tier_label(tier: str) -> str:
    return tier.capitalize()


def _free_item(doc: Mapping[str, Any], customer: Mapping[str, Any],
               menu: Mapping[str, MenuEntry]) -> tuple[str, str]:
    """The dish to give and how it was chosen (item, favourite, fallback, cheapest)."""
    if "item" in doc:
        name = doc["item"]
        if name not in menu:
            raise RuleValidationError(
                [("reward.item", f'"{name}" is not on the menu{suggestion(name, menu)}')])
        return name, "item"
    category = doc["favourite_in_category"]
    favourites = customer.get("favourites_by_category")
    favourite = favourites.get(category) if isinstance(favourites, Mapping) else None
    if isinstance(favourite, str) and favourite in menu:
        return favourite, "favourite"
    fallback = doc.get("fallback_item")
    if fallback is not None and fallback in menu:
        return fallback, "fallback"
    in_category = [(entry.price, name) for name, entry in menu.items()
                   if entry.category == category]
    if not in_category:
        categories = sorted({entry.category for entry in menu.values()})
        raise RuleValidationError(
            [("reward.favourite_in_category",
              f'no dish on the menu is in the category "{category}"'
              f"{suggestion(category, categories)}")])
    return min(in_category)[1], "cheapest"


def _multiplier_text(m: float) -> tuple[str, str]:
    if m == 2:
        return "double points", "puntos dobles"
    if m == 3:
        return "triple points", "puntos triples"
    return f"{_num(m)}× points", f"puntos x{_num(m)}"


def resolve_reward(doc: Mapping[str, Any], customer: Mapping[str, Any],
                   menu: Mapping[str, MenuEntry], *, point_value: float = 0.01,
                   tier_thresholds: tuple[float, float, float] = (150.0, 400.0, 900.0),
                   ) -> ResolvedReward:
    """Make a reward concrete for one customer: what they get, in both languages, and its cost.

    ``customer`` may carry ``monetary_avg``, ``frequency_90d``, ``tier``, ``favourite_dish`` and
    ``favourites_by_category`` (category -> most-ordered dish); any may be missing or None.
    Raises ``RuleValidationError`` for a malformed reward or a dish/category not on the menu.
    """
    validate_reward(doc)
    kind = doc["type"]
    spend = _typical_spend(customer)

    if kind == "percent_off":
        percent = float(doc["percent"])
        cap = doc.get("max_amount")
        cost = percent / 100 * spend
        if cap is not None:
            cost = min(cost, float(cap))
        en = f"{_num(percent)}% off your next visit"
        es = f"{_num(percent)}% de descuento en tu próxima visita"
        if cap is not None:
            en += f" (up to {_money(cap)})"
            es += f" (hasta {_money(cap)})"
        details = {"percent": _num_json(percent),
                   "max_amount": _cents(cap) if cap is not None else None,
                   "typical_spend": _cents(spend)}
    elif kind == "amount_off":
        amount = float(doc["amount"])
        min_spend = doc.get("min_spend")
        cost = amount
        en = f"{_money(amount)} off your next visit"
        es = f"{_money(amount)} de descuento en tu próxima visita"
        if min_spend:
            en += f" when you spend {_money(min_spend)} or more"
            es += f" con un consumo de {_money(min_spend)} o más"
        details = {"amount": _cents(amount),
                   "min_spend": _cents(min_spend) if min_spend is not None else None}
    elif kind == "free_item":
        item, source = _free_item(doc, customer, menu)
        entry = menu[item]
        cost = float(entry.price)
        en, es = f"a free {item}", f"{spanish_article(item)} {item} gratis"
        details = {"item": item, "price": _cents(entry.price), "category": entry.category,
                   "source": source}
    elif kind == "points_multiplier":
        m = float(doc["multiplier"])
        visits = int(doc.get("visits", 1))
        cost = (m - 1) * spend * visits * point_value
        what_en, what_es = _multiplier_text(m)
        if visits == 1:
            en, es = f"{what_en} on your next visit", f"{what_es} en tu próxima visita"
        else:
            en = f"{what_en} on your next {visits} visits"
            es = f"{what_es} en tus próximas {visits} visitas"
        details = {"multiplier": _num_json(m), "visits": visits,
                   "point_value": float(point_value), "typical_spend": _cents(spend)}
    else:  # tier_upgrade
        days = int(doc.get("days", DEFAULT_UPGRADE_DAYS))
        current = customer.get("tier")
        current = current if current in TIERS else TIERS[0]
        rank = TIERS.index(current)
        if doc["to"] == "next":
            target_rank = min(rank + 1, len(TIERS) - 1)
        else:
            target_rank = TIERS.index(doc["to"])
        steps = max(target_rank - rank, 0)
        frequency = _real(customer.get("frequency_90d")) or 0.0
        visits = max(max(frequency, 0.0) * days / 90, 1.0)
        cost = TIER_BENEFIT_RATE * steps * spend * visits
        if steps == 0:
            label = _tier_label(current)
            en = f"{label} status confirmed for {days} days"
            es = f"Estatus {label} confirmado por {days} días"
            target = current
        else:
            target = TIERS[target_rank]
            label = _tier_label(target)
            en = f"an upgrade to {label} for {days} days"
            es = f"un ascenso a {label} por {days} días"
        threshold = float(tier_thresholds[target_rank - 1]) if target_rank > 0 else 0.0
        details = {"current_tier": current, "target_tier": target, "steps": steps,
                   "days": days, "expected_visits": _cents(visits),
                   "typical_spend": _cents(spend), "target_threshold": _cents(threshold)}

    return ResolvedReward(type=kind, description={"en": en, "es": es},
                          expected_cost=_cents(cost), details=details)


def _num_json(value: float) -> int | float:
    """A JSON number without a needless ``.0``."""
    return int(value) if float(value).is_integer() else float(value)


def spanish_article(dish: str) -> str:
    """The indefinite article of a dish name, guessed from its first word's ending.

    The menu does not record grammatical gender; the endings get Peruvian menus right nearly
    always (una Cerveza, unos Picarones, unas Papas fritas, un Suspiro limeño).
    """
    word = (dish.split() or [""])[0].lower()
    if word.endswith("as"):
        return "unas"
    if word.endswith(("os", "es")) and len(word) > 3:
        return "unos"
    if word.endswith("a"):
        return "una"
    return "un"
