"""Fixtures for the NLP suite: a tiny random BERT classifier that loads in well under a second."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.checkpoint import write_tiny_bert


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Hugging Face folder: 2-layer BERT, 3 labels, the real MiniLM tokenizer. Read-only."""
    return write_tiny_bert(tmp_path_factory.mktemp("tiny-bert") / "model", seed=0)
