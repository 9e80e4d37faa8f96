"""Reviews: which visits get one, the star rating, when it is posted and its text.

People review mostly after a visit that stood out, very good or very bad, so the review
probability grows with the size of the overall experience. The rating follows the overall
experience plus the reviewer's own harshness; the text is composed from the same latent aspect
scores, so text, stars and experience agree.
"""

from __future__ import annotations

import numpy as np

from loyalty.synth import text_en, text_es
from loyalty.synth.behaviour import Experience
from loyalty.synth.menu import LOCATIONS
from loyalty.synth.people import Customers
from loyalty.synth.text import UNIFORMS_PER_REVIEW, Picker, ReviewContext, plan_review
from loyalty.synth.timeline import Calendar
from loyalty.synth.visits import Visits

DAY = 86400


def compose(p: Picker, ctx: ReviewContext) -> str:
    """The text of one review in the reviewer's language."""
    plan = plan_review(p, ctx)
    module = text_es if ctx.language == "es" else text_en
    return module.render(p, ctx, plan)


def pick_reviewed(rng: np.random.Generator, cust: Customers, exp: Experience, v: Visits
                  ) -> np.ndarray:
    """Indices of visits that get a review: more likely after a memorable experience."""
    memorable = np.abs(exp.overall - 0.1) ** 1.3 + 0.5 * exp.bad_count
    p = cust.review_propensity[v.customer] * (0.35 + 1.1 * memorable)
    return np.flatnonzero(rng.random(len(v)) < np.clip(p, 0, 0.9))


def ratings(rng: np.random.Generator, cust: Customers, exp: Experience, v: Visits,
            idx: np.ndarray) -> np.ndarray:
    """Stars 1-5 following the experience; a few reviewers use half stars."""
    raw = (3.85 + 1.25 * exp.overall[idx] - 0.4 * cust.harshness[v.customer[idx]]
           + 0.45 * rng.standard_normal(len(idx)))
    half = rng.random(len(idx)) < 0.05
    stars = np.where(half, np.round(raw * 2) / 2, np.round(raw))
    return np.clip(stars, 1.0, 5.0)


def posted_at(rng: np.random.Generator, cal: Calendar, visit_ts: np.ndarray) -> np.ndarray:
    """Seconds since the epoch: same evening, the next days, or up to a week later."""
    n = len(visit_ts)
    u = rng.random(n)
    same_day = 1800 + (rng.random(n) * 5 * 3600).astype(np.int64)
    later_day = rng.integers(1, 4, n) * DAY
    week = rng.integers(4, 7, n) * DAY
    # On a later day people post between 08:00 and 23:00, not at the visit's clock time.
    clock = rng.integers(8 * 3600, 23 * 3600, n)
    day_start = visit_ts - visit_ts % DAY
    later = np.where(u < 0.85, day_start + later_day + clock, day_start + week + clock)
    ts = np.where(u < 0.45, visit_ts + same_day, later)
    last = (np.datetime64(cal.end, "D") + 1).astype("datetime64[s]").astype(np.int64) - 1
    return np.maximum(np.minimum(ts, last), visit_ts)


def write_texts(seed: int, cust: Customers, cal: Calendar, v: Visits, bill: np.ndarray,
                exp: Experience, idx: np.ndarray, stars: np.ndarray,
                visits_before: np.ndarray, dishes: list[list[int]], promo: np.ndarray
                ) -> list[str]:
    """Compose every review's text (plain Python per review: ~20 us each)."""
    uniforms = np.random.default_rng([seed, 7]).random((len(idx), UNIFORMS_PER_REVIEW))
    day = v.day[idx]
    c = v.customer[idx]
    scores = exp.scores[idx].tolist()
    out = []
    for k, i in enumerate(idx.tolist()):
        ctx = ReviewContext(
            language="en" if cust.english[c[k]] else "es",
            female=bool(cust.female[c[k]]),
            party=int(v.party[i]),
            channel=int(v.channel[i]),
            daypart=int(v.daypart[i]),
            weekday=int(cal.weekday[day[k]]),
            month=int(cal.month[day[k]]),
            holiday=int(cal.holiday[day[k]]),
            district=LOCATIONS[v.location[i]].district,
            scores=scores[k],
            dishes=dishes[k],
            rating=float(stars[k]),
            visits_before=int(visits_before[i]),
            bill=bill[i] / 100.0,
            promo=bool(promo[i]),
        )
        out.append(compose(Picker(uniforms[k], (seed, 8, k)), ctx))
    return out
