"""Each customer's last visits up to an as-of instant ``T``, as a padded sequence: the input of
the sequence model.

For every requested customer: the last ``max_visits`` non-return visits with
``visited_at <= T``, oldest first, padded AT THE FRONT with all-zero rows. A real step has
``present == 1``, so it is never all zeros (what a Keras Masking layer keys on). A customer
without a visit up to ``T`` is all padding. Step features (`SEQUENCE_FEATURE_NAMES`):

- ``present``: 1.0.
- ``gap_days_log``: log1p(days since the customer's previous visit, even one older than the
  window); 0 for the first visit.
- ``days_before_asof_log``: log1p(T - visit, in days).
- ``amount_log``: log1p(max(total_amount, 0)).
- ``items``: quantity of the visit's order items (0 without order items).
- ``party_size``: 0 when unknown.
- ``is_breakfast`` / ``is_lunch`` / ``is_dinner`` / ``is_late`` / ``is_weekend``: local time in
  ``timezone``, the same day parts as the tabular shares.
- ``is_delivery`` (``delivery`` or ``online``), ``is_takeaway``.
- ``has_review``: a scored review posted up to T names this visit; ``review_sentiment``: its
  score (the mean when several do), else 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from loyalty.features.frames import FeatureError, Frames, as_utc
from loyalty.features.tabular import (
    DEFAULT_TIMEZONE,
    DELIVERY_CHANNELS,
    day_parts,
    days_before,
    known_reviews,
    known_visits,
)

SEQUENCE_FEATURE_NAMES: tuple[str, ...] = (
    "present", "gap_days_log", "days_before_asof_log", "amount_log", "items", "party_size",
    "is_breakfast", "is_lunch", "is_dinner", "is_late", "is_weekend", "is_delivery",
    "is_takeaway", "has_review", "review_sentiment",
)


def visit_sequences(frames: Frames, as_of: datetime | pd.Timestamp,
                    customer_ids: Sequence[int] | np.ndarray, max_visits: int = 20,
                    timezone: str = DEFAULT_TIMEZONE) -> np.ndarray:
    """float32 array (len(customer_ids), max_visits, len(SEQUENCE_FEATURE_NAMES)), rows in the
    order of ``customer_ids`` (see the module docstring)."""
    if max_visits < 1:
        raise FeatureError(f"max_visits must be at least 1, got {max_visits}")
    t = as_utc(as_of)
    ids = pd.Index(np.asarray(customer_ids, dtype=np.int64))
    if not ids.is_unique:
        raise FeatureError("customer_ids must not repeat")
    out = np.zeros((len(ids), max_visits, len(SEQUENCE_FEATURE_NAMES)), dtype=np.float32)
    visits, _returns = known_visits(frames, t)
    cid = visits["customer_id"].to_numpy()
    if len(cid) == 0 or len(ids) == 0:
        return out

    # Gaps first, over the whole history: the first step of a window still has a previous visit.
    age = days_before(visits["visited_at"], t)
    start = np.ones(len(cid), dtype=bool)
    start[1:] = cid[1:] != cid[:-1]
    gap = np.zeros(len(cid))
    gap[1:] = age[:-1] - age[1:]
    gap[start] = 0.0
    from_end = visits.groupby("customer_id", sort=False).cumcount(ascending=False).to_numpy()
    row = ids.get_indexer(cid)
    take = (row >= 0) & (from_end < max_visits)
    if not take.any():
        return out
    sel = np.flatnonzero(take)
    chosen = visits.iloc[sel]

    visit_index = pd.Index(chosen["visit_id"].to_numpy())
    items = frames.item_frame
    at = visit_index.get_indexer(items["visit_id"].to_numpy())
    on = at >= 0
    qty = np.bincount(at[on], weights=items["quantity"].to_numpy()[on], minlength=len(sel))

    reviews = known_reviews(frames, t)
    linked = reviews["visit_id"].to_numpy()
    at = np.full(len(linked), -1, dtype=np.int64)
    named = ~np.isnan(linked)
    at[named] = visit_index.get_indexer(linked[named].astype(np.int64))
    on = at >= 0
    n_rev = np.bincount(at[on], minlength=len(sel)).astype(np.float64)
    s_rev = np.bincount(at[on], weights=reviews["sentiment_score"].to_numpy()[on],
                        minlength=len(sel))

    parts = day_parts(chosen["visited_at"], timezone)
    channel = chosen["channel"].to_numpy()
    party = chosen["party_size"].to_numpy()
    amount = chosen["total_amount"].to_numpy()
    columns = {
        "present": np.ones(len(sel)),
        "gap_days_log": np.log1p(np.maximum(gap[sel], 0.0)),
        "days_before_asof_log": np.log1p(np.maximum(age[sel], 0.0)),
        "amount_log": np.log1p(np.maximum(amount, 0.0)),
        "items": qty,
        "party_size": np.where(np.isnan(party), 0.0, party),
        "is_breakfast": parts["breakfast"],
        "is_lunch": parts["lunch"],
        "is_dinner": parts["dinner"],
        "is_late": parts["late"],
        "is_weekend": parts["weekend"],
        "is_delivery": np.isin(channel, DELIVERY_CHANNELS),
        "is_takeaway": channel == "takeaway",
        "has_review": n_rev > 0,
        "review_sentiment": np.divide(s_rev, n_rev, out=np.zeros(len(sel)), where=n_rev > 0),
    }
    step = max_visits - 1 - from_end[sel]
    out[row[sel], step, :] = np.column_stack(
        [np.asarray(columns[name], dtype=np.float64) for name in SEQUENCE_FEATURE_NAMES])
    return out
