"""The neutral band: one offset on the neutral logit, chosen per source on held-out rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from nlp.decision import (
    DECISION_FILE,
    fit_neutral_offset,
    neutral_offset,
    save_decision,
    shifted,
    strict_binary_accuracy,
)
from nlp.scorer import SentimentScorer


def test_strict_binary_accuracy_counts_a_neutral_call_as_wrong() -> None:
    assert strict_binary_accuracy([0, 2, 2, 1], [0, 1, 2, 1]) == 2 / 3
    assert strict_binary_accuracy([1, 1], [0, 2]) is None


def test_the_offset_that_suits_every_source_is_chosen() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 40)
    logits = np.zeros((120, 3))
    logits[np.arange(120), labels] = 2.0
    logits[labels == 1, 1] = 0.5  # neutral rows look only a little neutral: the model is shy
    logits += rng.normal(0, 0.3, logits.shape)
    groups = np.where(np.arange(120) % 2, "reviews", "sentences")
    offset, table = fit_neutral_offset(logits, labels, groups)
    assert offset > 0  # the band widens
    chosen = next(row for row in table if row["neutral_offset"] == offset)
    plain = next(row for row in table if row["neutral_offset"] == 0)
    assert chosen["mean_macro_f1"] > plain["mean_macro_f1"]
    assert set(chosen["by_group"]) == {"reviews", "sentences"}
    assert (shifted(logits, offset).argmax(1) == labels).mean() > (logits.argmax(1) ==
                                                                   labels).mean()


def test_the_scorer_applies_the_folders_band(tiny_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    texts = ["Great food", "Terrible service", "It was fine", "Comida rica"]
    plain = SentimentScorer(folder, backend="torch")
    assert plain.neutral_offset_ == 0.0
    base = plain.predict_proba(texts)
    save_decision(folder, 50.0, "test", [])  # so wide that everything is neutral
    assert (folder / DECISION_FILE).is_file() and neutral_offset(folder) == 50.0
    wide = SentimentScorer(folder, backend="torch")
    assert wide.predict(texts) == ["neutral"] * 4
    assert not np.allclose(wide.predict_proba(texts), base)
