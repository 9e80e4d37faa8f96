"""Turning a chunk of raw strings into typed values, and saying exactly what is wrong with a row.

Every check is vectorised over the chunk: a million rows must not mean a million Python calls
per column. A row collects every reason it fails, so one look at the quarantine tells all.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, available_timezones

import numpy as np
import pandas as pd

from loyalty.ingest.readers import UNDECODABLE
from loyalty.ingest.schemas import Column, Kind

TRUE = {"true", "1", "yes", "y", "t"}
FALSE = {"false", "0", "no", "n", "f"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_CHARS = re.compile(r"^\+?[\d\s().\-]+$")
# An offset follows a time: "2024-03-05" ends in "-05", which is a day, not an offset.
OFFSET = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$",
                    re.IGNORECASE)
MIN_DATE = pd.Timestamp("1900-01-01")
NUL = re.compile("\x00")
BAD_CHARACTERS = re.compile(f"{UNDECODABLE.pattern}|{NUL.pattern}")


class Reasons:
    """Why rows failed, filled one vectorised mask at a time; most rows have no entry."""

    def __init__(self, n: int) -> None:
        self._by_row: dict[int, list[str]] = {}
        self._bad = np.zeros(n, dtype=bool)

    def add(self, mask: pd.Series | np.ndarray, reason: str | pd.Series) -> None:
        idx = np.flatnonzero(np.asarray(mask, dtype=bool))
        for i in idx:
            text = str(reason.iloc[i]) if isinstance(reason, pd.Series) else reason
            self._by_row.setdefault(int(i), []).append(text)
        self._bad[idx] = True

    def append(self, row: int, reason: str) -> None:
        self._by_row.setdefault(row, []).append(reason)
        self._bad[row] = True

    def of(self, row: int) -> list[str]:
        return self._by_row.get(row, [])

    @property
    def bad(self) -> np.ndarray:
        return self._bad.copy()


def _texts(column: pd.Series) -> str:
    """All of a column's text in one string, built without boxing each value in pandas."""
    return "".join(str(v) for v in column.dropna().to_numpy(dtype=object))


def validate(kind: Kind, rows: pd.DataFrame, tz: ZoneInfo, now: datetime | None = None
             ) -> tuple[pd.DataFrame, Reasons]:
    """Parse every column of ``kind`` present in ``rows``; missing optional columns get defaults.

    Returns a frame with one column per input column name (typed; references still as the
    external id strings) and the reasons each row failed.
    """
    now = now or datetime.now(UTC)
    n = len(rows)
    reasons = Reasons(n)
    rows = rows.reset_index(drop=True)
    out: dict[str, pd.Series] = {}

    encoding_bad = pd.Series(False, index=rows.index)
    for name in rows.columns:
        # One search over the whole column first: such characters are rare, and per-value
        # searches over millions of clean fields are not free.
        if not BAD_CHARACTERS.search(_texts(rows[name])):
            continue
        for pattern, problem in ((UNDECODABLE, "not valid UTF-8 text"),
                                 # PostgreSQL text cannot hold NUL; SQLite would: refuse both.
                                 (NUL, "contains a NUL character")):
            mask = rows[name].str.contains(pattern, regex=True).fillna(False).astype(bool)
            if mask.any():
                reasons.add(mask, f"{name}: {problem}")
                encoding_bad |= mask

    for column in kind.columns:
        raw = rows[column.name] if column.name in rows.columns else pd.Series(
            [None] * n, dtype=object
        )
        raw = raw.where(~encoding_bad, None)
        missing = raw.isna().to_numpy()
        if column.required:
            reasons.add(missing & ~encoding_bad.to_numpy(), f"{column.name}: required")
        values, bad = _parse(column, raw.map(str.strip, na_action="ignore"), tz, now)
        if (bad & ~missing).any():
            reasons.add(bad & ~missing, _explain(column, raw))
        if column.not_future:
            future = _in_future(values, now)
            reasons.add(future, f"{column.name}: in the future")
            values = values.where(~pd.Series(future), None if column.type == "date" else pd.NaT)
        if column.default is not None:
            values = values.where(~pd.Series(missing), column.default)
        out[column.name] = values
    return pd.DataFrame(out), reasons


def _explain(column: Column, raw: pd.Series) -> pd.Series:
    what = {
        "id": f"at most {column.max_len or 64} characters",
        "text": f"at most {column.max_len} characters" if column.max_len else "text",
        "int": "a whole number",
        "money": "an amount with at most 2 decimals",
        "number": "a number",
        "date": "a date YYYY-MM-DD",
        "timestamp": "an ISO 8601 timestamp",
        "bool": "true or false",
        "choice": "one of " + ", ".join(column.choices),
        "email": "an email address",
        "phone": "a phone number of 6-15 digits",
        "timezone": "an IANA time zone such as America/Lima",
        "ref": "an id of at most 64 characters",
    }[column.type]
    limits = []
    if column.min is not None:
        limits.append(f">= {_number(column.min)}")
    if column.max is not None:
        limits.append(f"<= {_number(column.max)}")
    if column.step is not None:
        limits.append(f"in steps of {column.step:g}")
    if column.nonzero:
        limits.append("not 0")
    if column.type == "date":
        limits.append("from 1900 on")
    expected = what + (f" {' and '.join(limits)}" if limits else "")
    shown = raw.map(lambda v: v if len(v) <= 40 else v[:37] + "...", na_action="ignore")
    return column.name + ": " + shown.map(repr, na_action="ignore").fillna("") + (
        " is invalid, expected " + expected
    )


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def _in_future(values: pd.Series, now: datetime) -> np.ndarray:
    if values.dtype == object:  # dates
        today = now.date()
        return values.map(lambda d: d is not None and d > today).to_numpy(dtype=bool)
    return (values > pd.Timestamp(now)).fillna(False).to_numpy(dtype=bool)


