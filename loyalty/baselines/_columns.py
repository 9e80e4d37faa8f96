"""Column access shared by the baselines: read named feature columns as finite float arrays."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from loyalty.errors import LoyaltyError


class BaselineInputError(LoyaltyError, ValueError):
    """A baseline was given a feature frame it cannot use (missing columns, wrong shape)."""


def require_columns(X: pd.DataFrame, columns: Iterable[str], model: str) -> None:
    if not isinstance(X, pd.DataFrame):
        raise BaselineInputError(f"{model} needs a pandas DataFrame of features, "
                                 f"got {type(X).__name__}")
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise BaselineInputError(f"{model} needs feature columns {missing} that the frame lacks")


def column(X: pd.DataFrame, name: str) -> np.ndarray:
    """``X[name]`` as float64 with NaN and infinities replaced by 0."""
    values = pd.to_numeric(X[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
