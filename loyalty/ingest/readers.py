"""Reading CSV and JSON Lines files (optionally gzip) into chunks of raw string rows.

Nothing is parsed into types here: a reader's job is to hand every record on with its row
number, and to report records it cannot even split into fields, so validation sees everything.
"""

from __future__ import annotations

import csv
import functools
import gzip
import hashlib
import io
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, ParamSpec, TypeVar

import pandas as pd

from loyalty.errors import InputFileError

P = ParamSpec("P")
R = TypeVar("R")

# Review texts can be long; the csv module's default 128 KiB field limit is a trap for them.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass
class Rejected:
    """A record that failed a check, with everything needed to find and fix it."""

    row_number: int
    reason: str
    raw: dict[str, object]


@dataclass
class Chunk:
    """Up to N records as a DataFrame of strings (None = empty), with their row numbers."""

    rows: pd.DataFrame
    row_numbers: list[int]
    rejected: list[Rejected] = field(default_factory=list)


def python_strings(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` with pandas strings stored as Python objects, never Arrow.

    Arrow strings (pandas' default once pyarrow is installed) cannot hold the lone surrogates
    that mark undecodable bytes, and refuse to mix with object columns. Scoped to ingestion,
    so nothing else in the process is affected.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with pd.option_context("mode.string_storage", "python"):
            return func(*args, **kwargs)

    return wrapper


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def detect_format(path: Path) -> str:
    """`csv` or `jsonl`, from the name (ignoring .gz) or, failing that, the first character."""
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    with open_text(path) as fh:
        head = fh.read(256).lstrip()
    return "jsonl" if head.startswith("{") else "csv"


def open_text(path: Path) -> IO[str]:
    """Open a (possibly gzip) UTF-8 text file, refusing what is clearly not UTF-8 text.

    Undecodable bytes inside a field become lone surrogates instead of an exception, so one bad
    field quarantines one row rather than failing the whole file.
    """
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if not path.is_file():
        raise InputFileError(f"{path}: not a file")
    raw = path.open("rb")
    head = raw.read(4)
    raw.seek(0)
    stream: IO[bytes] = raw
    if head[:2] == b"\x1f\x8b":
        stream = gzip.GzipFile(fileobj=raw)  # type: ignore[assignment]
        try:
            head = stream.peek(4)[:4]  # type: ignore[attr-defined]
        except (OSError, EOFError) as exc:
            raw.close()
            raise InputFileError(f"{path}: damaged gzip file ({exc})") from None
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(head) >= 2 and b"\x00" in head[:2]):
        raw.close()
        raise InputFileError(f"{path}: not UTF-8 text (it looks like UTF-16); re-save as UTF-8")
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")


# Bytes that were not UTF-8 arrive as lone surrogates (errors="surrogateescape").
UNDECODABLE = re.compile("[\udc80-\udcff]")


def has_bad_encoding(value: str) -> bool:
    return UNDECODABLE.search(value) is not None


def read_chunks(path: Path, columns: tuple[str, ...], required: tuple[str, ...],
                chunk_size: int, fmt: str | None = None) -> Iterator[Chunk]:
    """Yield chunks of records; raise InputFileError when nothing in the file can be read."""
    fmt = fmt or detect_format(path)
    reader = _read_csv if fmt == "csv" else _read_jsonl
    seen_any = False
    for chunk in reader(path, columns, required, chunk_size):
        seen_any = seen_any or bool(chunk.row_numbers) or bool(chunk.rejected)
        yield chunk
    if not seen_any:
        raise InputFileError(f"{path}: no data rows")


def _check_header(path: Path, header: list[str], columns: tuple[str, ...],
                  required: tuple[str, ...]) -> None:
    bad = [h for h in header if has_bad_encoding(h)]
    if bad:
        raise InputFileError(f"{path}: the header is not valid UTF-8 text")
    unknown = [h for h in header if h not in columns]
    if unknown:
        raise InputFileError(
            f"{path}: unknown column(s) {', '.join(map(repr, unknown))}; "
            f"expected some of: {', '.join(columns)}"
        )
    missing = [c for c in required if c not in header]
    if missing:
        raise InputFileError(f"{path}: missing required column(s) {', '.join(missing)}")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise InputFileError(f"{path}: column(s) named twice: {', '.join(dupes)}")


def _frame(records: list[list[str | None]], header: list[str]) -> pd.DataFrame:
    # object dtype on purpose: pandas' string dtype may be Arrow-backed, which cannot hold the
    # lone surrogates that mark undecodable bytes.
    return pd.DataFrame(records, columns=header, dtype=object)


def _read_csv(path: Path, columns: tuple[str, ...], required: tuple[str, ...],
              chunk_size: int) -> Iterator[Chunk]:
    with open_text(path) as fh:
        reader = csv.reader(fh, strict=False)
        try:
            header = next(reader)
        except StopIteration:
            raise InputFileError(f"{path}: the file is empty") from None
        except (csv.Error, OSError, EOFError) as exc:
            raise InputFileError(f"{path}: cannot read the header ({exc})") from None
        header = [h.strip() for h in header]
        _check_header(path, header, columns, required)
        width = len(header)
        records: list[list[str | None]] = []
        numbers: list[int] = []
        rejected: list[Rejected] = []
        row_number = 0
        while True:
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                row_number += 1
                rejected.append(Rejected(row_number, f"unreadable CSV record: {exc}", {}))
                continue
            except (OSError, EOFError) as exc:
                raise InputFileError(f"{path}: read error after row {row_number} ({exc})") from None
            row_number += 1
            if not record or (len(record) == 1 and record[0] == "" and width > 1):
                row_number -= 1  # a blank line is not a record
                continue
            if len(record) != width:
                raw = dict(zip(header, record, strict=False))
                raw["_fields"] = record
                rejected.append(
                    Rejected(row_number, f"row has {len(record)} fields, header has {width}", raw)
                )
                continue
            records.append([v if v and not v.isspace() else None for v in record])
            numbers.append(row_number)
            if len(records) >= chunk_size:
                yield Chunk(_frame(records, header), numbers, rejected)
                records, numbers, rejected = [], [], []
        if records or rejected:
            yield Chunk(_frame(records, header), numbers, rejected)


def _scalar(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return value if value.strip() != "" else None
    raise TypeError(type(value).__name__)


def _lines(fh: IO[str], path: Path) -> Iterator[str]:
    count = 0
    try:
        for line in fh:
            count += 1
            yield line
    except (OSError, EOFError) as exc:  # a damaged gzip stream surfaces only while reading
        raise InputFileError(f"{path}: read error after line {count} ({exc})") from None


def _read_jsonl(path: Path, columns: tuple[str, ...], required: tuple[str, ...],
                chunk_size: int) -> Iterator[Chunk]:
    header_checked = False
    records: list[list[str | None]] = []
    numbers: list[int] = []
    rejected: list[Rejected] = []
    row_number = 0
    with open_text(path) as fh:
        for line in _lines(fh, path):
            if not line.strip():
                continue
            row_number += 1
            try:
                obj = json.loads(line)
            except ValueError as exc:
                rejected.append(Rejected(row_number, f"invalid JSON: {exc}", {"_line": line}))
                continue
            if not isinstance(obj, dict):
                rejected.append(Rejected(row_number, "not a JSON object", {"_line": line}))
                continue
            if not header_checked:
                # The first object stands for the file's layout, as a CSV header would.
                _check_header(path, list(obj), columns, ())
                header_checked = True
            unknown = [k for k in obj if k not in columns]
            if unknown:
                rejected.append(Rejected(row_number, f"unknown field(s) {unknown}", obj))
                continue
            try:
                records.append([_scalar(obj.get(c)) for c in columns])
            except TypeError as exc:
                rejected.append(Rejected(row_number, f"a field holds a JSON {exc}", obj))
                continue
            numbers.append(row_number)
            if len(records) >= chunk_size:
                yield Chunk(_frame(records, list(columns)), numbers, rejected)
                records, numbers, rejected = [], [], []
    if row_number == 0:
        raise InputFileError(f"{path}: the file is empty")
    if records or rejected:
        yield Chunk(_frame(records, list(columns)), numbers, rejected)
