"""Gradient-boosted trees: learn, keep `TIERS` columns when a tier is missing, save."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from loyalty.prediction.boosting import BoostingModel, sequence_summary
from loyalty.prediction.inputs import TIERS, ModelInputs
from loyalty.prediction.synthetic import make_inputs

FAST = {"max_iter": 60, "n_threads": 1}  # see BoostingModel: 2 cores, TF in-process


@pytest.fixture(scope="module")
def data() -> tuple[ModelInputs, np.ndarray, np.ndarray]:
    return make_inputs(n=400, n_steps=10, seed=0)


@pytest.fixture(scope="module")
def fitted(data) -> BoostingModel:
    inputs, churn, tier = data
    return BoostingModel(**FAST).fit(inputs.take(slice(0, 300)), churn[:300], tier[:300])


def test_learns_churn_on_held_out_rows(data, fitted) -> None:
    inputs, churn, _ = data
    predictions = fitted.predict_proba(inputs.take(slice(300, 400)))
    assert roc_auc_score(churn[300:], predictions.churn) > 0.75
    assert np.all((predictions.churn >= 0) & (predictions.churn <= 1))
    np.testing.assert_allclose(predictions.tier.sum(axis=1), 1.0, atol=1e-9)
    assert 1 <= fitted.n_iter_["churn"] <= 60


def test_sequence_summary_columns(data) -> None:
    inputs, _, _ = data
    summary, names = sequence_summary(inputs)
    assert names[0] == "seq_n_steps" and "seq_last_log_gap_days" in names
    assert "seq_mean_sentiment" in names and "seq_last_present" not in names
    assert summary.shape == (len(inputs), len(names))
    np.testing.assert_array_equal(summary[:, 0], inputs.sequences[:, :, 0].sum(axis=1))
    last_gap = names.index("seq_last_log_gap_days")
    np.testing.assert_allclose(summary[:, last_gap], inputs.sequences[:, -1, 1], rtol=1e-6)


def test_tier_missing_from_training_labels(data) -> None:
    inputs, churn, tier = data
    gold = TIERS.index("gold")
    keep = tier != gold
    model = BoostingModel(**FAST).fit(inputs.take(keep), churn[keep], tier[keep])
    predictions = model.predict_proba(inputs)
    assert predictions.tier.shape == (len(inputs), len(TIERS))
    assert np.all(predictions.tier[:, gold] == 0.0)
    np.testing.assert_allclose(predictions.tier.sum(axis=1), 1.0, atol=1e-9)


def test_a_single_class_is_predicted_as_is(data) -> None:
    inputs, _, tier = data
    small = inputs.take(slice(0, 50))
    model = BoostingModel(**FAST).fit(small, np.zeros(50, dtype=int), np.full(50, 2))
    predictions = model.predict_proba(small)
    np.testing.assert_array_equal(predictions.churn, 0.0)
    np.testing.assert_array_equal(predictions.tier.argmax(axis=1), 2)


def test_save_load_gives_identical_predictions(data, fitted, tmp_path: Path) -> None:
    inputs, _, _ = data
    loaded = BoostingModel.load(fitted.save(tmp_path / "boosting"))
    assert loaded.get_params() == fitted.get_params()
    assert loaded.design_feature_names_ == fitted.design_feature_names_
    a, b = fitted.predict_proba(inputs), loaded.predict_proba(inputs)
    np.testing.assert_allclose(b.churn, a.churn, atol=1e-6)
    np.testing.assert_allclose(b.tier, a.tier, atol=1e-6)


def test_same_seed_same_model(data, fitted) -> None:
    inputs, churn, tier = data
    again = BoostingModel(**FAST).fit(inputs.take(slice(0, 300)), churn[:300], tier[:300])
    np.testing.assert_allclose(again.predict_proba(inputs).churn,
                               fitted.predict_proba(inputs).churn, atol=1e-9)


def test_other_feature_names_are_refused(data, fitted) -> None:
    inputs, _, _ = data
    renamed = replace(inputs, feature_names=(*inputs.feature_names[:-1], "party"))
    with pytest.raises(ValueError, match=r"missing \['party_size_avg'\]"):
        fitted.predict_proba(renamed)
