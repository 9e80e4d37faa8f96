"""Real-world export layouts, turned into our own kinds and loaded through the same checks.

An adapter derives customers, locations, items and visits from a flat export, then hands each
derived table to the `Loader` with the export's own row numbers, so a quarantined row points at
the line of the file a person can open.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Engine
from tqdm import tqdm

from loyalty.errors import InputFileError
from loyalty.ingest.loader import Counts, Loader
from loyalty.ingest.readers import Chunk, file_sha256, open_text, python_strings

CHUNK = 20_000


@dataclass
class Report:
    """Per derived kind counts, plus the line-level accounting of the export itself."""

    name: str
    file: Path
    seconds: float
    counts: dict[str, Counts]
    accounting: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        read = self.accounting.get("read", 0)
        parts = [f"{k} {v:,}" for k, v in self.accounting.items() if k != "read"]
        out = [f"{self.name} from {self.file.name}: {read:,} rows read = " + " + ".join(parts)
               + f" ({self.seconds:.1f}s, {read / max(self.seconds, 1e-9):,.0f} rows/s)"]
        out += [f"  {kind}: {c.line()}" for kind, c in self.counts.items()]
        return out


def _read(path: Path, columns: set[str], required: set[str]) -> pd.DataFrame:
    with open_text(path) as fh:
        try:
            # The bytes, not the text stream: pandas re-encodes text strictly, so one
            # undecodable byte (a lone surrogate) would refuse the whole file.
            frame = pd.read_csv(fh.buffer, dtype=object, keep_default_na=False, na_values=[],
                                encoding="utf-8-sig", encoding_errors="surrogateescape")
        except pd.errors.EmptyDataError:
            raise InputFileError(f"{path}: the file is empty") from None
        except (pd.errors.ParserError, ValueError) as exc:
            raise InputFileError(f"{path}: not a readable CSV file ({exc})") from None
    missing = required - set(frame.columns)
    if missing:
        raise InputFileError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    unknown = set(frame.columns) - columns
    if unknown:
        raise InputFileError(f"{path}: unknown column(s) {', '.join(sorted(unknown))}")
    if frame.empty:
        raise InputFileError(f"{path}: no data rows")
    frame = frame.replace({"": None})
    frame.index = pd.RangeIndex(1, len(frame) + 1)  # row numbers, as in the file
    return frame


def _load(loader: Loader, kind: str, frame: pd.DataFrame, chunk_size: int,
          bar: tqdm | None = None) -> Counts:
    """Feed ``frame`` (index = source row numbers) to the loader in chunks; sum the counts."""
    total = Counts()
    for start in range(0, len(frame), chunk_size):
        part = frame.iloc[start:start + chunk_size]
        total.add(loader.load(kind, Chunk(part.reset_index(drop=True), part.index.tolist())))
        if bar is not None:
            bar.update(len(part))
    return total


def _money(values: pd.Series) -> pd.Series:
    return values.round(2).map(lambda v: f"{v:.2f}", na_action="ignore")


# -- UCI Online Retail -------------------------------------------------------------------------

RETAIL_COLUMNS = {"InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
                  "UnitPrice", "CustomerID", "Country"}
# Codes that are charges or adjustments rather than products.
RETAIL_FEES = {"POST": "postage", "DOT": "postage", "C2": "postage", "M": "manual",
               "D": "discount", "BANK CHARGES": "fee", "AMAZONFEE": "fee", "CRUK": "fee",
               "PADS": "fee", "S": "fee", "B": "fee"}


@python_strings
def online_retail(engine: Engine, path: Path, *, source: str, tz: ZoneInfo,
                  progress: bool = False, chunk_size: int = CHUNK) -> Report:
    """Invoices become visits, lines become order items, `C` invoices become returns.

    Lines without a CustomerID are guest sales: counted and skipped, as they belong to nobody
    a loyalty programme could reach.
    """
    started = time.perf_counter()
    frame = _read(path, RETAIL_COLUMNS, RETAIL_COLUMNS - {"Description", "Country"})
    loader = Loader(engine, source, tz, str(path), file_sha256(path), job_kind="ingest",
                    params={"format": "online-retail", "file": str(path), "source": source})
    guest = frame["CustomerID"].isna()
    lines = frame.loc[~guest]
    quantity = pd.to_numeric(lines["Quantity"], errors="coerce")
    price = pd.to_numeric(lines["UnitPrice"], errors="coerce")
    first_date = lines.groupby("CustomerID", sort=False)["InvoiceDate"].min()
    firsts = lines.reset_index().groupby("CustomerID", sort=False).first()

    customers = pd.DataFrame({
        "customer_id": firsts.index,
        "signup_date": first_date.reindex(firsts.index).str[:10].to_numpy(),
        "country": firsts["Country"].to_numpy(),
        "language": "en",
    }, index=firsts["index"].to_numpy())
    location = pd.DataFrame({"location_id": ["online-store"], "name": ["Online store"],
                             "timezone": [str(tz)]}, index=[int(lines.index[0])])

    by_code = lines.assign(_price=price).reset_index().groupby("StockCode", sort=False)
    names = by_code["Description"].agg(lambda s: s.dropna().mode().iat[0]
                                       if s.notna().any() else None)
    codes = names.index.to_series()
    items = pd.DataFrame({
        "item_id": codes.to_numpy(),
        "name": names.fillna(codes).str.strip().to_numpy(),
        "category": codes.map(RETAIL_FEES).fillna("product").to_numpy(),
        "price": _money(by_code["_price"].agg(lambda s: s[s > 0].median()).fillna(0.0))
        .to_numpy(),
    }, index=by_code["index"].first().to_numpy())

    amount = (quantity * price).groupby(lines["InvoiceNo"], sort=False).sum(min_count=1)
    invoice_rows = lines.reset_index().groupby("InvoiceNo", sort=False)
    invoices = invoice_rows.first()
    visits = pd.DataFrame({
        "visit_id": invoices.index,
        "customer_id": invoices["CustomerID"].to_numpy(),
        "location_id": "online-store",
        "visited_at": invoice_rows["InvoiceDate"].min().to_numpy(),
        "channel": "online",
        "total_amount": _money(amount.reindex(invoices.index)).to_numpy(),
        "is_return": np.where(invoices.index.str.startswith("C"), "true", "false"),
    }, index=invoices["index"].to_numpy())

    order_items = pd.DataFrame({
        "visit_id": lines["InvoiceNo"],
        "line_no": (lines.groupby("InvoiceNo", sort=False).cumcount() + 1).astype(str),
        "item_id": lines["StockCode"],
        "quantity": lines["Quantity"],
        "unit_price": lines["UnitPrice"],
    })
    returns = order_items["visit_id"].str.startswith("C").fillna(False)

    counts: dict[str, Counts] = {}
    with tqdm(total=len(frame), desc="online-retail", unit=" rows", disable=not progress,
              leave=False) as bar:
        bar.update(int(guest.sum()))
        try:
            counts["locations"] = _load(loader, "locations", location, chunk_size)
            counts["menu_items"] = _load(loader, "menu_items", items, chunk_size)
            counts["customers"] = _load(loader, "customers", customers, chunk_size)
            counts["visits"] = _load(loader, "visits", visits, chunk_size)
            sold = _load(loader, "order_items", order_items.loc[~returns], chunk_size, bar)
            returned = _load(loader, "order_items", order_items.loc[returns], chunk_size, bar)
        except BaseException as exc:
            loader.finish(error=str(exc) or type(exc).__name__)
            raise
    loader.add_extra("guest_sales", skipped=int(guest.sum()))
    accounting = {
        "read": len(frame),
        "inserted": sold.inserted,
        "returned": returned.inserted,
        "skipped as guest": int(guest.sum()),
        "quarantined": sold.quarantined + returned.quarantined,
    }
    if sold.updated + returned.updated:
        accounting["updated"] = sold.updated + returned.updated
    if sold.unchanged + returned.unchanged:
        accounting["unchanged"] = sold.unchanged + returned.unchanged
    loader.finish()
    counts["order_items"] = loader.counts["order_items"]
    return Report("online-retail", path, time.perf_counter() - started, counts, accounting)


# -- review exports (reviewer name, text, rating, time) ----------------------------------------

REVIEW_COLUMNS = {"restaurant", "reviewer", "review", "rating", "time", "pictures",
                  "reviewer_reviews", "reviewer_followers"}


def _digest(*parts: pd.Series) -> pd.Series:
    joined = parts[0].fillna("")
    for part in parts[1:]:
        joined = joined + "\x1f" + part.fillna("")
    return joined.map(lambda s: hashlib.sha1(s.encode("utf-8", "surrogatepass")).hexdigest()[:20])


def _slug(names: pd.Series) -> pd.Series:
    return names.map(lambda s: re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")[:64] or "x",
                     na_action="ignore")


@python_strings
def reviews_export(engine: Engine, path: Path, *, source: str, tz: ZoneInfo,
                   progress: bool = False, chunk_size: int = CHUNK) -> Report:
    """Reviewers become customers, restaurants locations, each review a visit and a review.

    A reviewer name is all an export gives; two people with the same name become one customer,
    which is the best an export without ids allows.
    """
    started = time.perf_counter()
    frame = _read(path, REVIEW_COLUMNS, {"restaurant", "reviewer", "review", "time"})
    loader = Loader(engine, source, tz, str(path), file_sha256(path), job_kind="ingest",
                    params={"format": "reviews-export", "file": str(path), "source": source})
    reviewer = frame["reviewer"].str.strip()
    customer_id = "rv-" + _digest(reviewer.str.lower()).str[:16]
    customer_id = customer_id.where(reviewer.notna(), None)
    location_id = _slug(frame["restaurant"])
    review_id = _digest(frame["restaurant"], frame["reviewer"], frame["time"], frame["review"])
    day = frame["time"].str[:10]

    known = frame.assign(_customer=customer_id, _day=day).loc[reviewer.notna()]
    people = known.reset_index().groupby("_customer", sort=False).agg(
        row=("index", "first"), name=("reviewer", "first"), signup=("_day", "min"))
    customers = pd.DataFrame({
        "customer_id": people.index, "first_name": people["name"].str[:100].to_numpy(),
        "signup_date": people["signup"].to_numpy(), "language": "en",
    }, index=people["row"].to_numpy())
    places = frame.assign(_loc=location_id).loc[location_id.notna()].reset_index() \
        .groupby("_loc", sort=False).agg(row=("index", "first"), name=("restaurant", "first"))
    locations = pd.DataFrame({"location_id": places.index,
                              "name": places["name"].str[:200].to_numpy()},
                             index=places["row"].to_numpy())
    visits = pd.DataFrame({"visit_id": review_id, "customer_id": customer_id,
                           "location_id": location_id, "visited_at": frame["time"],
                           "channel": "dine_in"})
    reviews = pd.DataFrame({"review_id": review_id, "customer_id": customer_id,
                            "location_id": location_id, "visit_id": review_id,
                            "rating": frame.get("rating"), "text": frame["review"],
                            "created_at": frame["time"]})

    counts: dict[str, Counts] = {}
    with tqdm(total=len(frame), desc="reviews-export", unit=" rows", disable=not progress,
              leave=False) as bar:
        try:
            counts["locations"] = _load(loader, "locations", locations, chunk_size)
            counts["customers"] = _load(loader, "customers", customers, chunk_size)
            counts["visits"] = _load(loader, "visits", visits, chunk_size)
            counts["reviews"] = _load(loader, "reviews", reviews, chunk_size, bar)
        except BaseException as exc:
            loader.finish(error=str(exc) or type(exc).__name__)
            raise
    loader.finish()
    r = counts["reviews"]
    accounting = {"read": len(frame), "inserted": r.inserted, "updated": r.updated,
                  "unchanged": r.unchanged, "quarantined": r.quarantined}
    return Report("reviews-export", path, time.perf_counter() - started, counts, accounting)


@dataclass(frozen=True)
class Adapter:
    kind: str  # the kind the CLI names for it
    default_tz: str | None
    run: Callable[..., Report]


ADAPTERS = {
    "online-retail": Adapter("visits", "Europe/London", online_retail),
    "reviews-export": Adapter("reviews", None, reviews_export),
}
