"""What every churn / tier model reads and what it answers.

`ModelInputs` holds, for the same customers in the same order, the named tabular features
(one float32 row per customer, no NaN: missing data is encoded by the feature function with
explicit indicator columns) and the padded visit sequences (oldest visit first, padding at
the front, padded steps all zeros; real steps have ``present == 1`` so they are never all
zeros, which is what Keras' Masking layer keys on).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TIERS = ("bronze", "silver", "gold", "platinum")


@dataclass(frozen=True)
class ModelInputs:
    customer_ids: np.ndarray             # (n,) int64
    tabular: np.ndarray                  # (n, M) float32, finite
    sequences: np.ndarray                # (n, N, F) float32, finite
    feature_names: tuple[str, ...]       # M names, in column order
    sequence_feature_names: tuple[str, ...]  # F names

    def __post_init__(self) -> None:
        n = len(self.customer_ids)
        if self.tabular.ndim != 2 or self.tabular.shape != (n, len(self.feature_names)):
            raise ValueError(f"tabular has shape {self.tabular.shape}, expected "
                             f"({n}, {len(self.feature_names)})")
        if self.sequences.ndim != 3 or self.sequences.shape[0] != n or \
                self.sequences.shape[2] != len(self.sequence_feature_names):
            raise ValueError(f"sequences has shape {self.sequences.shape}, expected "
                             f"({n}, N, {len(self.sequence_feature_names)})")
        if not (np.isfinite(self.tabular).all() and np.isfinite(self.sequences).all()):
            raise ValueError("model inputs must be finite (encode missing data explicitly)")

    def __len__(self) -> int:
        return len(self.customer_ids)

    def take(self, index: np.ndarray | slice) -> ModelInputs:
        """The rows at ``index`` (positions, a boolean mask or a slice), as new inputs."""
        return ModelInputs(np.asarray(self.customer_ids)[index], self.tabular[index],
                           self.sequences[index], self.feature_names,
                           self.sequence_feature_names)


@dataclass(frozen=True)
class Predictions:
    churn: np.ndarray   # (n,) P(churn) in [0, 1]
    tier: np.ndarray    # (n, len(TIERS)) probabilities, rows sum to 1

    @property
    def tier_labels(self) -> list[str]:
        return [TIERS[i] for i in np.argmax(self.tier, axis=1)]
