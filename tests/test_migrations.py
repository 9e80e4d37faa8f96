"""The migrations and the ORM metadata describe the same schema, on both databases."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from loyalty import migrate
from loyalty.models import Base


def _diff(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, Base.metadata)


def test_migrated_schema_matches_orm_metadata(engine):
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert _diff(engine) == []


def test_downgrade_to_base_and_back(engine):
    migrate.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    assert _diff(engine) == []


def test_0003_keeps_model_paths_findable_and_job_links(engine, tmp_path, monkeypatch):
    """Old rows: model paths as the old code stored them, relative to the directory a command
    ran in (or absolute), and an import with quarantined rows that link to its job."""
    import sqlalchemy as sa

    from loyalty.config import Settings
    from loyalty.models import IngestError, ModelVersion, utcnow
    from loyalty.models.base import UTCDateTime

    root = tmp_path.resolve()
    here = root / "app"
    (here / "var" / "models" / "churn" / "c3").mkdir(parents=True)
    monkeypatch.chdir(here)
    settings = Settings(home=Path("var"),
                        database_url=engine.url.render_as_string(hide_password=False))
    models = here / "var" / "models"
    jobs = sa.table("jobs", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                    sa.column("status", sa.String), sa.column("progress_done", sa.Integer),
                    sa.column("created_at", UTCDateTime()))
    old = {  # version: (stored by the old code, stored now)
        "c1": ("var/models/churn/c1", "churn/c1"),  # trained from this directory
        "c2": (str(models / "churn" / "c2"), "churn/c2"),  # LOYALTY_HOME given absolutely
        "c3": ("other/var/models/churn/c3", "churn/c3"),  # trained from `other`, moved here
        "c4": ("../models/c4", str(root / "models" / "c4")),  # outside the model dir
        "c5": ("/opt/models/c5", "/opt/models/c5"),
    }
    migrate.downgrade(engine, "0002", settings=settings)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(ModelVersion.__table__), [
                {"kind": "churn", "version": v, "status": "candidate", "path": stored,
                 "created_at": utcnow()} for v, (stored, _) in old.items()])
            conn.execute(sa.insert(jobs), [
                {"id": 1, "kind": "ingest", "status": "running", "progress_done": 3,
                 "created_at": utcnow()},
                {"id": 2, "kind": "score-reviews", "status": "running", "progress_done": 3,
                 "created_at": utcnow()}])
            conn.execute(sa.insert(IngestError.__table__).values(
                job_id=1, source="s", kind="customers", file_name="f.csv", file_sha256="0" * 64,
                row_number=2, reason="bad", raw="{}", created_at=utcnow()))
        migrate.upgrade(engine, settings=settings)
        with engine.begin() as conn:
            paths = dict(conn.execute(sa.select(ModelVersion.version, ModelVersion.path)).all())
            assert paths == {v: new for v, (_, new) in old.items()}
            assert conn.scalar(sa.select(IngestError.job_id)) == 1
            conn.execute(sa.text("UPDATE jobs SET status = 'interrupted'"))

        migrate.downgrade(engine, "0002", settings=settings)
        with engine.connect() as conn:
            paths = dict(conn.execute(sa.select(ModelVersion.version, ModelVersion.path)).all())
            # What the old code reads from any directory.
            assert paths == {"c1": str(models / "churn" / "c1"),
                             "c2": str(models / "churn" / "c2"),
                             "c3": str(models / "churn" / "c3"),
                             "c4": str(root / "models" / "c4"), "c5": "/opt/models/c5"}
            statuses = dict(conn.execute(sa.select(jobs.c.kind, jobs.c.status)).all())
            # The old worker resumes a queued scoring job; an import cannot resume.
            assert statuses == {"ingest": "failed", "score-reviews": "queued"}
            assert conn.scalar(sa.select(IngestError.job_id)) == 1
    finally:
        migrate.upgrade(engine, settings=settings)
    assert _diff(engine) == []
