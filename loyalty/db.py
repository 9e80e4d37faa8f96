"""Engines and sessions: one place that knows how to talk to SQLite and PostgreSQL."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from loyalty.errors import ConfigError


def make_engine(url: str, **kwargs: object) -> Engine:
    """Create an engine, with the SQLite settings a multi-process service needs.

    Statement parameters are left out of error messages (``hide_parameters``): they hold
    guests' emails, phones and review texts, and error messages end up in logs.
    """
    kwargs.setdefault("hide_parameters", True)
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
        raise ConfigError(f"LOYALTY_DATABASE_URL is not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # Plain postgresql:// would pick psycopg2, which is not installed; psycopg 3 is.
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DB-API types
    # Foreign keys are off by default in SQLite; WAL lets readers (the API) run beside a writer
    # (a batch job); a busy timeout turns brief lock contention into waiting, not errors; a
    # 64 MB page cache keeps index pages of big imports in memory (the default is 2 MB).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


_GATES: dict[tuple[int, str], tuple[threading.Lock, int]] = {}
_GATES_LOCK = threading.Lock()


@contextmanager
def serialised_writes(engine: Engine) -> Iterator[None]:
    """Hold while a short write transaction runs, so writers to one SQLite file queue.

    SQLite lets one writer in at a time and makes the others poll with growing sleeps (1, 2,
    5, ... 100 ms), so under load a writer often sleeps long after the lock came free. Here
    writers wait on a lock of this process's threads and then on ``flock`` on a file beside the
    database, both of which hand over the moment they are released. Other databases (and
    in-memory SQLite) have real row locks: nothing to do.
    """
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    key = (os.getpid(), database)  # a forked worker opens its own file description
    with _GATES_LOCK:
        gate = _GATES.get(key)
        if gate is None:
            fd = os.open(f"{database}-writers.lock", os.O_RDWR | os.O_CREAT, 0o600)
            gate = _GATES[key] = (threading.Lock(), fd)
    thread_lock, fd = gate
    with thread_lock:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def connection_of(bind: Engine | Connection | Session) -> tuple[Connection, bool]:
    """A connection from an engine, a connection or a session, and whether the caller opened
    it (and so must close it)."""
    if isinstance(bind, Engine):
        return bind.connect(), True
    if isinstance(bind, Session):
        return bind.connection(), False
    return bind, False


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
