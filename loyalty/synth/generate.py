"""The generation pipeline: customers -> visits -> orders -> experiences -> churn -> reviews.

Each stage draws from its own child of one ``SeedSequence``, so the output depends only on
``seed`` and the arguments (never on the clock) and changing one stage does not reshuffle the
random numbers of the others.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from loyalty.synth import behaviour, orders, reviews
from loyalty.synth.menu import FAMILIES, LOCATIONS, MENU, locations_frame, menu_frame
from loyalty.synth.people import ARCHETYPE_NAMES, ONE_TIMER, Customers, make_customers
from loyalty.synth.timeline import Calendar, build_calendar
from loyalty.synth.visits import CHANNELS, Visits, candidate_visits

STAGES = ("customers", "visits", "orders", "experiences", "churn", "reviews", "review text",
          "tables")
DEFAULT_END = dt.date(2026, 10, 31)


@dataclass
class SynthData:
    """Generated tables. The first six follow ``docs/data-schema.md``; ``truth`` holds one row
    of latent ground truth per customer and ``visit_truth`` the latent experience per visit."""

    locations: pd.DataFrame
    menu_items: pd.DataFrame
    customers: pd.DataFrame
    visits: pd.DataFrame
    order_items: pd.DataFrame
    reviews: pd.DataFrame
    truth: pd.DataFrame
    visit_truth: pd.DataFrame


def _timestamps(cal: Calendar, day: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """Seconds since the epoch (local Lima wall time, no offset) for day index + clock."""
    base = np.datetime64(cal.start, "D").astype("datetime64[s]").astype(np.int64)
    return base + day.astype(np.int64) * 86400 + seconds


def _as_datetime(seconds: np.ndarray) -> np.ndarray:
    return seconds.astype("datetime64[s]")


def _ids(prefix: str, n: int, width: int) -> list[str]:
    width = max(width, len(str(n)))
    return [f"{prefix}{i:0{width}d}" for i in range(1, n + 1)]


def _visits_before(customer: np.ndarray) -> np.ndarray:
    """How many earlier visits each visit's customer made (visits sorted by customer, time)."""
    n = len(customer)
    start = np.ones(n, dtype=bool)
    start[1:] = customer[1:] != customer[:-1]
    first = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    return np.arange(n) - first


def _dishes_per_review(lines: orders.OrderLines, reviewed: np.ndarray) -> list[list[int]]:
    lo = np.searchsorted(lines.visit, reviewed, side="left")
    hi = np.searchsorted(lines.visit, reviewed, side="right")
    items = lines.item.tolist()
    return [items[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True)]


def _truth(cust: Customers, cal: Calendar, v: Visits, exp: behaviour.Experience,
           churn_idx: np.ndarray, visit_ts: np.ndarray, review_customer: np.ndarray,
           review_rating: np.ndarray) -> pd.DataFrame:
    n = len(cust)
    start = np.datetime64(cal.start, "D")
    churn_day = np.where(churn_idx >= 0, v.day[np.maximum(churn_idx, 0)], -1)
    drifted = (churn_idx < 0) & (cust.drift_day < cal.n_days)
    churn_day = np.where(drifted, cust.drift_day, churn_day)
    churned_on = np.where(churn_day >= 0, start + churn_day, np.datetime64("NaT"))
    cause = np.where(churn_idx >= 0,
                     np.where(cust.archetype == ONE_TIMER, "one_timer", "experience"),
                     np.where(drifted, "drift", ""))
    count = np.bincount(v.customer, minlength=n)
    bad_visits = np.bincount(v.customer, weights=exp.bad_count > 0, minlength=n)
    bad_aspects = np.bincount(v.customer, weights=exp.bad_count, minlength=n)
    good_visits = np.bincount(v.customer, weights=exp.overall > behaviour.GOOD_VISIT, minlength=n)
    n_reviews = np.bincount(review_customer, minlength=n)
    rating_sum = np.bincount(review_customer, weights=review_rating, minlength=n)
    last = np.full(n, np.iinfo(np.int64).min)
    np.maximum.at(last, v.customer, visit_ts)
    last_at = np.where(count > 0, last, 0).astype("datetime64[s]")
    last_at[count == 0] = np.datetime64("NaT")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_rating = np.where(n_reviews > 0, rating_sum / np.maximum(n_reviews, 1), np.nan)
    return pd.DataFrame({
        "customer_id": cust.frame["customer_id"].to_numpy(),
        "archetype": np.array(ARCHETYPE_NAMES)[cust.archetype],
        "spend_power": cust.spend_power.round(4),
        "base_rate_per_30d": cust.rate.round(4),
        "price_sensitivity": cust.price_sensitivity.round(4),
        "favourite_family": np.array(FAMILIES)[cust.favourite_family],
        "churned_on": churned_on.astype("datetime64[s]"),
        "churn_cause": cause,
        "n_visits": count.astype(np.int64),
        "n_bad_visits": bad_visits.astype(np.int64),
        "n_bad_experiences": bad_aspects.astype(np.int64),
        "n_good_visits": good_visits.astype(np.int64),
        "n_reviews": n_reviews.astype(np.int64),
        "mean_rating": mean_rating.round(3),
        "last_visit_at": last_at,
    })


