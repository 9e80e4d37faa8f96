"""Labelled review text for fine-tuning: load a CSV / JSON Lines file, split it for training.

``load_reviews`` reads a file with :func:`datasets.load_dataset` and returns a
:class:`datasets.Dataset` with three columns:

- ``text``: the review, whitespace-trimmed (inner newlines kept);
- ``label``: the class id in :data:`nlp.labels.LABELS` order (a ``ClassLabel`` feature);
- ``rating``: the star rating as a float, or None when the file has labels instead of ratings.

Rows with no text, or whose rating / label cannot be turned into a class, are dropped and
counted, never silently: :class:`LoadedData` carries the counts next to the data.

``split`` makes train / validation / test splits, stratified by label and reproducible.
"""

from __future__ import annotations

import gzip
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import numpy as np
import pandas as pd

from nlp.labels import LABEL2ID, LABELS, normalise_label, rating_to_label

DROP_EMPTY_TEXT = "empty text"
DROP_BAD_RATING = "unusable rating"
DROP_BAD_LABEL = "unusable label"

FEATURES = datasets.Features(
    {
        "text": datasets.Value("string"),
        "label": datasets.ClassLabel(names=list(LABELS)),
        "rating": datasets.Value("float64"),
    }
)

_CSV_SUFFIXES = (".csv", ".csv.gz")
_JSON_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".ndjson", ".ndjson.gz")


class DataError(Exception):
    """A review file cannot be used for training: missing, wrong columns, or no usable rows."""


@dataclass(frozen=True)
class LoadedData:
    """What :func:`load_reviews` read: the usable rows, and how many rows were dropped and why."""

    dataset: datasets.Dataset
    dropped: int
    dropped_reasons: dict[str, int] = field(default_factory=dict)
    source: str = ""

    @property
    def label_counts(self) -> dict[str, int]:
        """Rows per class, in LABELS order (classes with no rows included, as 0)."""
        counts = Counter(self.dataset["label"])
        return {name: counts.get(i, 0) for i, name in enumerate(LABELS)}

    def describe(self) -> str:
        """One line for model cards and logs: file, rows kept, per-class counts, drops."""
        classes = ", ".join(f"{name} {n}" for name, n in self.label_counts.items())
        text = f"{self.source}: {len(self.dataset)} rows ({classes})"
        if self.dropped:
            reasons = ", ".join(f"{n} {why}" for why, n in sorted(self.dropped_reasons.items()))
            text += f"; {self.dropped} dropped ({reasons})"
        return text


def load_reviews(
    path: str | os.PathLike[str],
    text_col: str = "text",
    rating_col: str | None = None,
    label_col: str | None = None,
    binary: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
) -> LoadedData:
    """Read labelled reviews from a CSV or JSON Lines file (optionally gzip-compressed).

    Give exactly one of ``rating_col`` (star ratings 1-5, half stars allowed, mapped with
    :func:`nlp.labels.rating_to_label`) or ``label_col`` (class names, or ids 0/1/2 in LABELS
    order; with ``binary=True`` a 0/1 column where 0 = negative and 1 = positive).
    ``cache_dir`` is where :mod:`datasets` keeps its Arrow cache (default: its own).
    """
    if (rating_col is None) == (label_col is None):
        raise DataError("give exactly one of rating_col or label_col "
                        f"(got rating_col={rating_col!r}, label_col={label_col!r})")
    if binary and label_col is None:
        raise DataError("binary=True describes a 0/1 label column: use it with label_col")
    file = Path(path)
    if not file.is_file():
        raise DataError(f"{file}: no such file")
    target_col = rating_col if rating_col is not None else label_col
    assert target_col is not None
    if text_col == target_col:
        raise DataError(f"the text and the {'rating' if rating_col else 'label'} column are "
                        f"the same column ({text_col!r})")

    raw = _read_columns(file, [text_col, target_col], cache_dir)
    if rating_col is not None:
        convert = _rating_converter(text_col, rating_col)
    else:
        convert = _label_converter(text_col, target_col, binary)
    # In memory and never from the cache: the cache key would not see a change in the
    # rating rule, and the data is small.
    marked = raw.map(convert, batched=True, remove_columns=raw.column_names,
                     keep_in_memory=True, load_from_cache_file=False, desc="Labelling reviews")
    reasons = Counter(reason for reason in marked["drop_reason"] if reason)
    kept = marked.filter(lambda batch: [r is None for r in batch["drop_reason"]], batched=True,
                         keep_in_memory=True, load_from_cache_file=False,
                         desc="Dropping unusable rows")
    kept = kept.remove_columns("drop_reason").cast(FEATURES)
    if len(kept) == 0:
        detail = ", ".join(f"{n} {why}" for why, n in sorted(reasons.items())) or "file is empty"
        raise DataError(f"{file}: no usable rows ({detail})")
    return LoadedData(dataset=kept, dropped=sum(reasons.values()), dropped_reasons=dict(reasons),
                      source=str(file))


