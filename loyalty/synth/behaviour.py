"""Experiences and churn: what each visit felt like and whether the customer came back.

Each visit gets a latent score per aspect (standard-normal-ish; below ``BAD`` is a bad
experience such as a long wait, cold food, a rude waiter, an overpriced bill or a noisy room).
Scores depend on the venue, on how full it was (busy Friday dinners mean long waits and noise),
on delivery (food arrives cold), on the bill against the customer's budget, and on the
customer's tolerance. After every visit the customer may churn, with log-odds that jump after a
bad experience, stay raised while bad ones pile up in recent visits and fall as good visits
accumulate: churn is learnable from recency, frequency and complaints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loyalty.synth.menu import LOCATIONS
from loyalty.synth.people import ARCHETYPE_NAMES, ARCHETYPES, Customers
from loyalty.synth.visits import DELIVERY, DINE_IN, Visits

ASPECTS = ("food", "service", "ambience", "price", "wait")
FOOD, SERVICE, AMBIENCE, PRICE, WAIT = range(5)
BAD = -1.9
GOOD = 0.9
# How much each aspect weighs in the overall impression (and so in the star rating).
ASPECT_WEIGHT = np.array([0.36, 0.2, 0.12, 0.14, 0.18])
RECENT = 4
# An overall impression above this makes a visit "good": it builds loyalty against churn.
GOOD_VISIT = 0.6


@dataclass
class Experience:
    """Per-visit latent experience; ``scores`` is (n, 5), NaN for ambience off the premises."""

    scores: np.ndarray
    overall: np.ndarray
    bad_count: np.ndarray
    good_count: np.ndarray


def _loc(field: str) -> np.ndarray:
    return np.array([getattr(loc, field) for loc in LOCATIONS])


def experiences(rng: np.random.Generator, cust: Customers, v: Visits, bill: np.ndarray,
                promo: np.ndarray) -> Experience:
    """Latent aspect scores for every visit."""
    n = len(v)
    c = v.customer
    tol = cust.tolerance[c]
    busy = v.busy - 0.8
    delivery = v.channel == DELIVERY
    noise = rng.standard_normal((n, 5))
    s = np.empty((n, 5))
    s[:, FOOD] = _loc("kitchen")[v.location] - 0.3 * busy - 0.7 * delivery + noise[:, FOOD]
    s[:, SERVICE] = _loc("staff")[v.location] - 0.45 * busy + noise[:, SERVICE]
    s[:, AMBIENCE] = (_loc("room")[v.location] - 1.1 * _loc("noise")[v.location] * busy
                      + noise[:, AMBIENCE])
    s[v.channel != DINE_IN, AMBIENCE] = np.nan
    # The bill per person against what this customer expects to pay.
    budget = 52.0 * cust.spend_power[c]
    per_head = bill / 100.0 / v.party
    stretch = np.log(per_head / budget)
    s[:, PRICE] = (0.35 - 1.6 * cust.price_sensitivity[c] * stretch + 0.8 * promo
                   + 0.8 * noise[:, PRICE])
    rush = np.where(delivery, 1.3, 1.0) * busy
    s[:, WAIT] = _loc("speed")[v.location] - 1.0 * rush + noise[:, WAIT]
    s += tol[:, None]
    bad = s < BAD
    good = s > GOOD
    bad_count = bad.sum(axis=1)
    good_count = good.sum(axis=1)
    filled = np.where(np.isnan(s), 0.0, s)
    w = np.where(np.isnan(s), 0.0, ASPECT_WEIGHT[None, :])
    overall = (filled * w).sum(axis=1) / w.sum(axis=1) - 0.45 * bad_count
    return Experience(s, overall, bad_count, good_count)


def promo_days(cust: Customers, v: Visits, weekday: np.ndarray) -> np.ndarray:
    """Deal seekers come for the Tuesday/Wednesday lunch promo and feel the price is right."""
    deal = cust.archetype[v.customer] == ARCHETYPE_NAMES.index("deal_seeker")
    return deal & ((weekday == 1) | (weekday == 2))


def _group_starts(customer: np.ndarray) -> np.ndarray:
    """Index of the first visit of each visit's customer (visits sorted by customer)."""
    n = len(customer)
    is_start = np.ones(n, dtype=bool)
    is_start[1:] = customer[1:] != customer[:-1]
    return np.maximum.accumulate(np.where(is_start, np.arange(n), 0))


def churn_after(rng: np.random.Generator, cust: Customers, v: Visits, exp: Experience
                ) -> np.ndarray:
    """Boolean per visit: the customer decides not to come back after this visit."""
    n = len(v)
    start = _group_starts(v.customer)
    bad = exp.bad_count.astype(np.float64)
    # bad experiences in the previous RECENT visits of the same customer
    lagged = np.concatenate([[0.0], np.cumsum(bad)])
    window_lo = np.maximum(np.arange(n) - RECENT, start)
    recent_bad = lagged[np.arange(n)] - lagged[window_lo]
    lagged_good = np.concatenate([[0.0], np.cumsum(exp.overall > GOOD_VISIT)])
    good_so_far = lagged_good[np.arange(n) + 1] - lagged_good[start]
    base = np.array([a.churn_logit for a in ARCHETYPES])[cust.archetype[v.customer]]
    logit = (base + 2.0 * (bad > 0) + 0.5 * np.maximum(bad - 1, 0) + 0.4 * recent_bad
             - 0.5 * np.minimum(exp.overall, 0) - 0.05 * np.minimum(good_so_far, 30))
    p = 1.0 / (1.0 + np.exp(-logit))
    return rng.random(n) < p


def first_churn(customer: np.ndarray, churn: np.ndarray, n_customers: int) -> np.ndarray:
    """Index (into visits) of each customer's churn visit, or -1 if they never churned.

    Visits are sorted by customer, so the first flagged visit per customer is the earliest.
    """
    idx = np.flatnonzero(churn)
    owners, first = np.unique(customer[idx], return_index=True)
    out = np.full(n_customers, -1, dtype=np.int64)
    out[owners] = idx[first]
    return out


def keep_mask(customer: np.ndarray, churn_idx: np.ndarray) -> np.ndarray:
    """Visits that happen: those up to and including the churn visit of their customer."""
    limit = churn_idx[customer]
    return (limit < 0) | (np.arange(len(customer)) <= limit)
