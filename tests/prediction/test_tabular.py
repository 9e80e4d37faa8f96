"""The MLP over tabular features: learns, predicts valid probabilities, saves, reproduces."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, roc_auc_score

from loyalty.prediction._keras import balanced_weights
from loyalty.prediction.inputs import TIERS, ModelInputs
from loyalty.prediction.synthetic import make_inputs
from loyalty.prediction.tabular import TabularModel, build_tabular_network

FAST = {"epochs": 5, "batch_size": 32, "learning_rate": 1e-2}  # tiny, but enough to learn


@pytest.fixture(scope="module")
def data() -> tuple[ModelInputs, np.ndarray, np.ndarray]:
    return make_inputs(n=400, n_steps=10, seed=0)


@pytest.fixture(scope="module")
def fitted(data) -> TabularModel:
    inputs, churn, tier = data
    return TabularModel(**FAST).fit(inputs.take(slice(0, 300)), churn[:300], tier[:300])


def assert_valid(predictions, n: int) -> None:
    assert predictions.churn.shape == (n,) and predictions.tier.shape == (n, len(TIERS))
    assert np.all((predictions.churn >= 0) & (predictions.churn <= 1))
    assert np.all(predictions.tier >= 0)
    np.testing.assert_allclose(predictions.tier.sum(axis=1), 1.0, atol=1e-9)


def test_network_has_two_named_heads() -> None:
    model = build_tabular_network(6, len(TIERS), hidden=(8,), dropout=0.0)
    model.get_layer("tabular_norm").adapt(np.random.default_rng(0).normal(size=(20, 6)))
    out = model({"tabular": np.zeros((3, 6), dtype=np.float32)})
    assert tuple(out["churn"].shape) == (3, 1) and tuple(out["tier"].shape) == (3, len(TIERS))


def test_learns_churn_and_tier_on_held_out_rows(data, fitted) -> None:
    inputs, churn, tier = data
    predictions = fitted.predict_proba(inputs.take(slice(300, 400)))
    assert_valid(predictions, 100)
    assert roc_auc_score(churn[300:], predictions.churn) > 0.75
    assert accuracy_score(tier[300:], predictions.tier.argmax(axis=1)) > 0.45  # 0.4: majority
    assert fitted.history_["epochs_run"] >= 1


def test_estimator_api(data, fitted) -> None:
    inputs, churn, tier = data
    assert fitted.get_params()["epochs"] == 5
    assert clone(fitted).get_params() == fitted.get_params()
    assert fitted.feature_names_ == inputs.feature_names
    with pytest.raises(NotFittedError):
        TabularModel().predict_proba(inputs)
    with pytest.raises(ValueError, match="churn"):
        TabularModel(**FAST).fit(inputs, churn + 2, tier)


def test_save_load_gives_identical_predictions(data, fitted, tmp_path: Path) -> None:
    inputs, _, _ = data
    fitted.save(tmp_path / "tabular")
    assert {p.name for p in (tmp_path / "tabular").iterdir()} == {"model.keras",
                                                                   "estimator.json"}
    loaded = TabularModel.load(tmp_path / "tabular")
    assert loaded.get_params() == fitted.get_params()
    a, b = fitted.predict_proba(inputs), loaded.predict_proba(inputs)
    np.testing.assert_allclose(b.churn, a.churn, atol=1e-6)
    np.testing.assert_allclose(b.tier, a.tier, atol=1e-6)


def test_same_seed_same_model(data, fitted) -> None:
    inputs, churn, tier = data
    again = TabularModel(**FAST).fit(inputs.take(slice(0, 300)), churn[:300], tier[:300])
    a, b = fitted.predict_proba(inputs), again.predict_proba(inputs)
    np.testing.assert_allclose(b.churn, a.churn, atol=1e-5)
    np.testing.assert_allclose(b.tier, a.tier, atol=1e-5)


def test_other_feature_names_are_refused(data, fitted) -> None:
    inputs, _, _ = data
    renamed = replace(inputs, feature_names=("days_since", *inputs.feature_names[1:]))
    with pytest.raises(ValueError, match=r"missing \['recency_days'\], unexpected"):
        fitted.predict_proba(renamed)
    order = list(range(len(inputs.feature_names)))[::-1]
    shuffled = replace(inputs, tabular=inputs.tabular[:, order],
                       feature_names=tuple(inputs.feature_names[i] for i in order))
    with pytest.raises(ValueError, match="different order"):
        fitted.predict_proba(shuffled)


def test_large_batches_are_chunked_without_retracing(data, fitted) -> None:
    inputs, _, _ = data
    small = fitted.predict_proba(inputs)
    big = inputs.take(np.tile(np.arange(len(inputs)), 25))             # 10,000 rows
    chunked = TabularModel(**FAST, predict_batch_size=4096)
    chunked._set_fitted(fitted.model_, feature_names=fitted.feature_names_)
    for n in (10_000, 4096, 17, 1):
        out = chunked.predict_proba(big.take(slice(0, n)))
        np.testing.assert_allclose(out.churn, np.tile(small.churn, 25)[:n], atol=1e-6)
    assert chunked._predictor.traces == 1
    assert len(chunked.predict_proba(inputs.take(slice(0, 0))).churn) == 0


def test_tier_missing_from_training_labels(data) -> None:
    inputs, churn, tier = data
    keep = tier != TIERS.index("platinum")
    model = TabularModel(**FAST).fit(inputs.take(keep), churn[keep], tier[keep])
    predictions = model.predict_proba(inputs)
    assert_valid(predictions, len(inputs))


def test_tier_names_are_accepted(data) -> None:
    inputs, churn, tier = data
    small = inputs.take(slice(0, 60))
    names = np.array([TIERS[i] for i in tier[:60]])
    model = TabularModel(epochs=1, hidden=(4,)).fit(small, churn[:60], names)
    assert_valid(model.predict_proba(small), 60)
    with pytest.raises(ValueError, match="unknown tier"):
        TabularModel(epochs=1).fit(small, churn[:60], np.array(["diamond"] * 60))


def test_balanced_churn_weights(data) -> None:
    np.testing.assert_allclose(balanced_weights(np.array([0, 0, 0, 1])), [2 / 3] * 3 + [2.0])
    inputs, churn, tier = data
    small = inputs.take(slice(0, 60))
    model = TabularModel(epochs=1, hidden=(4,), churn_weight="balanced")
    assert_valid(model.fit(small, churn[:60], tier[:60]).predict_proba(small), 60)
    with pytest.raises(ValueError, match="churn_weight"):
        TabularModel(epochs=1, churn_weight="inverse").fit(small, churn[:60], tier[:60])
