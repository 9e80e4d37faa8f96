"""A recurrent network over the visit sequence, joined with the tabular features.

Masking comes first: padded steps (all zeros) are masked before anything changes their values,
and the mask travels through the sequence ``Normalization`` (adapted on real steps only) to the
GRU, which carries its state unchanged over masked steps. Padding at the front therefore never
changes a prediction, however many padded steps there are; the time dimension of the network is
left open, so sequences padded to another length can be scored too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from loyalty.prediction import _keras
from loyalty.prediction._base import check_targets, validation_split
from loyalty.prediction._network import TwoHeadNetwork
from loyalty.prediction.inputs import TIERS, ModelInputs


def build_sequence_network(n_steps: int | None, n_seq_features: int, n_static: int,
                           n_tiers: int, units: int = 32, static_units: int = 32,
                           hidden: tuple[int, ...] = (32,), dropout: float = 0.1,
                           cell: str = "gru") -> Any:
    """visits -> Masking -> Normalization -> GRU (or LSTM) ┐
    static features -> Normalization -> Dense ──────────────┴> [Dense -> Dropout] -> churn, tier

    ``n_steps=None`` accepts sequences of any length. Adapt ``"sequence_norm"`` on the real
    steps (shape ``(k, 1, n_seq_features)``) and ``"static_norm"`` on the tabular rows before
    fitting.
    """
    import keras
    from keras import layers

    recurrent = {"gru": layers.GRU, "lstm": layers.LSTM}.get(cell)
    if recurrent is None:
        raise ValueError(f"cell must be 'gru' or 'lstm', got {cell!r}")
    visits = keras.Input(shape=(n_steps, n_seq_features), name="sequence")
    static = keras.Input(shape=(n_static,), name="static")

    s = layers.Masking(mask_value=0.0, name="mask")(visits)
    s = layers.Normalization(axis=-1, name="sequence_norm")(s)
    s = recurrent(units, name=cell)(s)

    t = layers.Normalization(name="static_norm")(static)
    t = layers.Dense(static_units, activation="relu", name="static_dense")(t)

    x = layers.Concatenate(name="join")([s, t])
    for i, width in enumerate(hidden):
        x = layers.Dense(width, activation="relu", name=f"dense_{i}")(x)
        x = layers.Dropout(dropout, name=f"dropout_{i}")(x)
    churn = layers.Dense(1, activation="sigmoid", name="churn")(x)
    tier = layers.Dense(n_tiers, activation="softmax", name="tier")(x)
    return keras.Model({"sequence": visits, "static": static}, {"churn": churn, "tier": tier},
                       name="sequence_rnn")


def real_steps(sequences: np.ndarray) -> np.ndarray:
    """(n, N) bool: the steps that are not padding (not all zeros), as Keras' Masking sees."""
    return np.any(sequences != 0.0, axis=-1)


class SequenceModel(TwoHeadNetwork):
    """Churn and tier from ``inputs.sequences`` (GRU or LSTM) and ``inputs.tabular``.

    Training is the same as `TabularModel`'s: Adam on both cross-entropies, early stopping on a
    stratified validation split with the best weights kept, unweighted churn rows by default.
    """

    LEARNED = ("feature_names", "sequence_feature_names", "n_steps")

    def __init__(self, units: int = 32, static_units: int = 32, hidden: tuple[int, ...] = (32,),
                 dropout: float = 0.1, cell: str = "gru", epochs: int = 100,
                 batch_size: int = 256, patience: int = 8, validation_fraction: float = 0.15,
                 learning_rate: float = 1e-3, churn_weight: str | None = None, seed: int = 0,
                 verbose: int = 0, predict_batch_size: int = _keras.PREDICT_BATCH_SIZE) -> None:
        self.units = units
        self.static_units = static_units
        self.hidden = hidden
        self.dropout = dropout
        self.cell = cell
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.learning_rate = learning_rate
        self.churn_weight = churn_weight
        self.seed = seed
        self.verbose = verbose
        self.predict_batch_size = predict_batch_size

    def fit(self, inputs: ModelInputs, churn: Any, tier: Any) -> SequenceModel:
        churn, tier = check_targets(inputs, churn, tier)
        _keras.set_seed(self.seed)
        x = self.network_inputs(inputs)
        train, val = validation_split(churn, self.validation_fraction, self.seed)
        n_steps, n_seq = inputs.sequences.shape[1:]
        model = build_sequence_network(None, n_seq, inputs.tabular.shape[1], len(TIERS),
                                       units=self.units, static_units=self.static_units,
                                       hidden=tuple(self.hidden), dropout=self.dropout,
                                       cell=self.cell)
        train_steps = x["sequence"][train]
        real = train_steps[real_steps(train_steps)]
        if len(real) == 0:  # no visits at all: any scaling will do
            real = np.ones((1, n_seq), dtype=np.float32)
        model.get_layer("sequence_norm").adapt(real[:, None, :])
        model.get_layer("static_norm").adapt(x["static"][train])
        _keras.compile_two_heads(model, self.learning_rate)
        self.history_ = _keras.fit_two_heads(
            model, x, churn, tier, train=train, val=val, epochs=self.epochs,
            batch_size=self.batch_size, patience=self.patience, churn_weight=self.churn_weight,
            verbose=self.verbose)
        self._set_fitted(model, feature_names=inputs.feature_names,
                         sequence_feature_names=inputs.sequence_feature_names,
                         n_steps=int(n_steps))
        return self

    def network_inputs(self, inputs: ModelInputs) -> dict[str, np.ndarray]:
        return {"sequence": inputs.sequences.astype(np.float32),
                "static": inputs.tabular.astype(np.float32)}
