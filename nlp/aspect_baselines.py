"""The aspect models a learned one has to beat, behind one interface.

Both answer ``mention_proba(texts)`` (n, aspects) and ``polarity_proba(texts)`` (n, aspects, 3
in LABELS order) over `nlp.aspect_data.LEARNED_ASPECTS`, like the learned aspect model:

- `LexiconAspects`: the cue words of `nlp.aspects` find the aspects, and a sentence sentiment
  model scores their clauses; an aspect the cues miss takes the whole sentence's sentiment
  (what the product did before aspects were learned).
- `TfidfAspects`: TF-IDF one-vs-rest logistic regressions for detection, and for polarity one
  three-class regression per aspect trained on that aspect's gold pairs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nlp.aspect_data import LEARNED_ASPECTS
from nlp.aspects import ASPECTS, ProbabilityModel, clause_probabilities, find_aspects
from nlp.baselines import balanced_logistic_regression, tfidf_features
from nlp.labels import LABELS

_COLUMNS = [ASPECTS.index(a) for a in LEARNED_ASPECTS]


class LexiconAspects:
    """Cue-word detection and clause polarity from ``sentiment`` (anything with
    ``predict_proba``); nothing is learned, ``fit`` returns self."""

    def __init__(self, sentiment: ProbabilityModel) -> None:
        self.sentiment = sentiment

    def fit(self, *_: object) -> LexiconAspects:
        return self

    def mention_proba(self, texts: Sequence[str]) -> np.ndarray:
        found = [find_aspects(t) for t in texts]
        return np.array([[float(a in f) for a in LEARNED_ASPECTS] for f in found]).reshape(
            len(found), len(LEARNED_ASPECTS))

    def polarity_proba(self, texts: Sequence[str]) -> np.ndarray:
        _, means = clause_probabilities(self.sentiment, texts)
        means = means[:, _COLUMNS]
        whole = np.asarray(self.sentiment.predict_proba(list(texts)), dtype=float)
        missing = np.isnan(means[..., 0])
        means[missing] = np.broadcast_to(whole[:, None, :], means.shape)[missing]
        return means


class TfidfAspects:
    """TF-IDF features (as `nlp.baselines.TfidfLogisticBaseline`) with class-balanced logistic
    regressions: one per aspect for detection, one per aspect for polarity."""

    def __init__(self, C: float = 1.0, min_df: int = 2, max_iter: int = 2000,
                 random_state: int = 0) -> None:
        self.C = C
        self.min_df = min_df
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, texts: Sequence[str], mentions: np.ndarray,
            polarities: np.ndarray) -> TfidfAspects:
        """``mentions`` (n, aspects) booleans; ``polarities`` (n, aspects) strings, a polarity
        of LABELS where the aspect is labelled with one (other cells are not trained on)."""
        mentions, polarities = np.asarray(mentions, bool), np.asarray(polarities, dtype=object)
        if mentions.shape != (len(texts), len(LEARNED_ASPECTS)) or \
                polarities.shape != mentions.shape:
            raise ValueError(f"{len(texts)} texts need (n, {len(LEARNED_ASPECTS)}) mentions "
                             f"and polarities, got {mentions.shape} and {polarities.shape}")
        self.features_ = tfidf_features(self.min_df).fit(list(texts))
        x = self.features_.transform(list(texts))
        self.detectors_ = [self._fit_one(x, mentions[:, j]) for j in range(mentions.shape[1])]
        self.polarity_models_ = []
        for j in range(polarities.shape[1]):
            rows = np.flatnonzero(np.isin(polarities[:, j], LABELS))
            self.polarity_models_.append(self._fit_one(x[rows], polarities[rows, j]))
        return self

    def _fit_one(self, x, y: np.ndarray):
        if len(set(y.tolist())) < 2:  # nothing to learn: always the one value seen
            return y[0] if len(y) else None
        return balanced_logistic_regression(self.C, self.max_iter,
                                            self.random_state).fit(x, y)

    def mention_proba(self, texts: Sequence[str]) -> np.ndarray:
        x = self.features_.transform(list(texts))
        return np.column_stack([_positive_proba(m, x) for m in self.detectors_])

    def polarity_proba(self, texts: Sequence[str]) -> np.ndarray:
        x = self.features_.transform(list(texts))
        out = np.full((len(texts), len(LEARNED_ASPECTS), len(LABELS)), 1.0 / len(LABELS))
        for j, model in enumerate(self.polarity_models_):
            if model is None:
                continue
            if isinstance(model, str):
                out[:, j] = np.eye(len(LABELS))[LABELS.index(model)]
                continue
            raw = model.predict_proba(x)
            out[:, j] = 0.0
            for k, label in enumerate(model.classes_):
                out[:, j, LABELS.index(label)] = raw[:, k]
        return out


def _positive_proba(model, x) -> np.ndarray:
    if not hasattr(model, "predict_proba"):
        return np.full(x.shape[0], float(bool(model)))
    return model.predict_proba(x)[:, list(model.classes_).index(True)]
