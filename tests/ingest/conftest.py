"""Fixtures of the ingestion tests: running the `loyalty` command as a user would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

import loyalty.cli.app
from loyalty.cli import main
from loyalty.db import make_engine


@dataclass
class Result:
    code: int
    out: str
    err: str


CLI = Callable[..., Result]


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[CLI]:
    """``run_cli(url, "ingest", ...)``: `loyalty --database-url URL ...` through ``main()``.

    The engines the command makes are disposed afterwards, so repeated runs do not pile up
    connections on the shared PostgreSQL server.
    """
    engines: list[Engine] = []

    def tracking_make_engine(url: str, **kwargs: object) -> Engine:
        engine = make_engine(url, **kwargs)
        engines.append(engine)
        return engine

    monkeypatch.setattr(loyalty.cli.app, "make_engine", tracking_make_engine)
    monkeypatch.delenv("LOYALTY_DEBUG", raising=False)

    def run(url: str, *args: str) -> Result:
        capsys.readouterr()
        code = main(["--database-url", url, *args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    yield run
    for engine in engines:
        engine.dispose()
