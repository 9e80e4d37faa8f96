"""Scoring sentiment models: three-class reports, binary accuracy, side-by-side comparison.

Every model in a comparison is scored on the same rows in the same run (`compare`), so the
numbers in one table can be compared with each other.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from nlp.aspects import ProbabilityModel
from nlp.labels import LABELS


def _as_labels(values: Sequence[object], what: str) -> list[str]:
    out = [str(v) for v in values]
    bad = sorted({v for v in out if v not in LABELS})
    if bad:
        raise ValueError(f"{what}: not sentiment labels: {bad[:5]} (expected {LABELS})")
    return out


def classification_report(y_true: Sequence[str], y_pred: Sequence[str]) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix.

    Returns ``{"n", "accuracy", "macro_f1", "per_class": {label: {"precision", "recall",
    "f1", "support"}}, "confusion": [[...]], "labels": [...]}``. The confusion matrix has
    rows = true class and columns = predicted class, both in LABELS order. Macro-F1 averages
    the classes that occur in ``y_true`` or ``y_pred`` (as scikit-learn does), so a binary
    data set is not penalised for a neutral class it does not have; a class predicted but
    never true still counts (with F1 0). Undefined precision/recall (nothing predicted or
    nothing true) is 0.
    """
    true = _as_labels(y_true, "y_true")
    pred = _as_labels(y_pred, "y_pred")
    if len(true) != len(pred):
        raise ValueError(f"{len(true)} true labels but {len(pred)} predictions")
    if not true:
        raise ValueError("no rows to evaluate")
    labels = list(LABELS)
    precision, recall, f1, support = precision_recall_fscore_support(
        true, pred, labels=labels, zero_division=0)
    present = [i for i, label in enumerate(labels) if label in set(true) | set(pred)]
    matrix = confusion_matrix(true, pred, labels=labels)
    return {
        "n": len(true),
        "accuracy": float(np.mean([t == p for t, p in zip(true, pred, strict=True)])),
        "macro_f1": float(np.mean(f1[present])),
        "per_class": {
            label: {"precision": float(precision[i]), "recall": float(recall[i]),
                    "f1": float(f1[i]), "support": int(support[i])}
            for i, label in enumerate(labels)
        },
        "confusion": matrix.tolist(),
        "labels": labels,
    }


def binary_accuracy(y_true: Sequence[str], proba_or_pred: np.ndarray | Sequence[str]) -> float:
    """Accuracy on the rows whose true label is negative or positive; neutral rows are ignored.

    With an (n, 3) probability array the prediction is whichever of P(positive) and
    P(negative) is larger; P(neutral) plays no part, so a three-class model is judged fairly
    on binary data. An exact tie (VADER on a sentence with no sentiment word: compound 0)
    earns 0.5, the expected accuracy of a coin flip, so neither class is favoured by label
    order. With predicted labels, a "neutral" prediction on a polar row counts as wrong. NaN
    when no row is polar.
    """
    true = _as_labels(y_true, "y_true")
    values = np.asarray(proba_or_pred)
    if values.ndim == 2:
        proba = values.astype(float)
        if proba.shape != (len(true), len(LABELS)):
            raise ValueError(f"probabilities of shape {proba.shape}, "
                             f"expected {(len(true), len(LABELS))}")
        margin = proba[:, LABELS.index("positive")] - proba[:, LABELS.index("negative")]
        sign = np.array([{"negative": -1, "positive": 1}.get(t, 0) for t in true])
        credit = np.where(margin == 0, 0.5, (margin * sign > 0).astype(float))
    else:
        pred = _as_labels(values.tolist(), "predictions")
        if len(pred) != len(true):
            raise ValueError(f"{len(true)} true labels but {len(pred)} predictions")
        credit = np.array([float(t == p) for t, p in zip(true, pred, strict=True)])
    polar = np.array([t != "neutral" for t in true])
    if not polar.any():
        return math.nan
    return float(credit[polar].mean())