def _parse(column: Column, raw: pd.Series, tz: ZoneInfo, now: datetime
           ) -> tuple[pd.Series, np.ndarray]:
    """Return typed values (NaN/None where absent or bad) and the mask of bad present values."""
    # Object dtype throughout: with pyarrow installed pandas infers Arrow strings, whose
    # operations refuse to mix with the object results of `map` and `where`.
    raw = raw.astype(object)
    present = raw.notna().to_numpy()
    kind = column.type
    if kind in ("id", "ref", "text"):
        limit = column.max_len or 64 if kind != "text" else column.max_len
        lengths = raw.str.len().fillna(0).to_numpy()
        bad = (lengths > limit) if limit else np.zeros(len(raw), dtype=bool)
        return raw, bad & present
    if kind in ("int", "money", "number"):
        num = pd.to_numeric(raw, errors="coerce").astype(float)
        values = num.to_numpy()
        bad = present & ~np.isfinite(values)
        with np.errstate(invalid="ignore"):
            if kind == "int":
                bad |= present & (values != np.round(values))
            if kind == "money":
                cents = values * 100
                bad |= present & (np.abs(cents - np.round(cents)) > 1e-6)
            if column.step:
                steps = values / column.step
                bad |= present & (np.abs(steps - np.round(steps)) > 1e-9)
            if column.min is not None:
                bad |= present & (values < column.min)
            if column.max is not None:
                bad |= present & (values > column.max)
            if column.nonzero:
                bad |= present & (values == 0)
        num = num.where(~bad)
        if kind == "int":
            num = num.astype("Int64")
        return num, bad
    if kind == "date":
        parsed = pd.to_datetime(raw, format="%Y-%m-%d", errors="coerce")
        bad = present & (parsed.isna().to_numpy() | (parsed < MIN_DATE).to_numpy())
        parsed = parsed.where(~pd.Series(bad))
        return parsed.dt.date.astype(object).where(parsed.notna(), None), bad
    if kind == "timestamp":
        parsed = parse_timestamps(raw, tz)
        bad = present & parsed.isna().to_numpy()
        return parsed.where(~pd.Series(bad)), bad
    if kind == "bool":
        low = raw.str.lower()
        truth = low.isin(TRUE)
        falsity = low.isin(FALSE)
        bad = present & ~(truth | falsity).to_numpy()
        values = pd.Series(np.where(truth, True, np.where(falsity, False, None)), dtype=object)
        return values.where(present & ~bad, None), bad
    if kind == "choice":
        low = raw.str.lower()
        bad = present & ~low.isin(column.choices).to_numpy()
        return low.where(~pd.Series(bad), None), bad
    if kind == "email":
        low = raw.str.lower()
        ok = low.str.match(EMAIL).fillna(False).astype(bool) & (low.str.len() <= 254)
        bad = present & ~ok.to_numpy()
        return low.where(~pd.Series(bad), None), bad
    if kind == "phone":
        digits = raw.str.replace(r"\D", "", regex=True)
        shaped = raw.str.match(PHONE_CHARS).fillna(False).astype(bool)
        count = digits.str.len().fillna(0)
        bad = present & ~(shaped & count.between(6, 15)).to_numpy()
        # Stored as + and digits, the one form a lookup by phone can match reliably.
        normal = raw.str.strip().str.startswith("+").map({True: "+", False: ""}) + digits
        return normal.where(~pd.Series(bad), None), bad
    if kind == "timezone":
        known = available_timezones()
        bad = present & ~raw.isin(known).to_numpy()
        return raw.where(~pd.Series(bad), None), bad
    raise ValueError(f"unknown column type {kind!r}")


def parse_timestamps(raw: pd.Series, tz: ZoneInfo) -> pd.Series:
    """ISO 8601 strings to UTC timestamps; those without an offset are local time in ``tz``."""
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, UTC]")
    present = raw.notna()
    if not present.any():
        return out
    has_offset = present & raw.str.contains(OFFSET, regex=True).fillna(False).astype(bool)
    naive = present & ~has_offset
    if naive.any():
        local = pd.to_datetime(raw[naive], format="ISO8601", errors="coerce")
        if getattr(local.dt, "tz", None) is None:
            local = local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        out[naive] = local.dt.tz_convert(UTC).astype("datetime64[us, UTC]")
    if has_offset.any():
        aware = pd.to_datetime(raw[has_offset], format="ISO8601", errors="coerce", utc=True)
        out[has_offset] = aware.astype("datetime64[us, UTC]")
    return out
