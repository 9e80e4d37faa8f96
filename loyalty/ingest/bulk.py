"""Writing many rows at once, on SQLite and PostgreSQL alike.

`insert_frame` is the hot path of every import: it compiles one INSERT ... ON CONFLICT DO NOTHING
and hands the driver plain tuples, converted a column at a time, instead of letting SQLAlchemy
process every value of every row. What it writes is byte-for-byte what the ORM types would.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Date, Table
from sqlalchemy.dialects import postgresql, sqlite

from loyalty.models.base import UTCDateTime

# SQLAlchemy's storage format for DATETIME on SQLite: text that sorts as time does.
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"


def _dialect_insert(conn: Connection, table: Table, index_elements: Iterable[str]):
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=list(index_elements))


def insert_ignoring_conflicts(conn: Connection, table: Table, rows: list[dict[str, Any]],
                              index_elements: Iterable[str]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING for a few rows given as dicts."""
    if rows:
        conn.execute(_dialect_insert(conn, table, index_elements), rows)


def insert_frame(conn: Connection, table: Table, frame: pd.DataFrame,
                 index_elements: Iterable[str]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING for every row of ``frame`` (columns = table columns)."""
    if frame.empty:
        return
    names = list(frame.columns)
    compiled = _dialect_insert(conn, table, index_elements).compile(
        dialect=conn.dialect, column_keys=names
    )
    binds = list(compiled.positiontup or compiled.binds)
    if sorted(binds) != sorted(names):  # a column default we would have to compute: play safe
        insert_ignoring_conflicts(conn, table, to_records(frame), index_elements)
        return
    columns = {n: _driver_values(frame[n], table.c[n].type, conn.dialect.name) for n in names}
    if compiled.positional:
        rows: list[Any] = list(zip(*(columns[b] for b in binds), strict=True))
    else:
        rows = [dict(zip(names, values, strict=True))
                for values in zip(*(columns[n] for n in names), strict=True)]
    conn.exec_driver_sql(compiled.string, rows)


def _driver_values(series: pd.Series, column_type: object, dialect: str) -> list[Any]:
    present = series.notna()
    if isinstance(column_type, UTCDateTime):
        stamps = pd.to_datetime(series, utc=True)
        if dialect == "sqlite":
            values = stamps.dt.tz_convert(None).dt.strftime(SQLITE_DATETIME).astype(object)
        else:
            values = pd.Series(stamps.dt.to_pydatetime(), index=series.index, dtype=object)
        return values.where(present, None).tolist()
    if isinstance(column_type, Date) and dialect == "sqlite":
        return series.map(lambda d: d.isoformat(), na_action="ignore").astype(object) \
            .where(present, None).tolist()
    return series.astype(object).where(present, None).tolist()


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as dicts of plain Python values (None for missing), for SQLAlchemy."""
    cols: list[list[Any]] = []
    for name in frame.columns:
        series = frame[name]
        present = series.notna()
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            series = pd.Series(series.dt.to_pydatetime(), index=series.index, dtype=object)
        cols.append(series.astype(object).where(present, None).tolist())
    names = list(frame.columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*cols, strict=True)]
