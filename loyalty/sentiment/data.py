"""Which rows a sentiment model was trained on: kept beside the model, to rebuild its splits."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from loyalty.errors import LoyaltyError
from nlp.data import DataError, LoadedData, load_reviews, split

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

    @classmethod
    def beside(cls, model_dir: Path) -> DataSpec:
        """The spec saved in ``model_dir`` (its ``data.json``)."""
        return cls(**json.loads((Path(model_dir) / DATA_SPEC).read_text(encoding="utf-8")))

    def save(self, model_dir: Path) -> None:
        (Path(model_dir) / DATA_SPEC).write_text(json.dumps(asdict(self), indent=2),
                                                 encoding="utf-8")

    def load(self):  # noqa: ANN201 - a datasets.DatasetDict
        loaded = read_reviews(Path(self.path), text_col=self.text_col,
                              rating_col=self.rating_col, label_col=self.label_col,
                              binary=self.binary)
        dataset = loaded.dataset
        if self.max_rows and len(dataset) > self.max_rows:
            keep, _ = train_test_split(np.arange(len(dataset)), train_size=self.max_rows,
                                       stratify=dataset["label"], random_state=self.seed)
            dataset = dataset.select(sorted(keep))
        return split(dataset, seed=self.seed), loaded


def read_reviews(path: Path, *, text_col: str, rating_col: str | None, label_col: str | None,
                 binary: bool) -> LoadedData:
    """`nlp.data.load_reviews`, its errors as the service reports them (`LoyaltyError`)."""
    try:
        return load_reviews(path, text_col=text_col, rating_col=rating_col,
                            label_col=label_col, binary=binary)
    except DataError as exc:
        raise LoyaltyError(str(exc)) from exc
