"""Writing the tables as CSV in exactly the layout of ``docs/data-schema.md``.

Values are formatted here rather than by pandas so that the files do not depend on pandas'
float or datetime rendering: money always has two decimals, dates are ``YYYY-MM-DD``,
timestamps ``YYYY-MM-DDTHH:MM:SS`` (Lima wall time, no offset), booleans ``true``/``false``,
and the same data always gives the same bytes.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from loyalty.synth.generate import SynthData

SCHEMA_COLUMNS: dict[str, tuple[str, ...]] = {
    "locations": ("location_id", "name", "city", "district", "address", "seats", "opened_on",
                  "timezone"),
    "menu_items": ("item_id", "name", "category", "cuisine", "price", "active"),
    "customers": ("customer_id", "loyalty_id", "first_name", "last_name", "email", "phone",
                  "language", "birthday", "signup_date", "home_location_id", "country",
                  "marketing_opt_in"),
    "visits": ("visit_id", "customer_id", "location_id", "visited_at", "channel", "party_size",
               "total_amount", "is_return"),
    "order_items": ("visit_id", "line_no", "item_id", "quantity", "unit_price"),
    "reviews": ("review_id", "customer_id", "location_id", "visit_id", "rating", "text",
                "language", "created_at"),
}
DATES = {"opened_on", "birthday", "signup_date", "churned_on"}
TIMESTAMPS = {"visited_at", "created_at", "last_visit_at"}
MONEY = {"price", "total_amount", "unit_price"}
BOOLEANS = {"active", "marketing_opt_in", "is_return", "churned_after"}


def _format_datetimes(values: pd.Series, unit: str) -> list[str]:
    arr = values.to_numpy(dtype="datetime64[s]")
    out = np.datetime_as_string(arr, unit=unit).astype(object)
    out[np.isnat(arr)] = ""
    return out.tolist()


def _format_money(values: pd.Series) -> list[str]:
    """Two decimals from integer cents; formats each distinct amount once (prices repeat)."""
    cents = np.round(values.to_numpy(dtype=np.float64) * 100).astype(np.int64)
    uniq, inverse = np.unique(cents, return_inverse=True)
    text = np.array([f"{'-' if c < 0 else ''}{abs(c) // 100}.{abs(c) % 100:02d}"
                     for c in uniq.tolist()], dtype=object)
    return text[inverse].tolist()


def _format_float(values: pd.Series) -> list[str]:
    return ["" if x != x else f"{x:.10g}" for x in values.to_numpy(dtype=np.float64).tolist()]


def format_columns(frame: pd.DataFrame) -> list[list[object]]:
    """Every column of ``frame`` as the exact values that go into the CSV."""
    out: list[list[object]] = []
    for col in frame.columns:
        s = frame[col]
        if col in DATES:
            out.append(_format_datetimes(s, "D"))
        elif col in TIMESTAMPS:
            out.append(_format_datetimes(s, "s"))
        elif col in BOOLEANS:
            out.append(np.where(s.to_numpy(dtype=bool), "true", "false").tolist())
        elif col in MONEY:
            out.append(_format_money(s))
        elif pd.api.types.is_float_dtype(s.dtype):
            out.append(_format_float(s))
        elif pd.api.types.is_integer_dtype(s.dtype):
            out.append(s.to_numpy().tolist())
        else:
            out.append(s.to_numpy(dtype=object, na_value="").tolist())
    return out


def _write(frame: pd.DataFrame, path: Path) -> Path:
    # The csv module quotes minimally (RFC 4180) and is much faster than DataFrame.to_csv here.
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(list(frame.columns))
        writer.writerows(zip(*format_columns(frame), strict=True))
    return path


def write(data: SynthData, out_dir: str | Path, include_visit_truth: bool = False
          ) -> dict[str, Path]:
    """Write the six ingestible CSVs plus ``truth.csv``; returns ``{kind: path}``.

    ``visit_truth.csv`` (the latent per-visit experience) is only written on request, since
    the issue's contract is the six tables plus the per-customer truth.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for kind, columns in SCHEMA_COLUMNS.items():
        frame = getattr(data, kind)
        paths[kind] = _write(frame.loc[:, list(columns)], out / f"{kind}.csv")
    paths["truth"] = _write(data.truth, out / "truth.csv")
    if include_visit_truth:
        paths["visit_truth"] = _write(data.visit_truth, out / "visit_truth.csv")
    return paths
