"""Tabular features on a small hand-built history whose answers are worked out by hand."""

from __future__ import annotations

import json
import math
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from loyalty.features import FEATURE_NAMES, FeatureError, Frames, customer_features
from tests.features.helpers import DAY, T, at, reviews, small_frames, visits

EXPECTED_NAMES = [
    "recency_days", "frequency_30d", "frequency_90d", "frequency_365d", "visits_total",
    "monetary_total", "monetary_avg", "monetary_90d", "monetary_trend", "tenure_days",
    "gap_mean_days", "gap_std_days", "gap_ratio", "has_repeat_visits", "share_breakfast",
    "share_lunch", "share_dinner", "share_late", "share_weekend", "share_dine_in",
    "share_takeaway", "share_delivery", "party_size_avg", "items_per_visit",
    "fav_category_share", "points", "tier_rank", "has_reviews", "review_count",
    "sentiment_mean", "sentiment_latest", "negative_reviews", "days_since_negative",
    "has_negative_review", "aspect_food", "aspect_service", "aspect_ambience", "aspect_price",
    "aspect_wait", "spanish_review_share",
]


def days(a: str, b: pd.Timestamp = T) -> float:
    return (b - at(a)) / DAY


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return customer_features(small_frames(), T)


def test_shape_names_and_no_nan(table):
    assert tuple(EXPECTED_NAMES) == FEATURE_NAMES
    assert list(table.columns) == EXPECTED_NAMES
    assert table.index.name == "customer_id" and table.index.dtype == np.int64
    # 3 has only a return, 4 only visits after T: no rows.
    assert list(table.index) == [1, 2, 5]
    assert (table.dtypes == np.float64).all()
    assert np.isfinite(table.to_numpy()).all()


def test_recency_frequency_tenure(table):
    c1 = table.loc[1]
    assert c1.recency_days == pytest.approx(days("2025-03-22 17:00"))  # 9.29: the return and
    assert c1.tenure_days == pytest.approx(days("2024-12-01 17:00"))   # the later visit do
    assert c1.visits_total == 5                                        # not count
    assert (c1.frequency_30d, c1.frequency_90d, c1.frequency_365d) == (2, 4, 5)


def test_money_counts_returns_and_trend(table):
    c1 = table.loc[1]
    assert c1.monetary_total == pytest.approx(60 + 100 + 50 + 80 + 40 - 10)
    assert c1.monetary_avg == pytest.approx(320 / 5)
    assert c1.monetary_90d == pytest.approx(260)
    assert c1.monetary_trend == pytest.approx((260 - 60) / (260 + 60 + 1))
    assert c1.points == 320
    # Spend in the last year 320 is below 150 x 6; with thresholds (10, 50, 100) x 6 it is gold.
    assert c1.tier_rank == 0
    custom = customer_features(small_frames(), T, tier_thresholds=(10.0, 50.0, 100.0))
    assert custom.loc[1, "tier_rank"] == 2


def test_gaps_and_gap_ratio(table):
    c1 = table.loc[1]
    gaps = np.array([35.375, 10.0, 49.5, 16.125])
    assert c1.gap_mean_days == pytest.approx(gaps.mean())
    assert c1.gap_std_days == pytest.approx(gaps.std())
    assert c1.gap_ratio == pytest.approx(c1.recency_days / gaps.mean())
    assert c1.has_repeat_visits == 1
    c5 = table.loc[5]  # gaps of 10 and 20 days, last visit 20 days ago
    assert (c5.gap_mean_days, c5.gap_std_days) == pytest.approx((15.0, 5.0))
    assert c5.recency_days == pytest.approx(20.0)
    assert c5.gap_ratio == pytest.approx(20 / 15)


def test_one_visit_customer_is_explicit(table):
    c2 = table.loc[2]
    assert c2.recency_days == c2.tenure_days == pytest.approx(31.0)
    assert c2.has_repeat_visits == 0
    assert c2.gap_mean_days == pytest.approx(31.0)  # the tenure
    assert c2.gap_std_days == 0 and c2.gap_ratio == 1.0
    assert c2.party_size_avg == 0  # no party size known
    assert c2.items_per_visit == 0 and c2.fav_category_share == 0


def test_same_day_visits_do_not_explode_the_gap_ratio():
    frames = Frames(visits=visits((1, 1, "2025-03-27 00:00", 10.0),
                                  (2, 1, "2025-03-27 02:00", 10.0)))
    row = customer_features(frames, T).loc[1]
    assert row.gap_mean_days == pytest.approx(1 / 12)
    assert row.recency_days == pytest.approx(4 + 22 / 24)
    assert row.gap_ratio == pytest.approx(4 + 22 / 24)  # the usual gap is floored at one day


def test_day_parts_are_lima_time(table):
    c1 = table.loc[1]
    # UTC would call visit 11 Monday 02:00 (late) and visit 12 Thursday 02:00 (late).
    assert c1.share_breakfast == pytest.approx(1 / 5)
    assert c1.share_lunch == pytest.approx(2 / 5)
    assert c1.share_dinner == pytest.approx(2 / 5)
    assert c1.share_late == 0
    assert c1.share_weekend == pytest.approx(3 / 5)
    utc = customer_features(small_frames(), T, timezone="UTC").loc[1]
    assert utc.share_late == pytest.approx(2 / 5) and utc.share_breakfast == 0
    assert utc.share_weekend == pytest.approx(2 / 5)  # Sun 17:00, Sat 17:00; Mon 02:00 is not


