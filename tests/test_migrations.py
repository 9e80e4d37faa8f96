"""The migrations and the ORM metadata describe the same schema, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
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


def test_0004_adds_the_detected_language_and_keeps_the_given_one(engine):
    """A review stored before 0004 keeps its given language through the upgrade and back; the
    new column takes only the detector's labels, on both databases."""
    import sqlalchemy as sa
    from sqlalchemy.exc import IntegrityError

    from loyalty.models import Customer, Location, utcnow
    from loyalty.models.base import UTCDateTime

    migrate.downgrade(engine, "0003")
    try:
        assert "language_detected" not in {c["name"] for c in inspect(engine).get_columns(
            "reviews")}
        now = utcnow()
        reviews = sa.table(  # the table as 0003 has it
            "reviews", *(sa.column(name) for name in (
                "id", "customer_id", "location_id", "text", "language", "rating", "source",
                "external_id")),
            *(sa.column(name, UTCDateTime()) for name in ("posted_at", "created_at",
                                                          "updated_at")))
        with engine.begin() as conn:
            customer = conn.execute(sa.insert(Customer.__table__).returning(
                Customer.__table__.c.id), {"source": "s", "external_id": "C1", "language": "es",
                                           "signup_date": now.date(), "created_at": now,
                                           "updated_at": now}).scalar_one()
            location = conn.execute(sa.insert(Location.__table__).returning(
                Location.__table__.c.id), {"source": "s", "external_id": "L1", "name": "L",
                                           "timezone": "America/Lima", "created_at": now,
                                           "updated_at": now}).scalar_one()
            conn.execute(sa.insert(reviews), [
                {"id": i, "customer_id": customer, "location_id": location, "text": text,
                 "language": language, "rating": 4, "source": "s", "external_id": f"R{i}",
                 "posted_at": now, "created_at": now, "updated_at": now}
                for i, (text, language) in enumerate([("The pollo a la brasa was great", "en"),
                                                      ("Muy rico todo", None)], start=1)])
        migrate.upgrade(engine)
        table = sa.table("reviews", sa.column("id"), sa.column("language"),
                         sa.column("language_detected"))
        with engine.begin() as conn:
            rows = conn.execute(sa.select(table).order_by(table.c.id)).all()
            assert [tuple(r) for r in rows] == [(1, "en", None), (2, None, None)]
            conn.execute(table.update().where(table.c.id == 1).values(language_detected="mixed"))
            conn.execute(table.update().where(table.c.id == 2).values(language_detected="und"))
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(table.update().values(language_detected="fr"))

        migrate.downgrade(engine, "0003")
        assert "language_detected" not in {c["name"] for c in inspect(engine).get_columns(
            "reviews")}
        with engine.connect() as conn:
            kept = conn.execute(sa.select(reviews.c.id, reviews.c.language, reviews.c.rating)
                                .order_by(reviews.c.id)).all()
            assert [tuple(r) for r in kept] == [(1, "en", 4), (2, None, 4)]
    finally:
        migrate.upgrade(engine)
    assert _diff(engine) == []
