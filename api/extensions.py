"""What each worker sets up once: the database engine and the models it serves."""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import current_app, g
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from loyalty.config import Settings
from loyalty.db import make_engine
from loyalty.offers.issue import RuleBook
from loyalty.sentiment.production import production_scorer


class Database:
    """One engine per worker process; one session per request, closed when it ends."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: Engine = make_engine(settings.database_url)
        self.sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        event.listen(self.sessions, "do_orm_execute", _note_writes)
        event.listen(self.sessions, "after_flush", _note_flush)
        for ended in ("after_commit", "after_rollback"):  # a new transaction wrote nothing yet
            event.listen(self.sessions, ended, _forget_writes)

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(select(1))


class Models:
    """The production sentiment scorer, loaded once per worker on first use (or at start-up)."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._lock = threading.Lock()
        self._scorer: Any = None
        self.sentiment_version: str | None = None
        self.sentiment_version_id: int | None = None

    @property
    def loaded(self) -> bool:
        return self._scorer is not None

    def sentiment(self) -> Any:
        if self._scorer is None:
            with self._lock:
                if self._scorer is None:
                    self._load()
        return self._scorer

    def _load(self) -> None:
        model, self._scorer = production_scorer(self._database.engine, self._database.settings)
        self.sentiment_version, self.sentiment_version_id = model.version, model.id


class RuleBooks:
    """The reward rules and menu a worker decides offers with, read again every
    ``refresh_seconds`` (and at once after this worker changed a rule): reading them costs more
    than the rest of a guest's lookup."""

    def __init__(self, database: Database, refresh_seconds: float) -> None:
        self._database = database
        self._refresh = refresh_seconds
        self._lock = threading.Lock()
        self._book: RuleBook | None = None
        self._read_at = 0.0

    def current(self) -> RuleBook:
        book = self._book
        if book is None or time.monotonic() - self._read_at >= self._refresh:
            with self._lock:
                if self._book is book:  # nobody else re-read it meanwhile
                    self._book = RuleBook.load(self._database.engine)
                    self._read_at = time.monotonic()
                book = self._book
        return book

    def invalidate(self) -> None:
        self._book = None


def database() -> Database:
    return current_app.extensions["loyalty.db"]


def models() -> Models:
    return current_app.extensions["loyalty.models"]


def rule_books() -> RuleBooks:
    return current_app.extensions["loyalty.rules"]


def db_session() -> Session:
    """The request's session (created on first use)."""
    if "db_session" not in g:
        g.db_session = database().sessions()
    return g.db_session


def close_session(exc: BaseException | None = None) -> None:
    """End the request's session: an uncommitted write is rolled back; a transaction that
    only read ends with COMMIT, the same for the database, because psycopg forgets its
    prepared statements on every ROLLBACK and would plan each query again on every request."""
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        if exc is None and session.in_transaction() and not session.info.get("wrote"):
            session.commit()
    except SQLAlchemyError:
        pass  # a broken connection: close() below rolls back what can be
    finally:
        session.close()


def _note_writes(state: Any) -> None:
    if not state.is_select:  # an ORM or plain-SQL statement that may write
        state.session.info["wrote"] = True


def _note_flush(session: Session, _context: Any) -> None:
    session.info["wrote"] = True


def _forget_writes(session: Session) -> None:
    session.info.pop("wrote", None)
