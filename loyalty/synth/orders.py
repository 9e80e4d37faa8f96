"""Order lines: what each table ordered, drawn from the customer's own taste.

A visit is first turned into "units" (one per plate or drink: roughly a main per person, some
starters to share, drinks, maybe dessert), each unit is assigned a dish from the customer's
preference weights restricted to that course and meal, and identical dishes in one visit are
merged into a line with a quantity. Spending power raises both how many courses are ordered and
how pricey the chosen dishes are, so the bill follows spending power and party size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loyalty.synth.menu import ANY_TIME, BREAKFAST_ONLY, CATEGORIES, MEAL_ONLY, MENU, price_cents
from loyalty.synth.people import ARCHETYPE_NAMES, Customers
from loyalty.synth.timeline import BREAKFAST, LUNCH
from loyalty.synth.visits import Visits

MEAL_BREAKFAST, MEAL_LUNCH, MEAL_DINNER = 0, 1, 2
_CHUNK = 200_000
# Drinks change with the hour: coffee in the morning, pisco sours at night.
_BAR = np.array([d.family == "bar" for d in MENU])
_COFFEE = np.array([d.name.startswith("Café") for d in MENU])
_DRINK_TILT = {
    MEAL_BREAKFAST: np.where(_BAR, 0.0, np.where(_COFFEE, 4.0, 1.0)),
    MEAL_LUNCH: np.where(_BAR, 0.35, np.where(_COFFEE, 0.5, 1.0)),
    MEAL_DINNER: np.where(_BAR, 2.2, np.where(_COFFEE, 0.3, 1.0)),
}


@dataclass
class OrderLines:
    """Order lines sorted by visit then line number; ``visit`` indexes the candidate visits."""

    visit: np.ndarray
    line_no: np.ndarray
    item: np.ndarray
    quantity: np.ndarray
    unit_cents: np.ndarray

    def take(self, mask: np.ndarray) -> OrderLines:
        return OrderLines(**{k: v[mask] for k, v in self.__dict__.items()})


def _eligible(category: str, meal: int) -> np.ndarray:
    cats = np.array([d.category for d in MENU])
    served = np.array([d.served for d in MENU])
    if meal == MEAL_BREAKFAST:
        ok = (served == BREAKFAST_ONLY) | (served == ANY_TIME)
    else:
        ok = (served == MEAL_ONLY) | (served == ANY_TIME)
    return (cats == category) & ok


def _course_counts(rng: np.random.Generator, cust: Customers, v: Visits) -> dict[str, np.ndarray]:
    """How many plates of each course every visit orders."""
    party = v.party
    sp = cust.spend_power[v.customer]
    deal = cust.archetype[v.customer] == ARCHETYPE_NAMES.index("deal_seeker")
    breakfast = v.daypart == BREAKFAST
    lunch = v.daypart == LUNCH
    mains = np.maximum(rng.binomial(party, 0.93), 1)
    p_starter = np.clip(0.3 * sp**1.1 * np.where(deal, 0.6, 1.0), 0, 0.9)
    starters = np.where(breakfast, 0, rng.binomial((party + 1) // 2, p_starter))
    sides = np.where(breakfast, 0, rng.binomial(party, 0.16))
    p_drink = np.clip(0.6 + 0.2 * (sp - 1), 0.3, 0.95)
    drinks = rng.binomial(party, p_drink) + rng.binomial(party, np.clip(0.14 * sp**1.5, 0, 0.7))
    drinks = np.where(lunch & (party == 1), np.maximum(drinks, rng.binomial(1, 0.5, len(v))),
                      drinks)
    p_dessert = np.clip(0.2 * sp**1.1 * np.where(breakfast, 0.2, 1.0), 0, 0.8)
    desserts = rng.binomial(party, p_dessert)
    return {"starter": starters, "main": mains, "side": sides, "drink": drinks,
            "dessert": desserts}


def _meal(daypart: np.ndarray) -> np.ndarray:
    return np.array([MEAL_BREAKFAST, MEAL_LUNCH, MEAL_DINNER, MEAL_DINNER])[daypart]


def make_orders(rng: np.random.Generator, cust: Customers, v: Visits) -> OrderLines:
    """Order lines for every visit in ``v``."""
    counts = _course_counts(rng, cust, v)
    meal = _meal(v.daypart)
    unit_visit, unit_item = [], []
    for category in CATEGORIES:
        n_units = counts[category]
        for m in (MEAL_BREAKFAST, MEAL_LUNCH, MEAL_DINNER):
            sel = np.flatnonzero((meal == m) & (n_units > 0))
            items = np.flatnonzero(_eligible(category, m))
            if len(sel) == 0 or len(items) == 0:
                continue
            weights = cust.preference[:, items]
            if category == "drink":
                weights = weights * _DRINK_TILT[m][items]
            cdf = np.cumsum(weights, axis=1)
            cdf /= cdf[:, -1:]
            visit_of_unit = np.repeat(sel, n_units[sel])
            u = rng.random(len(visit_of_unit))
            pick = np.empty(len(visit_of_unit), dtype=np.int64)
            # Chunked so the (units x dishes) comparison stays small for big runs.
            for lo in range(0, len(visit_of_unit), _CHUNK):
                hi = lo + _CHUNK
                cust_cdf = cdf[v.customer[visit_of_unit[lo:hi]]]
                pick[lo:hi] = (u[lo:hi, None] > cust_cdf).sum(axis=1)
            pick = np.minimum(pick, len(items) - 1)
            unit_visit.append(visit_of_unit)
            unit_item.append(items[pick])
    uv = np.concatenate(unit_visit)
    ui = np.concatenate(unit_item)
    # Merge repeated dishes into one line; the key sorts lines by visit, then menu order.
    key, quantity = np.unique(uv * len(MENU) + ui, return_counts=True)
    visit = key // len(MENU)
    item = key % len(MENU)
    first = np.searchsorted(visit, visit, side="left")
    line_no = np.arange(len(visit)) - first + 1
    return OrderLines(visit, line_no, item, quantity.astype(np.int64), price_cents()[item])


def bill_cents(lines: OrderLines, n_visits: int) -> np.ndarray:
    """Total of each visit in cents: the exact sum of quantity x unit price of its lines."""
    return np.bincount(lines.visit, weights=lines.quantity * lines.unit_cents,
                       minlength=n_visits).round().astype(np.int64)
