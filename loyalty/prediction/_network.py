"""What the two Keras models share once fitted: predicting, saving and loading a two-head
network together with the names it was fitted on."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

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
    empty_predictions,
    params_from_json,
    read_json,
    write_json,
)
from loyalty.prediction.inputs import TIERS, ModelInputs, Predictions


class TwoHeadNetwork(BaseEstimator):
    """Base of `TabularModel` and `SequenceModel`.

    A subclass says which arrays its network reads (`network_inputs`) and which learned values
    travel with the ``.keras`` file (``LEARNED``: each is kept as the attribute ``<name>_`` and
    saved under ``<name>`` in the JSON beside it); ``feature_names`` is always one of them.
    """

    LEARNED: ClassVar[tuple[str, ...]] = ("feature_names",)

    def network_inputs(self, inputs: ModelInputs) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _set_fitted(self, model: Any, **learned: Any) -> None:
        self.model_ = model
        for name in self.LEARNED:
            value = learned[name]
            setattr(self, f"{name}_", tuple(value) if isinstance(value, list) else value)
        self._predictor = _keras.Predictor(model, self.predict_batch_size)

    def predict_proba(self, inputs: ModelInputs) -> Predictions:
        check_is_fitted(self, "model_")
        check_feature_names(inputs, self.feature_names_,
                            getattr(self, "sequence_feature_names_", None), type(self).__name__)
        if len(inputs) == 0:
            return empty_predictions()
        out = self._predictor(self.network_inputs(inputs))
        return as_predictions(out["churn"], out["tier"])

    def save(self, path_dir: str | Path) -> Path:
        check_is_fitted(self, "model_")
        path = Path(path_dir)
        path.mkdir(parents=True, exist_ok=True)
        _keras.save_model(self.model_, path)
        write_json(path / META_FILE, {
            "format_version": FORMAT_VERSION, "class": type(self).__name__,
            "params": self.get_params(),
            **{name: getattr(self, f"{name}_") for name in self.LEARNED},
            "tiers": TIERS, "history": self.history_})
        return path

    @classmethod
    def load(cls, path_dir: str | Path) -> TwoHeadNetwork:
        path = Path(path_dir)
        meta = read_json(path / META_FILE)
        check_format(meta, cls.__name__, path)
        model = cls(**params_from_json(meta["params"]))
        model.history_ = meta.get("history", {})
        model._set_fitted(_keras.load_model(path), **{n: meta[n] for n in cls.LEARNED})
        return model
