"""THE leakage test: features at T are the same whatever happens after T.

Synthetic data from the project's generator (with returns, unscored reviews and aspects
added); inputs at T are computed on the full history, on the history cut at T by hand, and on
a history whose future was rewritten (changed, deleted and extra visits, order items and
reviews after T, including late reviews of visits before T). All must be identical.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalty.features import (
    FEATURE_NAMES,
    SEQUENCE_FEATURE_NAMES,
    Frames,
    ModelInputs,
    build_inputs,
    customer_features,
    make_labels,
)
from tests.features.helpers import frames_of, synth_tables

T = pd.Timestamp("2026-01-15 12:34:56", tz="UTC")


@pytest.fixture(scope="module")
def full() -> Frames:
    return frames_of(synth_tables(customers=300, seed=3))


def assert_same(a: ModelInputs, b: ModelInputs) -> None:
    np.testing.assert_array_equal(a.customer_ids, b.customer_ids)
    np.testing.assert_array_equal(a.tabular, b.tabular)
    np.testing.assert_array_equal(a.sequences, b.sequences)


def cut_by_hand(frames: Frames, t: pd.Timestamp) -> Frames:
    v = frames.visits[frames.visits["visited_at"] <= t]
    items = frames.order_items[frames.order_items["visit_id"].isin(v["visit_id"])]
    r = frames.reviews[frames.reviews["posted_at"] <= t]
    return Frames(frames.customers, v, items, r)


def rewrite_future(frames: Frames, t: pd.Timestamp, seed: int = 0) -> Frames:
    rng = np.random.default_rng(seed)
    v = frames.visits.copy()
    future = v["visited_at"] > t
    v.loc[future, "total_amount"] *= 3
    v.loc[future, "channel"] = "delivery"
    v.loc[future, "party_size"] = 9
    drop = future & (rng.random(len(v)) < 0.5)
    v = v[~drop]
    ids = v["customer_id"].unique()
    extra = pd.DataFrame({
        "visit_id": np.arange(1, 401) + 10_000_000,
        "customer_id": rng.choice(np.append(ids, [777_777]), 400),
        "visited_at": t + pd.to_timedelta(rng.integers(1, 200 * 86400, 400), "s"),
        "channel": "dine_in", "party_size": 2.0, "total_amount": 1000.0, "is_return": False,
    })
    v = pd.concat([v, extra], ignore_index=True)
    items = frames.order_items[frames.order_items["visit_id"].isin(v["visit_id"])].copy()
    future_items = items["visit_id"].isin(v.loc[v["visited_at"] > t, "visit_id"])
    items.loc[future_items, "quantity"] += 5
    items = pd.concat([items, pd.DataFrame({"visit_id": extra["visit_id"], "quantity": 7.0,
                                            "category": "drink"})], ignore_index=True)
    r = frames.reviews.copy()
    r.loc[r["posted_at"] > t, "sentiment_score"] = -1.0
    past = v[v["visited_at"] <= t].sample(200, random_state=seed)
    late = pd.DataFrame({   # reviews of visits before T, posted after it
        "review_id": np.arange(1, 201) + 10_000_000,
        "customer_id": past["customer_id"].to_numpy(),
        "visit_id": past["visit_id"].to_numpy().astype(float),
        "posted_at": t + pd.Timedelta(seconds=1),
        "sentiment_label": "negative", "sentiment_score": -0.9,
        "aspects": [{"service": {"label": "negative", "score": -0.9}}] * 200,
    })
    return Frames(frames.customers, v, items, pd.concat([r, late], ignore_index=True))


def test_nothing_after_t_changes_the_inputs(full):
    reference = build_inputs(full, T)
    assert len(reference) > 100
    assert reference.feature_names == FEATURE_NAMES
    assert reference.sequence_feature_names == SEQUENCE_FEATURE_NAMES
    assert reference.tabular.dtype == np.float32 and reference.sequences.dtype == np.float32
    assert_same(reference, build_inputs(cut_by_hand(full, T), T))
    assert_same(reference, build_inputs(full.until(T), T))
    rewritten = rewrite_future(full, T)
    assert_same(reference, build_inputs(rewritten, T))
    # The rewrite did change the future: the labels see it.
    assert not make_labels(full, T).equals(make_labels(rewritten, T))


def test_the_data_cover_what_the_features_read(full):
    """The synthetic history exercises returns, reviews, aspects and order items at T."""
    table = customer_features(full, T)
    for name in ("has_reviews", "has_negative_review", "aspect_service", "items_per_visit",
                 "monetary_trend", "has_repeat_visits"):
        assert (table[name] != 0).any(), name
    assert (table["has_repeat_visits"] == 0).any()


def test_serving_a_few_customers_gives_their_training_rows(full):
    everyone = build_inputs(full, T)
    rng = np.random.default_rng(1)
    pick = rng.choice(len(everyone), 25, replace=False)
    some = build_inputs(full, T, customer_ids=everyone.customer_ids[pick])
    assert_same(everyone.take(pick), some)


def test_customers_without_history_are_named():
    frames = frames_of(synth_tables(customers=20, seed=5, years=0.5))
    with pytest.raises(ValueError, match="no visit up to"):
        build_inputs(frames, T, customer_ids=[123_456])


def test_empty_inputs():
    inputs = build_inputs(Frames(), T, max_visits=7)
    assert inputs.tabular.shape == (0, len(FEATURE_NAMES))
    assert inputs.sequences.shape == (0, 7, len(SEQUENCE_FEATURE_NAMES))
