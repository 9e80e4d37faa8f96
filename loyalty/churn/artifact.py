"""One trained churn + tier model as it is stored in the registry.

``<model_dir>/churn/<version>/``::

    ensemble/         the stacking ensemble (its own manifest, .keras files, meta-learners)
    background.npz    the rows SHAP values are measured against (so every later explanation
                      of this version has the same base value)
    spec.json         what the features need to be rebuilt exactly as in training: as-of
                      date, horizon, tier thresholds, time zone, visits per sequence
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from loyalty.errors import LoyaltyError
from loyalty.prediction.inputs import ModelInputs

SPEC = "spec.json"
BACKGROUND = "background.npz"
ENSEMBLE = "ensemble"


@dataclass
class ChurnModel:
    ensemble: Any                   # loyalty.prediction.ensemble.StackingEnsemble
    background: ModelInputs
    background_weights: np.ndarray
    spec: dict[str, Any]
    path: Path | None = None
    _explainer: Any = field(default=None, repr=False)

    @property
    def max_visits(self) -> int:
        return int(self.spec["max_visits"])

    @property
    def tier_thresholds(self) -> tuple[float, ...]:
        return tuple(float(t) for t in self.spec["tier_thresholds"])

    def explainer(self):  # noqa: ANN201 - loyalty.explain.EnsembleExplainer
        """The SHAP explainer of the whole ensemble against the stored background (built once)."""
        if self._explainer is None:
            from loyalty.explain import EnsembleExplainer

            self._explainer = EnsembleExplainer(seed=int(self.spec.get("seed", 0))).fit(
                self.ensemble, self.background, self.background_weights)
        return self._explainer

    def save(self, path: Path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.ensemble.save(path / ENSEMBLE)
        bg = self.background
        np.savez_compressed(path / BACKGROUND, customer_ids=bg.customer_ids,
                            tabular=bg.tabular, sequences=bg.sequences,
                            weights=self.background_weights,
                            feature_names=np.array(bg.feature_names),
                            sequence_feature_names=np.array(bg.sequence_feature_names))
        (path / SPEC).write_text(json.dumps(self.spec, indent=2, default=str) + "\n",
                                 encoding="utf-8")
        self.path = path
        return path

    @classmethod
    def load(cls, path: Path) -> ChurnModel:
        from loyalty.prediction.ensemble import StackingEnsemble

        path = Path(path)
        if not (path / SPEC).is_file():
            raise LoyaltyError(f"{path}: not a churn model folder (no {SPEC})")
        spec = json.loads((path / SPEC).read_text(encoding="utf-8"))
        with np.load(path / BACKGROUND) as data:
            background = ModelInputs(
                data["customer_ids"], data["tabular"], data["sequences"],
                tuple(str(n) for n in data["feature_names"]),
                tuple(str(n) for n in data["sequence_feature_names"]))
            weights = data["weights"]
        return cls(StackingEnsemble.load(path / ENSEMBLE), background, weights, spec, path)
