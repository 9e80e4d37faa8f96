"""Train a sentiment model on labelled files and register it (promoted unless worse)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from loyalty import registry
from loyalty.config import Settings
from loyalty.errors import LoyaltyError
from loyalty.sentiment.base import base_folder
from loyalty.sentiment.data import DataSpec
from loyalty.sentiment.export import export_fast
from nlp.checkpoint import CheckpointError
from nlp.corpus import Source
from nlp.labels import LABELS
from nlp.train import TrainConfig, fine_tune


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
               f"  test: {_figures(test)}"]
        for language, scores in self.metrics.get("test_by_language", {}).items():
            out.append(f"    {language}: {_figures(scores)}")
        out += [f"  {name}: {path}" for name, path in self.exported.items()]
        out.append(("  promoted to production: " if self.promoted else "  ") + self.reason)
        return out


def _figures(scores: dict[str, Any]) -> str:
    strict = scores.get("strict_binary_accuracy")
    return (f"{scores.get('rows', 0):,} rows, accuracy {scores.get('accuracy', float('nan')):.3f}, "
            f"macro-F1 {scores.get('macro_f1', float('nan')):.3f}"
            + (f", binary accuracy (neutral counts wrong) {strict:.3f}" if strict is not None
               else ""))


def train_sentiment(engine: Engine, settings: Settings, sources: Sequence[Source], *,
                    base_model: Path | None = None, epochs: int = 4, batch_size: int = 32,
                    max_length: int = 128, learning_rate: float = 5e-5,
                    head_init: str = "random", pooling: str = "auto", seed: int = 0,
                    promote: bool = True, onnx: bool = True,
                    progress: bool = False) -> TrainOutcome:
    """Fine-tune on ``sources`` (each split on its own), save under the model directory,
    register the version; figures per language and per source go into its metrics."""
    if not progress:
        datasets.disable_progress_bars()  # a batch job's log wants lines, not bars
    base = base_folder(settings, base_model)  # before reading data: a wrong base fails fast
    spec = DataSpec.of(sources, seed)
    corpus = spec.load()
    version = registry.new_version()
    out = registry.artifact_dir(settings.model_dir, registry.SENTIMENT, version)
    config = TrainConfig(base_model=base, epochs=epochs, batch_size=batch_size,
                         max_length=max_length, learning_rate=learning_rate,
                         head_init=head_init, pooling=pooling, seed=seed)
    import torch

    torch.set_num_threads(settings.torch_threads)
    try:
        result = fine_tune(corpus.data, out, config, progress=progress,
                           data_description=corpus.describe())
    except CheckpointError as exc:
        raise LoyaltyError(str(exc)) from exc
    spec.save(out)
    exported = export_fast(out, list(corpus.data["validation"]["text"])) if onnx else {}
    metrics = result.metrics
    with Session(engine) as session:
        row = registry.register(
            session, kind=registry.SENTIMENT, version=version, path=out,
            metrics={**metrics, "test_macro_f1": metrics.get("test", {}).get("macro_f1")},
            params={"base_model": str(base), "epochs": epochs, "batch_size": batch_size,
                    "max_length": max_length, "learning_rate": learning_rate,
                    "head_init": head_init, "pooling": metrics.get("pooling", pooling),
                    "data": spec.as_dict()},
            features={"labels": list(LABELS)}, seed=seed, model_dir=settings.model_dir,
        )
        promoted, reason = (registry.promote_if_not_worse(session, row, "test_macro_f1")
                            if promote else (False, "kept as candidate (--no-promote)"))
        session.commit()
    return TrainOutcome(version, out, metrics, promoted, reason, exported)