def test_channels_party_and_items(table):
    c1 = table.loc[1]
    assert (c1.share_dine_in, c1.share_takeaway, c1.share_delivery) == pytest.approx(
        (2 / 5, 1 / 5, 2 / 5))  # "online" counts as delivery
    assert c1.party_size_avg == pytest.approx((2 + 2 + 4 + 3) / 4)
    assert c1.items_per_visit == pytest.approx(5 / 5)  # the return's line is not an item
    assert c1.fav_category_share == pytest.approx(3 / 5)  # main: 2 + 1 of 5


def test_reviews_negative_service_and_aspects(table):
    c1 = table.loc[1]
    assert c1.has_reviews == 1 and c1.review_count == 2  # unscored and later ones ignored
    assert c1.sentiment_mean == pytest.approx(0.1)
    assert c1.sentiment_latest == pytest.approx(-0.6)
    assert c1.negative_reviews == 1 and c1.has_negative_review == 1
    assert c1.days_since_negative == pytest.approx(25.0)
    assert c1.aspect_food == pytest.approx(0.9)
    assert c1.aspect_service == pytest.approx(-0.7)
    assert c1.aspect_wait == pytest.approx(-0.5)
    assert c1.aspect_ambience == 0 and c1.aspect_price == 0  # the price review is after T
    # Review 1 was detected Spanish; review 2 detected "mixed" but given English.
    assert c1.spanish_review_share == pytest.approx(0.5)


def test_customer_without_reviews_is_neutral(table):
    c2 = table.loc[2]
    assert c2.has_reviews == 0 and c2.review_count == 0
    assert c2.sentiment_mean == 0 and c2.sentiment_latest == 0
    assert c2.negative_reviews == 0 and c2.has_negative_review == 0
    assert c2.days_since_negative == pytest.approx(c2.tenure_days + 1)
    assert all(c2[f"aspect_{a}"] == 0 for a in ("food", "service", "ambience", "price", "wait"))
    assert c2.spanish_review_share == 0


def test_works_without_order_items_or_reviews(table):
    bare = customer_features(small_frames(with_items=False, with_reviews=False), T)
    assert list(bare.columns) == EXPECTED_NAMES and np.isfinite(bare.to_numpy()).all()
    assert (bare[["items_per_visit", "fav_category_share", "review_count"]] == 0).all().all()
    same = ["recency_days", "monetary_total", "gap_ratio", "share_lunch", "tier_rank"]
    pd.testing.assert_frame_equal(bare[same], table[same])


def test_empty_and_naive():
    empty = customer_features(Frames(), T)
    assert empty.shape == (0, len(FEATURE_NAMES)) and list(empty.columns) == EXPECTED_NAMES
    with pytest.raises(FeatureError, match="time zone"):
        customer_features(small_frames(), datetime(2025, 4, 1))
    with pytest.raises(ValueError, match="naive"):
        Frames(visits=pd.DataFrame({"visit_id": [1], "customer_id": [1],
                                    "visited_at": [datetime(2025, 1, 1)]}))


def test_aspects_as_json_text_and_null_scores():
    frames = small_frames()
    r = frames.reviews.copy()
    r["aspects"] = r["aspects"].map(lambda a: None if a is None else json.dumps(a))
    r.loc[r.review_id == 1, "aspects"] = '{"food": {"label": "neutral", "score": null}}'
    again = customer_features(Frames(None, frames.visits, frames.order_items, r), T).loc[1]
    assert again.aspect_food == 0 and again.aspect_service == pytest.approx(-0.7)
    assert math.isfinite(again.sentiment_mean)


def test_spanish_review_share():
    """Over the scored reviews up to T whose language is determined; a given language counts
    over the detected one."""
    v = visits((1, 1, "2025-03-01 00:00", 10.0), (2, 2, "2025-03-01 00:00", 10.0),
               (3, 3, "2025-03-01 00:00", 10.0), (4, 4, "2025-03-01 00:00", 10.0))
    r = reviews(
        (1, 1, None, "2025-03-02 00:00", "positive", 0.5, None, None, "es"),
        (2, 1, None, "2025-03-03 00:00", "positive", 0.5, None, "es", "en"),  # given Spanish
        (3, 1, None, "2025-03-04 00:00", "negative", -0.5, None, None, "en"),
        (4, 1, None, "2025-03-05 00:00", "neutral", 0.0, None, None, "und"),  # not counted
        (5, 1, None, "2025-03-06 00:00", None, None, None, "en", None),  # unscored: ignored
        (6, 1, None, "2025-04-06 00:00", "negative", -0.5, None, None, "en"),  # after T
        (7, 2, None, "2025-03-02 00:00", "positive", 0.5, None, None, "mixed"),
        (8, 2, None, "2025-03-03 00:00", "positive", 0.5, None, None, "other"),
        (9, 3, None, "2025-03-02 00:00", "positive", 0.5, None, None, "und"),
        (10, 3, None, "2025-03-03 00:00", "positive", 0.5, None, None, None),  # scored before
    )
    table = customer_features(Frames(None, v, None, r), T)
    assert table.loc[1, "spanish_review_share"] == pytest.approx(2 / 3)
    assert table.loc[1, "review_count"] == 4
    assert table.loc[2, "spanish_review_share"] == 0  # mixed and another language
    # Reviews of no determined language, or none at all: 0, like other shares of nothing.
    assert table.loc[3, "spanish_review_share"] == 0 and table.loc[3, "has_reviews"] == 1
    assert table.loc[4, "spanish_review_share"] == 0 and table.loc[4, "has_reviews"] == 0
    # Frames cut to T or to some customers keep the languages as they were.
    assert customer_features(Frames(None, v, None, r).until(T), T).equals(table)
    assert customer_features(Frames(None, v, None, r).for_customers([1]), T).loc[
        1, "spanish_review_share"] == pytest.approx(2 / 3)
