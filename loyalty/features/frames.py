"""The data every feature reads, as pandas frames: customers, visits, order items, reviews.

`Frames` is what the feature, sequence and label functions take. Build it from the database
with `load_frames`, or construct it directly from DataFrames (tests, benchmarks, files): the
constructor checks the columns and brings every frame into one canonical form, so hand-built
frames and loaded frames behave the same.

Canonical columns (extra columns are dropped; optional ones get the default shown):

- ``customers``: ``customer_id`` (int), ``signup_date`` (optional). Absent: the customers of
  ``visits``.
- ``visits``: ``visit_id``, ``customer_id`` (int), ``visited_at`` (tz-aware; stored as UTC),
  ``channel`` (str, default ``dine_in``), ``party_size`` (float, NaN when unknown),
  ``total_amount`` (float, missing = 0), ``is_return`` (bool, default False). Sorted by customer,
  time and visit id.
- ``order_items``: ``visit_id``, ``quantity`` (float), ``category`` (menu category, default
  ``unknown``). One row per order line or, as `load_frames` gives it, per visit and category
  with the quantities summed: every feature sums quantities, so both read the same.
- ``reviews``: ``review_id``, ``customer_id``, ``visit_id`` (float, NaN when the review names no
  visit), ``posted_at`` (tz-aware; stored as UTC), ``sentiment_label`` (``negative`` /
  ``neutral`` / ``positive`` or None), ``sentiment_score`` (float in [-1, 1], NaN while
  unscored), ``aspects`` (dict, JSON text or None; ``{"service": {"label": "negative",
  "score": -0.7}, ...}`` with only the aspects the review mentions), ``language`` (the language
  its input gave, or None) and ``language_detected`` (``es`` / ``en`` / ``other`` / ``mixed`` /
  ``und`` or None while unscored), as the database has them: what a review counts as is
  `loyalty.models.review_language` of the two.

``order_items`` and ``reviews`` may be None or empty (the Online Retail data have no reviews);
every function works then. Naive timestamps are refused rather than guessed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_datetime64_any_dtype
from sqlalchemy import Connection, Engine, Select, func, select
from sqlalchemy.orm import Session

from loyalty.db import connection_of
from loyalty.errors import LoyaltyError
from loyalty.models import Customer, MenuItem, OrderItem, Review, Visit

UNKNOWN_CATEGORY = "unknown"


class FeatureError(LoyaltyError, ValueError):
    """Features or labels cannot be computed as asked (naive time, too little data, ...)."""


CUSTOMER_COLUMNS = ("customer_id", "signup_date")
VISIT_COLUMNS = ("visit_id", "customer_id", "visited_at", "channel", "party_size",
                 "total_amount", "is_return")
ORDER_ITEM_COLUMNS = ("visit_id", "quantity", "category")
REVIEW_COLUMNS = ("review_id", "customer_id", "visit_id", "posted_at", "sentiment_label",
                  "sentiment_score", "aspects", "language", "language_detected")


def as_utc(value: datetime | pd.Timestamp | str, what: str = "as_of") -> pd.Timestamp:
    """A tz-aware instant as a UTC nanosecond ``Timestamp``; naive input is an error."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        raise FeatureError(f"{what} {value!r} has no time zone: give an aware datetime (UTC)")
    return ts.tz_convert("UTC").as_unit("ns")


def _utc_column(values: Any, what: str) -> pd.Series:
    series = pd.Series(values)
    if len(series) == 0:
        return pd.Series(pd.DatetimeIndex([], tz="UTC").as_unit("ns"))
    if not is_datetime64_any_dtype(series.dtype):
        try:
            series = pd.to_datetime(series)
        except (ValueError, TypeError):  # mixed UTC offsets: every value carries one
            series = pd.to_datetime(series, utc=True)
    if getattr(series.dtype, "tz", None) is None:
        raise FeatureError(f"{what} holds naive timestamps: give tz-aware values (UTC)")
    if series.isna().any():
        raise FeatureError(f"{what} has missing timestamps")
    return series.dt.tz_convert("UTC").dt.as_unit("ns").reset_index(drop=True)


def _require(frame: pd.DataFrame, name: str, columns: Iterable[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise FeatureError(f"{name} frame lacks column(s) {', '.join(missing)}")


def _ints(frame: pd.DataFrame, column: str, name: str) -> np.ndarray:
    values = frame[column]
    if values.isna().any():
        raise FeatureError(f"{name}.{column} has missing values")
    return values.to_numpy(dtype=np.int64)


def _floats(frame: pd.DataFrame, column: str, default: float = np.nan) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), default, dtype=np.float64)
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64,
                                                                     na_value=np.nan)
    return values if np.isnan(default) else np.where(np.isnan(values), default, values)


