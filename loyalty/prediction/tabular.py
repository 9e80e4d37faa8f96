"""A multi-layer perceptron over the tabular features, with a churn head and a tier head.

The scaling of the features is a Keras ``Normalization`` layer adapted on the training rows, so
it is saved inside ``model.keras`` and a loaded model needs nothing else to predict.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from loyalty.prediction import _keras
from loyalty.prediction._base import (
    FORMAT_VERSION,
    META_FILE,
    as_predictions,
    check_feature_names,
    check_format,
    check_targets,
    empty_predictions,
    params_from_json,
    read_json,
    validation_split,
    write_json,
)
from loyalty.prediction.inputs import TIERS, ModelInputs, Predictions


def build_tabular_network(n_features: int, n_tiers: int, hidden: tuple[int, ...] = (64, 32),
                          dropout: float = 0.1) -> Any:
    """features -> Normalization -> [Dense -> Dropout] * len(hidden) -> churn, tier.

    The Normalization layer is not adapted here: call
    ``model.get_layer("tabular_norm").adapt(x)`` on the training rows before fitting.
    """
    import keras
    from keras import layers

    features = keras.Input(shape=(n_features,), name="tabular")
    x = layers.Normalization(name="tabular_norm")(features)
    for i, units in enumerate(hidden):
        x = layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
        x = layers.Dropout(dropout, name=f"dropout_{i}")(x)
    churn = layers.Dense(1, activation="sigmoid", name="churn")(x)
    tier = layers.Dense(n_tiers, activation="softmax", name="tier")(x)
    return keras.Model({"tabular": features}, {"churn": churn, "tier": tier}, name="tabular_mlp")


class TabularModel(BaseEstimator):
    """Churn and tier from ``inputs.tabular`` with one two-headed MLP.

    Training: Adam on the sum of both cross-entropies, early stopping on the loss of a
    stratified validation split (``validation_fraction`` of the rows; the best epoch's weights
    are kept). Churn rows are unweighted by default so that the churn probability stays
    calibrated; ``churn_weight="balanced"`` weights both classes equally instead.
    """

    def __init__(self, hidden: tuple[int, ...] = (64, 32), dropout: float = 0.1,
                 epochs: int = 100, batch_size: int = 256, patience: int = 8,
                 validation_fraction: float = 0.15, learning_rate: float = 1e-3,
                 churn_weight: str | None = None, seed: int = 0, verbose: int = 0,
                 predict_batch_size: int = _keras.PREDICT_BATCH_SIZE) -> None:
        self.hidden = hidden
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.learning_rate = learning_rate
        self.churn_weight = churn_weight
        self.seed = seed
        self.verbose = verbose
        self.predict_batch_size = predict_batch_size

    def fit(self, inputs: ModelInputs, churn: Any, tier: Any) -> TabularModel:
        churn, tier = check_targets(inputs, churn, tier)
        _keras.set_seed(self.seed)
        x = inputs.tabular.astype(np.float32)
        train, val = validation_split(churn, self.validation_fraction, self.seed)
        model = build_tabular_network(x.shape[1], len(TIERS), tuple(self.hidden), self.dropout)
        model.get_layer("tabular_norm").adapt(x[train])
        _keras.compile_two_heads(model, self.learning_rate)
        self.history_ = _keras.fit_two_heads(
            model, {"tabular": x}, churn, tier, train=train, val=val, epochs=self.epochs,
            batch_size=self.batch_size, patience=self.patience, churn_weight=self.churn_weight,
            verbose=self.verbose)
        self._set_fitted(model, tuple(inputs.feature_names))
        return self

    def _set_fitted(self, model: Any, feature_names: tuple[str, ...]) -> None:
        self.model_ = model
        self.feature_names_ = feature_names
        self.n_features_in_ = len(feature_names)
        self._predictor = _keras.Predictor(model, self.predict_batch_size)

    def predict_proba(self, inputs: ModelInputs) -> Predictions:
        check_is_fitted(self, "model_")
        check_feature_names(inputs, self.feature_names_, None, type(self).__name__)
        if len(inputs) == 0:
            return empty_predictions()
        out = self._predictor({"tabular": inputs.tabular})
        return as_predictions(out["churn"], out["tier"])

    def save(self, path_dir: str | Path) -> Path:
        check_is_fitted(self, "model_")
        path = Path(path_dir)
        path.mkdir(parents=True, exist_ok=True)
        _keras.save_model(self.model_, path)
        write_json(path / META_FILE, {
            "format_version": FORMAT_VERSION, "class": type(self).__name__,
            "params": self.get_params(), "feature_names": self.feature_names_,
            "tiers": TIERS, "history": self.history_})
        return path

    @classmethod
    def load(cls, path_dir: str | Path) -> TabularModel:
        path = Path(path_dir)
        meta = read_json(path / META_FILE)
        check_format(meta, cls.__name__, path)
        model = cls(**params_from_json(meta["params"]))
        model.history_ = meta.get("history", {})
        model._set_fitted(_keras.load_model(path), tuple(meta["feature_names"]))
        return model
