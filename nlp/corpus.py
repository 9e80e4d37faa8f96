"""A training corpus from several labelled files, each with its own columns and language.

A `Source` says how to read one file: which column holds the text, which the star rating or the
label, which language it is in, and whether it is an aspect file (SemEval: one row per
(sentence, aspect), folded into one label per sentence by `sentence_label`). `load_corpus`
reads every source and splits each one on its own, stratified by label, so every source (and so
every language) has its share of the validation and test rows; the splits carry ``language``
and ``source`` columns, and every figure can be reported per language.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import datasets
import numpy as np
import pandas as pd

from nlp.data import DataError, LoadedData, load_reviews, split
from nlp.labels import LABEL2ID, LABELS
from nlp.language import detect_languages

CORPUS_FEATURES = datasets.Features({
    "text": datasets.Value("string"),
    "label": datasets.ClassLabel(names=list(LABELS)),
    "rating": datasets.Value("float64"),
    "language": datasets.Value("string"),
    "source": datasets.Value("string"),
})
SENTENCE_RULE = ("one label per sentence from its aspect polarities: one polarity, or one "
                 "polarity beside neutral ones, gives that polarity; positive with negative, or "
                 "any 'conflict', gives neutral (mixed, as a 3-star review is); see "
                 "nlp.corpus.sentence_label")
DROP_DUPLICATE = "duplicate text"
_KEYS = {"text": "text_col", "rating": "rating_col", "label": "label_col",
         "sentence": "sentence_col"}


@dataclass(frozen=True)
class Source:
    """How to read one labelled file.

    ``language`` is the ISO 639-1 code of its texts ("es", "en"), or empty to detect each
    row's (`nlp.language`). ``sentence_col`` marks an aspect file: rows sharing that column's
    value are one sentence, whose ``label_col`` values are folded by `sentence_label`.
    ``max_rows`` samples the file (stratified, seeded) before it is split. ``dedupe`` keeps
    the first row of a repeated text only, so no text is both trained on and tested on.
    """

    path: str
    text_col: str = "text"
    rating_col: str | None = None
    label_col: str | None = None
    binary: bool = False
    language: str = ""
    sentence_col: str | None = None
    max_rows: int | None = None
    name: str = ""
    dedupe: bool = True

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", Path(self.path).name.split(".")[0])

    @classmethod
    def parse(cls, spec: str, **defaults: object) -> Source:
        """``PATH::key=value,...`` as the command line gives it, e.g.
        ``reviews.csv::text=review,rating=stars,language=es,max_rows=3000``; keys are the
        field names, or text / rating / label / sentence for the ``*_col`` ones. Keys not
        given take ``defaults`` (the command's own options), then the field defaults."""
        path, _, options = spec.partition("::")
        known = {f.name for f in fields(cls)} - {"path"}
        named: dict[str, object] = {}
        for item in filter(None, (part.strip() for part in options.split(","))):
            key, sep, value = item.partition("=")
            key = _KEYS.get(key.strip(), key.strip())
            if not sep or key not in known:
                raise DataError(f"{spec!r}: {item!r} is not key=value with a key among "
                                f"{sorted(known | set(_KEYS))}")
            named[key] = value.strip()
        values: dict[str, object] = {k: v for k, v in defaults.items() if v is not None}
        if {"rating_col", "label_col"} & named.keys():  # the spec's kind of target, not both
            values.pop("rating_col", None)
            values.pop("label_col", None)
        values.update(named)
        if "max_rows" in values:
            try:
                values["max_rows"] = int(str(values["max_rows"]))
            except ValueError as exc:
                raise DataError(f"{spec!r}: max_rows must be a whole number") from exc
        for flag in ("binary", "dedupe"):
            if flag in values:
                values[flag] = str(values[flag]).lower() in ("1", "true", "yes")
        return cls(path=path, **values)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def default_recipe(data_dir: str | os.PathLike[str], zomato_rows: int | None = 4000
                   ) -> list[Source]:
    """The real labelled data the service trains on by default: Zomato reviews (English, star
    ratings) and the SemEval restaurant sentences in English (2014) and Spanish (2016).

    Zomato is sampled (stratified) to ``zomato_rows`` of its ~9,400 distinct reviews: they
    are long, so all of them would be 80% of the training time on a CPU and outnumber the
    Spanish sentences six to one.
    """
    folder = Path(data_dir)
    return [
        Source(str(folder / "zomato_reviews.csv"), text_col="review", rating_col="rating",
               language="en", max_rows=zomato_rows, name="zomato"),
        Source(str(folder / "semeval2014_restaurants_train.csv"), label_col="polarity",
               sentence_col="sentence_id", language="en", name="semeval2014_en"),
        Source(str(folder / "semeval2016_es_restaurants_train.csv"), label_col="polarity",
               sentence_col="sentence_id", language="es", name="semeval2016_es"),
    ]


def sentence_label(polarities: Sequence[str]) -> str | None:
    """One sentence's label from its aspects' polarities (`SENTENCE_RULE`); None if unusable."""
    seen = {str(p).strip().lower() for p in polarities} - {"", "nan"}
    if not seen or not seen <= {"positive", "negative", "neutral", "conflict"}:
        return None
    if "conflict" in seen or {"positive", "negative"} <= seen:
        return "neutral"
    polar = seen - {"neutral"}
    return polar.pop() if polar else "neutral"


@dataclass(frozen=True)
class Corpus:
    """The split corpus, and what was read from each source."""

    data: datasets.DatasetDict
    loaded: dict[str, LoadedData]

    def describe(self) -> str:
        parts = []
        for name, source in self.loaded.items():
            languages = Counter(source.dataset["language"])
            said = "/".join(f"{code} {n}" if len(languages) > 1 else code
                            for code, n in languages.most_common())
            parts.append(f"{name} [{said}]: {source.describe()}")
        return "; ".join(parts)


def load_source(source: Source, seed: int = 0) -> LoadedData:
    """One source's usable rows with ``language`` and ``source`` columns, sampled if asked."""
    if source.sentence_col:
        loaded = _load_sentences(source)
    else:
        loaded = load_reviews(source.path, text_col=source.text_col,
                              rating_col=source.rating_col, label_col=source.label_col,
                              binary=source.binary)
    dataset, dropped, reasons = loaded.dataset, loaded.dropped, dict(loaded.dropped_reasons)
    # A text seen twice could land in train and in test: keep its first row only.
    first = {text: i for i, text in reversed(list(enumerate(dataset["text"])))}
    if source.dedupe and len(first) < len(dataset):
        reasons[DROP_DUPLICATE] = len(dataset) - len(first)
        dropped += len(dataset) - len(first)
        dataset = dataset.select(sorted(first.values()))
    if source.max_rows and len(dataset) > source.max_rows:
        dataset = dataset.select(_stratified_sample(dataset["label"], source.max_rows, seed))
    n = len(dataset)
    languages = [source.language] * n if source.language else detect_languages(dataset["text"])
    dataset = dataset.add_column("language", languages) \
        .add_column("source", [source.name] * n).cast(CORPUS_FEATURES)
    return LoadedData(dataset, dropped, reasons, loaded.source)


def load_corpus(sources: Sequence[Source], seed: int = 0, val_size: float = 0.1,
                test_size: float = 0.15) -> Corpus:
    """Every source read and split on its own (stratified by label), the splits concatenated."""
    if not sources:
        raise DataError("no data sources given")
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise DataError(f"two sources share a name ({', '.join(names)}): give each a name=")
    loaded = {s.name: load_source(s, seed) for s in sources}
    parts = {name: split(part.dataset, val_size, test_size, seed) for name, part in loaded.items()}
    splits = next(iter(parts.values())).keys()
    data = datasets.DatasetDict({
        which: datasets.concatenate_datasets([p[which] for p in parts.values()])
        for which in splits})
    return Corpus(data, loaded)


def _load_sentences(source: Source) -> LoadedData:
    if not source.label_col:
        raise DataError(f"{source.path}: an aspect file needs label= (the polarity column)")
    try:
        frame = pd.read_csv(source.path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{source.path}: cannot read as CSV: {exc}") from exc
    wanted = [source.sentence_col, source.text_col, source.label_col]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise DataError(f"{source.path}: missing column(s) {missing} "
                        f"(columns: {list(frame.columns)})")
    grouped = frame.groupby(source.sentence_col, sort=False).agg(
        text=(source.text_col, "first"), polarities=(source.label_col, list))
    labels = [sentence_label(p) for p in grouped["polarities"]]
    texts = [str(t).strip() for t in grouped["text"]]
    reasons = Counter("empty text" if not t else "unusable label"
                      for t, label in zip(texts, labels, strict=True) if not t or label is None)
    keep = [i for i, (t, label) in enumerate(zip(texts, labels, strict=True)) if t and label]
    if not keep:
        raise DataError(f"{source.path}: no usable sentences")
    dataset = datasets.Dataset.from_dict(
        {"text": [texts[i] for i in keep], "label": [LABEL2ID[labels[i]] for i in keep],
         "rating": [None] * len(keep)},
        features=datasets.Features({"text": datasets.Value("string"),
                                    "label": datasets.ClassLabel(names=list(LABELS)),
                                    "rating": datasets.Value("float64")}))
    return LoadedData(dataset, sum(reasons.values()), dict(reasons),
                      f"{source.path} ({len(frame):,} aspect rows)")


def _stratified_sample(labels: Sequence[int], size: int, seed: int) -> list[int]:
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(np.arange(len(labels)), train_size=size,
                               stratify=np.asarray(labels), random_state=seed)
    return sorted(int(i) for i in keep)