def split(dataset: datasets.Dataset, val_size: float = 0.1, test_size: float = 0.15,
          seed: int = 0) -> datasets.DatasetDict:
    """Train / validation / test splits, stratified by ``label`` and reproducible for a seed.

    Split sizes are ``round(n * size)`` rows (validation and test) and the rest (train); each
    class is spread over the splits in proportion, the rounding handed out by largest
    remainder. A ``test_size`` of 0 gives no test split. Rows keep their original order within
    a split (training shuffles them anyway).
    """
    if "label" not in dataset.column_names:
        raise DataError(f"dataset has no 'label' column (columns: {dataset.column_names})")
    for name, size in (("val_size", val_size), ("test_size", test_size)):
        if not 0 <= size < 1:
            raise DataError(f"{name} must be in [0, 1), got {size}")
    n = len(dataset)
    n_val, n_test = round(n * val_size), round(n * test_size)
    if val_size > 0 and n_val == 0 or test_size > 0 and n_test == 0 or n - n_val - n_test < 1:
        raise DataError(f"{n} rows are too few for val_size={val_size}, test_size={test_size}")

    labels = np.asarray(dataset["label"])
    classes = np.unique(labels)
    counts = np.array([(labels == c).sum() for c in classes])
    test_counts = _apportion(counts, n_test)
    val_counts = _apportion(counts - test_counts, n_val)

    rng = np.random.default_rng(seed)
    parts: dict[str, list[int]] = {"train": [], "validation": [], "test": []}
    for c, k_test, k_val in zip(classes, test_counts, val_counts, strict=True):
        members = rng.permutation(np.flatnonzero(labels == c))
        parts["test"].extend(members[:k_test])
        parts["validation"].extend(members[k_test:k_test + k_val])
        parts["train"].extend(members[k_test + k_val:])
    names = ["train", "validation"] + (["test"] if test_size > 0 else [])
    return datasets.DatasetDict(
        {name: dataset.select(sorted(int(i) for i in parts[name])) for name in names})


