"""Train a sentiment model on a file of reviews and register it (promoted unless worse)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import datasets
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from loyalty import registry
from loyalty.config import Settings
from loyalty.sentiment.data import DataSpec
from loyalty.sentiment.export import export_fast
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
    spec.save(out)
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
