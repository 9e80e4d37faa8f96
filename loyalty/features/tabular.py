"""One row of named features per customer at an as-of instant ``T``: the tabular model input.

Only data up to ``T`` is read (visits with ``visited_at <= T``, reviews with ``posted_at <= T``,
the order items of those visits), so features at a past ``T`` are what serving would have
computed then. A row exists for every customer with at least one non-return visit up to ``T``.
All values are floats and never NaN: missing data is encoded explicitly as described here.
"Days" are float days (24 h). "Visits" are non-return visits; returns (``is_return``) are
not visits, but their amounts (negative or positive) count in every money sum.

Recency, frequency, money
- ``recency_days``: T - last visit. ``tenure_days``: T - FIRST VISIT (not signup; BG/NBD
  baselines rely on it).
- ``frequency_30d`` / ``_90d`` / ``_365d``: visits in (T - X days, T]. ``visits_total``: all.
- ``monetary_total``: sum of ``total_amount`` up to T (missing amounts count 0).
  ``monetary_avg`` = monetary_total / visits_total. ``monetary_90d``: sum in (T - 90d, T].
- ``monetary_trend`` = (a - b) / (a + b + 1) with a = spend in (T - 90d, T] and b = spend in
  (T - 180d, T - 90d], each floored at 0 (net refunds count as no spend), so it lies in (-1, 1).

Rhythm
- ``gap_mean_days`` / ``gap_std_days``: mean and population standard deviation (ddof 0) of the
  gaps between consecutive visits. ``gap_ratio`` = recency_days / max(gap_mean_days, 1): the
  current gap relative to the customer's usual one (the usual gap is floored at one day so that
  two orders on the same day do not make it explode).
- One-visit customers: ``has_repeat_visits`` = 0, ``gap_mean_days`` = tenure_days,
  ``gap_std_days`` = 0, ``gap_ratio`` = 1.0 (the current gap is the only one there is).

Habits (shares of visits)
- ``share_breakfast`` [05:00, 11:00), ``share_lunch`` [11:00, 16:00), ``share_dinner``
  [16:00, 22:00), ``share_late`` otherwise, by LOCAL time in ``timezone``; ``share_weekend``:
  local Saturday or Sunday. ``share_dine_in`` / ``share_takeaway`` / ``share_delivery``:
  by channel, ``online`` counting as delivery.
- ``party_size_avg``: mean over visits whose party size is known; 0 when none is known.
- ``items_per_visit``: quantity of order items of the visits / visits (0 without order items).
  ``fav_category_share``: share of that quantity in the customer's most-ordered menu category
  (0 without order items).

Loyalty programme, re-derived as of T (``loyalty_accounts`` hold today's values, which would
leak the future into a past T)
- ``points`` = floor(max(monetary_total, 0)): one point per currency unit spent up to T.
- ``tier_rank`` 0..3 (bronze..platinum): spend in (T - 365d, T] against ``tier_thresholds``
  x 6. The thresholds are those of the tier labels, which cover a 60-day horizon; six horizons
  make a year. Spend below the first is 0, below the second 1, below the third 2, else 3.

Reviews: only SCORED reviews (``sentiment_score`` not NULL) with ``posted_at <= T`` count
- ``has_reviews`` (0/1), ``review_count``, ``sentiment_mean``, ``sentiment_latest`` (score of
  the latest by posted_at), ``negative_reviews`` (``sentiment_label == "negative"``),
  ``has_negative_review`` (0/1), ``days_since_negative`` (T - latest negative review).
- ``aspect_<name>`` for food, service, ambience, price, wait: mean aspect score over the
  reviews that mention the aspect (with a score).
- ``spanish_review_share``: share of those reviews written in Spanish, among those whose
  language is determined. A review's language is the one its input gave (en, es), else the one
  detected when it was scored (`loyalty.models.review_language`); "es" counts as Spanish,
  "en", "other" and "mixed" (Spanish and English) as not, and "und" (emoji only, too few
  letters) or no language at all not at all. 2 Spanish reviews, 1 English and 1 "und": 2/3.
- Without scored reviews: sentiment and aspect values are 0.0 (neutral), and an aspect no
  review mentions is 0.0. Without a negative review ``days_since_negative`` = tenure_days + 1
  (longer ago than any visit), explicitly, never NaN. Without a review of a determined language
  ``spanish_review_share`` is 0.0, like the other shares of nothing (``has_reviews`` tells a
  guest with no review apart).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from loyalty.features.frames import Frames, as_utc
from loyalty.models import review_language

DEFAULT_TIMEZONE = "America/Lima"
DEFAULT_TIER_THRESHOLDS: tuple[float, float, float] = (150.0, 400.0, 900.0)
YEAR_TIER_SCALE = 6.0  # the tier thresholds cover a 60-day horizon; six of them are a year
DAY_NS = 86_400 * 10**9
# The aspects the review scorer reports (nlp.aspects.ASPECTS), spelt out: feature names are a
# contract with trained models and must not change when another module does.
ASPECTS: tuple[str, ...] = ("food", "service", "ambience", "price", "wait")

FEATURE_NAMES: tuple[str, ...] = (
    "recency_days", "frequency_30d", "frequency_90d", "frequency_365d", "visits_total",
    "monetary_total", "monetary_avg", "monetary_90d", "monetary_trend", "tenure_days",
    "gap_mean_days", "gap_std_days", "gap_ratio", "has_repeat_visits",
    "share_breakfast", "share_lunch", "share_dinner", "share_late", "share_weekend",
    "share_dine_in", "share_takeaway", "share_delivery", "party_size_avg", "items_per_visit",
    "fav_category_share", "points", "tier_rank",
    "has_reviews", "review_count", "sentiment_mean", "sentiment_latest", "negative_reviews",
    "days_since_negative", "has_negative_review",
    *(f"aspect_{a}" for a in ASPECTS),
    "spanish_review_share",
)
DELIVERY_CHANNELS = ("delivery", "online")
# The review languages `spanish_review_share` counts ("und" is no language).
DETERMINED_LANGUAGES = ("es", "en", "other", "mixed")


def days_before(times: pd.Series, t: pd.Timestamp) -> np.ndarray:
    """T - time, in float days."""
    return (t.value - pd.DatetimeIndex(times).as_unit("ns").asi8) / DAY_NS


def day_parts(times: pd.Series, timezone: str) -> dict[str, np.ndarray]:
    """Boolean day-part and weekend flags by local time in ``timezone``."""
    local = times.dt.tz_convert(timezone)
    hour = local.dt.hour.to_numpy()
    breakfast = (hour >= 5) & (hour < 11)
    lunch = (hour >= 11) & (hour < 16)
    dinner = (hour >= 16) & (hour < 22)
    return {"breakfast": breakfast, "lunch": lunch, "dinner": dinner,
            "late": ~(breakfast | lunch | dinner),
            "weekend": local.dt.day_of_week.to_numpy() >= 5}


def known_visits(frames: Frames, t: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(visits, returns) up to ``t``; visits sorted by customer, time, visit id."""
    upto = frames.visit_frame[frames.visit_frame["visited_at"] <= t]
    is_return = upto["is_return"].to_numpy()
    return upto[~is_return], upto[is_return]


