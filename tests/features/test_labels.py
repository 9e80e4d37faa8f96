"""Labels read only (T, T+H], and refuse when the data do not reach T+H."""

from __future__ import annotations

import pandas as pd
import pytest

from loyalty.features import FeatureError, Frames, available_horizon, make_labels
from tests.features.helpers import T, at, visits

H_END = "2025-05-31 00:00"  # T + 60 days


def frames(data_end: str | None = None) -> Frames:
    v = visits(
        (1, 1, "2025-03-01 00:00", 10.0),
        (2, 1, "2025-04-10 00:00", 200.0),
        (3, 1, "2025-04-11 00:00", -20.0, "dine_in", None, True),
        (4, 2, "2025-03-01 00:00", 10.0),
        (5, 2, "2025-06-01 00:00", 999.0),                     # after the horizon
        (6, 3, "2025-03-01 00:00", 10.0),
        (7, 3, H_END, 950.0),                                    # exactly T + H: inside
        (8, 4, "2025-03-01 00:00", 10.0),
        (9, 4, "2025-04-03 00:00", -5.0, "dine_in", None, True),  # only a return ahead
        (10, 5, "2025-04-02 00:00", 50.0),                       # first seen after T
    )
    return Frames(visits=v, data_end=None if data_end is None else at(data_end))


def test_churn_tier_and_future_spend():
    labels = make_labels(frames(), T, horizon_days=60)
    assert list(labels.columns) == ["churn", "tier", "future_spend"]
    assert list(labels.index) == [1, 2, 3, 4]  # 5 had no visit up to T
    assert labels.index.name == "customer_id"
    assert labels["churn"].tolist() == [0, 1, 0, 1]
    assert labels["future_spend"].tolist() == pytest.approx([180.0, 0.0, 950.0, -5.0])
    assert labels["tier"].tolist() == [1, 0, 3, 0]
    assert labels["churn"].dtype == labels["tier"].dtype == "int64"
    custom = make_labels(frames(), T, horizon_days=60, tier_thresholds=(100, 179, 181))
    assert custom["tier"].tolist() == [2, 0, 3, 0]


def test_a_shorter_horizon_sees_less():
    labels = make_labels(frames(), T, horizon_days=5)
    assert labels["churn"].tolist() == [1, 1, 1, 1]


def test_refuses_when_the_data_do_not_reach_t_plus_h():
    f = frames()
    assert available_horizon(f, T) == pytest.approx(61.0)  # the latest visit is June 1
    with pytest.raises(ValueError, match="data end"):
        make_labels(f, T + pd.Timedelta(days=2), horizon_days=60)
    with pytest.raises(FeatureError):
        make_labels(Frames(), T)
    # An explicit end of data: complete up to there even without a visit that late.
    assert available_horizon(frames("2025-07-01 00:00"), T) == pytest.approx(91.0)
    make_labels(frames("2025-07-01 00:00"), T + pd.Timedelta(days=30), horizon_days=60)
