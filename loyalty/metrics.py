"""Quality metrics for churn and tier predictions, and the Markdown table benchmarks print."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    roc_auc_score,
)

from loyalty.prediction.inputs import TIERS

PROBA_CLIP = 1e-6
MISSING = "–"


def _binary_inputs(y_true: object, p: object) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=np.float64).ravel()
    prob = np.asarray(p, dtype=np.float64).ravel()
    if len(y) != len(prob):
        raise ValueError(f"{len(y)} labels but {len(prob)} probabilities")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("churn labels must be 0 or 1")
    if not np.isfinite(prob).all() or (prob < 0).any() or (prob > 1).any():
        raise ValueError("churn probabilities must be finite and in [0, 1]")
    return y.astype(np.int64), prob


def churn_metrics(y_true: object, p: object) -> dict[str, float]:
    """ROC AUC, PR AUC (average precision), Brier score, log loss (probabilities clipped to
    [1e-6, 1 - 1e-6]), base rate and n. Metrics undefined for the data (AUCs with one class,
    anything with no rows) are NaN."""
    y, prob = _binary_inputs(y_true, p)
    n = len(y)
    out: dict[str, float] = {"roc_auc": math.nan, "pr_auc": math.nan, "brier": math.nan,
                             "log_loss": math.nan, "base_rate": math.nan, "n": n}
    if n == 0:
        return out
    if 0 < y.sum() < n:
        out["roc_auc"] = float(roc_auc_score(y, prob))
        out["pr_auc"] = float(average_precision_score(y, prob))
    clipped = np.clip(prob, PROBA_CLIP, 1.0 - PROBA_CLIP)
    out["brier"] = float(brier_score_loss(y, prob, labels=[0, 1]))
    out["log_loss"] = float(log_loss(y, clipped, labels=[0, 1]))
    out["base_rate"] = float(y.mean())
    return out


def tier_metrics(y_true: object, proba_or_pred: object) -> dict[str, float]:
    """Macro-F1 over all tiers (labels 0..3, a tier with no true and no predicted rows scores 0),
    accuracy and n; with an (n, 4) probability matrix the prediction is its argmax and the
    multiclass log loss is added."""
    y = np.asarray(y_true).ravel().astype(np.int64)
    given = np.asarray(proba_or_pred, dtype=np.float64)
    labels = list(range(len(TIERS)))
    out: dict[str, float] = {}
    if given.ndim == 2:
        if given.shape != (len(y), len(TIERS)):
            raise ValueError(f"tier probabilities have shape {given.shape}, "
                             f"expected ({len(y)}, {len(TIERS)})")
        pred = np.argmax(given, axis=1)
        if len(y):
            clipped = np.clip(given, PROBA_CLIP, 1.0)
            clipped = clipped / clipped.sum(axis=1, keepdims=True)
            out["log_loss"] = float(log_loss(y, clipped, labels=labels))
    else:
        pred = given.ravel().astype(np.int64)
        if len(pred) != len(y):
            raise ValueError(f"{len(y)} labels but {len(pred)} predictions")
    if len(y) == 0:
        return {"macro_f1": math.nan, "accuracy": math.nan, "n": 0}
    return {"macro_f1": float(f1_score(y, pred, labels=labels, average="macro",
                                       zero_division=0)),
            "accuracy": float(accuracy_score(y, pred)), "n": len(y), **out}


def calibration_error(y_true: object, p: object, bins: int = 10) -> float:
    """Expected calibration error: the row-weighted mean, over ``bins`` equal-width probability
    bins, of |observed churn rate - mean predicted probability| (p = 1 falls in the last bin)."""
    if bins < 1:
        raise ValueError("bins must be >= 1")
    y, prob = _binary_inputs(y_true, p)
    if len(y) == 0:
        return math.nan
    index = np.minimum((prob * bins).astype(np.int64), bins - 1)
    sum_y = np.bincount(index, weights=y, minlength=bins)
    sum_p = np.bincount(index, weights=prob, minlength=bins)
    return float(np.abs(sum_y - sum_p).sum() / len(y))


def _cell(value: object) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        v = float(value)
        return MISSING if math.isnan(v) else f"{v:.3f}"
    text = str(value)
    return MISSING if text == "" else text.replace("|", "\\|").replace("\n", " ")


def format_table(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """A Markdown table: one row per dict, the given columns in order; floats with 3 decimals,
    integers as they are, missing keys / None / NaN as "–"."""
    if not columns:
        raise ValueError("format_table needs at least one column")
    lines = ["| " + " | ".join(_cell(c) for c in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    return "\n".join(lines)