def _apportion(counts: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` over classes in proportion to ``counts`` (largest remainder, exact sum)."""
    if total == 0 or counts.sum() == 0:
        return np.zeros_like(counts)
    quotas = counts * total / counts.sum()
    shares = np.floor(quotas).astype(int)
    # Ties go to the bigger class, then the lower id, so the result is deterministic.
    order = sorted(range(len(counts)), key=lambda i: (-(quotas[i] - shares[i]), -counts[i], i))
    for i in order[: total - shares.sum()]:
        shares[i] += 1
    return np.minimum(shares, counts)


def _read_columns(file: Path, columns: list[str], cache_dir: str | os.PathLike[str] | None
                  ) -> datasets.Dataset:
    """The named columns of a CSV or JSON Lines file, via ``datasets.load_dataset``."""
    name = file.name.lower()
    cache = str(cache_dir) if cache_dir is not None else None
    if name.endswith(_CSV_SUFFIXES):
        header = _csv_header(file)
        _require_columns(file, header, columns)
        # Every value read as text, so a column's type never depends on which rows a chunk
        # holds; empty fields stay "" (pandas would turn "NA" or "null" reviews into missing).
        features = datasets.Features({c: datasets.Value("string") for c in columns})
        try:
            return datasets.load_dataset("csv", data_files=str(file), split="train",
                                         features=features, usecols=columns,
                                         keep_default_na=False, cache_dir=cache)
        except Exception as error:  # datasets wraps pandas errors in DatasetGenerationError
            raise DataError(f"{file}: cannot read as CSV: {_root_cause(error)}") from error
    if name.endswith(_JSON_SUFFIXES):
        if _is_empty(file):
            raise DataError(f"{file}: no usable rows (file is empty)")
        try:
            raw = datasets.load_dataset("json", data_files=str(file), split="train",
                                        cache_dir=cache)
        except Exception as error:
            raise DataError(f"{file}: cannot read as JSON Lines: {_root_cause(error)}") from error
        _require_columns(file, raw.column_names, columns)
        return raw.select_columns(columns)
    raise DataError(f"{file}: unknown file type; expected .csv or .jsonl/.json (optionally .gz)")


def _csv_header(file: Path) -> list[str]:
    try:
        return [str(c) for c in pd.read_csv(file, nrows=0).columns]
    except pd.errors.EmptyDataError as error:
        raise DataError(f"{file}: no usable rows (file is empty)") from error
    except (ValueError, UnicodeDecodeError, OSError) as error:
        raise DataError(f"{file}: cannot read the CSV header: {error}") from error


def _is_empty(file: Path) -> bool:
    opener = gzip.open if file.name.lower().endswith(".gz") else open
    try:
        with opener(file, "rb") as stream:
            return not stream.read(4096).strip()
    except OSError as error:
        raise DataError(f"{file}: cannot read: {error}") from error


def _require_columns(file: Path, present: list[str], wanted: list[str]) -> None:
    missing = [c for c in wanted if c not in present]
    if missing:
        raise DataError(f"{file}: missing column(s) {', '.join(map(repr, missing))} "
                        f"(columns: {', '.join(map(repr, present))})")


def _root_cause(error: BaseException) -> str:
    while error.__cause__ is not None:
        error = error.__cause__
    return f"{type(error).__name__}: {error}"


def _clean_text(value: object) -> str:
    if value is None or isinstance(value, float) and math.isnan(value):
        return ""
    return str(value).strip()


def _parse_rating(value: object) -> float | None:
    """A rating as a finite float: numbers, or text such as "4.5" / "4,5"; else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        rating = float(value)
    else:
        text = str(value).strip().replace(",", ".")
        try:
            rating = float(text)
        except ValueError:
            return None
    return rating if math.isfinite(rating) else None


def _label_id(value: object, binary: bool) -> int | None:
    """The class id of a label value; binary data maps 0 / 1 to negative / positive."""
    if value is None or isinstance(value, float) and math.isnan(value):
        return None
    number = _parse_rating(value)
    if number is not None and number == int(number):
        number = int(number)
        if binary:
            return {0: LABEL2ID["negative"], 1: LABEL2ID["positive"]}.get(number)
        value = number
    name = normalise_label(value)
    if name is None or binary and name == "neutral":
        return None
    return LABEL2ID[name]


def _rating_converter(text_col: str, rating_col: str):
    def convert(batch: dict[str, list]) -> dict[str, list]:
        out: dict[str, list] = {"text": [], "label": [], "rating": [], "drop_reason": []}
        for raw_text, raw_rating in zip(batch[text_col], batch[rating_col], strict=True):
            text, rating = _clean_text(raw_text), _parse_rating(raw_rating)
            label = rating_to_label(rating)
            reason = DROP_EMPTY_TEXT if not text else DROP_BAD_RATING if label is None else None
            out["text"].append(text)
            out["label"].append(LABEL2ID[label] if label is not None else -1)
            out["rating"].append(rating)
            out["drop_reason"].append(reason)
        return out

    return convert


def _label_converter(text_col: str, label_col: str, binary: bool):
    def convert(batch: dict[str, list]) -> dict[str, list]:
        out: dict[str, list] = {"text": [], "label": [], "rating": [], "drop_reason": []}
        for raw_text, raw_label in zip(batch[text_col], batch[label_col], strict=True):
            text, label = _clean_text(raw_text), _label_id(raw_label, binary)
            reason = DROP_EMPTY_TEXT if not text else DROP_BAD_LABEL if label is None else None
            out["text"].append(text)
            out["label"].append(label if label is not None else -1)
            out["rating"].append(None)
            out["drop_reason"].append(reason)
        return out

    return convert