def _strings(frame: pd.DataFrame, column: str, default: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), default, dtype=object)
    values = frame[column].astype(object)
    return values.where(values.notna(), default).astype(str).to_numpy(dtype=object)


def _labels(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Text or None (missing values and absent columns are None)."""
    if column not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    values = frame[column].astype(object)
    return values.where(values.notna(), None).to_numpy(dtype=object)


def _aspects(value: Any) -> dict[str, Any] | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str | bytes):
        value = json.loads(value) if value.strip() else None
    return value if isinstance(value, dict) and value else None


def _visits(frame: pd.DataFrame | None) -> pd.DataFrame:
    if frame is None:
        frame = pd.DataFrame(columns=list(VISIT_COLUMNS))
    _require(frame, "visits", ("visit_id", "customer_id", "visited_at"))
    returns = frame["is_return"] if "is_return" in frame.columns else None
    out = pd.DataFrame({
        "visit_id": _ints(frame, "visit_id", "visits"),
        "customer_id": _ints(frame, "customer_id", "visits"),
        "visited_at": _utc_column(frame["visited_at"], "visits.visited_at").array,
        "channel": _strings(frame, "channel", "dine_in"),
        "party_size": _floats(frame, "party_size"),
        "total_amount": _floats(frame, "total_amount", 0.0),
        "is_return": (np.zeros(len(frame), dtype=bool) if returns is None
                      else returns.astype(object).where(returns.notna(), False)
                      .to_numpy(dtype=bool)),
    })
    if out["visit_id"].duplicated().any():
        raise FeatureError("visits.visit_id is not unique")
    return out.sort_values(["customer_id", "visited_at", "visit_id"], kind="stable",
                           ignore_index=True)


def _order_items(frame: pd.DataFrame | None) -> pd.DataFrame:
    if frame is None:
        frame = pd.DataFrame(columns=list(ORDER_ITEM_COLUMNS))
    _require(frame, "order_items", ("visit_id", "quantity"))
    return pd.DataFrame({
        "visit_id": _ints(frame, "visit_id", "order_items"),
        "quantity": _floats(frame, "quantity", 0.0),
        "category": _strings(frame, "category", UNKNOWN_CATEGORY),
    })


def _reviews(frame: pd.DataFrame | None) -> pd.DataFrame:
    if frame is None:
        frame = pd.DataFrame(columns=list(REVIEW_COLUMNS))
    _require(frame, "reviews", ("customer_id", "posted_at"))
    n = len(frame)
    out = pd.DataFrame({
        "review_id": (_ints(frame, "review_id", "reviews") if "review_id" in frame.columns
                      else np.arange(1, n + 1, dtype=np.int64)),
        "customer_id": _ints(frame, "customer_id", "reviews"),
        "visit_id": _floats(frame, "visit_id"),
        "posted_at": _utc_column(frame["posted_at"], "reviews.posted_at").array,
        "sentiment_label": _labels(frame, "sentiment_label"),
        "sentiment_score": _floats(frame, "sentiment_score"),
        "aspects": ([_aspects(a) for a in frame["aspects"].tolist()]
                    if "aspects" in frame.columns else [None] * n),
        "language": _labels(frame, "language"),
        "language_detected": _labels(frame, "language_detected"),
    })
    return out.sort_values(["customer_id", "posted_at", "review_id"], kind="stable",
                           ignore_index=True)


def _customers(frame: pd.DataFrame | None, visits: pd.DataFrame) -> pd.DataFrame:
    if frame is None:
        ids = np.unique(visits["customer_id"].to_numpy())
        return pd.DataFrame({"customer_id": ids, "signup_date": pd.NaT})
    _require(frame, "customers", ("customer_id",))
    out = pd.DataFrame({
        "customer_id": _ints(frame, "customer_id", "customers"),
        "signup_date": (pd.to_datetime(frame["signup_date"]).to_numpy()
                        if "signup_date" in frame.columns else pd.NaT),
    })
    return out.sort_values("customer_id", kind="stable", ignore_index=True)


@dataclass(frozen=True)
class Frames:
    """Customers, visits, order items and reviews in canonical form (see the module docstring).

    ``data_end``, when given, is the instant up to which the data are known to be complete;
    without it that is the latest visit (see `observed_until`). Labels need it.
    """

    customers: pd.DataFrame | None = None
    visits: pd.DataFrame | None = None
    order_items: pd.DataFrame | None = None
    reviews: pd.DataFrame | None = None
    data_end: datetime | pd.Timestamp | None = None

    def __post_init__(self) -> None:
        visits = _visits(self.visits)
        object.__setattr__(self, "visits", visits)
        object.__setattr__(self, "customers", _customers(self.customers, visits))
        object.__setattr__(self, "order_items", _order_items(self.order_items))
        object.__setattr__(self, "reviews", _reviews(self.reviews))
        if self.data_end is not None:
            object.__setattr__(self, "data_end", as_utc(self.data_end, "data_end"))

    # The constructor turns None into empty frames; these say so to type checkers.
    @property
    def visit_frame(self) -> pd.DataFrame:
        assert self.visits is not None
        return self.visits

    @property
    def item_frame(self) -> pd.DataFrame:
        assert self.order_items is not None
        return self.order_items

    @property
    def review_frame(self) -> pd.DataFrame:
        assert self.reviews is not None
        return self.reviews

    def observed_until(self) -> pd.Timestamp | None:
        """Up to when the data are complete: ``data_end``, else the latest visit (None if none)."""
        if self.data_end is not None:
            return pd.Timestamp(self.data_end)
        if len(self.visit_frame) == 0:
            return None
        return pd.Timestamp(self.visit_frame["visited_at"].max())

    def until(self, until: datetime | pd.Timestamp) -> Frames:
        """Only what was known at ``until``: visits up to it, their order items, reviews
        posted up to it."""
        t = as_utc(until, "until")
        visits = self.visit_frame[self.visit_frame["visited_at"] <= t]
        items = self.item_frame[self.item_frame["visit_id"].isin(visits["visit_id"])]
        reviews = self.review_frame[self.review_frame["posted_at"] <= t]
        return Frames(self.customers, visits, items, reviews)

    def for_customers(self, customer_ids: Iterable[int]) -> Frames:
        """Only the rows of these customers (features are per customer, so they are unchanged)."""
        ids = np.asarray(list(customer_ids) if not isinstance(customer_ids, np.ndarray)
                         else customer_ids, dtype=np.int64)
        customers = self.customers
        assert customers is not None
        visits = self.visit_frame[self.visit_frame["customer_id"].isin(ids)]
        items = self.item_frame[self.item_frame["visit_id"].isin(visits["visit_id"])]
        reviews = self.review_frame[self.review_frame["customer_id"].isin(ids)]
        return Frames(customers[customers["customer_id"].isin(ids)], visits, items, reviews,
                      self.data_end)


def frames_from_dataframes(customers: pd.DataFrame | None = None,
                           visits: pd.DataFrame | None = None,
                           order_items: pd.DataFrame | None = None,
                           reviews: pd.DataFrame | None = None, *,
                           data_end: datetime | None = None) -> Frames:
    """`Frames` from plain DataFrames (the same as calling the constructor)."""
    return Frames(customers, visits, order_items, reviews, data_end)


def load_frames(engine_or_session: Engine | Connection | Session,
                until: datetime | None = None) -> Frames:
    """Read the frames from the database: everything, or what was known at ``until``.

    With ``until``: visits with ``visited_at <= until``, the order items of those visits and
    reviews with ``posted_at <= until`` (all customers are read; without visits they have no
    features). Order items come summed per visit and menu category.
    """
    t = None if until is None else as_utc(until, "until").to_pydatetime()
    v, oi, mi, rv, c = (Visit.__table__.c, OrderItem.__table__.c, MenuItem.__table__.c,
                        Review.__table__.c, Customer.__table__.c)

    visits_q = select(v.id, v.customer_id, v.visited_at, v.channel, v.party_size,
                      v.total_amount, v.is_return)
    items_q = (select(oi.visit_id, mi.category, func.sum(oi.quantity))
               .join_from(OrderItem.__table__, MenuItem.__table__, oi.menu_item_id == mi.id))
    reviews_q = select(rv.id, rv.customer_id, rv.visit_id, rv.posted_at, rv.sentiment_label,
                       rv.sentiment_score, rv.aspects, rv.language, rv.language_detected)
    if t is not None:
        visits_q = visits_q.where(v.visited_at <= t)
        items_q = (items_q.join(Visit.__table__, oi.visit_id == v.id)
                   .where(v.visited_at <= t))
        reviews_q = reviews_q.where(rv.posted_at <= t)
    items_q = items_q.group_by(oi.visit_id, mi.category)

    conn, owned = connection_of(engine_or_session)
    try:
        customers = _read(conn, select(c.id, c.signup_date), CUSTOMER_COLUMNS)
        visits = _read(conn, visits_q, VISIT_COLUMNS)
        items = _read(conn, items_q, ("visit_id", "category", "quantity"))
        reviews = _read(conn, reviews_q, REVIEW_COLUMNS)
    finally:
        if owned:
            conn.close()
    return Frames(customers, visits, items, reviews)


def _read(conn: Connection, stmt: Select[Any], names: tuple[str, ...]) -> pd.DataFrame:
    """A query's rows as a frame, column by column (pandas probing every Row is slow)."""
    rows = conn.execute(stmt).all()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return pd.DataFrame({name: pd.Series(list(col), dtype=object)
                         for name, col in zip(names, columns, strict=True)})
