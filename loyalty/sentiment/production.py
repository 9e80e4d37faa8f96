"""Which sentiment model scores reviews: the one in production (or a registered version named by
id or folder), found in the registry, and its loaded scorer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from loyalty import registry
from loyalty.config import Settings
from loyalty.errors import NotFoundError
from loyalty.models import ModelVersion

if TYPE_CHECKING:
    from nlp.scorer import SentimentScorer

NO_MODEL = "no sentiment model in production: run `loyalty nlp train`"


@dataclass(frozen=True)
class SentimentModel:
    """A registered sentiment model version: the id and version its scores name, its folder."""

    id: int
    version: str
    folder: Path

    @classmethod
    def of(cls, row: ModelVersion, settings: Settings) -> SentimentModel:
        return cls(row.id, row.version, registry.resolve_path(settings, row))


def find_production_model(engine: Engine, settings: Settings) -> SentimentModel | None:
    """The sentiment model in production, or None when there is none."""
    with Session(engine) as session:
        row = registry.production(session, registry.SENTIMENT)
        return None if row is None else SentimentModel.of(row, settings)


def production_model(engine: Engine, settings: Settings, *, hint: str = "") -> SentimentModel:
    """The sentiment model in production; without one a `NotFoundError` that says so, its
    message ending with ``hint`` (what else the caller can do)."""
    model = find_production_model(engine, settings)
    if model is None:
        raise NotFoundError(NO_MODEL + hint)
    return model


def registered_model(engine: Engine, settings: Settings, *, version_id: int | None = None,
                     folder: Path | None = None) -> SentimentModel:
    """A registered sentiment model version, by its id or else by its folder."""
    with Session(engine) as session:
        if version_id is not None:
            row = session.get(ModelVersion, version_id)
            if row is None or row.kind != registry.SENTIMENT:
                raise NotFoundError(f"no sentiment model version with id {version_id}")
        elif folder is not None:
            row = registry.by_path(session, settings, registry.SENTIMENT, folder)
        else:
            raise TypeError("registered_model needs version_id or folder")
        return SentimentModel.of(row, settings)


def load_scorer(folder: Path) -> SentimentScorer:
    """The scorer of the model in ``folder``: loading takes seconds (tokenizer, weights or ONNX
    sessions), and a missing or broken folder fails here, not halfway through scoring."""
    from nlp.scorer import SentimentScorer

    return SentimentScorer(folder)


def production_scorer(engine: Engine, settings: Settings, *,
                      hint: str = "") -> tuple[SentimentModel, SentimentScorer]:
    """The production sentiment model and its loaded scorer (`production_model`, `load_scorer`).
    Each call loads anew: a caller that keeps a scorer (an API worker) keeps what it got."""
    model = production_model(engine, settings, hint=hint)
    return model, load_scorer(model.folder)
