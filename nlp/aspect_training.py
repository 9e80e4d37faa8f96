"""What the review model needs to learn aspects beside sentiment, and to be measured on them.

`with_aspect_targets` gives every row of the sentiment corpus its aspect targets: the SemEval
sentences carry them (`nlp.aspect_data`), a review with only a star rating carries none and is
masked out of the aspect loss. `predict_aspects` runs a model with aspect heads
(`nlp.mean_pooling`), `aspect_figures` scores it as `nlp.aspect_eval` does, and
``aspects.json`` in the model folder keeps the aspect names, the detection thresholds tuned on
validation and the figures, so the scorer reads them back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pandas as pd
import torch

from nlp.aspect_data import CONFLICT, LEARNED_ASPECTS, load_aspect_sentences
from nlp.aspect_eval import (
    detection_scores,
    polarity_labels,
    polarity_scores,
    tune_thresholds,
)
from nlp.corpus import Source
from nlp.data import DataError
from nlp.labels import LABEL2ID, LABELS
from nlp.probe import length_batches

ASPECTS_FILE = "aspects.json"
TARGET_COLUMNS = ("aspect_mentions", "aspect_polarity", "aspect_labelled")
IGNORE = -100


def with_aspect_targets(data: datasets.DatasetDict, tables: Mapping[str, pd.DataFrame],
                        aspects: Sequence[str]) -> datasets.DatasetDict:
    """Each split with ``aspect_mentions`` (floats), ``aspect_polarity`` (label ids, -100 where
    nothing is to be learned: not mentioned, or a conflict) and ``aspect_labelled`` (1 for a
    row of a source in ``tables``, keyed by source name, found there by its text)."""
    lookup = {(name, text): row for name, table in tables.items()
              for text, row in zip(table["text"], table[list(aspects)].to_numpy(), strict=True)}

    def targets(batch: dict[str, list]) -> dict[str, list]:
        mentions, polarity, labelled = [], [], []
        for source, text in zip(batch["source"], batch["text"], strict=True):
            row = lookup.get((source, text))
            if row is None:
                mentions.append([0.0] * len(aspects))
                polarity.append([IGNORE] * len(aspects))
                labelled.append(0)
                continue
            mentions.append([float(value != "") for value in row])
            polarity.append([LABEL2ID.get(value, IGNORE) for value in row])
            labelled.append(1)
        return {"aspect_mentions": mentions, "aspect_polarity": polarity,
                "aspect_labelled": labelled}

    return datasets.DatasetDict({
        name: part.map(targets, batched=True, keep_in_memory=True, load_from_cache_file=False,
                       desc="Aspect targets")
        for name, part in data.items()})


def add_aspect_targets(data: datasets.DatasetDict, sources: Sequence[Source],
                       aspects: Sequence[str] = LEARNED_ASPECTS) -> datasets.DatasetDict:
    """``data`` (the corpus of ``sources``) with the aspect targets of its aspect files: the
    sources with a sentence column and a ``category`` column (`nlp.aspect_data`)."""
    tables = {}
    for source in sources:
        if source.sentence_col and source.label_col:
            try:
                tables[source.name] = load_aspect_sentences(source)
            except DataError:
                continue  # a sentence file without aspect categories: sentiment only
    return with_aspect_targets(data, tables, aspects)


@torch.inference_mode()
def predict_aspects(model: torch.nn.Module, tokenizer: Any, texts: list[str],
                    batch_size: int = 64, max_length: int = 128,
                    device: str | torch.device = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Mention probabilities (n, aspects) and polarity probabilities (n, aspects, 3) of a
    model with aspect heads, in input order."""
    model.eval()
    n_aspects = len(model.config.aspect_names)
    mention = np.zeros((len(texts), n_aspects))
    polarity = np.zeros((len(texts), n_aspects, len(LABELS)))
    for chunk, encoded in length_batches(tokenizer, texts, batch_size, max_length, device):
        out = model(**encoded)
        mention[chunk] = torch.sigmoid(out.aspect_mention_logits.float()).cpu().numpy()
        polarity[chunk] = torch.softmax(out.aspect_polarity_logits.float(), -1).cpu().numpy()
    return mention, polarity


