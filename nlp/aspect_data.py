"""Aspect-labelled sentences (SemEval restaurant files) as one table per split.

Each distinct sentence is one row: its text, language and source, and one column per learned
aspect holding the sentence's polarity toward it ("positive", "negative", "neutral",
"conflict") or "" when the sentence does not talk about it. The categories of the files map to
the product's aspects by `CATEGORY_ASPECT`: drinks count as food (a guest's "food" is what
they ate and drank); the place as a whole (SemEval-2016 "restaurant" and "location",
SemEval-2014 "anecdotes/miscellaneous") is no aspect, since the review's own sentiment covers
it. Several rows of one (sentence, aspect) fold into one polarity by `fold_polarities`.

The splits are the sentiment corpus's own (`nlp.corpus.load_corpus` on the same sources and
seed): a sentence the review model was trained on is never an aspect test sentence, so an
aspect model that shares the review model's encoder is measured on text it has not seen.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from nlp.corpus import Source, default_recipe, load_corpus
from nlp.data import DataError

LEARNED_ASPECTS: tuple[str, ...] = ("food", "service", "ambience", "price")
CATEGORY_ASPECT = {"food": "food", "drinks": "food", "service": "service",
                   "ambience": "ambience", "price": "price"}
CONFLICT = "conflict"
POLARITY_VALUES = ("positive", "negative", "neutral", CONFLICT)


def fold_polarities(values: Iterable[str]) -> str:
    """One polarity from several rows of one (sentence, aspect): positive with negative, or any
    "conflict", is "conflict"; one polarity beside neutral ones is that polarity."""
    seen = {str(v).strip().lower() for v in values} - {"", "nan"}
    unknown = seen - set(POLARITY_VALUES)
    if unknown or not seen:
        raise DataError(f"not an aspect polarity: {sorted(unknown) or 'none'}")
    if CONFLICT in seen or {"positive", "negative"} <= seen:
        return CONFLICT
    polar = seen - {"neutral"}
    return polar.pop() if polar else "neutral"


def aspect_recipe(data_dir: str | os.PathLike[str]) -> list[Source]:
    """The aspect files of the default sentiment recipe (SemEval EN 2014 and ES 2016)."""
    return [s for s in default_recipe(data_dir) if s.sentence_col]


def load_aspect_sentences(source: Source, category_col: str = "category") -> pd.DataFrame:
    """One row per distinct sentence text of an aspect file, with a polarity column per
    learned aspect ("" where the sentence does not talk about it)."""
    if not source.sentence_col or not source.label_col:
        raise DataError(f"{source.path}: an aspect file needs sentence= and label= columns")
    try:
        frame = pd.read_csv(source.path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{source.path}: cannot read as CSV: {exc}") from exc
    missing = [c for c in (source.text_col, source.label_col, category_col)
               if c not in frame.columns]
    if missing:
        raise DataError(f"{source.path}: missing column(s) {missing} "
                        f"(columns: {list(frame.columns)})")
    frame = frame.assign(text=frame[source.text_col].str.strip(),
                         aspect=frame[category_col].str.strip().str.lower().map(CATEGORY_ASPECT))
    frame = frame[frame["text"] != ""]
    rows = {text: dict.fromkeys(LEARNED_ASPECTS, "") for text in frame["text"].unique()}
    labelled = frame.dropna(subset=["aspect"])
    for (text, aspect), polarities in labelled.groupby(["text", "aspect"])[source.label_col]:
        rows[text][aspect] = fold_polarities(polarities)
    out = pd.DataFrame.from_dict(rows, orient="index").rename_axis("text").reset_index()
    return out.assign(source=source.name)


def aspect_splits(sources: Sequence[Source], seed: int = 0, val_size: float = 0.1,
                  test_size: float = 0.15) -> dict[str, pd.DataFrame]:
    """Train / validation / test tables of aspect sentences, split as the sentiment corpus
    splits the same sources (see the module doc)."""
    corpus = load_corpus(sources, seed=seed, val_size=val_size, test_size=test_size)
    by_source = {s.name: load_aspect_sentences(s) for s in sources}
    out = {}
    for which, part in corpus.data.items():
        keys = part.select_columns(["text", "language", "source"]).to_pandas()
        tables = [keys[keys["source"] == name].merge(table.drop(columns="source"), on="text",
                                                     how="inner", validate="one_to_one")
                  for name, table in by_source.items()]
        out[which] = pd.concat(tables, ignore_index=True)
    return out


def mentions(table: pd.DataFrame) -> np.ndarray:
    """(n, aspects) booleans: does each sentence talk about each learned aspect."""
    return table[list(LEARNED_ASPECTS)].to_numpy() != ""
