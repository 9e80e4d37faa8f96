"""job owner and interrupted status; model paths relative to the model directory

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

Jobs record the process that runs them (host, pid, process identity) and may be
``interrupted`` (their process is gone). `model_versions.path` was stored as the caller gave
it, usually relative to the working directory of the command that trained the model
(``var/models/churn/<version>``); it becomes relative to the model directory
(``churn/<version>``), or absolute for a folder outside it.

The path rewrite runs with the settings of the environment that migrates (``loyalty db
upgrade`` passes its own): an old relative path is read from the working directory, as the old
code read it. When nothing is there but the model directory holds ``<kind>/<version>`` (the
folder the registry always writes), that folder is the model's: it was trained from another
directory. The downgrade stores absolute paths, which the old code reads from anywhere.
"""

from collections.abc import Callable, Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import context, op

from loyalty.config import Settings

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
NEW_STATUSES = (*OLD_STATUSES, "interrupted")
# The kinds `loyalty worker` ran at this revision: a downgrade queues them again rather than
# failing them, since the old worker resumes a queued job where it stopped.
WORKER_KINDS = ("score-reviews",)

model_versions = sa.table("model_versions", sa.column("id", sa.Integer),
                          sa.column("kind", sa.String), sa.column("version", sa.String),
                          sa.column("path", sa.String))
jobs = sa.table("jobs", sa.column("status", sa.String), sa.column("kind", sa.String))


def _settings() -> Settings:
    return context.config.attributes.get("settings") or Settings.from_env()


def _check(statuses: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")"


def relative_to_model_dir(stored: str, kind: str, version: str, model_dir: Path,
                          cwd: Path) -> str:
    """The new `model_versions.path` for an old one (see the module docstring)."""
    root = model_dir if model_dir.is_absolute() else cwd / model_dir
    root = root.resolve()
    old = Path(stored)
    folder = old if old.is_absolute() else cwd / old
    if (not folder.is_dir() and old.parts[-2:] == (kind, version)
            and (root / kind / version).is_dir()):
        return f"{kind}/{version}"
    folder = folder.resolve()
    try:
        return folder.relative_to(root).as_posix()
    except ValueError:
        return str(folder)


def _rewrite_paths(new_path: Callable[[sa.Row], str]) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(model_versions.c.id, model_versions.c.kind,
                                  model_versions.c.version, model_versions.c.path)).all()
    for row in rows:
        path = new_path(row)
        if path != row.path:
            conn.execute(model_versions.update().where(model_versions.c.id == row.id)
                         .values(path=path))


def _alter_jobs(statuses: tuple[str, ...], add_owner: bool) -> None:
    """Swap the status check (and add or drop the owner columns) of `jobs`.

    SQLite rebuilds the table to change a CHECK, and dropping the old table nulls every
    `ingest_errors.job_id` (ON DELETE SET NULL) while foreign keys are on, which a migration
    inside a transaction cannot turn off: those links are kept aside and put back.
    """
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("CREATE TEMP TABLE _jobs_of_ingest_errors AS "
                   "SELECT id, job_id FROM ingest_errors WHERE job_id IS NOT NULL")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_jobs_status_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_jobs_status_known"), _check(statuses))
        if add_owner:
            batch_op.add_column(sa.Column("owner_host", sa.String(length=255), nullable=True))
            batch_op.add_column(sa.Column("owner_pid", sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column("owner_process", sa.String(length=100),
                                          nullable=True))
        else:
            batch_op.drop_column("owner_process")
            batch_op.drop_column("owner_pid")
            batch_op.drop_column("owner_host")
    if sqlite:
        op.execute("UPDATE ingest_errors SET job_id = (SELECT k.job_id FROM "
                   "_jobs_of_ingest_errors AS k WHERE k.id = ingest_errors.id) "
                   "WHERE id IN (SELECT id FROM _jobs_of_ingest_errors)")
        op.execute("DROP TABLE _jobs_of_ingest_errors")


def upgrade() -> None:
    _alter_jobs(NEW_STATUSES, add_owner=True)
    settings, cwd = _settings(), Path.cwd()
    _rewrite_paths(lambda row: relative_to_model_dir(row.path, row.kind, row.version,
                                                     settings.model_dir, cwd))


def downgrade() -> None:
    op.execute(jobs.update().where(jobs.c.status == "interrupted",
                                   jobs.c.kind.in_(WORKER_KINDS)).values(status="queued"))
    op.execute(jobs.update().where(jobs.c.status == "interrupted").values(status="failed"))
    _alter_jobs(OLD_STATUSES, add_owner=False)
    root = _settings().model_dir.resolve()
    _rewrite_paths(lambda row: str(root / row.path) if not Path(row.path).is_absolute()
                   else row.path)