def gold(split: datasets.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The labelled rows' indices, their gold mentions (bool) and gold polarities (strings,
    "" where not mentioned, "conflict" where the data says so)."""
    labelled = np.flatnonzero(np.asarray(split["aspect_labelled"]) == 1)
    mentions = np.asarray(split["aspect_mentions"], dtype=float)[labelled] > 0.5
    ids = np.asarray(split["aspect_polarity"])[labelled]
    polarity = np.where(ids >= 0, np.asarray(LABELS, dtype=object)[np.clip(ids, 0, None)], "")
    polarity = np.where(mentions & (ids < 0), CONFLICT, polarity)
    return labelled, mentions, polarity.astype(object)


def aspect_figures(split: datasets.Dataset, mention_proba: np.ndarray,
                   polarity_proba: np.ndarray, thresholds: np.ndarray,
                   aspects: Sequence[str]) -> dict[str, Any]:
    """Detection and polarity figures over the split's aspect-labelled rows, overall and per
    language (``mention_proba`` / ``polarity_proba`` cover every row of the split)."""
    rows, mentions, polarity = gold(split)
    found = mention_proba[rows] >= np.asarray(thresholds)
    predicted = polarity_labels(polarity_proba[rows])
    languages = (np.asarray(split["language"])[rows] if "language" in split.column_names
                 else np.array(["all"] * len(rows)))

    def figures(mask: np.ndarray) -> dict[str, Any]:
        return {"sentences": int(mask.sum()),
                "detection": detection_scores(mentions[mask], found[mask], aspects),
                "polarity": polarity_scores(polarity[mask], predicted[mask], aspects)}

    return {"all": figures(np.ones(len(rows), bool)),
            "by_language": {str(code): figures(languages == code)
                            for code in sorted(set(languages.tolist()))}}


def aspect_polarity_weights(train: datasets.Dataset) -> list[float]:
    """Balanced class weights of the polarity loss over the training split's labelled
    (sentence, aspect) pairs (Spanish neutral pairs are rare); a class never seen gets 0."""
    ids = np.asarray(train["aspect_polarity"]).reshape(-1)
    counts = np.bincount(ids[ids >= 0], minlength=len(LABELS)).astype(float)
    return [float(counts.sum() / (len(LABELS) * c)) if c else 0.0 for c in counts]


def validation_figures(model: torch.nn.Module, tokenizer: Any, split: datasets.Dataset,
                       aspects: Sequence[str], batch_size: int, max_length: int,
                       device: str | torch.device) -> dict[str, Any]:
    """Figures over the split's labelled rows at the untuned 0.5 cut (to choose an epoch)."""
    mention, polarity = predict_aspects(model, tokenizer, list(split["text"]), batch_size,
                                        max_length, device)
    return aspect_figures(split, mention, polarity, np.full(len(aspects), 0.5),
                          aspects)["all"]


def fit_aspect_thresholds(model: torch.nn.Module, tokenizer: Any, data: datasets.DatasetDict,
                          aspects: Sequence[str], batch_size: int, max_length: int,
                          device: str | torch.device, out_dir: str | Path) -> dict[str, Any]:
    """Detection thresholds tuned on the validation split, the figures they give on the
    validation and test splits, saved to ``aspects.json`` and returned."""
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {
        name: predict_aspects(model, tokenizer, list(part["text"]), batch_size, max_length,
                              device)
        for name, part in data.items() if name in ("validation", "test")}
    rows, mentions, _ = gold(data["validation"])
    thresholds = tune_thresholds(mentions, found["validation"][0][rows])
    figures = {name: aspect_figures(data[name], *found[name], thresholds, aspects)
               for name in found}
    save_aspects(out_dir, aspects, thresholds, figures)
    return {"thresholds": dict(zip(aspects, thresholds.tolist(), strict=True)), **figures}


def save_aspects(folder: str | Path, aspects: Sequence[str], thresholds: np.ndarray,
                 figures: Mapping[str, Any]) -> Path:
    """``aspects.json``: names, detection thresholds (tuned on validation) and figures."""
    path = Path(folder) / ASPECTS_FILE
    path.write_text(json.dumps({"aspects": list(aspects),
                                "thresholds": [round(float(t), 4) for t in thresholds],
                                "figures": figures}, indent=2), encoding="utf-8")
    return path


def load_aspects(folder: str | Path) -> dict[str, Any] | None:
    """What `save_aspects` wrote, or None for a model without learned aspects."""
    path = Path(folder) / ASPECTS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


class LearnedAspects:
    """The aspect heads of a saved review model, behind the interface of the aspect baselines
    (`nlp.aspect_baselines`): ``mention_proba`` and ``polarity_proba``, with the detection
    thresholds it was saved with in ``thresholds_`` (torch, for evaluation)."""

    def __init__(self, folder: str | Path, batch_size: int = 64, max_length: int = 256,
                 device: str = "cpu") -> None:
        from nlp.checkpoint import load_classifier, load_tokenizer

        saved = load_aspects(folder)
        if saved is None:
            raise ValueError(f"{folder}: no {ASPECTS_FILE}: this model learned no aspects")
        self.batch_size, self.max_length, self.device = batch_size, max_length, device
        self.aspects_ = tuple(saved["aspects"])
        self.thresholds_ = np.asarray(saved["thresholds"], dtype=float)
        self.tokenizer_ = load_tokenizer(folder)
        self.model_ = load_classifier(folder).to(device).eval()
        self._cache: tuple[list[str], tuple[np.ndarray, np.ndarray]] | None = None

    def _predict(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        texts = [str(t or "") for t in texts]
        if self._cache is None or self._cache[0] != texts:
            self._cache = (texts, predict_aspects(self.model_, self.tokenizer_, texts,
                                                  self.batch_size, self.max_length,
                                                  self.device))
        return self._cache[1]

    def mention_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self._predict(texts)[0]

    def polarity_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self._predict(texts)[1]