def binary_ties(proba: np.ndarray) -> int:
    """How many rows have P(positive) == P(negative): coin flips in `binary_accuracy`."""
    proba = np.asarray(proba, dtype=float)
    return int(np.sum(proba[:, LABELS.index("positive")] == proba[:, LABELS.index("negative")]))


def rows_digest(texts: Sequence[str], labels: Sequence[str]) -> str:
    """A short fingerprint of the evaluation rows, to show that two reports used the same."""
    h = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        h.update(str(text).encode("utf-8", "surrogatepass") + b"\x1f" + str(label).encode()
                 + b"\x1e")
    return h.hexdigest()[:12]


def compare(models: Mapping[str, ProbabilityModel], texts: Sequence[str],
            labels: Sequence[str]) -> dict[str, dict]:
    """Score every model on exactly the same rows; one `classification_report` per model.

    Each report also has ``binary_accuracy`` and ``binary_ties`` (polar rows where the model
    cannot tell positive from negative, see `binary_accuracy`), ``strict_binary_accuracy``
    (of the positive and negative rows, the share given exactly that label: a neutral call
    counts as wrong), ``seconds`` (the
    model's ``predict_proba`` time) and ``rows`` (a digest of texts and labels, equal for
    every model of one call). The predicted class is the most likely one.
    """
    texts = list(texts)
    true = _as_labels(labels, "labels")
    if len(texts) != len(true):
        raise ValueError(f"{len(texts)} texts but {len(true)} labels")
    digest = rows_digest(texts, true)
    results: dict[str, dict] = {}
    for name, model in models.items():
        start = time.perf_counter()
        proba = np.asarray(model.predict_proba(texts), dtype=float)
        seconds = time.perf_counter() - start
        if proba.shape != (len(texts), len(LABELS)):
            raise ValueError(f"{name}: predict_proba returned shape {proba.shape}, "
                             f"expected {(len(texts), len(LABELS))}")
        pred = [LABELS[i] for i in np.argmax(proba, axis=1)]
        report = classification_report(true, pred)
        report["binary_accuracy"] = binary_accuracy(true, proba)
        report["binary_ties"] = binary_ties(proba[[t != "neutral" for t in true]])
        polar = [i for i, t in enumerate(true) if t != "neutral"]
        report["strict_binary_accuracy"] = (
            float(np.mean([pred[i] == true[i] for i in polar])) if polar else math.nan)
        report["seconds"] = seconds
        report["rows"] = digest
        results[name] = report
    return results


def _fmt(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.3f}"


def format_table(results: Mapping[str, dict]) -> str:
    """A markdown table of `compare` results, then each model's confusion matrix."""
    recall_heads = " | ".join(f"recall {label[:3]}" for label in LABELS)
    lines = [
        f"| model | n | accuracy | macro-F1 | binary accuracy | binary, neutral = wrong "
        f"| {recall_heads} |",
        "| --- | ---: | ---: | ---: | ---: | ---: | " + " | ".join("---:" for _ in LABELS) + " |",
    ]
    for name, r in results.items():
        recalls = " | ".join(_fmt(r["per_class"][label]["recall"]) for label in LABELS)
        binary = _fmt(r.get("binary_accuracy", math.nan))
        if r.get("binary_ties"):
            binary += f" ({r['binary_ties']} ties)"
        strict = _fmt(r.get("strict_binary_accuracy", math.nan))
        lines.append(f"| {name} | {r['n']} | {_fmt(r['accuracy'])} | {_fmt(r['macro_f1'])} | "
                     f"{binary} | {strict} | {recalls} |")
    digests = {r.get("rows") for r in results.values()}
    if len(digests) == 1 and None not in digests:
        lines += ["", f"All models scored on the same rows (digest {digests.pop()})."]
    for name, r in results.items():
        lines += ["", f"Confusion matrix, {name} (rows = true, columns = predicted):", "",
                  "| true \\ predicted | " + " | ".join(LABELS) + " |",
                  "| --- | " + " | ".join("---:" for _ in LABELS) + " |"]
        for label, row in zip(LABELS, r["confusion"], strict=True):
            lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)
