"""Evaluate a sentiment model beside VADER and TF-IDF + logistic regression, on the same rows,
overall and per language."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from loyalty.errors import LoyaltyError
from loyalty.sentiment.data import DATA_SPEC, DataSpec
from loyalty.sentiment.production import load_scorer
from nlp.baselines import TfidfLogisticBaseline, VaderBaseline
from nlp.corpus import Source, load_source
from nlp.data import DataError
from nlp.evaluate import compare, format_table
from nlp.labels import LABELS


@dataclass
class EvaluationReport:
    rows: int
    source: str  # which rows: the held-out test split, or the whole file
    results: dict[str, dict[str, Any]]
    by_language: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "evaluated_on": self.source, "results": self.results,
                "by_language": self.by_language}

    def table(self) -> str:
        parts = [f"{self.rows:,} rows ({self.source})\n\n{format_table(self.results)}"]
        for language, results in self.by_language.items():
            n = next(iter(results.values()))["n"]
            parts.append(f"\nlanguage {language}: {n:,} rows\n\n"
                         f"{format_table(results).split(chr(10) + chr(10))[0]}")
        return "\n".join(parts)


def evaluate_sentiment(model_dir: Path, data_path: Path, *, text_col: str,
                       rating_col: str | None, label_col: str | None,
                       binary: bool = False) -> EvaluationReport:
    """This model, VADER and TF-IDF + logistic regression on the same rows, in one run.

    When ``data_path`` (with the same columns) is one of the model's training sources, only
    that source's held-out test rows are scored; otherwise every usable row of the file.
    """
    if not (Path(model_dir) / DATA_SPEC).is_file():
        raise LoyaltyError(f"{model_dir}: no {DATA_SPEC}; the TF-IDF baseline needs the "
                           "model's training data (train it with `loyalty nlp train`)")
    spec = DataSpec.beside(model_dir)
    trained = spec.load().data
    asked = Source(str(Path(data_path).resolve()), text_col=text_col, rating_col=rating_col,
                   label_col=label_col, binary=binary, dedupe=False)
    own = [s for s in spec.sources if (s.path, s.text_col, s.rating_col, s.label_col,
                                       s.binary) == (asked.path, text_col, rating_col,
                                                     label_col, binary)]
    if own:
        rows = trained["test"].filter(lambda r: r["source"] == own[0].name)
        where = "the model's held-out test split"
    else:
        try:
            rows = load_source(asked).dataset
        except DataError as exc:
            raise LoyaltyError(str(exc)) from exc
        where = f"every usable row of {Path(data_path).name}"
    texts, labels = list(rows["text"]), np.asarray([LABELS[i] for i in rows["label"]])
    languages = np.asarray(rows["language"])
    tfidf = TfidfLogisticBaseline().fit(list(trained["train"]["text"]),
                                        [LABELS[i] for i in trained["train"]["label"]])
    models = {"this model": load_scorer(model_dir), "VADER": VaderBaseline(),
              "TF-IDF + LR": tfidf}
    results = compare(models, texts, labels)
    by_language = {}
    if len(set(languages.tolist())) > 1:
        for language in sorted(set(languages.tolist())):
            keep = np.flatnonzero(languages == language)
            by_language[language] = compare(models, [texts[i] for i in keep], labels[keep])
    return EvaluationReport(len(texts), where, results, by_language)
