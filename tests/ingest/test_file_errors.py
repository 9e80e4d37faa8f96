"""Files that cannot be read at all: refused whole, with one clear line and no traceback."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from loyalty.db import make_engine
from loyalty.errors import InputFileError, LoyaltyError
from loyalty.ingest import ingest_file
from loyalty.migrate import upgrade
from loyalty.models import Job
from tests.ingest.helpers import LIMA, count, ingest, load_data, write_bytes, write_jsonl

VISITS = "visit_id,customer_id,location_id,visited_at\n"
ROW = "V1,C1,L1,2024-03-05T12:30\n"


def _missing(tmp: Path) -> Path:
    return tmp / "nope.csv"


def _directory(tmp: Path) -> Path:
    (tmp / "folder.csv").mkdir()
    return tmp / "folder.csv"


# name -> (make the file, what the message must say, whether a failed job row is left behind)
BAD_FILES: dict[str, tuple[Callable[[Path], Path], str, bool]] = {
    "missing": (_missing, "nope.csv: no such file", False),
    "directory": (_directory, "folder.csv: not a file", False),
    "empty": (lambda t: write_bytes(t / "v.csv", b""), "v.csv: the file is empty", True),
    "empty-gz": (lambda t: write_bytes(t / "v.csv.gz", b"", gz=True), "the file is empty", True),
    "empty-jsonl": (lambda t: write_bytes(t / "v.jsonl", b"\n\n"), "the file is empty", True),
    "header-only": (lambda t: write_bytes(t / "v.csv", VISITS.encode()),
                    "v.csv: no data rows", True),
    "header-only-gz": (lambda t: write_bytes(t / "v.csv.gz", VISITS.encode(), gz=True),
                       "no data rows", True),
    "unknown-column": (
        lambda t: write_bytes(t / "v.csv", b"visit_id,customer_id,location_id,visited_at,colour\n"
                              b"V1,C1,L1,2024-03-05T12:30,red\n"),
        "unknown column(s) 'colour'; expected some of: visit_id, customer_id", True),
    "unknown-key-jsonl": (
        lambda t: write_jsonl(t / "v.jsonl", [{"visit_id": "V1", "visited_on": "2024-03-05"}]),
        "unknown column(s) 'visited_on'", True),
    "missing-required": (
        lambda t: write_bytes(t / "v.csv", b"visit_id,customer_id,location_id\nV1,C1,L1\n"),
        "missing required column(s) visited_at", True),
    "column-twice": (
        lambda t: write_bytes(t / "v.csv", (VISITS.strip() + ",visit_id\n").encode()
                              + ROW.strip().encode() + b",V1\n"),
        "column(s) named twice: visit_id", True),
    "utf-16": (lambda t: write_bytes(t / "v.csv", (VISITS + ROW).encode("utf-16")),
               "not UTF-8 text (it looks like UTF-16); re-save as UTF-8", False),
    "utf-16-no-bom": (lambda t: write_bytes(t / "v.csv", (VISITS + ROW).encode("utf-16-le")),
                      "not UTF-8 text (it looks like UTF-16)", False),
    "utf-16-gz": (lambda t: write_bytes(t / "v.csv.gz", (VISITS + ROW).encode("utf-16"), gz=True),
                  "not UTF-8 text (it looks like UTF-16)", False),
    "damaged-gzip": (lambda t: write_bytes(t / "v.csv.gz", b"\x1f\x8b\x08\x00garbage"),
                     "v.csv.gz: damaged gzip file", False),
    "bad-header-bytes": (lambda t: write_bytes(t / "v.csv", b"visit_\xe9d,customer_id\nV1,C1\n"),
                         "the header is not valid UTF-8 text", True),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_unreadable_file_is_refused_whole(engine, db_url, tmp_path, run_cli, case):
    make, message, leaves_job = BAD_FILES[case]
    path = make(tmp_path)

    # Through the library: an InputFileError that names the file and says what is wrong.
    with pytest.raises(InputFileError) as info:
        ingest(engine, "visits", path)

    assert message in str(info.value)
    assert str(info.value).startswith(str(path))
    assert count(engine, "visits") == 0
    assert count(engine, "ingest_errors") == 0
    with engine.connect() as conn:
        jobs = conn.execute(select(Job.status, Job.error)).all()
    # A file that fails before it is opened leaves no trace; one that fails while being read
    # leaves its job marked failed, with the reason.
    assert jobs == ([("failed", str(info.value))] if leaves_job else [])

    # Through the command: exit code 1 and one line on stderr, no traceback.
    result = run_cli(db_url, "ingest", "visits", str(path))

    assert result.code == 1
    assert result.out == ""
    assert result.err == f"error: {info.value}\n"
    assert "Traceback" not in result.err


def test_jsonl_rows_without_a_required_key_are_quarantined(engine, tmp_path):
    """In JSON Lines a left-out key is a missing value: the row, not the file, is refused."""
    load_data(engine, tmp_path, ["locations", "customers"])
    path = write_jsonl(tmp_path / "v.jsonl", [
        {"visit_id": "V1", "customer_id": "C1", "location_id": "L1"},
        {"visit_id": "V2", "customer_id": "C1", "location_id": "L1",
         "visited_at": "2024-03-05T12:30"},
    ])
    counts = ingest(engine, "visits", path)
    assert (counts.inserted, counts.quarantined) == (1, 1)


def test_unknown_kind_is_a_usage_error(db_url, tmp_path, run_cli):
    path = write_bytes(tmp_path / "v.csv", (VISITS + ROW).encode())
    result = run_cli(db_url, "ingest", "guests", str(path))
    assert result.code == 2
    assert "Invalid value for 'KIND'" in result.err
    assert "Traceback" not in result.err


@pytest.fixture
def blank_url(db_url: str) -> Iterator[str]:
    """A database of the same backend that no migration has touched."""
    if db_url.startswith("sqlite"):
        yield db_url.replace("loyalty.db", "never-migrated.db")
        return
    admin = make_engine(db_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS loyalty_blank WITH (FORCE)")
        conn.exec_driver_sql("CREATE DATABASE loyalty_blank")
    yield make_url(db_url).set(database="loyalty_blank").render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS loyalty_blank WITH (FORCE)")
    admin.dispose()


def test_ingest_into_a_database_never_migrated_says_to_upgrade(blank_url, tmp_path, run_cli):
    path = write_bytes(tmp_path / "locations.csv", b"location_id,name\nL1,Miraflores\n")

    for args in (("ingest", "locations", str(path)), ("quarantine",)):
        result = run_cli(blank_url, *args)
        assert result.code == 1
        assert result.err.startswith("error: the database is at schema revision none, ")
        assert result.err.rstrip("\n").endswith("run `loyalty db upgrade`")
        assert result.err.count("\n") == 1
        assert "Traceback" not in result.err

    # Following the advice works.
    assert run_cli(blank_url, "db", "upgrade").code == 0
    result = run_cli(blank_url, "ingest", "locations", str(path))
    assert result.code == 0, result.err
    assert "read 1, inserted 1" in result.out


def test_gzip_detected_by_content_not_name(engine, tmp_path):
    """Gzip is found by its magic bytes, JSON Lines by .ndjson or by a leading `{`."""
    path = tmp_path / "locations.csv"
    path.write_bytes(gzip.compress(b"location_id,name\nL1,Miraflores\n"))
    assert ingest(engine, "locations", path).inserted == 1
    path = write_bytes(tmp_path / "locations-export", b'{"location_id": "L2", "name": "B"}\n')
    assert ingest(engine, "locations", path).inserted == 1
    path = write_bytes(tmp_path / "locations.ndjson", b'{"location_id": "L3", "name": "C"}\n')
    assert ingest(engine, "locations", path).inserted == 1
    assert count(engine, "locations") == 3


@pytest.mark.parametrize("source", ["", "has space", "x" * 41, "-leading-dash"])
def test_a_bad_source_name_is_refused_before_anything_is_written(tmp_path, source):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(engine)
    path = tmp_path / "locations.csv"
    path.write_text("location_id,name\nL1,Miraflores\n", encoding="utf-8")
    with pytest.raises(LoyaltyError, match="source"):
        ingest_file(engine, "locations", path, source=source, tz=LIMA)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM jobs").scalar() == 0
