"""The adapters on the real shared data sets (slow; skipped when the files are not there).

The folder is ``LOYALTY_SHARED_DATA`` or ``../shared/data`` next to the repository. These run on
SQLite only, in a database of their own: one run of half a million lines is the point.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select

from loyalty import migrate
from loyalty.db import make_engine
from loyalty.ingest.adapters import online_retail, reviews_export
from loyalty.models import Visit
from tests.ingest.helpers import count

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("LOYALTY_SHARED_DATA") or REPO.parent / "shared" / "data")


def shared_file(name: str) -> Path:
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"{path} is not there (set LOYALTY_SHARED_DATA)")
    return path


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'shared.db'}")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def test_online_retail_every_line_accounted_for(sqlite_engine):
    path = shared_file("online_retail.csv.gz")

    report = online_retail(sqlite_engine, path, source="online-retail",
                           tz=ZoneInfo("Europe/London"))

    acc = report.accounting
    assert acc["read"] == 541_909
    assert acc["read"] == sum(v for k, v in acc.items() if k != "read"), acc
    assert acc["skipped as guest"] == 135_080  # CustomerID is empty in 24.9% of the lines
    assert acc["returned"] > 0
    assert count(sqlite_engine, "customers") == 4_372
    assert count(sqlite_engine, "loyalty_accounts") == 4_372
    assert count(sqlite_engine, "order_items") == acc["inserted"] + acc["returned"]
    assert count(sqlite_engine, "ingest_errors") == acc["quarantined"]
    with sqlite_engine.connect() as conn:
        positive_returns = conn.scalar(select(func.count()).select_from(Visit).where(
            Visit.is_return.is_(True), Visit.total_amount > 0))
        returns = conn.scalar(select(func.count()).select_from(Visit).where(
            Visit.is_return.is_(True)))
    assert returns > 0 and positive_returns == 0


def test_zomato_reviews_every_row_accounted_for(sqlite_engine):
    path = shared_file("zomato_reviews.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    reviewers = {r["reviewer"].strip().lower() for r in rows if r["reviewer"].strip()}

    report = reviews_export(sqlite_engine, path, source="reviews-export",
                            tz=ZoneInfo("Asia/Kolkata"))

    acc = report.accounting
    assert acc["read"] == len(rows) == 9_954
    assert acc["read"] == acc["inserted"] + acc["updated"] + acc["unchanged"] + acc["quarantined"]
    assert count(sqlite_engine, "reviews") == acc["inserted"]
    assert count(sqlite_engine, "locations") == 100
    assert count(sqlite_engine, "customers") == len(reviewers)

    again = reviews_export(sqlite_engine, path, source="reviews-export",
                           tz=ZoneInfo("Asia/Kolkata"))
    assert again.accounting == {"read": 9_954, "inserted": 0, "updated": 0,
                                "unchanged": acc["inserted"], "quarantined": acc["quarantined"]}
    assert count(sqlite_engine, "reviews") == acc["inserted"]
