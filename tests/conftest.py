"""Fixtures shared by every suite.

`db_url` runs a test once on SQLite and once on a real PostgreSQL that the suite starts itself.
Outside CI a machine without PostgreSQL skips the second run; in CI (CI=true) that is an error.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from loyalty import migrate
from loyalty.config import Settings
from loyalty.db import make_engine
from loyalty.models import Base
from tests.pgserver import PostgresServer, find_bindir

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public data sets: ``LOYALTY_SHARED_DATA`` or ``../shared/data`` beside the repo
    (always there in CI; a test that needs them is skipped on a machine without them)."""
    folder = Path(os.environ.get("LOYALTY_SHARED_DATA")
                  or Path(__file__).resolve().parents[1].parent / "shared" / "data")
    if not folder.is_dir():
        pytest.skip(f"{folder}: the shared data sets are not on this machine")
    return folder


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = os.environ.get("LOYALTY_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    bindir = find_bindir()
    if bindir is None:
        if IN_CI:
            pytest.fail("PostgreSQL is not installed: .ci/run should have installed it")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    server = PostgresServer(bindir)
    try:
        url = server.start()
    except Exception as exc:
        server.stop()
        if IN_CI:
            raise
        pytest.skip(f"could not start PostgreSQL: {exc}")
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test: migrating once is what keeps tests fast."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _truncate_all(engine: Engine) -> None:
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A migrated, empty database: a fresh SQLite file, or the shared PostgreSQL emptied."""
    if request.param == "sqlite":
        path = tmp_path / "loyalty.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    _truncate_all(engine)
    engine.dispose()
    yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(home=tmp_path / "home", database_url=db_url)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Hugging Face folder: 2-layer random BERT, 3 labels, the real MiniLM tokenizer.

    Shared by the whole session: copy it before writing into it.
    """
    from nlp.checkpoint import write_tiny_bert

    return write_tiny_bert(tmp_path_factory.mktemp("tiny-bert") / "model", seed=0)

