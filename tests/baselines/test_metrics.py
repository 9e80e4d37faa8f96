"""Metrics against small hand-computed examples, and the Markdown table."""

from __future__ import annotations

import math

import numpy as np
import pytest

from loyalty.metrics import calibration_error, churn_metrics, format_table, tier_metrics


def test_churn_metrics_by_hand():
    y = [0, 0, 1, 1]
    p = [0.1, 0.4, 0.35, 0.8]
    m = churn_metrics(y, p)
    assert m["roc_auc"] == pytest.approx(0.75)          # 3 of 4 positive/negative pairs ordered
    # ranked: 0.8 (pos), 0.4 (neg), 0.35 (pos), 0.1 (neg) -> AP = (1/1 + 2/3) / 2
    assert m["pr_auc"] == pytest.approx((1 + 2 / 3) / 2)
    assert m["brier"] == pytest.approx((0.01 + 0.16 + 0.65**2 + 0.04) / 4)
    expected_ll = -(math.log(0.9) + math.log(0.6) + math.log(0.35) + math.log(0.8)) / 4
    assert m["log_loss"] == pytest.approx(expected_ll)
    assert m["base_rate"] == 0.5 and m["n"] == 4


def test_churn_log_loss_is_clipped_and_single_class_auc_is_nan():
    m = churn_metrics([1, 0], [0.0, 1.0])
    assert m["log_loss"] == pytest.approx(-math.log(1e-6))
    m = churn_metrics([1, 1], [0.5, 0.9])
    assert math.isnan(m["roc_auc"]) and math.isnan(m["pr_auc"])
    assert m["brier"] == pytest.approx((0.25 + 0.01) / 2)
    with pytest.raises(ValueError):
        churn_metrics([0, 1], [0.5, 1.5])


def test_tier_metrics_by_hand():
    y = [0, 0, 1, 2]
    pred = [0, 1, 1, 2]
    m = tier_metrics(y, pred)
    # F1: tier 0 = 2/3, tier 1 = 2/3, tier 2 = 1, tier 3 (absent everywhere) = 0
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1 + 0) / 4)
    assert m["accuracy"] == pytest.approx(0.75) and m["n"] == 4
    proba = np.eye(4)[pred] * 0.7 + 0.075
    m2 = tier_metrics(y, proba)
    assert m2["macro_f1"] == pytest.approx(m["macro_f1"])
    assert m2["log_loss"] == pytest.approx(-(3 * math.log(0.775) + math.log(0.075)) / 4)
    with pytest.raises(ValueError):
        tier_metrics(y, np.ones((4, 3)))


def test_calibration_error_by_hand():
    # bin [0.1, 0.2): p = 0.1, 0.1, y = 0, 1 -> |0.5 - 0.1| ; bin [0.9, 1.0]: p = 0.9, 1.0, y = 1, 1
    y = [0, 1, 1, 1]
    p = [0.1, 0.1, 0.9, 1.0]
    expected = 0.5 * abs(0.5 - 0.1) + 0.5 * abs(1.0 - 0.95)
    assert calibration_error(y, p) == pytest.approx(expected)
    assert calibration_error([0, 1], [0.0, 1.0]) == 0.0
    assert calibration_error(y, p, bins=1) == pytest.approx(abs(0.75 - 0.525))


def test_format_table():
    rows = [{"model": "BG/NBD", "roc_auc": 0.71234, "n": 1200, "brier": float("nan")},
            {"model": "ours | v2", "roc_auc": np.float32(0.8), "n": np.int64(1200)}]
    table = format_table(rows, ["model", "roc_auc", "brier", "n"])
    assert table.splitlines() == [
        "| model | roc_auc | brier | n |",
        "|---|---|---|---|",
        "| BG/NBD | 0.712 | – | 1200 |",
        "| ours \\| v2 | 0.800 | – | 1200 |",
    ]
    assert format_table([], ["a"]) == "| a |\n|---|"
