"""The model registry: versioned artifact folders under the model directory, one row each.

A model lives at ``<model_dir>/<kind>/<version>/`` next to a `model_versions` row holding its
metrics, parameters, data window and seed. At most one version of a kind is in production.
The row keeps the folder relative to the model directory (``churn/<version>``), or absolute
when it lies elsewhere, and every reader goes through `resolve_path`: a command run from
another directory, or a home moved to another disk, finds the same folder.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.config import Settings
from loyalty.errors import NotFoundError
from loyalty.models import ModelVersion

SENTIMENT = "sentiment"
CHURN = "churn"  # the churn + tier stacking ensemble


def new_version(now: datetime | None = None) -> str:
    """Sortable and unique: the UTC time of training plus a few random characters."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def artifact_dir(model_dir: Path, kind: str, version: str) -> Path:
    return model_dir / kind / version


def stored_path(path: Path, model_dir: Path | None) -> str:
    """What `model_versions.path` keeps for the folder ``path``: relative to ``model_dir`` when
    inside it, else absolute. A relative ``path`` is read from the working directory."""
    folder = Path(path).resolve()
    if model_dir is not None:
        try:
            return folder.relative_to(Path(model_dir).resolve()).as_posix()
        except ValueError:
            pass
    return str(folder)


def resolve_path(settings: Settings, stored: str | ModelVersion) -> Path:
    """The folder of a registered model (a row, or its stored path) under these settings."""
    path = Path(stored.path if isinstance(stored, ModelVersion) else stored)
    return path if path.is_absolute() else settings.model_dir / path


def register(session: Session, *, kind: str, version: str, path: Path,
             metrics: dict[str, Any], params: dict[str, Any] | None = None,
             features: dict[str, Any] | None = None, data_start: date | None = None,
             data_end: date | None = None, seed: int | None = None,
             notes: str | None = None, model_dir: Path | None = None) -> ModelVersion:
    """Record the model in the folder ``path`` as a candidate; ``model_dir`` (the settings'
    model directory) is what the path is stored relative to, when the folder lies inside it."""
    row = ModelVersion(kind=kind, version=version, status="candidate",
                       path=stored_path(path, model_dir),
                       metrics=metrics, params=params or {}, features=features or {},
                       data_start=data_start, data_end=data_end, seed=seed, notes=notes)
    session.add(row)
    session.flush()
    return row


def production(session: Session, kind: str) -> ModelVersion | None:
    return session.scalars(
        select(ModelVersion).where(ModelVersion.kind == kind,
                                   ModelVersion.status == "production")
    ).one_or_none()


def get(session: Session, kind: str, version: str) -> ModelVersion:
    row = session.scalars(
        select(ModelVersion).where(ModelVersion.kind == kind, ModelVersion.version == version)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no {kind} model version {version!r}")
    return row


def by_path(session: Session, settings: Settings, kind: str, path: Path) -> ModelVersion:
    """The registered version stored at ``path``: scores in the database name their model."""
    wanted = Path(path).resolve()
    for row in session.scalars(select(ModelVersion).where(ModelVersion.kind == kind)):
        if resolve_path(settings, row).resolve() == wanted:
            return row
    raise NotFoundError(f"{path} is not a registered {kind} model: train it with "
                        "`loyalty nlp train` so its scores can name the model")


def promote(session: Session, row: ModelVersion, note: str | None = None) -> None:
    """Make ``row`` the production version of its kind; the previous one is retired."""
    current = production(session, row.kind)
    if current is not None and current.id != row.id:
        current.status = "retired"
        session.flush()  # the old row leaves production before the new one enters it
    row.status = "production"
    row.promoted_at = datetime.now(UTC)
    if note:
        row.notes = f"{row.notes}\n{note}" if row.notes else note


def promote_if_not_worse(session: Session, row: ModelVersion, metric: str,
                         tolerance: float = 0.01, *, current_value: float | None = None,
                         force: bool = False) -> tuple[bool, str]:
    """Promote ``row`` unless the production model scores better on ``metric`` by > tolerance.

    ``current_value`` is the production model's score when the caller measured it again on
    ``row``'s own validation data (the fair comparison); otherwise its stored metric is used.
    ``force`` promotes whatever the comparison says, and the reason records that it was forced.
    Returns whether it was promoted and why, in words for the CLI and the notes column.
    """
    current = production(session, row.kind)
    new = (row.metrics or {}).get(metric)
    if current is None:
        reason = "first model of its kind"
    else:
        old = current_value if current_value is not None else (current.metrics or {}).get(metric)
        if force:
            shown = "n/a" if old is None or new is None else f"{new:.4f} vs {old:.4f}"
            reason = f"forced over production {current.version} ({metric} {shown})"
            promote(session, row, note=f"promoted: {reason}")
            return True, reason
        if new is None or old is None:
            reason = f"kept as candidate: {metric} missing to compare with {current.version}"
            row.notes = reason
            return False, reason
        if new < old - tolerance:
            reason = (f"kept as candidate: {metric} {new:.4f} is worse than production "
                      f"{current.version} ({old:.4f}) by more than {tolerance}")
            row.notes = reason
            return False, reason
        reason = f"{metric} {new:.4f} vs production {current.version} {old:.4f}"
    promote(session, row, note=f"promoted: {reason}")
    return True, reason


def versions(session: Session, kind: str | None = None) -> list[ModelVersion]:
    """Registered versions, newest first (of one kind, or all)."""
    query = select(ModelVersion).order_by(ModelVersion.created_at.desc(), ModelVersion.id.desc())
    if kind is not None:
        query = query.where(ModelVersion.kind == kind)
    return list(session.scalars(query))


def rollback(session: Session, kind: str) -> tuple[ModelVersion, ModelVersion]:
    """Put the previously promoted version of ``kind`` back in production.

    The current production version is retired with a note; returns (restored, retired).
    """
    current = production(session, kind)
    if current is None:
        raise NotFoundError(f"no {kind} model in production to roll back")
    earlier = session.scalars(
        select(ModelVersion)
        .where(ModelVersion.kind == kind, ModelVersion.status == "retired",
               ModelVersion.promoted_at.is_not(None), ModelVersion.id != current.id)
        .order_by(ModelVersion.promoted_at.desc(), ModelVersion.id.desc())
    ).first()
    if earlier is None:
        raise NotFoundError(f"{kind} {current.version} is the only version ever in production: "
                            "nothing to roll back to")
    promote(session, earlier, note=f"restored by rollback from {current.version}")
    current.notes = (f"{current.notes}\n" if current.notes else "") + \
        f"rolled back to {earlier.version}"
    return earlier, current
