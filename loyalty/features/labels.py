"""Training labels at an as-of instant ``T``: what each customer did in the horizon (T, T+H].

Customers are those with at least one non-return visit up to ``T`` (the rows of
`customer_features`). Labels read only the horizon, features only what precedes it.

- ``churn`` = 1 when the customer has no non-return visit in (T, T+H], else 0.
- ``future_spend``: sum of ``total_amount`` in (T, T+H], returns included (they reduce it).
- ``tier`` 0..3 (bronze, silver, gold, platinum): future_spend below the first threshold is 0,
  below the second 1, below the third 2, else 3.

The data must reach T+H, or a customer who simply has not been seen *yet* would be labelled a
churner: `make_labels` refuses with `FeatureError` (a ``ValueError``) when `available_horizon`
is shorter than H. How far the data reach is ``Frames.data_end`` when set, else the latest visit.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from loyalty.features.frames import FeatureError, Frames, as_utc
from loyalty.features.tabular import DAY_NS, DEFAULT_TIER_THRESHOLDS, known_visits, tier_of

LABEL_COLUMNS = ("churn", "tier", "future_spend")


def available_horizon(frames: Frames, as_of: datetime | pd.Timestamp) -> float:
    """Days of data after ``as_of`` (negative when the data end before it; -inf when empty)."""
    t = as_utc(as_of)
    end = frames.observed_until()
    if end is None:
        return float("-inf")
    return (end.value - t.value) / DAY_NS


def make_labels(frames: Frames, as_of: datetime | pd.Timestamp, horizon_days: int = 60,
                tier_thresholds: tuple[float, float, float] = DEFAULT_TIER_THRESHOLDS
                ) -> pd.DataFrame:
    """``churn`` (int), ``tier`` (int 0..3) and ``future_spend`` (float) per customer with a
    visit up to ``as_of``, indexed by customer_id in increasing order."""
    if horizon_days < 1:
        raise FeatureError(f"horizon_days must be at least 1, got {horizon_days}")
    t = as_utc(as_of)
    reach = available_horizon(frames, t)
    if reach < horizon_days:
        end = frames.observed_until()
        raise FeatureError(
            f"labels at {t.isoformat()} need data up to {(t + pd.Timedelta(days=horizon_days))}"
            f" ({horizon_days} days), but the data end at "
            f"{'nothing' if end is None else end.isoformat()}: choose an earlier as-of date")
    visits, _returns = known_visits(frames, t)
    ids = np.unique(visits["customer_id"].to_numpy())
    v = frames.visit_frame
    at = v["visited_at"]
    window = v[(at > t) & (at <= t + pd.Timedelta(days=horizon_days))]
    row = pd.Index(ids).get_indexer(window["customer_id"].to_numpy())
    on = row >= 0
    came = ~window["is_return"].to_numpy()[on]
    visits_ahead = np.bincount(row[on][came], minlength=len(ids))
    spend = np.bincount(row[on], weights=window["total_amount"].to_numpy()[on],
                        minlength=len(ids)).astype(np.float64)
    return pd.DataFrame({
        "churn": (visits_ahead == 0).astype(np.int64),
        "tier": tier_of(spend, tier_thresholds).astype(np.int64),
        "future_spend": spend,
    }, index=pd.Index(ids, name="customer_id"))