def generate(customers: int = 2000, seed: int = 0, end: dt.date = DEFAULT_END,
             years: float = 2.0, progress: bool = False) -> SynthData:
    """Generate a self-consistent data set for ``customers`` loyalty members.

    The window is ``years`` long and ends on ``end`` (inclusive); the same arguments always give
    identical tables.
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    if years <= 0:
        raise ValueError("years must be positive")
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    bar = tqdm(total=len(STAGES), disable=not progress, desc="synth", unit="stage")

    def step(name: str) -> None:
        bar.set_postfix_str(name)
        bar.update(1)

    cal = build_calendar(end, years)
    cust = make_customers(streams[0], customers, cal)
    step("customers")
    cand = candidate_visits(streams[1], cust, cal)
    step("visits")
    lines = orders.make_orders(streams[2], cust, cand)
    bill = orders.bill_cents(lines, len(cand))
    step("orders")
    promo = behaviour.promo_days(cust, cand, cal.weekday[cand.day])
    exp = behaviour.experiences(streams[3], cust, cand, bill, promo)
    step("experiences")
    churn = behaviour.churn_after(streams[4], cust, cand, exp)
    churn_idx = behaviour.first_churn(cand.customer, churn, len(cust))
    keep = behaviour.keep_mask(cand.customer, churn_idx)
    step("churn")

    # Final visits in customer/time order (for per-customer history), then renumbered by time.
    kept = np.flatnonzero(keep)
    new_index = np.full(len(cand), -1, dtype=np.int64)
    new_index[kept] = np.arange(len(kept))
    churn_idx = np.where(churn_idx >= 0, new_index[np.maximum(churn_idx, 0)], -1)
    v = cand.take(kept)
    exp = behaviour.Experience(exp.scores[kept], exp.overall[kept], exp.bad_count[kept],
                               exp.good_count[kept])
    bill, promo = bill[kept], promo[kept]
    lines = lines.take(keep[lines.visit])
    lines.visit = new_index[lines.visit]
    visit_ts = _timestamps(cal, v.day, v.seconds)
    before = _visits_before(v.customer)

    rv = streams[5]
    reviewed = reviews.pick_reviewed(rv, cust, exp, v)
    stars = reviews.ratings(rv, cust, exp, v, reviewed)
    posted = reviews.posted_at(rv, cal, visit_ts[reviewed])
    step("reviews")
    texts = reviews.write_texts(seed, cust, cal, v, bill, exp, reviewed, stars, before,
                                _dishes_per_review(lines, reviewed), promo)
    step("review text")

    data = _tables(cust, cal, v, exp, lines, bill, visit_ts, churn_idx, reviewed, stars, posted,
                   texts)
    step("tables")
    bar.close()
    return data


def _tables(cust: Customers, cal: Calendar, v: Visits, exp: behaviour.Experience,
            lines: orders.OrderLines, bill: np.ndarray, visit_ts: np.ndarray,
            churn_idx: np.ndarray, reviewed: np.ndarray, stars: np.ndarray, posted: np.ndarray,
            texts: list[str]) -> SynthData:
    """Assemble the public tables; visits and reviews get ids in chronological order."""
    by_time = np.lexsort((v.customer, visit_ts))
    rank = np.empty_like(by_time)
    rank[by_time] = np.arange(len(by_time))
    visit_ids = np.array(_ids("V", len(v), 7), dtype=object)
    vid = visit_ids[rank]  # id of each visit in customer order
    customer_ids = cust.frame["customer_id"].to_numpy()
    location_ids = np.array([loc.location_id for loc in LOCATIONS])

    visits = pd.DataFrame({
        "visit_id": vid[by_time],
        "customer_id": customer_ids[v.customer[by_time]],
        "location_id": location_ids[v.location[by_time]],
        "visited_at": _as_datetime(visit_ts[by_time]),
        "channel": np.array(CHANNELS)[v.channel[by_time]],
        "party_size": v.party[by_time].astype(np.int64),
        "total_amount": bill[by_time] / 100.0,
        "is_return": np.zeros(len(v), dtype=bool),
    })

    line_order = np.lexsort((lines.line_no, rank[lines.visit]))
    item_ids = np.array([d.item_id for d in MENU])
    order_items = pd.DataFrame({
        "visit_id": vid[lines.visit[line_order]],
        "line_no": lines.line_no[line_order].astype(np.int64),
        "item_id": item_ids[lines.item[line_order]],
        "quantity": lines.quantity[line_order].astype(np.int64),
        "unit_price": lines.unit_cents[line_order] / 100.0,
    })

    r_order = np.lexsort((rank[reviewed], posted))
    rv = reviewed[r_order]
    review_frame = pd.DataFrame({
        "review_id": _ids("R", len(rv), 6),
        "customer_id": customer_ids[v.customer[rv]],
        "location_id": location_ids[v.location[rv]],
        "visit_id": vid[rv],
        "rating": stars[r_order],
        "text": [texts[i] for i in r_order.tolist()],
        # The language the text is written in: a given language, which scoring keeps over
        # the one it detects (`loyalty.models.review_language`).
        "language": np.where(cust.english[v.customer[rv]], "en", "es"),
        "created_at": _as_datetime(posted[r_order]),
    })

    truth = _truth(cust, cal, v, exp, churn_idx, visit_ts, v.customer[reviewed], stars)
    scores = exp.scores[by_time]
    visit_truth = pd.DataFrame({
        "visit_id": vid[by_time],
        "busy": v.busy[by_time].round(4),
        **{f"exp_{a}": scores[:, i].round(4) for i, a in enumerate(behaviour.ASPECTS)},
        "overall": exp.overall[by_time].round(4),
        "bad_aspects": exp.bad_count[by_time].astype(np.int64),
        "good_aspects": exp.good_count[by_time].astype(np.int64),
        "churned_after": np.isin(np.arange(len(v)), churn_idx[churn_idx >= 0])[by_time],
    })
    return SynthData(locations_frame(), menu_frame(), cust.frame.copy(), visits, order_items,
                     review_frame, truth, visit_truth)
