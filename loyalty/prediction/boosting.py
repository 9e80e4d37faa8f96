"""Gradient-boosted trees (scikit-learn's histogram GBDT) for churn and for the tier.

Trees read the tabular features plus a few summary columns of the visit sequence (see
`sequence_summary`), since they cannot read the sequence itself.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from loyalty.prediction._base import (
    FORMAT_VERSION,
    META_FILE,
    as_predictions,
    check_feature_names,
    check_format,
    check_targets,
    empty_predictions,
    expand_classes,
    params_from_json,
    read_json,
    write_json,
)
from loyalty.prediction.inputs import TIERS, ModelInputs, Predictions

MODEL_FILE = "trees.joblib"


def sequence_summary(inputs: ModelInputs) -> tuple[np.ndarray, tuple[str, ...]]:
    """Per customer: the number of real steps (``seq_n_steps``) and, for every sequence feature
    but the first (``present``), its value at the last real step (``seq_last_<name>``) and its
    mean over the real steps (``seq_mean_<name>``). Customers with no visits get zeros."""
    seq = inputs.sequences
    real = np.any(seq != 0.0, axis=-1)
    count = real.sum(axis=1)
    last_index = seq.shape[1] - 1 - np.argmax(real[:, ::-1], axis=1)
    last = seq[np.arange(len(seq)), last_index].astype(np.float64) * (count > 0)[:, None]
    # Padded steps are all zeros, so summing every step sums the real ones.
    mean = seq.sum(axis=1, dtype=np.float64) / np.maximum(count, 1)[:, None]
    names = inputs.sequence_feature_names[1:]
    columns = [count[:, None], last[:, 1:], mean[:, 1:]]
    column_names = ("seq_n_steps", *(f"seq_last_{name}" for name in names),
                    *(f"seq_mean_{name}" for name in names))
    return np.concatenate(columns, axis=1), column_names


class BoostingModel(BaseEstimator):
    """One `HistGradientBoostingClassifier` for churn and one for the tier, with early
    stopping on an internal validation split (``validation_fraction``, ``n_iter_no_change``).

    A class missing from the training labels gets probability 0 (tier columns always follow
    `TIERS`); with a single class there is nothing to learn and the model predicts it.

    ``n_threads`` caps the OpenMP threads of fit and predict (``None``: OpenMP's default, one
    per core). On a small, shared machine with TensorFlow in the same process, OpenMP's
    spin-waiting threads can make a small fit a hundred times slower; 1 thread avoids that.
    """

    def __init__(self, max_iter: int = 200, learning_rate: float = 0.05,
                 max_leaf_nodes: int = 15, min_samples_leaf: int = 20,
                 l2_regularization: float = 0.0, validation_fraction: float = 0.1,
                 n_iter_no_change: int = 10, sequence_summaries: bool = True,
                 n_threads: int | None = None, seed: int = 0) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.sequence_summaries = sequence_summaries
        self.n_threads = n_threads
        self.seed = seed

    def _design(self, inputs: ModelInputs) -> tuple[np.ndarray, tuple[str, ...]]:
        x, names = inputs.tabular.astype(np.float64), tuple(inputs.feature_names)
        if self.sequence_summaries:
            summary, summary_names = sequence_summary(inputs)
            x, names = np.concatenate([x, summary], axis=1), names + summary_names
        return x, names

    def _threads(self) -> contextlib.AbstractContextManager:
        if self.n_threads is None:
            return contextlib.nullcontext()
        return threadpool_limits(limits=int(self.n_threads), user_api="openmp")

    def _classifier(self, y: np.ndarray) -> Any:
        classes, counts = np.unique(y, return_counts=True)
        if len(classes) < 2:
            return DummyClassifier(strategy="prior")
        # Early stopping holds out a stratified split: two rows of every class at least, and a
        # held-out part with room for every class.
        early = bool(counts.min() >= 2 and self.validation_fraction
                     and self.validation_fraction * len(y) >= len(classes))
        return HistGradientBoostingClassifier(
            max_iter=self.max_iter, learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes, min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization, early_stopping=early,
            validation_fraction=self.validation_fraction if early else None,
            n_iter_no_change=self.n_iter_no_change, random_state=self.seed)

    def fit(self, inputs: ModelInputs, churn: Any, tier: Any) -> BoostingModel:
        churn, tier = check_targets(inputs, churn, tier)
        x, names = self._design(inputs)
        with self._threads():
            self.churn_model_ = self._classifier(churn).fit(x, churn)
            self.tier_model_ = self._classifier(tier).fit(x, tier)
        self._set_fitted(tuple(inputs.feature_names), tuple(inputs.sequence_feature_names),
                         names)
        return self

    def _set_fitted(self, feature_names: tuple[str, ...],
                    sequence_feature_names: tuple[str, ...],
                    design_names: tuple[str, ...]) -> None:
        self.feature_names_ = feature_names
        self.sequence_feature_names_ = sequence_feature_names
        self.design_feature_names_ = design_names  # what the trees read, summaries included

    def predict_proba(self, inputs: ModelInputs) -> Predictions:
        check_is_fitted(self, "churn_model_")
        check_feature_names(inputs, self.feature_names_,
                            self.sequence_feature_names_ if self.sequence_summaries else None,
                            type(self).__name__)
        if len(inputs) == 0:
            return empty_predictions()
        x, _ = self._design(inputs)
        with self._threads():
            churn = expand_classes(self.churn_model_.predict_proba(x),
                                   self.churn_model_.classes_, 2)[:, 1]
            tier = expand_classes(self.tier_model_.predict_proba(x), self.tier_model_.classes_,
                                  len(TIERS))
        return as_predictions(churn, tier)

    @property
    def n_iter_(self) -> dict[str, int]:
        """Boosting iterations kept after early stopping, per target."""
        check_is_fitted(self, "churn_model_")
        return {name: int(getattr(model, "n_iter_", 0))
                for name, model in (("churn", self.churn_model_), ("tier", self.tier_model_))}

    def save(self, path_dir: str | Path) -> Path:
        check_is_fitted(self, "churn_model_")
        path = Path(path_dir)
        path.mkdir(parents=True, exist_ok=True)
        joblib.dump({"churn": self.churn_model_, "tier": self.tier_model_}, path / MODEL_FILE)
        write_json(path / META_FILE, {
            "format_version": FORMAT_VERSION, "class": type(self).__name__,
            "params": self.get_params(), "feature_names": self.feature_names_,
            "sequence_feature_names": self.sequence_feature_names_,
            "design_feature_names": self.design_feature_names_, "tiers": TIERS,
            "n_iter": self.n_iter_})
        return path

    @classmethod
    def load(cls, path_dir: str | Path) -> BoostingModel:
        path = Path(path_dir)
        meta = read_json(path / META_FILE)
        check_format(meta, cls.__name__, path)
        model = cls(**params_from_json(meta["params"]))
        trees = joblib.load(path / MODEL_FILE)
        model.churn_model_, model.tier_model_ = trees["churn"], trees["tier"]
        model._set_fitted(tuple(meta["feature_names"]), tuple(meta["sequence_feature_names"]),
                          tuple(meta["design_feature_names"]))
        return model
