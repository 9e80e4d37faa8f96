"""Supervised baselines: RFM logistic regression, gradient boosting on the full feature frame
(churn and tier), and the majority-class tier baseline.

Every churn baseline answers ``predict_proba(X) -> (n,)`` P(churn); every tier baseline answers
``predict_proba(X) -> (n, len(TIERS))`` (columns in tier order, classes never seen in training
get probability 0) and ``predict(X) -> (n,)`` tier index.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from loyalty.baselines._columns import BaselineInputError, column, require_columns
from loyalty.prediction.inputs import TIERS

N_TIERS = len(TIERS)
RFM_COLUMNS = ("recency_days", "visits_total", "frequency_365d", "monetary_avg")
EARLY_STOPPING_MIN_ROWS = 1000


def _labels(y: object, n: int, what: str) -> np.ndarray:
    arr = np.asarray(y).ravel()
    if len(arr) != n:
        raise BaselineInputError(f"{what} has {len(arr)} labels for {n} rows")
    if not np.isfinite(arr.astype(np.float64)).all():
        raise BaselineInputError(f"{what} labels must be finite")
    return arr.astype(np.int64)


def _binary(y: object, n: int) -> np.ndarray:
    arr = _labels(y, n, "churn")
    if not np.isin(arr, (0, 1)).all():
        raise BaselineInputError("churn labels must be 0 or 1")
    return arr


def _tiers(y: object, n: int) -> np.ndarray:
    arr = _labels(y, n, "tier")
    if ((arr < 0) | (arr >= N_TIERS)).any():
        raise BaselineInputError(f"tier labels must be in 0..{N_TIERS - 1}")
    return arr


def rfm_design(X: pd.DataFrame) -> np.ndarray:
    """The RFM design matrix: log1p of recency (days), visits, visits in the last 365 days and
    average spend (all right-skewed, non-negative)."""
    require_columns(X, RFM_COLUMNS, "RFMLogistic")
    return np.column_stack([np.log1p(np.maximum(column(X, c), 0.0)) for c in RFM_COLUMNS])


class RFMLogistic:
    """Standardised logistic regression (C=1, no class weights) on log1p RFM features."""

    def __init__(self, C: float = 1.0, max_iter: int = 1000) -> None:
        self.C = C
        self.max_iter = max_iter
        self.model_ = None
        self.constant_: float | None = None

    def fit(self, X: pd.DataFrame, y: object) -> RFMLogistic:
        design = rfm_design(X)
        labels = _binary(y, len(design))
        if len(np.unique(labels)) < 2:      # nothing to learn: predict the only class seen
            self.model_, self.constant_ = None, float(labels[0]) if len(labels) else 0.5
            return self
        self.constant_ = None
        self.model_ = make_pipeline(StandardScaler(),
                                    LogisticRegression(C=self.C, max_iter=self.max_iter))
        self.model_.fit(design, labels)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        design = rfm_design(X)
        if self.constant_ is not None:
            return np.full(len(design), self.constant_)
        if self.model_ is None:
            raise BaselineInputError("RFMLogistic is not fitted: call fit() first")
        return self.model_.predict_proba(design)[:, 1]


def _feature_matrix(X: pd.DataFrame, columns: list[str] | None, model: str
                    ) -> tuple[pd.DataFrame, list[str]]:
    """All columns of the frame as numbers, in the training column order."""
    if not isinstance(X, pd.DataFrame):
        raise BaselineInputError(f"{model} needs a pandas DataFrame of features")
    if columns is None:
        columns = [str(c) for c in X.columns]
        if not columns:
            raise BaselineInputError(f"{model} needs at least one feature column")
    else:
        require_columns(X, columns, model)
    frame = X[columns].copy()
    for c in columns:
        dtype = frame[c].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            continue
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            frame[c] = frame[c].astype(np.float64)
        else:
            raise BaselineInputError(f"{model}: column {c!r} is not numeric ({dtype})")
    return frame, columns


def _boosting(n_rows: int, random_state: int) -> HistGradientBoostingClassifier:
    early = n_rows >= EARLY_STOPPING_MIN_ROWS
    return HistGradientBoostingClassifier(
        learning_rate=0.05, max_iter=500 if early else 200, max_leaf_nodes=31,
        min_samples_leaf=20, l2_regularization=1.0, early_stopping=early,
        validation_fraction=0.1, n_iter_no_change=20, random_state=random_state)


class FeatureBoosting:
    """Gradient boosting (HistGradientBoostingClassifier) on every column of the feature frame;
    early stopping on a 10% validation split when there are enough rows."""

    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state
        self.model_: HistGradientBoostingClassifier | None = None
        self.columns_: list[str] | None = None
        self.constant_: float | None = None

    def fit(self, X: pd.DataFrame, y: object) -> FeatureBoosting:
        frame, self.columns_ = _feature_matrix(X, None, "FeatureBoosting")
        labels = _binary(y, len(frame))
        if len(np.unique(labels)) < 2:
            self.model_, self.constant_ = None, float(labels[0]) if len(labels) else 0.5
            return self
        self.constant_ = None
        self.model_ = _boosting(len(frame), self.random_state).fit(frame, labels)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if self.columns_ is None:
            raise BaselineInputError("FeatureBoosting is not fitted: call fit() first")
        frame, _ = _feature_matrix(X, self.columns_, "FeatureBoosting")
        if self.constant_ is not None:
            return np.full(len(frame), self.constant_)
        return self.model_.predict_proba(frame)[:, 1]


def _spread(proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
    out = np.zeros((len(proba), N_TIERS))
    out[:, classes.astype(np.int64)] = proba
    return out


class FeatureBoostingTier:
    """Multiclass gradient boosting on every feature column for the tier a customer heads to."""

    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state
        self.model_: HistGradientBoostingClassifier | None = None
        self.columns_: list[str] | None = None
        self.constant_: np.ndarray | None = None

    def fit(self, X: pd.DataFrame, y: object) -> FeatureBoostingTier:
        frame, self.columns_ = _feature_matrix(X, None, "FeatureBoostingTier")
        labels = _tiers(y, len(frame))
        if len(np.unique(labels)) < 2:
            self.model_ = None
            self.constant_ = _spread(np.ones((1, 1)), np.unique(labels))[0]
            return self
        self.constant_ = None
        self.model_ = _boosting(len(frame), self.random_state).fit(frame, labels)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if self.columns_ is None:
            raise BaselineInputError("FeatureBoostingTier is not fitted: call fit() first")
        frame, _ = _feature_matrix(X, self.columns_, "FeatureBoostingTier")
        if self.constant_ is not None:
            return np.tile(self.constant_, (len(frame), 1))
        return _spread(self.model_.predict_proba(frame), self.model_.classes_)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.argmax(self.predict_proba(X), axis=1)


class MajorityTier:
    """Predicts the most common training tier; probabilities are the training frequencies."""

    def __init__(self) -> None:
        self.frequencies_: np.ndarray | None = None

    def fit(self, X: object, y: object) -> MajorityTier:
        labels = _tiers(y, len(np.asarray(y).ravel()))
        if len(labels) == 0:
            raise BaselineInputError("MajorityTier needs at least one label")
        self.frequencies_ = np.bincount(labels, minlength=N_TIERS) / len(labels)
        return self

    def predict_proba(self, X: object) -> np.ndarray:
        if self.frequencies_ is None:
            raise BaselineInputError("MajorityTier is not fitted: call fit() first")
        return np.tile(self.frequencies_, (len(X), 1))

    def predict(self, X: object) -> np.ndarray:
        return np.argmax(self.predict_proba(X), axis=1)
