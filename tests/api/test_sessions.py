"""The request's session: writes are committed by the view or not at all; a read-only
transaction ends with COMMIT (psycopg keeps its prepared statements), never a write."""

from __future__ import annotations

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from api.extensions import close_session, db_session
from loyalty.models import Location


def ends(app) -> list[str]:
    seen: list[str] = []
    engine = app.extensions["loyalty.db"].engine
    event.listen(engine, "commit", lambda _conn: seen.append("commit"))
    event.listen(engine, "rollback", lambda _conn: seen.append("rollback"))
    return seen


def test_a_read_only_request_session_ends_with_commit(app, engine):
    seen = ends(app)
    with app.test_request_context():
        db_session().execute(select(Location.id)).all()
        close_session(None)
    assert seen[:1] == ["commit"]


def test_an_uncommitted_write_is_rolled_back_not_committed(app, engine):
    seen = ends(app)
    with app.test_request_context():
        db_session().add(Location(name="Never saved", source="test", external_id="never"))
        db_session().flush()
        close_session(None)  # the view forgot to commit, or answered an error after flushing
    assert "commit" not in seen
    with Session(engine) as s:
        assert s.scalar(select(Location.id).where(Location.name == "Never saved")) is None


def test_a_plain_sql_write_counts_as_a_write(app, engine):
    seen = ends(app)
    with app.test_request_context():
        db_session().execute(text("UPDATE locations SET name = name"))
        close_session(None)
    assert "commit" not in seen


def test_an_error_rolls_back(app, engine):
    seen = ends(app)
    with app.test_request_context():
        db_session().execute(select(Location.id)).all()
        close_session(RuntimeError("boom"))
    assert "commit" not in seen


def test_reads_after_a_committed_write_end_with_commit(app, engine):
    with app.test_request_context():
        db_session().add(Location(name="Saved", source="test", external_id="saved"))
        db_session().commit()
        seen = ends(app)
        db_session().execute(select(Location.id)).all()
        close_session(None)
    assert seen[:1] == ["commit"]
