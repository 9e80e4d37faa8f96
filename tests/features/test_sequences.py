"""Visit sequences: shape, padding at the front, oldest first, and the review tie-in."""

from __future__ import annotations

import math

import numpy as np
import pytest

from loyalty.features import SEQUENCE_FEATURE_NAMES, FeatureError, Frames, visit_sequences
from tests.features.helpers import DAY, T, at, small_frames

F = {name: i for i, name in enumerate(SEQUENCE_FEATURE_NAMES)}


def test_names():
    assert SEQUENCE_FEATURE_NAMES == (
        "present", "gap_days_log", "days_before_asof_log", "amount_log", "items", "party_size",
        "is_breakfast", "is_lunch", "is_dinner", "is_late", "is_weekend", "is_delivery",
        "is_takeaway", "has_review", "review_sentiment")


def test_shape_order_and_front_padding():
    seq = visit_sequences(small_frames(), T, [2, 1, 999], max_visits=8)
    assert seq.shape == (3, 8, len(SEQUENCE_FEATURE_NAMES)) and seq.dtype == np.float32
    # Customer 2: one visit, in the last step; everything before it is all zeros.
    assert (seq[0, :7] == 0).all() and seq[0, 7, F["present"]] == 1
    # Customer 1: five visits (the return and the visit after T are not steps), oldest first.
    assert (seq[1, :3] == 0).all()
    assert seq[1, 3:, F["present"]].tolist() == [1] * 5
    amounts = np.expm1(seq[1, 3:, F["amount_log"]])
    np.testing.assert_allclose(amounts, [60, 100, 50, 80, 40], rtol=1e-5)
    ages = np.expm1(seq[1, 3:, F["days_before_asof_log"]])
    assert (np.diff(ages) < 0).all()  # oldest first
    # Unknown customer 999: all padding.
    assert (seq[2] == 0).all()


def test_window_keeps_the_last_visits_and_their_true_gaps():
    seq = visit_sequences(small_frames(), T, [1], max_visits=3)[0]
    np.testing.assert_allclose(np.expm1(seq[:, F["amount_log"]]), [50, 80, 40], rtol=1e-5)
    # The first step's gap is to visit 11, outside the window: 10 days, not 0.
    np.testing.assert_allclose(np.expm1(seq[:, F["gap_days_log"]]), [10, 49.5, 16.125],
                               rtol=1e-5)
    full = visit_sequences(small_frames(), T, [1], max_visits=5)[0]
    assert full[0, F["gap_days_log"]] == 0  # the very first visit has no gap
    assert full[4, F["days_before_asof_log"]] == pytest.approx(
        math.log1p((T - at("2025-03-22 17:00")) / DAY), rel=1e-6)


def test_step_features_local_time_channel_items_reviews():
    s = visit_sequences(small_frames(), T, [1], max_visits=5)[0]
    # Visits 10..14: Lima Sun lunch, Sun dinner, Wed dinner, Thu breakfast, Sat lunch.
    assert s[:, F["is_lunch"]].tolist() == [1, 0, 0, 0, 1]
    assert s[:, F["is_dinner"]].tolist() == [0, 1, 1, 0, 0]
    assert s[:, F["is_breakfast"]].tolist() == [0, 0, 0, 1, 0]
    assert s[:, F["is_late"]].tolist() == [0] * 5
    assert s[:, F["is_weekend"]].tolist() == [1, 1, 0, 0, 1]
    assert s[:, F["is_delivery"]].tolist() == [0, 0, 0, 1, 1]  # delivery, online
    assert s[:, F["is_takeaway"]].tolist() == [0, 0, 1, 0, 0]
    assert s[:, F["party_size"]].tolist() == [2, 2, 4, 0, 3]  # unknown -> 0
    assert s[:, F["items"]].tolist() == [0, 3, 1, 1, 0]
    # Reviews: visit 11 positive, visit 13 negative; visit 14's are unscored or after T.
    assert s[:, F["has_review"]].tolist() == [0, 1, 0, 1, 0]
    np.testing.assert_allclose(s[:, F["review_sentiment"]], [0, 0.8, 0, -0.6, 0], atol=1e-6)


def test_no_visits_and_bad_arguments():
    assert visit_sequences(Frames(), T, [1, 2], max_visits=4).shape == (2, 4, 15)
    assert visit_sequences(small_frames(), T, [], max_visits=4).shape == (0, 4, 15)
    with pytest.raises(FeatureError):
        visit_sequences(small_frames(), T, [1, 1])
    with pytest.raises(FeatureError):
        visit_sequences(small_frames(), T, [1], max_visits=0)
