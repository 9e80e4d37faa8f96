"""Which rows a sentiment model was trained on: kept beside the model, to rebuild its splits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from loyalty.errors import LoyaltyError
from nlp.corpus import Corpus, Source, load_corpus
from nlp.data import DataError

DATA_SPEC = "data.json"  # beside the model: which rows it was trained on, to rebuild splits


@dataclass(frozen=True)
class DataSpec:
    """Enough to rebuild the exact train / validation / test rows of a model: its sources
    (files, columns, languages, samples) and the seed of the splits."""

    sources: tuple[Source, ...]
    seed: int = 0

    @classmethod
    def of(cls, sources: Sequence[Source], seed: int = 0) -> DataSpec:
        """Sources with absolute paths, so the spec means the same from any directory."""
        return cls(tuple(Source(**{**s.as_dict(), "path": str(Path(s.path).resolve())})
                         for s in sources), seed)

    @classmethod
    def beside(cls, model_dir: Path) -> DataSpec:
        """The spec saved in ``model_dir`` (its ``data.json``).

        Models trained before several sources were possible saved one file's columns; that
        file is read as one source whose rows are neither de-duplicated nor given a language
        (detected instead), as its splits were made then.
        """
        raw = json.loads((Path(model_dir) / DATA_SPEC).read_text(encoding="utf-8"))
        if "sources" in raw:
            return cls(tuple(Source(**s) for s in raw["sources"]), int(raw.get("seed", 0)))
        legacy = Source(path=raw["path"], text_col=raw["text_col"], rating_col=raw["rating_col"],
                        label_col=raw["label_col"], binary=raw["binary"],
                        max_rows=raw.get("max_rows"), dedupe=False)
        return cls((legacy,), int(raw.get("seed", 0)))

    def save(self, model_dir: Path) -> None:
        (Path(model_dir) / DATA_SPEC).write_text(
            json.dumps({"sources": [s.as_dict() for s in self.sources], "seed": self.seed},
                       indent=2), encoding="utf-8")

    def load(self) -> Corpus:
        try:
            return load_corpus(self.sources, seed=self.seed)
        except DataError as exc:
            raise LoyaltyError(str(exc)) from exc

    def as_dict(self) -> dict[str, object]:
        return {"sources": [s.as_dict() for s in self.sources], "seed": self.seed}

