"""Features and labels: the ONE feature function that training and serving share.

`build_inputs(frames, T)` turns what was known at the as-of instant ``T`` into `ModelInputs`:
named tabular features per customer (`customer_features`, `FEATURE_NAMES`) and padded visit
sequences (`visit_sequences`, `SEQUENCE_FEATURE_NAMES`). `make_labels` reads only (T, T+H].
`load_frames` reads the database; `Frames` can also be built from DataFrames.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from loyalty.features.frames import FeatureError, Frames, frames_from_dataframes, load_frames
from loyalty.features.labels import LABEL_COLUMNS, available_horizon, make_labels
from loyalty.features.sequences import SEQUENCE_FEATURE_NAMES, visit_sequences
from loyalty.features.tabular import (
    ASPECTS,
    DEFAULT_TIER_THRESHOLDS,
    DEFAULT_TIMEZONE,
    FEATURE_NAMES,
    customer_features,
)
from loyalty.prediction.inputs import ModelInputs

__all__ = [
    "ASPECTS", "DEFAULT_TIER_THRESHOLDS", "DEFAULT_TIMEZONE", "FEATURE_NAMES", "LABEL_COLUMNS",
    "SEQUENCE_FEATURE_NAMES", "FeatureError", "Frames", "ModelInputs", "available_horizon",
    "build_inputs", "customer_features", "frames_from_dataframes", "load_frames", "make_labels",
    "visit_sequences",
]


def build_inputs(frames: Frames, as_of: datetime | pd.Timestamp, *,
                 customer_ids: Sequence[int] | np.ndarray | None = None, max_visits: int = 20,
                 timezone: str = DEFAULT_TIMEZONE,
                 tier_thresholds: tuple[float, float, float] = DEFAULT_TIER_THRESHOLDS
                 ) -> ModelInputs:
    """Model inputs at ``as_of``: every customer with a visit up to it (increasing id), or
    exactly ``customer_ids`` in that order.

    A requested customer without a non-return visit up to ``as_of`` has no features: that is a
    `FeatureError` naming them (serving should not score a guest it knows nothing about).
    """
    if customer_ids is not None:
        wanted = np.asarray(customer_ids, dtype=np.int64).reshape(-1)
        if len(np.unique(wanted)) != len(wanted):
            raise FeatureError("customer_ids must not repeat")
        # Features are per customer: computing them on these customers' rows alone gives the
        # same values, and serving one guest does not cost a pass over everyone.
        frames = frames.for_customers(wanted)
    table = customer_features(frames, as_of, timezone=timezone, tier_thresholds=tier_thresholds)
    if customer_ids is None:
        ids = table.index.to_numpy(dtype=np.int64)
    else:
        ids = wanted
        unknown = ids[~np.isin(ids, table.index.to_numpy())]
        if len(unknown):
            shown = ", ".join(str(i) for i in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
            raise FeatureError(f"{len(unknown)} customer(s) have no visit up to "
                               f"{pd.Timestamp(as_of).isoformat()}: {shown}")
        table = table.loc[ids]
    sequences = visit_sequences(frames, as_of, ids, max_visits=max_visits, timezone=timezone)
    return ModelInputs(ids, table.to_numpy(dtype=np.float32), sequences, FEATURE_NAMES,
                       SEQUENCE_FEATURE_NAMES)