def known_reviews(frames: Frames, t: pd.Timestamp) -> pd.DataFrame:
    """Scored reviews posted up to ``t``, sorted by customer, posted_at, review id."""
    r = frames.review_frame
    return r[(r["posted_at"] <= t) & r["sentiment_score"].notna()]


def tier_of(spend: np.ndarray, thresholds: tuple[float, ...]) -> np.ndarray:
    """0..len(thresholds): how many thresholds the spend reaches."""
    return np.searchsorted(np.asarray(thresholds, dtype=np.float64), spend, side="right")


def empty_features() -> pd.DataFrame:
    index = pd.Index(np.array([], dtype=np.int64), name="customer_id")
    return pd.DataFrame(np.zeros((0, len(FEATURE_NAMES))), index=index,
                        columns=list(FEATURE_NAMES))


def customer_features(frames: Frames, as_of: datetime | pd.Timestamp,
                      timezone: str = DEFAULT_TIMEZONE,
                      tier_thresholds: tuple[float, float, float] = DEFAULT_TIER_THRESHOLDS
                      ) -> pd.DataFrame:
    """The features of every customer with a visit up to ``as_of`` (see the module docstring),
    indexed by customer_id in increasing order, float64 columns in `FEATURE_NAMES` order."""
    t = as_utc(as_of)
    visits, returns = known_visits(frames, t)
    if len(visits) == 0:
        return empty_features()
    cid = visits["customer_id"].to_numpy()
    start = np.ones(len(cid), dtype=bool)
    start[1:] = cid[1:] != cid[:-1]
    code = np.cumsum(start) - 1          # visits are sorted by customer: codes 0..n-1
    ids = cid[start]
    n = len(ids)
    end = np.zeros(len(cid), dtype=bool)
    end[:-1] = start[1:]
    end[-1] = True

    def total(weights: np.ndarray | None = None, codes: np.ndarray = code) -> np.ndarray:
        return np.bincount(codes, weights=weights, minlength=n).astype(np.float64)

    def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        return np.divide(num, den, out=np.zeros(n), where=den > 0)

    f: dict[str, np.ndarray] = {}
    age = days_before(visits["visited_at"], t)
    count = total()
    recency, tenure = age[end], age[start]
    f["recency_days"] = recency
    for days in (30, 90, 365):
        f[f"frequency_{days}d"] = total((age < days).astype(np.float64))
    f["visits_total"] = count

    # Money: visits and returns of these customers.
    ret_code = pd.Index(ids).get_indexer(returns["customer_id"].to_numpy())
    keep = ret_code >= 0
    m_code = np.concatenate([code, ret_code[keep]])
    m_age = np.concatenate([age, days_before(returns["visited_at"], t)[keep]])
    amount = np.concatenate([visits["total_amount"].to_numpy(),
                             returns["total_amount"].to_numpy()[keep]])

    def spend(mask: np.ndarray | None = None) -> np.ndarray:
        return total(amount if mask is None else amount * mask, m_code)

    money = spend()
    f["monetary_total"] = money
    f["monetary_avg"] = money / count
    recent = spend(m_age < 90)
    before = np.maximum(spend((m_age >= 90) & (m_age < 180)), 0.0)
    f["monetary_90d"] = recent
    recent_pos = np.maximum(recent, 0.0)
    f["monetary_trend"] = (recent_pos - before) / (recent_pos + before + 1.0)
    f["tenure_days"] = tenure

    # Rhythm: gaps between consecutive visits of the same customer.
    gap = np.zeros(len(age))
    gap[1:] = age[:-1] - age[1:]
    gap_code = code[~start]
    gaps = gap[~start]
    repeat = count > 1
    gap_mean = np.where(repeat, ratio(total(gaps, gap_code), count - 1), tenure)
    dev = gaps - gap_mean[gap_code]
    gap_std = np.sqrt(ratio(total(dev * dev, gap_code), count - 1))
    f["gap_mean_days"] = gap_mean
    f["gap_std_days"] = np.where(repeat, gap_std, 0.0)
    f["gap_ratio"] = np.where(repeat, recency / np.maximum(gap_mean, 1.0), 1.0)
    f["has_repeat_visits"] = repeat.astype(np.float64)

    # Habits.
    parts = day_parts(visits["visited_at"], timezone)
    for name in ("breakfast", "lunch", "dinner", "late", "weekend"):
        f[f"share_{name}"] = total(parts[name].astype(np.float64)) / count
    channel = visits["channel"].to_numpy()
    f["share_dine_in"] = total((channel == "dine_in").astype(np.float64)) / count
    f["share_takeaway"] = total((channel == "takeaway").astype(np.float64)) / count
    f["share_delivery"] = total(np.isin(channel, DELIVERY_CHANNELS).astype(np.float64)) / count
    party = visits["party_size"].to_numpy()
    known = ~np.isnan(party)
    f["party_size_avg"] = ratio(total(np.where(known, party, 0.0)), total(known * 1.0))

    items = frames.item_frame
    item_row = pd.Index(visits["visit_id"].to_numpy()).get_indexer(items["visit_id"].to_numpy())
    on = item_row >= 0
    item_code = code[item_row[on]]
    qty = items["quantity"].to_numpy()[on]
    f["items_per_visit"] = total(qty, item_code) / count
    cat_code, cats = pd.factorize(items["category"].to_numpy()[on])
    if len(cats):
        per_cat = np.bincount(item_code * len(cats) + cat_code, weights=qty,
                              minlength=n * len(cats)).reshape(n, len(cats))
        per_cat = np.maximum(per_cat, 0.0)
        f["fav_category_share"] = ratio(per_cat.max(axis=1), per_cat.sum(axis=1))
    else:
        f["fav_category_share"] = np.zeros(n)

    # The programme as it stood at T.
    f["points"] = np.floor(np.maximum(money, 0.0))
    year = tuple(x * YEAR_TIER_SCALE for x in tier_thresholds)
    f["tier_rank"] = tier_of(spend(m_age < 365), year).astype(np.float64)

    f.update(_review_features(frames, t, ids, tenure))
    index = pd.Index(ids, name="customer_id")
    return pd.DataFrame({name: f[name] for name in FEATURE_NAMES}, index=index,
                        dtype=np.float64)


