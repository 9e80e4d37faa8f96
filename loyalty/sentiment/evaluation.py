"""Evaluate a sentiment model beside VADER and TF-IDF + logistic regression, on the same rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from loyalty.errors import LoyaltyError
from loyalty.sentiment.data import DATA_SPEC, DataSpec, read_reviews
from loyalty.sentiment.production import load_scorer
from nlp.baselines import TfidfLogisticBaseline, VaderBaseline
from nlp.evaluate import compare, format_table
from nlp.labels import LABELS


@dataclass
class EvaluationReport:
    rows: int
    source: str  # which rows: the held-out test split, or the whole file
    results: dict[str, dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "evaluated_on": self.source, "results": self.results}

    def table(self) -> str:
        return f"{self.rows:,} rows ({self.source})\n\n{format_table(self.results)}"


def evaluate_sentiment(model_dir: Path, data_path: Path, *, text_col: str,
                       rating_col: str | None, label_col: str | None,
                       binary: bool = False) -> EvaluationReport:
    """This model, VADER and TF-IDF + logistic regression on the same rows, in one run."""
    spec_path = Path(model_dir) / DATA_SPEC
    if not spec_path.is_file():
        raise LoyaltyError(f"{model_dir}: no {DATA_SPEC}; the TF-IDF baseline needs the "
                           "model's training data (train it with `loyalty nlp train`)")
    trained_on = DataSpec.beside(model_dir)
    trained, _ = trained_on.load()
    asked = DataSpec(str(Path(data_path).resolve()), text_col, rating_col, label_col, binary,
                     trained_on.seed, trained_on.max_rows)
    if asked == trained_on:
        rows, source = trained["test"], "the model's held-out test split"
    else:
        loaded = read_reviews(Path(data_path), text_col=text_col, rating_col=rating_col,
                              label_col=label_col, binary=binary)
        rows, source = loaded.dataset, f"every usable row of {Path(data_path).name}"
    texts, labels = list(rows["text"]), [LABELS[i] for i in rows["label"]]
    tfidf = TfidfLogisticBaseline().fit(list(trained["train"]["text"]),
                                        [LABELS[i] for i in trained["train"]["label"]])
    models = {"this model": load_scorer(model_dir), "VADER": VaderBaseline(),
              "TF-IDF + LR": tfidf}
    results = compare(models, texts, np.asarray(labels))
    return EvaluationReport(len(texts), source, results)
