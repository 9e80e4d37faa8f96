"""Loading validated chunks into the database: references, idempotent upserts, quarantine.

One `Loader` serves one import (a file, or an adapter's derived tables). Each chunk is its own
transaction, so a killed import keeps what it finished and a re-run only finds rows unchanged.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Table, bindparam, select, update

from loyalty.errors import LoyaltyError
from loyalty.ingest.bulk import insert_frame, insert_ignoring_conflicts, to_records
from loyalty.ingest.cards import Cards
from loyalty.ingest.readers import Chunk, Rejected
from loyalty.ingest.schemas import KINDS, Kind
from loyalty.ingest.validate import Reasons, validate
from loyalty.models import IngestError, Job
from loyalty.owners import Owner

LOOKUP_BATCH = 1000  # keeps IN (...) lists well under every driver's parameter limit
SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


@dataclass
class Counts:
    """What happened to the rows of one kind. Every row read lands in exactly one bucket."""

    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {"read": self.read, "inserted": self.inserted, "updated": self.updated,
                "unchanged": self.unchanged, "quarantined": self.quarantined, **self.extra}

    def add(self, other: Counts) -> None:
        for name in ("read", "inserted", "updated", "unchanged", "quarantined"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def line(self) -> str:
        parts = [f"{k} {v:,}" for k, v in self.as_dict().items()]
        return ", ".join(parts)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, float) or isinstance(new, float):
        return old is not None and new is not None and abs(float(old) - float(new)) < 5e-7
    if isinstance(old, datetime) and isinstance(new, datetime):
        return old.astimezone(UTC) == new.astimezone(UTC)
    return old == new


def _raw_text(raw: dict[str, object]) -> str:
    # ensure_ascii keeps undecodable bytes (lone surrogates) as \udcXX escapes: valid JSON text
    # that still shows exactly what the file held.
    return json.dumps(raw, ensure_ascii=True, default=str)


class Loader:
    """Validates and writes chunks of one kind after another, keeping counts and a job row."""

    def __init__(self, engine: Engine, source: str, tz: ZoneInfo, file_name: str,
                 file_sha256: str, job_kind: str = "ingest", params: dict | None = None) -> None:
        if not SOURCE_NAME.fullmatch(source):
            raise LoyaltyError(
                f"source {source!r} must be 1-40 letters, digits, '.', '_' or '-'"
            )
        self.engine = engine
        self.source = source
        self.tz = tz
        self.file_name = file_name
        self.file_sha256 = file_sha256
        self.counts: dict[str, Counts] = {}
        self._refs: dict[str, dict[str, tuple[Any, ...]]] = {}
        self._seen: dict[str, dict[Any, int]] = {}
        self._inserted_since_analyze: dict[str, int] = {}
        self._analyze_at: dict[str, int] = {}
        self.now = datetime.now(UTC)
        self.cards = Cards(source, self.now)
        with engine.begin() as conn:
            self.job_id = conn.execute(
                Job.__table__.insert().returning(Job.__table__.c.id),
                {"kind": job_kind, "status": "running", "params": params or {},
                 "started_at": self.now, "heartbeat_at": self.now, "progress_done": 0,
                 "created_at": self.now, **Owner.current().columns()},
            ).scalar_one()

    # -- the public steps --------------------------------------------------------------------

    def load(self, kind_name: str, chunk: Chunk) -> Counts:
        """Validate and write one chunk; return the counts of this chunk."""
        kind = KINDS[kind_name]
        counts = Counts(read=len(chunk.row_numbers) + len(chunk.rejected))
        typed, reasons = validate(kind, chunk.rows, self.tz, self.now)
        # Only the columns the file has may change a stored row: a column left out of the
        # header keeps its value (and takes its default on insert).
        given = {c.name for c in kind.columns if c.name in chunk.rows.columns}
        numbers = np.asarray(chunk.row_numbers, dtype=np.int64)
        with self.engine.begin() as conn:
            self._duplicates(kind, typed, numbers, reasons)
            resolved = self._resolve(conn, kind, typed, reasons)
            self._cross_checks(kind, typed, resolved, reasons)
            if kind.name == "customers":
                self.cards.check(conn, typed, reasons, "loyalty_id" in given)
            bad = reasons.bad
            good = resolved.loc[~bad].reset_index(drop=True)
            same = self._upsert(conn, kind, good, counts, given)
            if kind.name == "customers":
                moved = self.cards.ensure(conn, good, "loyalty_id" in given)
                # A new card number is a change even when no stored column changed.
                shift = len({(self.source, ext) for ext in moved} & same)
                counts.updated += shift
                counts.unchanged -= shift
            rejected = list(chunk.rejected) + [
                Rejected(int(numbers[i]), "; ".join(reasons.of(i)),
                         _raw_row(chunk.rows.iloc[i]))
                for i in np.flatnonzero(bad)
            ]
            self.quarantine(conn, kind.name, rejected)
            counts.quarantined = len(rejected)
            self._add(kind.name, counts, conn)
        self._refresh_statistics(kind, counts.inserted)
        return counts

    def _refresh_statistics(self, kind: Kind, inserted: int) -> None:
        """ANALYZE a PostgreSQL table each time this import has doubled what it inserted.

        A table filled faster than autovacuum samples it has no statistics, and the planner then
        filters the existing-row lookups row by row: the load turns quadratic. Analysing at
        1, 2, 4, 8... chunks costs a handful of ANALYZEs per import.
        """
        if self.engine.dialect.name != "postgresql" or not inserted:
            return
        total = self._inserted_since_analyze.get(kind.name, 0) + inserted
        self._inserted_since_analyze[kind.name] = total
        if total >= self._analyze_at.get(kind.name, 1000):
            with self.engine.begin() as conn:
                conn.exec_driver_sql(f"ANALYZE {kind.model.__tablename__}")
            self._analyze_at[kind.name] = 2 * total

    def quarantine(self, conn: Connection, kind_name: str, rejected: list[Rejected]) -> None:
        insert_ignoring_conflicts(
            conn,
            IngestError.__table__,
            [{"job_id": self.job_id, "source": self.source, "kind": kind_name,
              "file_name": self.file_name[-500:], "file_sha256": self.file_sha256,
              "row_number": r.row_number, "reason": r.reason[:2000], "raw": _raw_text(r.raw),
              "created_at": self.now} for r in rejected],
            ("file_sha256", "source", "kind", "row_number"),
        )

    def add_extra(self, kind_name: str, **extra: int) -> None:
        counts = self.counts.setdefault(kind_name, Counts())
        for key, value in extra.items():
            counts.extra[key] = counts.extra.get(key, 0) + value
            counts.read += value

    def finish(self, error: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(Job.__table__).where(Job.__table__.c.id == self.job_id).values(
                    status="failed" if error else "succeeded", error=error,
                    finished_at=datetime.now(UTC),
                    counts={k: c.as_dict() for k, c in self.counts.items()},
                )
            )

    # -- steps inside a chunk ----------------------------------------------------------------

    def _add(self, kind_name: str, counts: Counts, conn: Connection) -> None:
        self.counts.setdefault(kind_name, Counts()).add(counts)
        done = sum(c.read for c in self.counts.values())
        conn.execute(
            update(Job.__table__).where(Job.__table__.c.id == self.job_id).values(
                progress_done=done, heartbeat_at=datetime.now(UTC),
                counts={k: c.as_dict() for k, c in self.counts.items()},
            )
        )

    def _duplicates(self, kind: Kind, typed: pd.DataFrame, numbers: np.ndarray,
                    reasons: Reasons) -> None:
        """The same key twice in one file is ambiguous: keep the first, quarantine the rest."""
        seen = self._seen.setdefault(kind.name, {})
        key_cols = [kind.key] if kind.key else list(kind.natural_key)
        parts = [typed[c] for c in key_cols]
        usable = ~reasons.bad
        for part in parts:
            usable &= part.notna().to_numpy()
        keys = parts[0].astype(object)
        for part in parts[1:]:
            keys = keys.astype(str) + "/" + part.astype(str)
        rows = np.flatnonzero(usable)
        candidates = keys.iloc[rows]
        # Membership one key at a time: `isin(seen)` would rebuild a hash of every key seen so
        # far for each chunk, which is quadratic over a large file.
        earlier = np.fromiter((k in seen for k in candidates), dtype=bool, count=len(candidates))
        repeated = candidates.duplicated().to_numpy() | earlier
        for i, key in zip(rows[~repeated], candidates[~repeated], strict=True):
            seen[key] = int(numbers[i])
        label = "/".join(key_cols)
        for i, key in zip(rows[repeated], candidates[repeated], strict=True):
            reasons.append(int(i), f"duplicate {label} {key!r} (first at row {seen[key]})")

    def _lookup_refs(self, conn: Connection, ref_kind: str, ids: list[str]) -> None:
        cache = self._refs.setdefault(ref_kind, {})
        wanted = [i for i in ids if i not in cache]
        kind = KINDS[ref_kind]
        table = kind.model.__table__
        extra = [table.c[c] for c in kind.refs_carry]
        for start in range(0, len(wanted), LOOKUP_BATCH):
            batch = wanted[start:start + LOOKUP_BATCH]
            rows = conn.execute(
                select(table.c.external_id, table.c.id, *extra).where(
                    table.c.source == self.source, table.c.external_id.in_(batch)
                )
            )
            for row in rows:
                cache[row[0]] = tuple(row[1:])

    def _resolve(self, conn: Connection, kind: Kind, typed: pd.DataFrame,
                 reasons: Reasons) -> pd.DataFrame:
        """Swap external references for row ids; unknown ones are reasons, not crashes."""
        out = pd.DataFrame(index=typed.index)
        for column in kind.columns:
            values = typed[column.name]
            if not column.stored:
                out["_" + column.name] = values
                continue
            if column.type != "ref":
                out[column.target] = values
                continue
            present = values.notna().to_numpy()
            self._lookup_refs(conn, column.ref, sorted(set(values[present].tolist())))
            cache = self._refs[column.ref]
            found = values.map(lambda v, c=cache: c.get(v), na_action="ignore")
            unknown = present & found.isna().to_numpy()
            reasons.add(unknown, column.name + ": " + values.map(repr, na_action="ignore")
                        .fillna("") + f" is not a known {column.ref.removesuffix('s')}")
            out[column.target] = found.map(lambda t: t[0], na_action="ignore").astype("Int64")
            out["_ref_" + column.name] = found
        if kind.key:
            out["source"] = self.source
        return out

    def _cross_checks(self, kind: Kind, typed: pd.DataFrame,
                      resolved: pd.DataFrame, reasons: Reasons) -> None:
        """Rules that span columns or tables."""
        if kind.name == "visits":
            amount = typed["total_amount"].to_numpy(dtype=float, na_value=np.nan)
            is_return = typed["is_return"].fillna(False).to_numpy(dtype=bool)
            with np.errstate(invalid="ignore"):
                reasons.add(is_return & (amount > 0), "total_amount: positive on a return")
                reasons.add(~is_return & (amount < 0),
                            "total_amount: negative on a visit that is not a return")
        elif kind.name == "order_items":
            visit = resolved["_ref_visit_id"]
            is_return = visit.map(lambda t: bool(t[2]), na_action="ignore").fillna(False)
            qty = typed["quantity"].to_numpy(dtype=float, na_value=np.nan)
            ret = is_return.to_numpy(dtype=bool)
            with np.errstate(invalid="ignore"):
                reasons.add(ret & (qty > 0), "quantity: positive on a return visit")
                reasons.add(~ret & (qty < 0), "quantity: negative on a visit that is not a return")
        elif kind.name == "reviews":
            visit_customer = resolved["_ref_visit_id"].map(lambda t: t[1], na_action="ignore")
            mismatch = (visit_customer.notna() & resolved["customer_id"].notna()
                        & (visit_customer != resolved["customer_id"])).to_numpy(dtype=bool)
            reasons.add(mismatch, "visit_id: the visit belongs to another customer")

    def _upsert(self, conn: Connection, kind: Kind, good: pd.DataFrame, counts: Counts,
                given: set[str]) -> set[tuple]:
        """Insert new rows, update changed ones, leave identical ones alone (returns their keys).

        Only columns in ``given`` (the file's header) are compared and updated.
        """
        if good.empty:
            return set()
        table: Table = kind.model.__table__
        data = good[[c for c in good.columns if not c.startswith("_")]]
        key_attrs = ("source", "external_id") if kind.key else kind.natural_key
        left_out = {c.target for c in kind.columns if c.name not in given}
        value_attrs = [c for c in data.columns if c not in key_attrs and c not in left_out]
        keys = list(zip(*(data[k].astype(object).tolist() for k in key_attrs), strict=True))
        existing = self._existing(conn, table, key_attrs, value_attrs, keys)
        is_new = np.fromiter((k not in existing for k in keys), dtype=bool, count=len(keys))

        fresh = data.loc[is_new]
        for stamp in ("created_at", "updated_at"):
            if stamp in table.c:
                fresh = fresh.assign(**{stamp: pd.Timestamp(self.now)})
        insert_frame(conn, table, fresh, key_attrs)

        changed, same = [], set()
        for rec in to_records(data.loc[~is_new]):
            key = tuple(rec[k] for k in key_attrs)
            old = existing[key]
            if any(not _same(old[a], rec[a]) for a in value_attrs):
                changed.append({**{a: rec[a] for a in value_attrs}, "_id": old["id"]})
            else:
                same.add(key)
        if changed:
            values = {a: bindparam(a) for a in value_attrs}
            if "updated_at" in table.c:
                values["updated_at"] = bindparam("updated_at")
            conn.execute(
                update(table).where(table.c.id == bindparam("_id")).values(values),
                [{**r, "updated_at": self.now} for r in changed],
            )
        counts.inserted += int(is_new.sum())
        counts.updated += len(changed)
        counts.unchanged += len(same)
        return same

    def _existing(self, conn: Connection, table: Table, key_attrs: tuple[str, ...],
                  value_attrs: list[str], keys: list[tuple]) -> dict[tuple, dict[str, Any]]:
        """The stored rows with these keys, as {key: {column: value}}."""
        cols = [table.c.id, *(table.c[k] for k in key_attrs), *(table.c[a] for a in value_attrs)]
        names = ["id", *key_attrs, *value_attrs]
        found: dict[tuple, dict[str, Any]] = {}
        for start in range(0, len(keys), LOOKUP_BATCH):
            batch = keys[start:start + LOOKUP_BATCH]
            if key_attrs == ("source", "external_id"):
                cond = (table.c.source == self.source) & table.c.external_id.in_(
                    [k[1] for k in batch])
            else:
                # A row-value IN (...) defeats SQLite's index; the leading column alone uses it.
                cond = table.c[key_attrs[0]].in_(sorted({k[0] for k in batch}))
            for row in conn.execute(select(*cols).where(cond)):
                rec = dict(zip(names, row, strict=True))
                found[tuple(rec[k] for k in key_attrs)] = rec
        return found


def _raw_row(row: pd.Series) -> dict[str, object]:
    return {k: (None if _missing(v) else v) for k, v in row.items()}
