"""Candidate visits: when, where, how and with how many people each customer comes.

Visits are drawn as a Poisson process per customer over their active span, thinned by the
calendar's day weights (and the archetype's weekday taste) through inverse-CDF sampling, all
vectorised over customers. Churn later cuts each customer's stream short; drawing the full
stream first and truncating is equivalent because a visit's existence never depends on later ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loyalty.synth.menu import LOCATIONS
from loyalty.synth.people import ARCHETYPES, Customers
from loyalty.synth.timeline import (
    BREAKFAST,
    DINNER,
    LATE,
    LUNCH,
    Calendar,
    peak_shape,
    sample_time_of_day,
)

DINE_IN, TAKEAWAY, DELIVERY = 0, 1, 2
CHANNELS = ("dine_in", "takeaway", "delivery")


@dataclass
class Visits:
    """Column arrays for visits, one entry per visit, sorted by customer then time."""

    customer: np.ndarray
    day: np.ndarray
    seconds: np.ndarray
    daypart: np.ndarray
    location: np.ndarray
    channel: np.ndarray
    party: np.ndarray
    busy: np.ndarray

    def __len__(self) -> int:
        return len(self.customer)

    def take(self, index: np.ndarray) -> Visits:
        return Visits(**{k: v[index] for k, v in self.__dict__.items()})


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of a (n, k) matrix of unnormalised probabilities."""
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cdf[:, -1]
    return np.minimum((u[:, None] > cdf).sum(axis=1), probs.shape[1] - 1)


def _visit_days(rng: np.random.Generator, cust: Customers, cal: Calendar
                ) -> tuple[np.ndarray, np.ndarray]:
    """Customer index and day index of every candidate visit."""
    n = len(cust)
    start = np.maximum(cust.signup_day, 0)
    stop = np.minimum(cust.drift_day, cal.n_days - 1)
    stop = np.maximum(stop, start)
    custs, days = [], []
    for a, arch in enumerate(ARCHETYPES):
        idx = np.flatnonzero(cust.archetype == a)
        if len(idx) == 0:
            continue
        taste = np.array(arch.weekday)[cal.weekday]
        w = cal.weight * taste
        w = w / w.mean()
        cum = np.concatenate([[0.0], np.cumsum(w)])
        lo, hi = cum[start[idx]], cum[stop[idx] + 1]
        count = rng.poisson(cust.rate[idx] / 30.0 * (hi - lo))
        owner = np.repeat(idx, count)
        u = np.repeat(lo, count) + rng.random(count.sum()) * np.repeat(hi - lo, count)
        d = np.searchsorted(cum, u, side="right") - 1
        custs.append(owner)
        days.append(np.clip(d, 0, cal.n_days - 1))
    # Members who joined inside the window joined at the till: their first visit is that day.
    joined = np.flatnonzero(cust.signup_day >= 0)
    custs.append(joined)
    days.append(cust.signup_day[joined])
    customer = np.concatenate(custs)
    day = np.concatenate(days)
    assert n == 0 or customer.max() < n
    return customer, day


def _dayparts(rng: np.random.Generator, cust: Customers, customer: np.ndarray,
              weekday: np.ndarray) -> np.ndarray:
    probs = np.array([a.dayparts for a in ARCHETYPES])[cust.archetype[customer]]
    weekend = weekday >= 5
    friday_saturday = (weekday == 4) | (weekday == 5)
    probs[:, BREAKFAST] *= np.where(weekend, 2.0, 1.0)
    probs[:, LUNCH] *= np.where(weekday == 6, 1.35, 1.0)
    probs[:, DINNER] *= np.where(weekday == 6, 0.7, 1.0)
    probs[:, LATE] *= np.where(friday_saturday, 2.2, 0.8)
    return _categorical(rng, probs)


def _locations(rng: np.random.Generator, cust: Customers, cal: Calendar, customer: np.ndarray,
               day: np.ndarray) -> np.ndarray:
    """Mostly the home location; otherwise another one that is open that day."""
    home = cust.home[customer]
    p_home = np.array([a.p_home for a in ARCHETYPES])[cust.archetype[customer]]
    pop = np.array([loc.popularity for loc in LOCATIONS])
    other = _categorical(rng, np.broadcast_to(pop, (len(customer), len(pop))))
    opened = cal.index_of(np.array([loc.opened_on for loc in LOCATIONS], dtype="datetime64[D]"))
    use_other = (rng.random(len(customer)) > p_home) & (opened[other] <= day)
    return np.where(use_other, other, home)


def _channels(rng: np.random.Generator, cust: Customers, customer: np.ndarray,
              daypart: np.ndarray) -> np.ndarray:
    probs = np.array([a.channels for a in ARCHETYPES])[cust.archetype[customer]]
    probs[:, DELIVERY] *= np.array([0.2, 0.8, 1.4, 1.6])[daypart]
    probs[:, TAKEAWAY] *= np.array([1.3, 1.3, 0.8, 0.6])[daypart]
    return _categorical(rng, probs)


def _party_sizes(rng: np.random.Generator, cust: Customers, customer: np.ndarray,
                 daypart: np.ndarray, weekday: np.ndarray, channel: np.ndarray,
                 holiday: np.ndarray) -> np.ndarray:
    extra = np.array([a.party_extra for a in ARCHETYPES])[cust.archetype[customer]]
    lam = extra * np.array([0.55, 0.9, 1.15, 0.9])[daypart]
    lam = lam * np.where(weekday >= 5, 1.3, 1.0) * np.where(holiday > 0, 1.6, 1.0)
    lam = lam * np.where(channel == DINE_IN, 1.0, 0.55)
    size = 1 + rng.poisson(lam)
    # Now and then a birthday or an office lunch: a big table.
    big = (rng.random(len(size)) < 0.012) & (channel == DINE_IN)
    size = np.where(big, rng.integers(7, 16, len(size)), size)
    return np.minimum(size, 20)


def _busyness(cal: Calendar, day: np.ndarray, daypart: np.ndarray, seconds: np.ndarray,
              location: np.ndarray) -> np.ndarray:
    """How full the room is (about 0-2.5): day demand x day part x rush hour x venue."""
    base = np.array([0.35, 1.0, 1.1, 0.55])[daypart]
    crowd = np.array([loc.popularity / (loc.seats / 100) ** 0.5 for loc in LOCATIONS])
    crowd = crowd / crowd.mean()
    return base * cal.weight[day] * peak_shape(daypart, seconds) * crowd[location]


def candidate_visits(rng: np.random.Generator, cust: Customers, cal: Calendar) -> Visits:
    """Every visit each customer would make if nothing made them churn."""
    customer, day = _visit_days(rng, cust, cal)
    weekday = cal.weekday[day]
    daypart = _dayparts(rng, cust, customer, weekday)
    seconds = sample_time_of_day(rng, daypart)
    location = _locations(rng, cust, cal, customer, day)
    channel = _channels(rng, cust, customer, daypart)
    party = _party_sizes(rng, cust, customer, daypart, weekday, channel, cal.holiday[day])
    busy = _busyness(cal, day, daypart, seconds, location)
    order = np.lexsort((seconds, day, customer))
    v = Visits(customer, day, seconds, daypart, location, channel, party, busy)
    return v.take(order)
