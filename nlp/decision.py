"""The decision rule: how wide the neutral band is, chosen on held-out rows of every source.

A classifier trained on star ratings learns that source's idea of "neutral" (on Zomato a
3-star review); on other text it may call a clearly positive review neutral, or never say
neutral at all. The rule here is one number, an offset added to the neutral logit before the
softmax: positive widens the band, negative narrows it. `fit_neutral_offset` picks it on the
validation split so that the *mean over sources* of macro-F1 is highest, so no single data set
sets the band; the model folder keeps it in ``decision.json`` with the figures it was chosen
on, and `nlp.scorer.SentimentScorer` applies it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from nlp.labels import LABEL2ID

DECISION_FILE = "decision.json"
NEUTRAL = LABEL2ID["neutral"]
# Offsets tried: +-3 in the logit is a factor of 20 in the odds, wider than any useful band.
OFFSETS = tuple(round(x, 2) for x in np.arange(-3.0, 3.001, 0.25))


def shifted(logits: np.ndarray, neutral_offset: float) -> np.ndarray:
    """``logits`` (or log-probabilities) with the neutral column moved by the offset."""
    out = np.array(logits, dtype=np.float64, copy=True)
    out[:, NEUTRAL] += neutral_offset
    return out


def strict_binary_accuracy(truth: Sequence[int], predicted: Sequence[int]) -> float | None:
    """Of the clearly positive or negative rows, the share given exactly that label: a neutral
    call on one of them is wrong. None when there is no such row."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    clear = truth != NEUTRAL
    return float((predicted[clear] == truth[clear]).mean()) if clear.any() else None


def fit_neutral_offset(logits: np.ndarray, labels: Sequence[int], groups: Sequence[str]
                       ) -> tuple[float, list[dict[str, Any]]]:
    """The offset with the best mean macro-F1 over ``groups`` (ties: the one nearest 0), and
    one row per offset tried with its per-group figures."""
    labels, groups = np.asarray(labels), np.asarray(groups)
    names = sorted(set(groups.tolist()))
    table = []
    for offset in OFFSETS:
        predicted = shifted(logits, offset).argmax(axis=1)
        by_group = {}
        for name in names:
            rows = groups == name
            present = sorted(set(labels[rows].tolist()))
            by_group[name] = {
                "macro_f1": float(f1_score(labels[rows], predicted[rows], labels=present,
                                           average="macro", zero_division=0)),
                "strict_binary_accuracy": strict_binary_accuracy(labels[rows], predicted[rows]),
            }
        mean = float(np.mean([g["macro_f1"] for g in by_group.values()]))
        table.append({"neutral_offset": offset, "mean_macro_f1": mean, "by_group": by_group})
    best = max(table, key=lambda row: (round(row["mean_macro_f1"], 6),
                                       -abs(row["neutral_offset"])))
    return float(best["neutral_offset"]), table


def save_decision(folder: str | os.PathLike[str], neutral_offset: float,
                  chosen_on: str, table: list[dict[str, Any]]) -> Path:
    path = Path(folder) / DECISION_FILE
    path.write_text(json.dumps({"neutral_logit_offset": neutral_offset,
                                "chosen_on": chosen_on, "candidates": table}, indent=2)
                    + "\n", encoding="utf-8")
    return path


def neutral_offset(folder: str | os.PathLike[str]) -> float:
    """The folder's neutral offset; 0 (plain argmax) for a model trained before the rule."""
    path = Path(folder) / DECISION_FILE
    if not path.is_file():
        return 0.0
    return float(json.loads(path.read_text(encoding="utf-8")).get("neutral_logit_offset", 0.0))
