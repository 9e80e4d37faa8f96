"""A multi-layer perceptron over the tabular features, with a churn head and a tier head.

The scaling of the features is a Keras ``Normalization`` layer adapted on the training rows, so
it is saved inside ``model.keras`` and a loaded model needs nothing else to predict.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from loyalty.prediction import _keras
from loyalty.prediction._base import check_targets, validation_split
from loyalty.prediction._network import TwoHeadNetwork
from loyalty.prediction.inputs import TIERS, ModelInputs


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


class TabularModel(TwoHeadNetwork):
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
        x = self.network_inputs(inputs)["tabular"]
        train, val = validation_split(churn, self.validation_fraction, self.seed)
        model = build_tabular_network(x.shape[1], len(TIERS), tuple(self.hidden), self.dropout)
        model.get_layer("tabular_norm").adapt(x[train])
        _keras.compile_two_heads(model, self.learning_rate)
        self.history_ = _keras.fit_two_heads(
            model, {"tabular": x}, churn, tier, train=train, val=val, epochs=self.epochs,
            batch_size=self.batch_size, patience=self.patience, churn_weight=self.churn_weight,
            verbose=self.verbose)
        self._set_fitted(model, feature_names=inputs.feature_names)
        return self

    def network_inputs(self, inputs: ModelInputs) -> dict[str, np.ndarray]:
        return {"tabular": inputs.tabular.astype(np.float32)}

    def _set_fitted(self, model: Any, **learned: Any) -> None:
        super()._set_fitted(model, **learned)
        self.n_features_in_ = len(self.feature_names_)
