"""`load_frames` on SQLite and PostgreSQL: what it reads, the ``until`` cut, and no reviews."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from loyalty.features import Frames, build_inputs, customer_features, load_frames
from tests.features.helpers import frames_of, insert_tables, synth_tables

T = pd.Timestamp("2025-12-20 15:00", tz="UTC")


def small_tables() -> dict[str, pd.DataFrame]:
    return synth_tables(customers=30, seed=11, years=0.75, end=pd.Timestamp("2026-02-28").date())


def test_loaded_frames_give_the_features_of_the_data(engine):
    tables = small_tables()
    insert_tables(engine, tables)

    loaded = load_frames(engine)
    assert str(loaded.visits["visited_at"].dt.tz) == "UTC"
    assert str(loaded.reviews["posted_at"].dt.tz) == "UTC"
    assert len(loaded.visits) == len(tables["visits"])
    assert len(loaded.reviews) == len(tables["reviews"])
    assert loaded.visits["is_return"].sum() == tables["visits"]["is_return"].sum()
    assert set(loaded.order_items["category"]) <= set(tables["menu_items"]["category"])
    assert loaded.order_items["quantity"].sum() == tables["order_items"]["quantity"].sum()
    assert len(loaded.customers) == 30

    expected = customer_features(frames_of(tables), T)
    got = customer_features(loaded, T)
    assert len(got) > 10
    pd.testing.assert_frame_equal(got, expected, rtol=1e-9)
    assert (got["has_reviews"] > 0).any() and (got["aspect_service"] != 0).any()
    # The given and the detected language are both read (the share above agrees).
    by_id = loaded.reviews.set_index("review_id").sort_index()
    for column in ("language", "language_detected"):
        pd.testing.assert_series_equal(by_id[column], tables["reviews"].set_index("id")[column],
                                       check_names=False, check_index_type=False,
                                       check_dtype=False)
    assert (got["spanish_review_share"] > 0).any() and got["spanish_review_share"].max() <= 1

    # What was known at T, read from the database, gives exactly the same inputs.
    cut = load_frames(engine, until=T.to_pydatetime())
    assert cut.visits["visited_at"].max() <= T and cut.reviews["posted_at"].max() <= T
    assert len(cut.visits) < len(loaded.visits)
    a, b = build_inputs(loaded, T), build_inputs(cut, T)
    np.testing.assert_array_equal(a.customer_ids, b.customer_ids)
    np.testing.assert_array_equal(a.tabular, b.tabular)
    np.testing.assert_array_equal(a.sequences, b.sequences)

    with Session(engine) as session:  # a session works as well as an engine
        again = load_frames(session, until=T.to_pydatetime())
    pd.testing.assert_frame_equal(again.visits, cut.visits)


def test_a_database_without_reviews_or_visits(engine):
    empty = load_frames(engine)
    assert len(empty.visits) == len(empty.reviews) == len(empty.order_items) == 0
    assert customer_features(empty, T).shape == (0, 40)
    assert len(build_inputs(empty, T)) == 0

    tables = small_tables()
    tables["reviews"] = tables["reviews"].iloc[:0]  # like the Online Retail data
    insert_tables(engine, tables)
    loaded = load_frames(engine)
    table = customer_features(loaded, T)
    assert len(table) > 10 and (table["has_reviews"] == 0).all()
    assert np.isfinite(table.to_numpy()).all()
    assert isinstance(loaded, Frames)
