"""What every churn / tier model shares: label and feature checks, splits, saved metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from loyalty.prediction.inputs import TIERS, ModelInputs, Predictions

FORMAT_VERSION = 1
META_FILE = "estimator.json"
EPS = 1e-6


def check_targets(inputs: ModelInputs, churn: Any, tier: Any) -> tuple[np.ndarray, np.ndarray]:
    """Churn as 0/1 int64 and tier as int64 indices into `TIERS` (names are accepted too)."""
    churn = np.asarray(churn).reshape(-1)
    if churn.dtype == bool:
        churn = churn.astype(np.int64)
    if len(churn) != len(inputs) or not np.isin(churn, (0, 1)).all():
        raise ValueError(f"churn must be {len(inputs)} values in {{0, 1}}")
    return churn.astype(np.int64), encode_tier(tier, len(inputs))


def encode_tier(tier: Any, n: int) -> np.ndarray:
    tier = np.asarray(tier).reshape(-1)
    if len(tier) != n:
        raise ValueError(f"tier must have {n} values, got {len(tier)}")
    if tier.dtype.kind in "USO":
        unknown = sorted(set(map(str, tier)) - set(TIERS))
        if unknown:
            raise ValueError(f"unknown tier names {unknown}; expected some of {TIERS}")
        return np.array([TIERS.index(str(t)) for t in tier], dtype=np.int64)
    if not np.isin(tier, np.arange(len(TIERS))).all():
        raise ValueError(f"tier must be indices 0..{len(TIERS) - 1} into {TIERS} (or names)")
    return tier.astype(np.int64)


def check_feature_names(inputs: ModelInputs, feature_names: tuple[str, ...],
                        sequence_feature_names: tuple[str, ...] | None, owner: str) -> None:
    """Raise a ValueError saying how the inputs' columns differ from those seen in `fit`."""
    pairs = [("feature_names", tuple(inputs.feature_names), tuple(feature_names))]
    if sequence_feature_names is not None:
        pairs.append(("sequence_feature_names", tuple(inputs.sequence_feature_names),
                      tuple(sequence_feature_names)))
    for what, got, expected in pairs:
        if got == expected:
            continue
        missing = [name for name in expected if name not in got]
        extra = [name for name in got if name not in expected]
        detail = (f"missing {missing}, unexpected {extra}" if missing or extra
                  else "same names in a different order")
        raise ValueError(f"{owner} was fitted on other {what}: {detail}; expected {expected}")


def as_predictions(churn: np.ndarray, tier: np.ndarray) -> Predictions:
    """Valid `Predictions`: churn clipped to [0, 1], tier rows non-negative and summing to 1."""
    churn = np.clip(np.asarray(churn, dtype=np.float64).reshape(-1), 0.0, 1.0)
    tier = np.clip(np.asarray(tier, dtype=np.float64).reshape(len(churn), len(TIERS)), 0.0, None)
    total = tier.sum(axis=1, keepdims=True)
    tier = np.where(total > 0, tier / np.where(total > 0, total, 1.0), 1.0 / len(TIERS))
    return Predictions(churn=churn, tier=tier)


def empty_predictions() -> Predictions:
    return Predictions(churn=np.zeros(0), tier=np.zeros((0, len(TIERS))))


def expand_classes(proba: np.ndarray, classes: np.ndarray, n_classes: int) -> np.ndarray:
    """Columns for ``classes`` spread into ``n_classes`` columns; absent classes get zeros."""
    full = np.zeros((len(proba), n_classes), dtype=np.float64)
    full[:, np.asarray(classes, dtype=np.int64)] = proba
    return full


def validation_split(churn: np.ndarray, fraction: float,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation row positions, stratified on churn; no validation rows when
    ``fraction`` is 0 or there are too few rows to hold any out."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"validation_fraction must be in [0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    val = []
    for label in np.unique(churn):
        rows = rng.permutation(np.flatnonzero(churn == label))
        take = int(round(fraction * len(rows)))
        if 0 < take < len(rows):
            val.append(rows[:take])
    val = np.sort(np.concatenate(val)) if val else np.zeros(0, dtype=np.int64)
    train = np.setdiff1d(np.arange(len(churn)), val)
    return train, val


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1.0 - EPS)
    return np.log(p) - np.log1p(-p)


def json_safe(value: Any) -> Any:
    """NumPy scalars and arrays as plain JSON; NaN and infinities as null."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_safe(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_json(path: Path, data: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(json_safe(data), indent=2, sort_keys=True) + "\n",
                          encoding="utf-8")


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def params_from_json(params: dict[str, Any]) -> dict[str, Any]:
    """JSON turned tuples (layer sizes) into lists; turn them back."""
    return {key: tuple(value) if isinstance(value, list) else value
            for key, value in params.items()}


def check_format(meta: dict[str, Any], expected_class: str, path: Path) -> None:
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: format version {meta.get('format_version')!r}, this code "
                         f"reads {FORMAT_VERSION}")
    if meta.get("class") != expected_class:
        raise ValueError(f"{path} holds a {meta.get('class')}, not a {expected_class}")
