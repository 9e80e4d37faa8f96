"""The fast insert path stores exactly what the ORM types would store."""

from datetime import UTC, date, datetime

import pandas as pd
from sqlalchemy import insert, select

from loyalty.ingest.bulk import insert_frame
from loyalty.models import Customer, Location, Visit


def _seed(conn):
    conn.execute(insert(Location), [{"source": "s", "external_id": "L1", "name": "Miraflores",
                                     "created_at": datetime(2025, 1, 1, tzinfo=UTC),
                                     "updated_at": datetime(2025, 1, 1, tzinfo=UTC)}])
    conn.execute(insert(Customer), [{"source": "s", "external_id": "C1", "language": "es",
                                     "signup_date": date(2024, 2, 29), "marketing_opt_in": True,
                                     "created_at": datetime(2025, 1, 1, tzinfo=UTC),
                                     "updated_at": datetime(2025, 1, 1, tzinfo=UTC)}])


def test_insert_frame_matches_the_orm(engine):
    stamp = pd.Timestamp("2025-01-01", tz="UTC")
    when = pd.Series(pd.to_datetime(["2025-03-01T18:30:00.250000Z", None], utc=True))
    frame = pd.DataFrame({
        "source": ["s", "s"], "external_id": ["V-fast", "V-fast-2"],
        "customer_id": pd.array([1, 1], dtype="Int64"),
        "location_id": pd.array([1, 1], dtype="Int64"),
        "visited_at": [when[0], when[0]], "channel": ["dine_in", "takeaway"],
        "party_size": pd.array([2, None], dtype="Int64"), "total_amount": [85.5, float("nan")],
        "is_return": [False, True], "created_at": stamp, "updated_at": stamp,
    })
    with engine.begin() as conn:
        _seed(conn)
        insert_frame(conn, Visit.__table__, frame, ("source", "external_id"))
        conn.execute(insert(Visit), [{
            "source": "s", "external_id": "V-orm", "customer_id": 1, "location_id": 1,
            "visited_at": datetime(2025, 3, 1, 18, 30, 0, 250000, tzinfo=UTC),
            "channel": "dine_in", "party_size": 2, "total_amount": 85.5, "is_return": False,
            "created_at": datetime(2025, 1, 1, tzinfo=UTC),
            "updated_at": datetime(2025, 1, 1, tzinfo=UTC)}])
        # Re-inserting the same keys is ignored, not an error.
        insert_frame(conn, Visit.__table__, frame, ("source", "external_id"))
    with engine.connect() as conn:
        rows = {r.external_id: r for r in conn.execute(select(Visit.__table__))}
        raw = dict(conn.exec_driver_sql("SELECT external_id, visited_at FROM visits").all())
    assert len(rows) == 3
    fast, orm = rows["V-fast"], rows["V-orm"]
    for column in ("visited_at", "channel", "party_size", "total_amount", "is_return",
                   "created_at"):
        assert getattr(fast, column) == getattr(orm, column), column
    assert fast.visited_at == datetime(2025, 3, 1, 18, 30, 0, 250000, tzinfo=UTC)
    assert rows["V-fast-2"].party_size is None and rows["V-fast-2"].total_amount is None
    assert rows["V-fast-2"].is_return is True
    # Same text on SQLite (where times are compared as strings), same value on PostgreSQL.
    assert raw["V-fast"] == raw["V-orm"]
