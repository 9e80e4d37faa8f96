"""Small input files written inside tests, and short ways to look at what landed in the database.

Every file is built here from Python values, so a test shows the exact bytes it feeds the reader.
A CSV field may be ``bytes`` to put raw, non-UTF-8 bytes into an otherwise UTF-8 file.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select

from loyalty.ingest import Counts, ingest_file
from loyalty.models import (
    Customer,
    IngestError,
    Location,
    LoyaltyAccount,
    MenuItem,
    OrderItem,
    Review,
    Visit,
)
from loyalty.models.base import Base

LIMA = ZoneInfo("America/Lima")
MODELS: dict[str, type[Base]] = {
    "locations": Location, "menu_items": MenuItem, "customers": Customer, "visits": Visit,
    "order_items": OrderItem, "reviews": Review, "loyalty_accounts": LoyaltyAccount,
    "ingest_errors": IngestError,
}

Field = str | bytes | None
Row = Sequence[Field]

# -- writing files -----------------------------------------------------------------------------


def _csv_field(value: Field) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):  # raw bytes go in as they are: that is the point of them
        return value
    if any(ch in value for ch in ',"\r\n') or value != value.strip():
        value = '"' + value.replace('"', '""') + '"'
    return value.encode("utf-8")


def csv_bytes(header: Sequence[str], rows: Iterable[Row]) -> bytes:
    lines = [b",".join(_csv_field(h) for h in header)]
    lines += [b",".join(_csv_field(v) for v in row) for row in rows]
    return b"\r\n".join(lines) + b"\r\n"


def write_bytes(path: Path, data: bytes, *, gz: bool = False) -> Path:
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Row], *, gz: bool = False
              ) -> Path:
    return write_bytes(path, csv_bytes(header, rows), gz=gz)


def write_jsonl(path: Path, records: Iterable[Mapping[str, Any] | str], *, gz: bool = False
                ) -> Path:
    """One JSON object a line; a ``str`` record is written verbatim (for broken lines)."""
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    return write_bytes(path, ("\n".join(lines) + "\n").encode("utf-8"), gz=gz)


def write_records(directory: Path, name: str, records: Sequence[Mapping[str, str]], fmt: str
                  ) -> Path:
    """``records`` (all with the same keys; "" = empty) as ``csv``, ``jsonl``, ``csv.gz`` ...."""
    gz = fmt.endswith(".gz")
    path = directory / f"{name}.{fmt}"
    if fmt.startswith("csv"):
        header = list(records[0])
        return write_csv(path, header, [[r[h] for h in header] for r in records], gz=gz)
    # JSON Lines: an empty value is left out of the object, as a JSON exporter would.
    return write_jsonl(path, [{k: v for k, v in r.items() if v != ""} for r in records], gz=gz)


# -- a small, valid data set of every kind -----------------------------------------------------


def _records(header: str, *rows: str) -> list[dict[str, str]]:
    names = header.split("|")
    out = []
    for row in rows:
        values = row.split("|")
        assert len(values) == len(names), row
        out.append(dict(zip(names, values, strict=True)))
    return out


DATA: dict[str, list[dict[str, str]]] = {
    "locations": _records(
        "location_id|name|city|district|address|seats|opened_on|timezone",
        "L1|Miraflores|Lima|Miraflores|Av. Larco 123, Miraflores|80|2019-03-01|America/Lima",
        "L2|Barranco|Lima||||| ",
    ),
    "menu_items": _records(
        "item_id|name|category|cuisine|price|active",
        "M1|Lomo saltado|main|peruvian|38.50|true",
        "M2|Chicha morada|drink|peruvian|8|no",
        "M3|Suspiro a la limeña|dessert||12.00|",
    ),
    "customers": _records(
        "customer_id|loyalty_id|first_name|last_name|email|phone|language|birthday|signup_date"
        "|home_location_id|country|marketing_opt_in",
        "C1|CARD-0001|José|Pérez|Jose.Perez@Example.COM|+51 (987) 654-321|ES|1990-05-17"
        "|2023-01-10|L1|Peru|yes",
        "C2||Ann|Lee||01-555.1234|en||2023-02-01|||",
    ),
    "visits": _records(
        "visit_id|customer_id|location_id|visited_at|channel|party_size|total_amount|is_return",
        "V1|C1|L1|2024-03-05T12:30|dine_in|2|85.00|false",
        "V2|C2|L2|2024-03-06T20:15:30-05:00|Delivery||8.00|",
        "V3|C1|L1|2024-03-07T13:00:00Z|takeaway||-38.50|TRUE",
    ),
    "order_items": _records(
        "visit_id|line_no|item_id|quantity|unit_price",
        "V1|1|M1|2|38.50",
        "V1|2|M2|1|8.00",
        "V2|1|M2|1|8",
        "V3|1|M1|-1|38.50",
    ),
    "reviews": _records(
        "review_id|customer_id|location_id|visit_id|rating|text|language|created_at",
        "R1|C1|L1|V1|4.5|Muy rico, volveré|es|2024-03-05T22:00",
        "R2|C2|L2||| Nice place |en|2024-03-08T10:00:00+00:00",
    ),
}


def load_data(engine: Engine, directory: Path, kinds: Iterable[str], fmt: str = "csv",
              **kwargs: Any) -> dict[str, Counts]:
    """Write and ingest the ``DATA`` rows of ``kinds`` (in that order); return their counts."""
    return {k: ingest(engine, k, write_records(directory, k, DATA[k], fmt), **kwargs)
            for k in kinds}


# -- ingesting and looking ---------------------------------------------------------------------


def ingest(engine: Engine, kind: str, path: Path, **kwargs: Any) -> Counts:
    kwargs.setdefault("tz", LIMA)
    counts, _seconds = ingest_file(engine, kind, path, **kwargs)
    assert_accounted(counts)
    return counts


def assert_accounted(counts: Counts) -> None:
    """Every row read lands in exactly one bucket."""
    assert counts.read == (counts.inserted + counts.updated + counts.unchanged
                           + counts.quarantined + sum(counts.extra.values())), counts


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(MODELS[table].__table__)) or 0


def table_rows(engine: Engine, table: str) -> list[dict[str, Any]]:
    t = MODELS[table].__table__
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(t).order_by(t.c.id))]


def by_external_id(engine: Engine, table: str) -> dict[str, dict[str, Any]]:
    return {r["external_id"]: r for r in table_rows(engine, table)}


def errors(engine: Engine) -> list[dict[str, Any]]:
    """The quarantine, as (kind, row number)-ordered dicts with the raw row parsed back."""
    rows = table_rows(engine, "ingest_errors")
    for r in rows:
        r["raw"] = json.loads(r["raw"])
    return sorted(rows, key=lambda r: (r["kind"], r["row_number"]))


def reasons(engine: Engine, kind: str | None = None) -> dict[int, str]:
    """Row number -> reason, for one kind's quarantined rows (all of them if kind is None)."""
    found = [e for e in errors(engine) if kind is None or e["kind"] == kind]
    out = {e["row_number"]: e["reason"] for e in found}
    assert len(out) == len(found), "two quarantined rows share a row number"
    return out


def ids(engine: Engine, table: str) -> dict[str, int]:
    """External id -> row id."""
    return {k: v["id"] for k, v in by_external_id(engine, table).items()}
