"""Recency relative to the customer's own rhythm: the simplest honest churn heuristic.

The score is ``1 - exp(-recency / gap)``: the chance that at least one "usual gap" has elapsed
if gaps were exponential, i.e. the probability-shaped transform of the gap ratio. The gap is
the customer's mean gap between visits shrunk towards the population's median gap
(``prior_strength`` pseudo-gaps), so one noisy gap does not dominate; one-visit customers have
no gap of their own and get the population median. It is a ranking heuristic, not calibrated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalty.baselines._columns import BaselineInputError, column, require_columns

MIN_GAP_DAYS = 1.0
DEFAULT_PRIOR_GAP_DAYS = 30.0   # used only if no customer in the data has a repeat visit


def _gaps(X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(mean gap in days, number of gaps) per customer; the gap is NaN with no repeat visit."""
    visits = np.rint(column(X, "visits_total"))
    n_gaps = np.maximum(visits - 1.0, 0.0)
    if "gap_mean_days" in X.columns:
        gap = column(X, "gap_mean_days")
    else:
        span = column(X, "tenure_days") - column(X, "recency_days")
        gap = span / np.maximum(n_gaps, 1.0)
    gap = np.where(n_gaps > 0, np.maximum(gap, MIN_GAP_DAYS), np.nan)
    return gap, n_gaps


class RecencyHeuristic:
    """``fit`` learns only the population median gap; ``predict_proba`` -> (n,) in [0, 1]."""

    def __init__(self, prior_strength: float = 1.0) -> None:
        if prior_strength < 0:
            raise BaselineInputError("prior_strength must be >= 0")
        self.prior_strength = float(prior_strength)
        self.prior_gap_: float | None = None

    def _check(self, X: pd.DataFrame) -> None:
        require_columns(X, ("recency_days", "visits_total"), "RecencyHeuristic")
        if "gap_mean_days" not in X.columns:
            require_columns(X, ("tenure_days",), "RecencyHeuristic")

    def fit(self, X: pd.DataFrame, y: object = None) -> RecencyHeuristic:
        self._check(X)
        self.prior_gap_ = self._median_gap(X)
        return self

    @staticmethod
    def _median_gap(X: pd.DataFrame) -> float:
        gap, _ = _gaps(X)
        known = gap[np.isfinite(gap)]
        return float(np.median(known)) if len(known) else DEFAULT_PRIOR_GAP_DAYS

    def effective_gap(self, X: pd.DataFrame) -> np.ndarray:
        """The gap (days) each customer's recency is measured against."""
        self._check(X)
        prior = self.prior_gap_ if self.prior_gap_ is not None else self._median_gap(X)
        gap, n_gaps = _gaps(X)
        own = np.where(n_gaps > 0, gap, 0.0)
        k = self.prior_strength
        denom = n_gaps + k
        shrunk = np.where(denom > 0, (n_gaps * own + k * prior) / np.where(denom > 0, denom, 1),
                          prior)
        return np.maximum(shrunk, MIN_GAP_DAYS)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        gap = self.effective_gap(X)
        recency = np.maximum(column(X, "recency_days"), 0.0)
        score = -np.expm1(-recency / gap)
        return np.clip(score, 0.0, 1.0)
