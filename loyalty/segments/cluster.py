"""Customer segments: KMeans on a small, named set of behaviour columns, with stable ids.

Behaviour columns (built by :func:`behaviour_frame` from the tabular features and the churn
probability; see ``loyalty.features.tabular`` for the feature definitions):

- ``log_recency`` = log1p(recency_days)
- ``log_frequency_365d`` = log1p(frequency_365d)
- ``log_monetary_avg`` = log1p(max(monetary_avg, 0)) (net refunds count as no spend)
- ``gap_ratio`` clipped to [0, ``GAP_RATIO_CAP``] so a few long-gone customers do not dominate
- ``sentiment_mean``, ``has_reviews``
- ``churn_probability`` (the ensemble's churn probability)

They are standardised (z-scores) before KMeans. The number of clusters ``k`` is the one with the
best silhouette score over ``k_range`` (both ends included); the silhouette is computed on a seeded
sample of at most ``SILHOUETTE_SAMPLE`` rows so the choice stays fast on large customer bases.
Cluster labels are renumbered in a canonical order of their centres, so the same partition gets
the same labels whatever the seed.

Stable ids across refreshes: :func:`match_segments` pairs new centres with the previous build's
centres (Hungarian matching on distance, in standardised units) and keeps an old id when the
pair is closer than a threshold; otherwise it mints ``seg-<short hash of the rounded centre>``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from loyalty.errors import LoyaltyError

BEHAVIOUR_COLUMNS: tuple[str, ...] = (
    "log_recency", "log_frequency_365d", "log_monetary_avg", "gap_ratio",
    "sentiment_mean", "has_reviews", "churn_probability",
)
SOURCE_FEATURES: tuple[str, ...] = (
    "recency_days", "frequency_365d", "monetary_avg", "gap_ratio", "sentiment_mean", "has_reviews",
)
GAP_RATIO_CAP = 10.0
SILHOUETTE_SAMPLE = 5_000
# Below this many customers KMeans runs single-threaded: OpenMP start-up and spinning cost far
# more than they save on small data (seconds instead of tens of milliseconds on 2 cores).
SINGLE_THREAD_BELOW = 20_000
MATCH_THRESHOLD = 1.0  # in standard deviations of the behaviour columns
ID_DECIMALS = 2


class SegmentationError(LoyaltyError):
    """Segments cannot be built from the given data (too few customers, missing columns...)."""


def behaviour_frame(features: pd.DataFrame, churn: pd.Series) -> pd.DataFrame:
    """The behaviour columns, indexed like ``features``; ``churn`` is aligned by customer id."""
    missing = [c for c in SOURCE_FEATURES if c not in features.columns]
    if missing:
        raise SegmentationError(f"features lack the columns {missing}")
    aligned = churn.reindex(features.index)
    if aligned.isna().any():
        absent = list(features.index[aligned.isna().to_numpy()][:5])
        raise SegmentationError(f"no churn probability for customers such as {absent}")
    f = features
    frame = pd.DataFrame({
        "log_recency": np.log1p(f["recency_days"].clip(lower=0)),
        "log_frequency_365d": np.log1p(f["frequency_365d"].clip(lower=0)),
        "log_monetary_avg": np.log1p(f["monetary_avg"].clip(lower=0)),
        "gap_ratio": f["gap_ratio"].clip(0, GAP_RATIO_CAP),
        "sentiment_mean": f["sentiment_mean"],
        "has_reviews": f["has_reviews"],
        "churn_probability": aligned.astype(float),
    }, index=features.index)
    return frame.astype(float)


class SegmentModel:
    """KMeans segments with ``k`` chosen by silhouette.

    After :meth:`fit`: ``labels_`` (Series of int labels by customer id), ``k_``,
    ``silhouette_`` (dict k -> score), ``centers_`` (k x 7 array in standardised units, the
    space :func:`match_segments` works in), ``raw_centers_`` (DataFrame, behaviour units).
    """

    def __init__(self, k_range: tuple[int, int] = (3, 8), seed: int = 0, n_init: int = 10):
        lo, hi = k_range
        if lo < 2 or hi < lo:
            raise SegmentationError(f"k_range must satisfy 2 <= low <= high, got {k_range}")
        self.k_range = (int(lo), int(hi))
        self.seed = seed
        self.n_init = n_init

    def fit(self, features: pd.DataFrame, churn: pd.Series,
            value: pd.Series | None = None) -> SegmentModel:
        """Cluster; ``value`` (monetary_total) is kept as ``value_``, it is not clustered."""
        frame = behaviour_frame(features, churn)
        n = len(frame)
        lo, hi = self.k_range
        hi = min(hi, n - 1)
        if n < 3 or hi < lo:
            raise SegmentationError(f"{n} customers are too few for {self.k_range[0]}+ segments")
        self.scaler_ = StandardScaler().fit(frame.to_numpy())
        # A constant column has scale 1 in StandardScaler: it then weighs nothing (all zeros).
        x = self.scaler_.transform(frame.to_numpy())
        with threadpool_limits(limits=1 if n < SINGLE_THREAD_BELOW else None):
            self._fit_scaled(x, lo, hi)
        self.labels_ = pd.Series(self._relabel[self.kmeans_.labels_], index=features.index,
                                 name="segment")
        self.value_ = None if value is None else value.reindex(features.index)
        return self

    def _fit_scaled(self, x: np.ndarray, lo: int, hi: int) -> None:
        n = len(x)
        rng = np.random.default_rng(self.seed)
        sample = np.sort(rng.choice(n, size=min(n, SILHOUETTE_SAMPLE), replace=False))
        self.silhouette_: dict[int, float] = {}
        best: tuple[float, int, KMeans] | None = None
        for k in range(lo, hi + 1):
            km = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.seed).fit(x)
            labels = km.labels_[sample]
            if len(np.unique(labels)) < 2:
                score = -1.0
            else:
                score = float(silhouette_score(x[sample], labels))
            self.silhouette_[k] = score
            if best is None or score > best[0] + 1e-12:
                best = (score, k, km)
        assert best is not None
        _, self.k_, self.kmeans_ = best
        # Canonical label order: sort clusters by their rounded centres (lexicographically).
        centers = self.kmeans_.cluster_centers_
        order = np.lexsort(np.round(centers, 6).T[::-1])
        self._relabel = np.empty(self.k_, dtype=int)
        self._relabel[order] = np.arange(self.k_)
        self.centers_ = centers[order]
        self.raw_centers_ = pd.DataFrame(self.scaler_.inverse_transform(self.centers_),
                                         columns=list(BEHAVIOUR_COLUMNS))

    def _scaled(self, features: pd.DataFrame, churn: pd.Series) -> np.ndarray:
        if not hasattr(self, "kmeans_"):
            raise SegmentationError("the segment model is not fitted")
        return self.scaler_.transform(behaviour_frame(features, churn).to_numpy())

    def predict(self, features: pd.DataFrame, churn: pd.Series) -> pd.Series:
        """The segment label of each customer (same numbering as ``labels_``)."""
        x = self._scaled(features, churn)
        with threadpool_limits(limits=1 if len(x) < SINGLE_THREAD_BELOW else None):
            raw = self.kmeans_.predict(x) if len(x) else []
        return pd.Series(self._relabel[np.asarray(raw, dtype=int)], index=features.index,
                         name="segment")

    def distance(self, features: pd.DataFrame, churn: pd.Series) -> pd.Series:
        """Distance (standardised units) of each customer to the centre of their segment."""
        x = self._scaled(features, churn)
        labels = self.predict(features, churn).to_numpy()
        d = np.linalg.norm(x - self.centers_[labels], axis=1) if len(x) else np.array([])
        return pd.Series(d, index=features.index, name="distance")


def segment_id(center: np.ndarray) -> str:
    """``seg-<8 hex>``: a short hash of the centre rounded to ``ID_DECIMALS`` decimals."""
    rounded = np.round(np.asarray(center, dtype=float), ID_DECIMALS) + 0.0  # no "-0.0"
    text = ",".join(f"{v:.{ID_DECIMALS}f}" for v in rounded)
    return "seg-" + hashlib.sha1(text.encode()).hexdigest()[:8]


def match_segments(old_centers: Mapping[str, np.ndarray], new_centers: np.ndarray,
                   threshold: float = MATCH_THRESHOLD) -> list[str]:
    """Ids for ``new_centers`` (row i -> ids[i]): old ids by Hungarian matching, else new ones.

    A new centre keeps the id of the old centre it is paired with when their Euclidean distance
    is at most ``threshold``; unpaired or farther centres get :func:`segment_id` (with ``-2``,
    ``-3``... appended in the unlikely case that id is already taken).
    """
    new = np.atleast_2d(np.asarray(new_centers, dtype=float))
    if new.size == 0:
        return []
    ids: list[str | None] = [None] * len(new)
    old_keys = list(old_centers)
    if old_keys:
        old = np.vstack([np.asarray(old_centers[key], dtype=float) for key in old_keys])
        if old.shape[1] != new.shape[1]:
            raise SegmentationError(
                f"old centres have {old.shape[1]} columns, new ones {new.shape[1]}")
        cost = np.linalg.norm(new[:, None, :] - old[None, :, :], axis=2)
        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows, cols, strict=True):
            if cost[r, c] <= threshold:
                ids[r] = old_keys[c]
    taken = set(old_keys)
    out: list[str] = []
    for i, given in enumerate(ids):
        if given is None:
            base = segment_id(new[i])
            given, n = base, 1
            while given in taken:
                n += 1
                given = f"{base}-{n}"
        taken.add(given)
        out.append(given)
    return out
