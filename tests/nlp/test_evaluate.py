"""Baselines and evaluation on a few dozen hand-written rows (no shared data, runs in seconds)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest
from sklearn import metrics

from nlp.baselines import TfidfLogisticBaseline, VaderBaseline
from nlp.evaluate import (
    binary_accuracy,
    binary_ties,
    classification_report,
    compare,
    format_table,
)
from nlp.labels import LABELS

ROWS = [
    ("Amazing food, delicious ceviche and lovely staff", "positive"),
    ("Great place, excellent service, will come back", "positive"),
    ("The best lomo saltado in Lima, wonderful", "positive"),
    ("Loved it, friendly waiters and tasty dishes", "positive"),
    ("Excellent value, great portions, highly recommend", "positive"),
    ("Riquísimo todo, excelente atención", "positive"),
    ("Muy rico el ceviche, los mozos muy amables", "positive"),
    ("Delicious and fresh, great experience", "positive"),
    ("Wonderful dinner, perfect ambience", "positive"),
    ("Todo excelente, volveremos pronto", "positive"),
    ("Terrible food, rude staff, never again", "negative"),
    ("Awful service and the food was cold", "negative"),
    ("Horrible experience, waited an hour", "negative"),
    ("Bad food, dirty tables, overpriced", "negative"),
    ("Worst ceviche ever, disgusting", "negative"),
    ("Pésima atención, la comida fría", "negative"),
    ("Muy malo, demoraron una eternidad", "negative"),
    ("Terrible, the waiter was rude and slow", "negative"),
    ("Never again, awful and expensive", "negative"),
    ("Horrible todo, nunca más", "negative"),
    ("It was okay, nothing special", "neutral"),
    ("Average food, average service", "neutral"),
    ("Normal, ni bueno ni malo", "neutral"),
    ("Decent place, okay prices", "neutral"),
    ("Food was fine, service was okay", "neutral"),
    ("Regular, nada especial", "neutral"),
    ("It is an average restaurant", "neutral"),
    ("Okay for a quick lunch", "neutral"),
    ("Más o menos, normal", "neutral"),
    ("Fine, nothing to write home about", "neutral"),
]
TEXTS = [t for t, _ in ROWS]
LABELS_ = [y for _, y in ROWS]


class Fixed:
    """A test double returning given probabilities and recording the texts it saw."""

    def __init__(self, proba: np.ndarray) -> None:
        self.proba = np.asarray(proba, dtype=float)
        self.seen: list[list[str]] = []

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.append(list(texts))
        return self.proba[: len(texts)]


def test_tfidf_fits_and_predicts() -> None:
    model = TfidfLogisticBaseline().fit(TEXTS, LABELS_)
    proba = model.predict_proba(TEXTS)
    assert proba.shape == (len(TEXTS), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.predict(["delicious ceviche, lovely staff"]) == ["positive"]
    assert model.predict(["terrible and rude, never again"]) == ["negative"]
    # It learns its training rows.
    assert np.mean(np.array(model.predict(TEXTS)) == np.array(LABELS_)) >= 0.9
    # Repeatable: fixed random state, same numbers.
    again = TfidfLogisticBaseline().fit(TEXTS, LABELS_).predict_proba(TEXTS)
    np.testing.assert_allclose(proba, again)


def test_tfidf_columns_follow_labels_when_a_class_is_missing() -> None:
    texts = TEXTS[:20]  # positive and negative only
    model = TfidfLogisticBaseline().fit(texts, LABELS_[:20])
    proba = model.predict_proba(["amazing", "awful"])
    assert np.all(proba[:, LABELS.index("neutral")] == 0)
    assert model.predict(["amazing delicious", "awful terrible"]) == ["positive", "negative"]


def test_tfidf_rejects_unknown_labels_and_unfitted_use() -> None:
    with pytest.raises(ValueError, match="label"):
        TfidfLogisticBaseline().fit(["a", "b"], ["good", "bad"])
    with pytest.raises(RuntimeError, match="fit"):
        TfidfLogisticBaseline().predict_proba(["a"])


def test_vader_polarity_and_thresholds() -> None:
    vader = VaderBaseline().fit(TEXTS, LABELS_)
    assert vader.predict(["terrible, awful food", "amazing, delicious",
                          "we went on tuesday"]) == ["negative", "positive", "neutral"]
    proba = vader.predict_proba(["terrible, awful food", "amazing, delicious",
                                 "we went on tuesday"])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(np.argmax(proba, axis=1)) == [0, 2, 1]
    np.testing.assert_allclose(proba[2], [0.0, 1.0, 0.0])  # compound 0: certainly neutral


def test_vader_probabilities_match_its_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    vader = VaderBaseline()
    compounds = np.array([-0.9, -0.06, -0.04, 0.0, 0.04, 0.06, 0.9])
    monkeypatch.setattr(vader, "compound", lambda texts: compounds[: len(texts)])
    texts = ["x"] * len(compounds)
    proba = vader.predict_proba(texts)
    assert [LABELS[i] for i in np.argmax(proba, axis=1)] == vader.predict(texts) == [
        "negative", "negative", "neutral", "neutral", "neutral", "positive", "positive"]
    # P(pos) - P(neg) has the sign of the compound score and grows with it.
    margin = proba[:, 2] - proba[:, 0]
    assert np.all(np.diff(margin) > 0) and margin[3] == 0


def test_report_matches_sklearn() -> None:
    y_true = ["positive", "negative", "neutral", "positive", "negative", "positive", "neutral"]
    y_pred = ["positive", "neutral", "neutral", "negative", "negative", "positive", "positive"]
    report = classification_report(y_true, y_pred)
    assert report["n"] == 7
    assert report["accuracy"] == pytest.approx(metrics.accuracy_score(y_true, y_pred))
    assert report["macro_f1"] == pytest.approx(
        metrics.f1_score(y_true, y_pred, average="macro"))
    p, r, f, s = metrics.precision_recall_fscore_support(y_true, y_pred, labels=list(LABELS))
    for i, label in enumerate(LABELS):
        c = report["per_class"][label]
        assert (c["precision"], c["recall"], c["f1"], c["support"]) == pytest.approx(
            (p[i], r[i], f[i], s[i]))
    # Rows = true, columns = predicted, LABELS order (negative, neutral, positive).
    assert report["confusion"] == [[1, 1, 0], [0, 1, 1], [1, 0, 2]]


def test_binary_accuracy_ignores_neutral_rows() -> None:
    y_true = ["positive", "negative", "neutral", "neutral"]
    proba = np.array([[0.1, 0.5, 0.4],    # pos > neg: positive (right; neutral argmax ignored)
                      [0.3, 0.1, 0.6],    # positive (wrong)
                      [0.9, 0.0, 0.1],    # neutral row: ignored
                      [0.0, 0.0, 1.0]])   # neutral row: ignored
    assert binary_accuracy(y_true, proba) == pytest.approx(0.5)
    assert binary_accuracy(y_true, ["positive", "neutral", "negative", "positive"]) == 0.5
    assert math.isnan(binary_accuracy(["neutral"], np.array([[0.2, 0.5, 0.3]])))


def test_binary_accuracy_counts_a_tie_as_a_coin_flip() -> None:
    tie = np.array([[0.0, 1.0, 0.0]] * 4)  # VADER with compound 0
    assert binary_accuracy(["negative", "negative", "negative", "positive"], tie) == 0.5
    assert binary_ties(tie) == 4


def test_compare_scores_every_model_on_the_same_rows() -> None:
    n = len(TEXTS)
    truth = np.eye(3)[[LABELS.index(y) for y in LABELS_]]
    perfect = Fixed(truth)
    always_positive = Fixed(np.tile([0.1, 0.2, 0.7], (n, 1)))
    results = compare({"perfect": perfect, "always positive": always_positive}, TEXTS, LABELS_)
    assert perfect.seen == always_positive.seen == [TEXTS]
    assert results["perfect"]["rows"] == results["always positive"]["rows"]
    assert results["perfect"]["accuracy"] == 1.0
    assert results["perfect"]["binary_accuracy"] == 1.0
    assert results["always positive"]["accuracy"] == pytest.approx(10 / 30)
    assert results["always positive"]["binary_accuracy"] == pytest.approx(0.5)
    assert results["always positive"]["per_class"]["positive"]["recall"] == 1.0

    table = format_table(results)
    assert table.splitlines()[0].startswith("| model | n | accuracy | macro-F1 | binary accuracy")
    assert "| perfect | 30 | 1.000 | 1.000 | 1.000 |" in table
    assert "Confusion matrix, always positive" in table
    assert "| neutral | 0 | 0 | 10 |" in table


def test_compare_with_real_baselines() -> None:
    tfidf = TfidfLogisticBaseline().fit(TEXTS, LABELS_)
    results = compare({"VADER": VaderBaseline(), "TF-IDF": tfidf}, TEXTS, LABELS_)
    assert set(results) == {"VADER", "TF-IDF"}
    for report in results.values():
        assert 0 <= report["accuracy"] <= 1 and 0 <= report["binary_accuracy"] <= 1
        assert sum(map(sum, report["confusion"])) == len(TEXTS)