def _review_features(frames: Frames, t: pd.Timestamp, ids: np.ndarray,
                     tenure: np.ndarray) -> dict[str, np.ndarray]:
    n = len(ids)
    reviews = known_reviews(frames, t)
    code = pd.Index(ids).get_indexer(reviews["customer_id"].to_numpy())
    keep = code >= 0
    reviews, code = reviews[keep], code[keep]
    score = reviews["sentiment_score"].to_numpy()
    age = days_before(reviews["posted_at"], t)
    count = np.bincount(code, minlength=n).astype(np.float64)
    has = count > 0

    f: dict[str, np.ndarray] = {"has_reviews": has.astype(np.float64), "review_count": count}
    f["sentiment_mean"] = np.divide(np.bincount(code, weights=score, minlength=n), count,
                                    out=np.zeros(n), where=has)
    latest = np.zeros(n)
    # Reviews are sorted by customer and time: the last row of each customer is the latest.
    last = np.ones(len(code), dtype=bool)
    last[:-1] = code[1:] != code[:-1]
    latest[code[last]] = score[last]
    f["sentiment_latest"] = latest

    negative = (reviews["sentiment_label"] == "negative").to_numpy()
    neg_count = np.bincount(code[negative], minlength=n).astype(np.float64)
    newest_negative = np.full(n, np.inf)
    np.minimum.at(newest_negative, code[negative], age[negative])
    f["negative_reviews"] = neg_count
    f["days_since_negative"] = np.where(neg_count > 0, newest_negative, tenure + 1.0)
    f["has_negative_review"] = (neg_count > 0).astype(np.float64)

    cells: list[int] = []
    scores: list[float] = []
    slot = {name: i for i, name in enumerate(ASPECTS)}
    for c, aspects in zip(code.tolist(), reviews["aspects"].tolist(), strict=True):
        if not aspects:
            continue
        for name, value in aspects.items():
            s = value.get("score") if isinstance(value, dict) else None
            if name in slot and s is not None and np.isfinite(s):
                cells.append(c * len(ASPECTS) + slot[name])
                scores.append(float(s))
    size = n * len(ASPECTS)
    a_code = np.asarray(cells, dtype=np.int64)
    a_sum = np.bincount(a_code, weights=np.asarray(scores, dtype=np.float64),
                        minlength=size).reshape(n, len(ASPECTS))
    a_count = np.bincount(a_code, minlength=size).reshape(n, len(ASPECTS))
    a_mean = np.divide(a_sum, a_count, out=np.zeros((n, len(ASPECTS))), where=a_count > 0)
    for i, name in enumerate(ASPECTS):
        f[f"aspect_{name}"] = a_mean[:, i]

    language = pd.Series([review_language(given, detected) for given, detected in zip(
        reviews["language"].tolist(), reviews["language_detected"].tolist(), strict=True)],
        dtype=object)
    spanish = np.bincount(code[(language == "es").to_numpy()], minlength=n).astype(np.float64)
    known = np.bincount(code[language.isin(DETERMINED_LANGUAGES).to_numpy()],
                        minlength=n).astype(np.float64)
    f["spanish_review_share"] = np.divide(spanish, known, out=np.zeros(n), where=known > 0)
    return f
