"""The honest baselines a sentiment model has to beat, with the same interface as the model.

Each has ``fit(texts, labels)`` (a no-op where nothing is learned), ``predict_proba(texts)``
giving an (n, 3) array in LABELS order, and ``predict(texts)`` giving label names.

- `VaderBaseline`: a rule-based English lexicon (no training): what you get for free.
- `TfidfLogisticBaseline`: TF-IDF word and character n-grams with a logistic regression,
  trained on the same training rows as the model: what a cheap learned model gets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nlp.labels import LABELS, normalise_label


def _labels_from_proba(proba: np.ndarray) -> list[str]:
    return [LABELS[i] for i in np.argmax(proba, axis=1)]


def _checked_labels(labels: Sequence[object]) -> list[str]:
    out = []
    for value in labels:
        label = normalise_label(value)
        if label is None:
            raise ValueError(f"not a sentiment label: {value!r} (expected one of {LABELS})")
        out.append(label)
    return out


def tfidf_features(min_df: int = 2):
    """The word 1-2 gram + character 3-5 gram TF-IDF union every TF-IDF baseline reads."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    common = {"sublinear_tf": True, "strip_accents": "unicode", "lowercase": True,
              "min_df": min_df}
    return FeatureUnion([
        ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), **common)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), **common)),
    ])


def balanced_logistic_regression(C: float, max_iter: int, random_state: int):
    """The class-balanced logistic regression every TF-IDF baseline fits."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, class_weight="balanced", max_iter=max_iter,
                              random_state=random_state)


class VaderBaseline:
    """VADER's compound score, cut at VADER's documented thresholds.

    VADER (Hutto & Gilbert, 2014) documents: compound >= 0.05 positive, <= -0.05 negative,
    otherwise neutral. `predict` applies exactly that rule.

    Probabilities: the compound score ``c`` is turned into weights
    ``negative = max(-c, 0)``, ``neutral = t``, ``positive = max(c, 0)`` with ``t = 0.05``
    the threshold, then normalised to sum to 1. So a text with no sentiment words (c = 0) is
    certainly neutral, P(positive) > P(neutral) exactly when c > t (the two tie at the
    threshold, where `predict` follows VADER's ">=" rule), the probabilities are monotone in
    ``c``, and P(positive) - P(negative) = c / (|c| + t) has the sign of ``c``. VADER is an
    English lexicon: on Spanish text it sees few words it knows and mostly says neutral.
    """

    threshold = 0.05

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._analyzer = SentimentIntensityAnalyzer()

    def fit(self, texts: Sequence[str], labels: Sequence[object] | None = None) -> VaderBaseline:
        """Nothing to learn; returns self so it chains like scikit-learn."""
        return self

    def compound(self, texts: Sequence[str]) -> np.ndarray:
        """VADER's compound score in [-1, 1] for each text."""
        return np.array([self._analyzer.polarity_scores(str(t or ""))["compound"]
                         for t in texts], dtype=float)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        c = self.compound(texts)
        weights = np.column_stack([np.maximum(-c, 0.0), np.full_like(c, self.threshold),
                                   np.maximum(c, 0.0)])
        return weights / weights.sum(axis=1, keepdims=True)

    def predict(self, texts: Sequence[str]) -> list[str]:
        c = self.compound(texts)
        return ["positive" if v >= self.threshold else "negative" if v <= -self.threshold
                else "neutral" for v in c]


class TfidfLogisticBaseline:
    """TF-IDF (word 1-2 grams + character 3-5 grams) and a class-balanced logistic regression.

    Word bigrams catch short phrases ("not good", "muy rico"); character n-grams within word
    boundaries catch misspellings, inflections and Spanish morphology ("riquísimo",
    "lentísima") that a word vocabulary would miss. ``sublinear_tf`` damps long reviews that
    repeat a word; accents are stripped so "atención" and "atencion" are one feature.
    ``class_weight="balanced"`` keeps the rarer neutral class from being ignored, and the
    fixed ``random_state`` makes runs repeatable.
    """

    def __init__(self, C: float = 1.0, min_df: int = 2, max_iter: int = 2000,
                 random_state: int = 0) -> None:
        self.C = C
        self.min_df = min_df
        self.max_iter = max_iter
        self.random_state = random_state
        self.pipeline_ = None

    def _make_pipeline(self):
        from sklearn.pipeline import Pipeline

        features = tfidf_features(self.min_df)
        classifier = balanced_logistic_regression(self.C, self.max_iter, self.random_state)
        return Pipeline([("tfidf", features), ("clf", classifier)])

    def fit(self, texts: Sequence[str], labels: Sequence[object]) -> TfidfLogisticBaseline:
        y = _checked_labels(labels)
        if len(y) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(y)} labels")
        if len(set(y)) < 2:
            raise ValueError("need at least two classes to fit")
        self.pipeline_ = self._make_pipeline()
        self.pipeline_.fit([str(t or "") for t in texts], y)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if self.pipeline_ is None:
            raise RuntimeError("TfidfLogisticBaseline is not fitted: call fit first")
        raw = self.pipeline_.predict_proba([str(t or "") for t in texts])
        # Columns in LABELS order; a class missing from the training labels gets 0.
        proba = np.zeros((len(texts), len(LABELS)))
        for j, label in enumerate(self.pipeline_.classes_):
            proba[:, LABELS.index(label)] = raw[:, j]
        return proba

    def predict(self, texts: Sequence[str]) -> list[str]:
        return _labels_from_proba(self.predict_proba(texts))
