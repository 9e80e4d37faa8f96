"""Data for the feature tests: hand-built frames, and synthetic data as integer-id tables.

`synth_tables` turns the project's generator output into the shape of the database tables
(integer ids, UTC timestamps), adds what the generator leaves out (returns, unknown party sizes,
scored sentiment and aspects on most reviews), and `frames_of` / `insert_tables` put the same
tables into `Frames` or a database.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from loyalty.features import Frames
from loyalty.models import Customer, Location, MenuItem, OrderItem, Review, Visit
from loyalty.synth import generate

UTC = dt.UTC
LIMA = "America/Lima"
SOURCE = "t"


def at(text: str) -> pd.Timestamp:
    """A UTC instant from ISO text ("2025-03-01 18:00")."""
    return pd.Timestamp(text, tz="UTC")


def visits(*rows: tuple[Any, ...]) -> pd.DataFrame:
    """(visit_id, customer_id, visited_at UTC text, amount[, channel, party, is_return])."""
    out = []
    for row in rows:
        vid, cid, when, amount, *rest = row
        channel, party, is_return = (*rest, *("dine_in", 2, False)[len(rest):])
        out.append({"visit_id": vid, "customer_id": cid, "visited_at": at(when),
                    "channel": channel, "party_size": party, "total_amount": amount,
                    "is_return": is_return})
    return pd.DataFrame(out)


def reviews(*rows: tuple[Any, ...]) -> pd.DataFrame:
    """(review_id, customer_id, visit_id or None, posted_at text, label, score[, aspects[,
    language given, language detected]])."""
    out = []
    for row in rows:
        rid, cid, vid, when, label, score, *rest = row
        aspects, given, detected = (*rest, None, None, None)[:3]
        out.append({"review_id": rid, "customer_id": cid, "visit_id": vid,
                    "posted_at": at(when), "sentiment_label": label, "sentiment_score": score,
                    "aspects": aspects, "language": given, "language_detected": detected})
    return pd.DataFrame(out)


def _local_to_utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.tz_localize(LIMA).dt.tz_convert("UTC")


def synth_tables(customers: int = 300, seed: int = 3, years: float = 1.5,
                 end: dt.date = dt.date(2026, 6, 30)) -> dict[str, pd.DataFrame]:
    """Generator output as database-shaped tables with integer ids."""
    data = generate(customers=customers, seed=seed, end=end, years=years)
    rng = np.random.default_rng(seed)

    def numbering(values: pd.Series) -> dict[str, int]:
        return {v: i for i, v in enumerate(values, start=1)}

    loc_id = numbering(data.locations["location_id"])
    item_id = numbering(data.menu_items["item_id"])
    cust_id = numbering(data.customers["customer_id"])
    visit_id = numbering(data.visits["visit_id"])

    locations = pd.DataFrame({"id": list(loc_id.values()), "name": data.locations["name"]})
    menu = pd.DataFrame({"id": list(item_id.values()), "name": data.menu_items["name"],
                         "category": data.menu_items["category"],
                         "price": data.menu_items["price"]})
    cust = pd.DataFrame({"id": list(cust_id.values()),
                         "signup_date": data.customers["signup_date"].dt.date})
    v = data.visits
    party = v["party_size"].to_numpy(dtype=float, copy=True)
    party[rng.random(len(v)) < 0.1] = np.nan
    vis = pd.DataFrame({
        "id": v["visit_id"].map(visit_id).to_numpy(),
        "customer_id": v["customer_id"].map(cust_id).to_numpy(),
        "location_id": v["location_id"].map(loc_id).to_numpy(),
        "visited_at": _local_to_utc(v["visited_at"]).to_numpy(),
        "channel": v["channel"].to_numpy(),
        "party_size": party,
        "total_amount": v["total_amount"].to_numpy(),
        "is_return": False,
    })
    # A few returns: a partial refund a day or two after the visit.
    ret = vis.sample(frac=0.03, random_state=seed).copy()
    ret["visited_at"] = ret["visited_at"] + pd.to_timedelta(rng.integers(1, 48, len(ret)), "h")
    ret["total_amount"] = -(ret["total_amount"] * 0.3).round(2)
    ret["is_return"] = True
    ret["party_size"] = np.nan
    ret["id"] = np.arange(len(vis) + 1, len(vis) + 1 + len(ret))
    vis = pd.concat([vis, ret], ignore_index=True)

    oi = data.order_items
    items = pd.DataFrame({"visit_id": oi["visit_id"].map(visit_id).to_numpy(),
                          "line_no": oi["line_no"].to_numpy(),
                          "menu_item_id": oi["item_id"].map(item_id).to_numpy(),
                          "quantity": oi["quantity"].to_numpy(),
                          "unit_price": oi["unit_price"].to_numpy()})
    items.insert(0, "id", np.arange(1, len(items) + 1))

    r = data.reviews
    rating = r["rating"].to_numpy()
    label = np.where(rating <= 2, "negative", np.where(rating < 4, "neutral", "positive"))
    score = np.clip((rating - 3) / 2 + rng.normal(0, 0.1, len(r)), -1, 1).round(4)
    scored = rng.random(len(r)) > 0.1  # some reviews are not scored yet
    aspects: list[dict[str, Any] | None] = []
    for s, ok in zip(score, scored, strict=True):
        picked = [a for a in ("food", "service", "ambience", "price", "wait")
                  if rng.random() < 0.3]
        aspects.append({a: {"label": "negative" if s < 0 else "positive",
                            "score": round(float(s), 4)} for a in picked} if ok and picked
                       else None)
    # Scoring detected each scored review's language (the generator's, which the detector
    # finds in 99.7% of its texts); the input gave it for about half of them.
    given = rng.random(len(r)) < 0.5
    revs = pd.DataFrame({
        "id": np.arange(1, len(r) + 1),
        "customer_id": r["customer_id"].map(cust_id).to_numpy(),
        "location_id": r["location_id"].map(loc_id).to_numpy(),
        "visit_id": r["visit_id"].map(visit_id).to_numpy(),
        "text": r["text"].to_numpy(),
        "posted_at": _local_to_utc(r["created_at"]).to_numpy(),
        "sentiment_label": np.where(scored, label, None),
        "sentiment_score": np.where(scored, score, np.nan),
        "aspects": aspects,
        "language": np.where(given, r["language"], None),
        "language_detected": np.where(scored, r["language"], None),
    })
    return {"locations": locations, "menu_items": menu, "customers": cust, "visits": vis,
            "order_items": items, "reviews": revs}


def frames_of(tables: dict[str, pd.DataFrame]) -> Frames:
    items = tables["order_items"].merge(
        tables["menu_items"][["id", "category"]].rename(columns={"id": "menu_item_id"}),
        on="menu_item_id")
    return Frames(
        tables["customers"].rename(columns={"id": "customer_id"}),
        tables["visits"].rename(columns={"id": "visit_id"}),
        items[["visit_id", "quantity", "category"]],
        tables["reviews"].rename(columns={"id": "review_id"}),
    )


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in rows:
        for key, value in row.items():
            if isinstance(value, pd.Timestamp):
                row[key] = value.to_pydatetime()
            elif isinstance(value, np.generic):
                row[key] = value.item()
    return rows


def insert_tables(engine: Engine, tables: dict[str, pd.DataFrame]) -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=UTC)
    stamp = {"created_at": now, "updated_at": now}

    def external(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(source=SOURCE, external_id=frame["id"].astype(str), **stamp)

    rows = [
        (Location, external(tables["locations"])),
        (MenuItem, external(tables["menu_items"])),
        (Customer, external(tables["customers"])),
        (Visit, external(tables["visits"])),
        (OrderItem, tables["order_items"].assign(created_at=now)),
        (Review, external(tables["reviews"])),
    ]
    with engine.begin() as conn:
        for model, frame in rows:
            if len(frame):
                conn.execute(model.__table__.insert(), _records(frame))
                if conn.dialect.name == "postgresql" and "id" in frame:
                    # Explicit ids leave PostgreSQL's sequence behind: later inserts that let
                    # the database pick an id would collide.
                    table = model.__tablename__
                    conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', "
                                         f"'id'), (SELECT max(id) FROM {table}))")


# -- a small hand-built history with known answers -------------------------------------------

T = at("2025-04-01 00:00")  # Lima: 2025-03-31 19:00
DAY = pd.Timedelta(days=1)


def small_frames(*, with_items: bool = True, with_reviews: bool = True) -> Frames:
    """Customer 1: five visits, a return, order items, reviews (one negative about service).
    Customer 2: one visit, nothing else. Customer 3: only a return. Customer 4: only visits
    after T. Customer 5: three visits with gaps of 10 and 20 days."""
    v = visits(
        # Lima: Sun 12:00 lunch, weekend; 120.3 days before T (the 90-180 day window)
        (10, 1, "2024-12-01 17:00", 60.0, "dine_in", 2),
        (11, 1, "2025-01-06 02:00", 100.0, "dine_in", 2),   # Lima Sun 21:00: dinner, weekend
        (12, 1, "2025-01-16 02:00", 50.0, "takeaway", 4),   # Lima Wed 21:00: dinner
        (13, 1, "2025-03-06 14:00", 80.0, "delivery", None),  # Lima Thu 09:00: breakfast
        (14, 1, "2025-03-22 17:00", 40.0, "online", 3),     # Lima Sat 12:00: lunch, weekend
        (15, 1, "2025-03-23 17:00", -10.0, "dine_in", None, True),  # a return
        (16, 1, "2025-04-10 17:00", 500.0),                 # after T
        (20, 2, "2025-03-01 00:00", 30.0, "dine_in", None),
        (30, 3, "2025-03-01 00:00", -30.0, "dine_in", None, True),
        (40, 4, "2025-04-02 00:00", 30.0),
        (50, 5, "2025-02-10 00:00", 20.0),
        (51, 5, "2025-02-20 00:00", 20.0),
        (52, 5, "2025-03-12 00:00", 20.0),
    )
    items = pd.DataFrame([
        (11, 2, "main"), (11, 1, "drink"), (12, 1, "main"), (13, 1, "dessert"),
        (15, -1, "main"),      # the return's line: not a visit's item
        (16, 9, "drink"),      # after T
    ], columns=["visit_id", "quantity", "category"])
    r = reviews(
        (1, 1, 11, "2025-01-07 00:00", "positive", 0.8,
         {"food": {"label": "positive", "score": 0.9}}, None, "es"),
        (2, 1, 13, "2025-03-07 00:00", "negative", -0.6,
         {"service": {"label": "negative", "score": -0.7},
          "wait": {"label": "negative", "score": -0.5}}, "en", "mixed"),  # given: English
        (3, 1, 14, "2025-03-10 00:00", None, None, None, "es"),  # not scored yet: ignored
        (4, 1, 14, "2025-04-05 00:00", "negative", -0.9,       # posted after T
         {"price": {"label": "negative", "score": -0.9}}, None, "es"),
    )
    return Frames(None, v, items if with_items else None, r if with_reviews else None)
