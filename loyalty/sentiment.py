"""The sentiment model in the service: train and register it, evaluate it against baselines.

`nlp/` knows text and models; this module knows where models live (the registry), which data
they were trained on, and how the baselines get exactly the same rows.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import datasets
import numpy as np
from sklearn.model_selection import train_test_split
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from loyalty import registry
from loyalty.config import Settings
from loyalty.errors import LoyaltyError
from nlp.baselines import TfidfLogisticBaseline, VaderBaseline
from nlp.data import DataError, load_reviews, split
from nlp.evaluate import compare, format_table
from nlp.labels import LABELS
from nlp.scorer import SentimentScorer
from nlp.train import TrainConfig, fine_tune

DATA_SPEC = "data.json"  # beside the model: which rows it was trained on, to rebuild splits


@dataclass(frozen=True)
class DataSpec:
    """Enough to rebuild the exact train / validation / test rows of a model."""

    path: str
    text_col: str
    rating_col: str | None
    label_col: str | None
    binary: bool
    seed: int
    max_rows: int | None

    def load(self):  # noqa: ANN201 - a datasets.DatasetDict
        try:
            loaded = load_reviews(Path(self.path), text_col=self.text_col,
                                  rating_col=self.rating_col, label_col=self.label_col,
                                  binary=self.binary)
        except DataError as exc:
            raise LoyaltyError(str(exc)) from exc
        dataset = loaded.dataset
        if self.max_rows and len(dataset) > self.max_rows:
            keep, _ = train_test_split(np.arange(len(dataset)), train_size=self.max_rows,
                                       stratify=dataset["label"], random_state=self.seed)
            dataset = dataset.select(sorted(keep))
        return split(dataset, seed=self.seed), loaded


@dataclass
class TrainOutcome:
    version: str
    path: Path
    metrics: dict[str, Any]
    promoted: bool
    reason: str
    exported: dict[str, Path] = field(default_factory=dict)

    def lines(self) -> list[str]:
        test = self.metrics.get("test", {})
        out = [f"sentiment model {self.version} saved to {self.path}",
               f"  test accuracy {test.get('accuracy', float('nan')):.3f}, "
               f"macro-F1 {test.get('macro_f1', float('nan')):.3f}"]
        out += [f"  {name}: {path}" for name, path in self.exported.items()]
        out.append(("  promoted to production: " if self.promoted else "  ") + self.reason)
        return out


def train_sentiment(engine: Engine, settings: Settings, data_path: Path, *, text_col: str,
                    rating_col: str | None, label_col: str | None, binary: bool = False,
                    base_model: Path | None = None, epochs: int = 4, batch_size: int = 32,
                    max_length: int = 128, learning_rate: float = 5e-5,
                    head_init: str = "random", seed: int = 0,
                    max_rows: int | None = None, promote: bool = True, onnx: bool = True,
                    progress: bool = False) -> TrainOutcome:
    """Fine-tune on ``data_path``, save under the model directory, register the version."""
    if not progress:
        datasets.disable_progress_bars()  # a batch job's log wants lines, not bars
    spec = DataSpec(str(Path(data_path).resolve()), text_col, rating_col, label_col, binary,
                    seed, max_rows)
    data, loaded = spec.load()
    version = registry.new_version()
    out = registry.artifact_dir(settings.model_dir, registry.SENTIMENT, version)
    config = TrainConfig(base_model=base_model, epochs=epochs, batch_size=batch_size,
                         max_length=max_length, learning_rate=learning_rate,
                         head_init=head_init, seed=seed)
    description = loaded.describe() + (f"; sampled to {max_rows:,} rows" if max_rows else "")
    import torch

    torch.set_num_threads(settings.torch_threads)
    result = fine_tune(data, out, config, progress=progress, data_description=description)
    (out / DATA_SPEC).write_text(json.dumps(asdict(spec), indent=2), encoding="utf-8")
    exported = export_fast(out, list(data["validation"]["text"])) if onnx else {}
    metrics = result.metrics
    with Session(engine) as session:
        row = registry.register(
            session, kind=registry.SENTIMENT, version=version, path=out,
            metrics={**metrics, "test_macro_f1": metrics.get("test", {}).get("macro_f1")},
            params={"base_model": str(config.base_model or "packaged MiniLM"),
                    "epochs": epochs, "batch_size": batch_size, "max_length": max_length,
                    "learning_rate": learning_rate, "head_init": head_init,
                    "data": asdict(spec)},
            features={"labels": list(LABELS)}, seed=seed, model_dir=settings.model_dir,
        )
        promoted, reason = (registry.promote_if_not_worse(session, row, "test_macro_f1")
                            if promote else (False, "kept as candidate (--no-promote)"))
        session.commit()
    return TrainOutcome(version, out, metrics, promoted, reason, exported)


# The fast path must give the labels the model gives: int8 is kept only when it agrees with
# torch on at least this share of the validation texts (fp32 ONNX always agrees).
MIN_INT8_AGREEMENT = 0.99


def export_fast(model_dir: Path, texts: list[str] | None = None) -> dict[str, Path]:
    """ONNX, and int8 ONNX when it agrees with the model on real texts (default: validation)."""
    from nlp.fast import export_onnx

    if texts is None and (Path(model_dir) / DATA_SPEC).is_file():
        spec = DataSpec(**json.loads((Path(model_dir) / DATA_SPEC).read_text(encoding="utf-8")))
        texts = list(spec.load()[0]["validation"]["text"])
    return export_onnx(model_dir, quantize=True, texts=(texts or [])[:500] or None,
                       min_int8_agreement=MIN_INT8_AGREEMENT)


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
    trained_on = DataSpec(**json.loads(spec_path.read_text(encoding="utf-8")))
    trained, _ = trained_on.load()
    asked = DataSpec(str(Path(data_path).resolve()), text_col, rating_col, label_col, binary,
                     trained_on.seed, trained_on.max_rows)
    if asked == trained_on:
        rows, source = trained["test"], "the model's held-out test split"
    else:
        try:
            loaded = load_reviews(Path(data_path), text_col=text_col, rating_col=rating_col,
                                  label_col=label_col, binary=binary)
        except DataError as exc:
            raise LoyaltyError(str(exc)) from exc
        rows, source = loaded.dataset, f"every usable row of {Path(data_path).name}"
    texts, labels = list(rows["text"]), [LABELS[i] for i in rows["label"]]
    tfidf = TfidfLogisticBaseline().fit(list(trained["train"]["text"]),
                                        [LABELS[i] for i in trained["train"]["label"]])
    models = {"this model": SentimentScorer(model_dir), "VADER": VaderBaseline(),
              "TF-IDF + LR": tfidf}
    results = compare(models, texts, np.asarray(labels))
    return EvaluationReport(len(texts), source, results)
