"""How well aspects are found and judged: detection P/R/F1 and polarity over gold pairs.

Detection is scored per aspect and as micro-F1 over every (sentence, aspect) cell. Polarity is
scored as SemEval's aspect-category polarity task scores it: over the gold (sentence, aspect)
pairs, whatever the detector said, so the two figures measure two different things. Pairs
labelled "conflict" (both praise and blame for one aspect) are left out of the polarity
figures, as in the three-class SemEval results: the product's labels have no such class, and
they are counted in ``n_conflict``. Thresholds per aspect are chosen on validation rows by
`tune_thresholds`, never on the rows they are measured on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import f1_score

from nlp.labels import LABELS

THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def detection_scores(gold: np.ndarray, predicted: np.ndarray,
                     aspects: Sequence[str]) -> dict[str, object]:
    """Per-aspect and micro precision / recall / F1 of (n, aspects) boolean mentions."""
    gold, predicted = np.asarray(gold, bool), np.asarray(predicted, bool)
    if gold.shape != predicted.shape or gold.shape[1] != len(aspects):
        raise ValueError(f"gold {gold.shape} and predicted {predicted.shape} do not match "
                         f"{len(aspects)} aspects")
    tp = (gold & predicted).sum(axis=0)
    fp = (~gold & predicted).sum(axis=0)
    fn = (gold & ~predicted).sum(axis=0)
    per_aspect = {a: {**_prf(int(tp[j]), int(fp[j]), int(fn[j])), "support": int(gold[:, j].sum())}
                  for j, a in enumerate(aspects)}
    return {"micro": _prf(int(tp.sum()), int(fp.sum()), int(fn.sum())), "per_aspect": per_aspect}


def polarity_scores(gold: np.ndarray, predicted: np.ndarray,
                    aspects: Sequence[str]) -> dict[str, object]:
    """Accuracy and macro-F1 over the gold pairs (cells of ``gold`` holding one of LABELS);
    ``gold`` and ``predicted`` are (n, aspects) arrays of polarity strings."""
    gold, predicted = np.asarray(gold, dtype=object), np.asarray(predicted, dtype=object)
    if gold.shape != predicted.shape or gold.shape[1] != len(aspects):
        raise ValueError(f"gold {gold.shape} and predicted {predicted.shape} do not match "
                         f"{len(aspects)} aspects")
    scored = np.isin(gold, LABELS)
    result: dict[str, object] = {"n": int(scored.sum()),
                                 "n_conflict": int((gold == "conflict").sum())}
    result.update(_accuracy_f1(gold[scored], predicted[scored]))
    result["per_aspect"] = {a: {**_accuracy_f1(gold[scored[:, j], j], predicted[scored[:, j], j]),
                                "n": int(scored[:, j].sum())}
                            for j, a in enumerate(aspects)}
    return result


def _accuracy_f1(gold: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    if len(gold) == 0:
        return {"accuracy": float("nan"), "macro_f1": float("nan")}
    return {"accuracy": float(np.mean(gold == predicted)),
            "macro_f1": float(f1_score(list(gold), list(predicted), labels=list(LABELS),
                                       average="macro", zero_division=0))}


def tune_thresholds(gold: np.ndarray, proba: np.ndarray,
                    grid: Sequence[float] = THRESHOLD_GRID) -> np.ndarray:
    """Per aspect, the probability cut with the best F1 on these (validation) rows; ties go
    to the cut nearest 0.5. An aspect never mentioned in ``gold`` keeps 0.5."""
    gold, proba = np.asarray(gold, bool), np.asarray(proba, float)
    cuts = np.full(gold.shape[1], 0.5)
    for j in range(gold.shape[1]):
        if not gold[:, j].any():
            continue
        best = max(grid, key=lambda t: (_prf(*_counts(gold[:, j], proba[:, j] >= t))["f1"],
                                        -abs(t - 0.5)))
        cuts[j] = float(best)
    return cuts


def _counts(gold: np.ndarray, predicted: np.ndarray) -> tuple[int, int, int]:
    return (int((gold & predicted).sum()), int((~gold & predicted).sum()),
            int((gold & ~predicted).sum()))


def polarity_labels(proba: np.ndarray) -> np.ndarray:
    """(n, aspects, 3) probabilities in LABELS order -> (n, aspects) label strings."""
    return np.asarray(LABELS, dtype=object)[np.argmax(np.asarray(proba), axis=-1)]
