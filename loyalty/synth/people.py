"""Customers: who they are (the ``customers`` table) and how they behave (latent traits).

Every customer belongs to an archetype a marketer would recognise. The archetype sets the
centre of their visit rate, spending power, price sensitivity and habits; each customer then
scatters around it, so segments overlap the way real ones do.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from loyalty.synth import names
from loyalty.synth.menu import FAMILIES, LOCATIONS, MENU
from loyalty.synth.timeline import Calendar


@dataclass(frozen=True)
class Archetype:
    """Centre of a customer segment's behaviour.

    ``drift_days`` is the mean time until a customer drifts away for reasons unrelated to the
    restaurant (moved, new job); ``churn_logit`` is the per-visit churn log-odds before any
    experience effect.
    """

    name: str
    share: float
    rate_per_30d: float
    spend_power: float
    price_sensitivity: float
    drift_days: float
    churn_logit: float
    party_extra: float
    dayparts: tuple[float, float, float, float]
    channels: tuple[float, float, float]
    review_propensity: float
    p_home: float
    weekday: tuple[float, ...] = (1.0,) * 7


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype("regular", 0.22, 5.5, 1.0, 0.5, 4500, -7.5, 0.9, (0.10, 0.55, 0.30, 0.05),
              (0.76, 0.13, 0.11), 0.085, 0.85),
    Archetype("occasional", 0.32, 1.6, 1.0, 0.7, 3000, -6.8, 1.4, (0.06, 0.40, 0.46, 0.08),
              (0.72, 0.11, 0.17), 0.13, 0.7),
    Archetype("big_spender", 0.12, 3.0, 2.1, 0.15, 4000, -7.1, 2.4, (0.03, 0.34, 0.56, 0.07),
              (0.86, 0.05, 0.09), 0.15, 0.65),
    Archetype("deal_seeker", 0.18, 3.2, 0.65, 1.4, 2200, -6.6, 1.1, (0.08, 0.60, 0.27, 0.05),
              (0.60, 0.19, 0.21), 0.1, 0.7, (1.0, 1.9, 1.7, 1.0, 0.8, 0.75, 0.8)),
    Archetype("lapsing", 0.12, 3.5, 1.0, 0.7, 180, -6.2, 1.3, (0.07, 0.48, 0.38, 0.07),
              (0.72, 0.12, 0.16), 0.09, 0.75),
    Archetype("one_timer", 0.04, 0.0, 0.9, 0.8, 1.0, 99.0, 1.5, (0.05, 0.45, 0.43, 0.07),
              (0.80, 0.10, 0.10), 0.12, 1.0),
)
ARCHETYPE_NAMES = tuple(a.name for a in ARCHETYPES)
ONE_TIMER = ARCHETYPE_NAMES.index("one_timer")
PRE_WINDOW_SHARE = 0.3


@dataclass
class Customers:
    """The customers table plus per-customer latent arrays aligned with its rows."""

    frame: pd.DataFrame
    archetype: np.ndarray
    female: np.ndarray
    english: np.ndarray
    signup_day: np.ndarray
    home: np.ndarray
    spend_power: np.ndarray
    rate: np.ndarray
    price_sensitivity: np.ndarray
    tolerance: np.ndarray
    harshness: np.ndarray
    review_propensity: np.ndarray
    drift_day: np.ndarray
    favourite_family: np.ndarray
    preference: np.ndarray

    def __len__(self) -> int:
        return len(self.archetype)


def _arch_param(archetype: np.ndarray, field: str) -> np.ndarray:
    return np.array([getattr(a, field) for a in ARCHETYPES])[archetype]


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _emails(rng: np.random.Generator, first: list[str], last: list[str]) -> list[str]:
    """Lower-case addresses built from the name, made unique by a number when they clash."""
    n = len(first)
    style = rng.integers(0, 6, n)
    num = rng.integers(1, 100, n)
    year = rng.integers(70, 106, n) % 100
    domain = rng.choice(len(names.EMAIL_DOMAINS), n, p=names.EMAIL_DOMAIN_WEIGHTS)
    seen: set[str] = set()
    out = []
    for i in range(n):
        f = _ascii(first[i])
        surnames = last[i].split()
        s1 = _ascii(surnames[0])
        s2 = _ascii(surnames[1]) if len(surnames) > 1 else ""
        local = (
            f"{f}.{s1}",
            f"{f}{s1}{num[i]}",
            f"{f[0]}{s1}{s2[:1]}",
            f"{f}_{s1}{year[i]:02d}",
            f"{s1}.{f}",
            f"{f}.{s1}{s2}",
        )[style[i]]
        dom = names.EMAIL_DOMAINS[domain[i]]
        email = f"{local}@{dom}"
        k = 1
        while email in seen:
            k += 1
            email = f"{local}{k}@{dom}"
        seen.add(email)
        out.append(email)
    return out


def _phones(rng: np.random.Generator, n: int) -> list[str]:
    """Unique Peruvian mobiles, ``+51 9XX XXX XXX``."""
    rest = rng.choice(10**8, size=n, replace=False)
    out = []
    for r in rest:
        d = f"{int(r):08d}"
        out.append(f"+51 9{d[:2]} {d[2:5]} {d[5:]}")
    return out


def _names(rng: np.random.Generator, female: np.ndarray, english: np.ndarray
           ) -> tuple[list[str], list[str]]:
    n = len(female)
    foreign = np.where(english, rng.random(n) < 0.75, rng.random(n) < 0.04)
    two_surnames = (~foreign) & (rng.random(n) < 0.35)
    u = rng.random((n, 3))
    first, last = [], []
    for i in range(n):
        if foreign[i]:
            pool = names.FOREIGN_FEMALE if female[i] else names.FOREIGN_MALE
            surnames = names.FOREIGN_SURNAMES
        else:
            pool = names.PERUVIAN_FEMALE if female[i] else names.PERUVIAN_MALE
            surnames = names.PERUVIAN_SURNAMES
        first.append(pool[int(u[i, 0] * len(pool))])
        s = surnames[int(u[i, 1] * len(surnames))]
        if two_surnames[i]:
            s2 = surnames[int(u[i, 2] * len(surnames))]
            if s2 != s:
                s = f"{s} {s2}"
        last.append(s)
    return first, last


def _signup_days(rng: np.random.Generator, cal: Calendar, archetype: np.ndarray) -> np.ndarray:
    """Day index of each signup: some before the window, the rest growing over it."""
    n = len(archetype)
    before = (rng.random(n) < PRE_WINDOW_SHARE) & (archetype != ONE_TIMER)
    # Density rising linearly over the window: the programme gains members over time.
    inside = (np.sqrt(0.45**2 + (1 - 0.45**2) * rng.random(n)) * cal.n_days).astype(np.int64)
    inside = np.minimum(inside, cal.n_days - 1)
    earlier = -rng.integers(1, 2 * 365, n)
    return np.where(before, earlier, inside)


def _home_locations(rng: np.random.Generator, cal: Calendar, signup_day: np.ndarray,
                    english: np.ndarray) -> np.ndarray:
    opened = cal.index_of(np.array([loc.opened_on for loc in LOCATIONS], dtype="datetime64[D]"))
    pop = np.array([loc.popularity for loc in LOCATIONS])
    eng = np.array([loc.english_share for loc in LOCATIONS])
    w = pop[None, :] * np.where(english[:, None], eng[None, :] * 4, 1.0)
    w = w * (opened[None, :] <= signup_day[:, None])
    cdf = np.cumsum(w, axis=1)
    u = rng.random(len(signup_day)) * cdf[:, -1]
    return (u[:, None] > cdf).sum(axis=1)


def _preferences(rng: np.random.Generator, spend_power: np.ndarray, favourite: np.ndarray
                 ) -> np.ndarray:
    """Per-customer weights over the menu: a few favourites, a favourite family, price taste.

    Gamma draws with a small shape are a Dirichlet in disguise: most mass lands on a handful of
    dishes, which is what makes "orders the lomo saltado every time" customers.
    """
    n = len(spend_power)
    pop = np.array([d.popularity for d in MENU])
    price = np.array([d.price for d in MENU])
    cats = np.array([d.category for d in MENU])
    cat_median = np.array([np.median(price[cats == c]) for c in cats])
    family = np.array([FAMILIES.index(d.family) if d.family in FAMILIES else -1 for d in MENU])
    g = rng.gamma(0.35, 1.0, size=(n, len(MENU)))
    fan = np.where(family[None, :] == favourite[:, None], 3.5, 1.0)
    taste = (price / cat_median)[None, :] ** (2.5 * np.log(spend_power)[:, None])
    return pop[None, :] * (0.12 + g) * fan * taste


def make_customers(rng: np.random.Generator, n: int, cal: Calendar) -> Customers:
    """Draw ``n`` customers with their public attributes and latent traits."""
    share = np.array([a.share for a in ARCHETYPES])
    archetype = rng.choice(len(ARCHETYPES), n, p=share / share.sum())
    female = rng.random(n) < 0.52
    english = rng.random(n) < 0.2
    signup_day = _signup_days(rng, cal, archetype)
    home = _home_locations(rng, cal, signup_day, english)

    spend_power = _arch_param(archetype, "spend_power") * np.exp(0.22 * rng.standard_normal(n))
    rate = _arch_param(archetype, "rate_per_30d") * np.exp(0.35 * rng.standard_normal(n))
    price_sensitivity = _arch_param(archetype, "price_sensitivity") * np.exp(
        0.3 * rng.standard_normal(n))
    tolerance = 0.35 * rng.standard_normal(n)
    harshness = 0.35 * rng.standard_normal(n)
    review_propensity = _arch_param(archetype, "review_propensity") * np.exp(
        0.6 * rng.standard_normal(n))
    active_from = np.maximum(signup_day, 0)
    drift_day = active_from + rng.exponential(_arch_param(archetype, "drift_days")).astype(
        np.int64)
    drift_day = np.where(archetype == ONE_TIMER, active_from, drift_day)
    favourite = rng.integers(0, len(FAMILIES), n)
    preference = _preferences(rng, spend_power, favourite)

    first, last = _names(rng, female, english)
    emails = _emails(rng, first, last)
    phones = _phones(rng, n)
    loyalty = rng.choice(9 * 10**7, size=n, replace=False) + 10**7
    age_days = (np.clip(37 + 13 * rng.standard_normal(n), 18, 77).astype(np.int64) * 365
                + rng.integers(5, 360, n))
    # Adults when they joined, so nobody signed up at 16.
    joined = np.datetime64(cal.start, "D") + signup_day
    birthday = (joined - age_days).astype("datetime64[s]")
    birthday[rng.random(n) < 0.12] = np.datetime64("NaT")
    signup = (np.datetime64(cal.start, "D") + signup_day).astype("datetime64[s]")
    country = np.where(
        english,
        np.array(names.COUNTRIES_EN)[rng.choice(7, n, p=names.COUNTRIES_EN_WEIGHTS)],
        np.array(names.COUNTRIES_ES)[rng.choice(7, n, p=names.COUNTRIES_ES_WEIGHTS)],
    )
    opt_in = rng.random(n) < np.where(archetype == ARCHETYPE_NAMES.index("deal_seeker"),
                                      0.8, 0.5)
    frame = pd.DataFrame({
        "customer_id": [f"C{i + 1:06d}" for i in range(n)],
        "loyalty_id": [f"L{int(x):08d}" for x in loyalty],
        "first_name": first,
        "last_name": last,
        "email": emails,
        "phone": phones,
        "language": np.where(english, "en", "es"),
        "birthday": birthday,
        "signup_date": signup,
        "home_location_id": np.array([loc.location_id for loc in LOCATIONS])[home],
        "country": country,
        "marketing_opt_in": opt_in,
    })
    return Customers(frame, archetype, female, english, signup_day, home, spend_power, rate,
                     price_sensitivity, tolerance, harshness, review_propensity, drift_day,
                     favourite, preference)
