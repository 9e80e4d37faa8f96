"""Stacking: out-of-fold evidence, held-out quality, save / load, missing tiers."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from loyalty.prediction.boosting import BoostingModel
from loyalty.prediction.ensemble import StackingEnsemble
from loyalty.prediction.inputs import TIERS, ModelInputs
from loyalty.prediction.sequence import SequenceModel
from loyalty.prediction.synthetic import make_inputs
from loyalty.prediction.tabular import TabularModel

# No validation split: early stopping is tested with each model; here it would only add a
# traced evaluation step to each of the 8 network fits.
KERAS_FAST = {"epochs": 5, "batch_size": 32, "learning_rate": 1e-2, "validation_fraction": 0.0}
METRICS = {"churn_roc_auc", "churn_brier", "churn_log_loss", "tier_macro_f1", "tier_accuracy",
           "tier_log_loss"}
TRAIN, TEST = slice(0, 300), slice(300, 400)


@pytest.fixture(scope="module")
def data() -> tuple[ModelInputs, np.ndarray, np.ndarray]:
    return make_inputs(n=400, n_steps=10, seed=0)


@pytest.fixture(scope="module")
def fitted(data) -> StackingEnsemble:
    inputs, churn, tier = data
    ensemble = StackingEnsemble(base_models={"tabular": TabularModel(**KERAS_FAST),
                                             "sequence": SequenceModel(**KERAS_FAST),
                                             "boosting": BoostingModel(max_iter=60, n_threads=1)},
                                n_folds=3)
    return ensemble.fit(inputs.take(TRAIN), churn[TRAIN], tier[TRAIN])


def test_out_of_fold_metrics_for_every_base_model_and_the_ensemble(fitted) -> None:
    assert set(fitted.oof_metrics_) == {"tabular", "sequence", "boosting", "ensemble"}
    for metrics in fitted.oof_metrics_.values():
        assert set(metrics) == METRICS
        assert all(np.isfinite(value) for value in metrics.values())
        assert metrics["churn_roc_auc"] > 0.7
    assert set(fitted.base_models_) == {"tabular", "sequence", "boosting"}


def test_meta_weights_name_every_meta_feature(fitted) -> None:
    churn = fitted.meta_weights_["churn"]
    assert set(churn["coef"]["churn"]) == {"logit_churn[tabular]", "logit_churn[sequence]",
                                           "logit_churn[boosting]"}
    assert sum(churn["coef"]["churn"].values()) > 0          # higher base churn, higher churn
    tier = fitted.meta_weights_["tier"]
    assert set(tier["coef"]) == set(TIERS)
    assert len(tier["coef"]["gold"]) == 3 * len(TIERS)


def test_held_out_rows_at_least_as_good_as_the_worst_base_model(data, fitted) -> None:
    inputs, churn, _ = data
    held_out = inputs.take(TEST)
    ensemble = roc_auc_score(churn[TEST], fitted.predict_proba(held_out).churn)
    base = {name: roc_auc_score(churn[TEST], p.churn)
            for name, p in fitted.base_predictions(held_out).items()}
    assert ensemble > 0.75
    assert ensemble >= min(base.values()) - 0.01, (ensemble, base)


def test_probabilities_are_valid_for_large_batches(data, fitted) -> None:
    inputs, _, _ = data
    big = inputs.take(np.tile(np.arange(len(inputs)), 30))            # 12,000 rows
    predictions = fitted.predict_proba(big)
    assert predictions.churn.shape == (len(big),)
    assert predictions.tier.shape == (len(big), len(TIERS))
    assert np.all((predictions.churn > 0) & (predictions.churn < 1))
    np.testing.assert_allclose(predictions.tier.sum(axis=1), 1.0, atol=1e-9)
    small = fitted.predict_proba(inputs)
    np.testing.assert_allclose(predictions.churn[:len(inputs)], small.churn, atol=1e-6)
    assert fitted.base_models_["sequence"]._predictor.traces == 1


def test_save_load_round_trip(data, fitted, tmp_path: Path) -> None:
    inputs, _, _ = data
    path = fitted.save(tmp_path / "ensemble")
    names = {p.name for p in path.iterdir()}
    assert names == {"manifest.json", "meta_learners.joblib", "tabular", "sequence", "boosting"}
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and manifest["n_steps"] == 10
    assert manifest["feature_names"] == list(inputs.feature_names)
    assert manifest["sequence_feature_names"] == list(inputs.sequence_feature_names)
    assert [b["name"] for b in manifest["base_models"]] == ["tabular", "sequence", "boosting"]
    assert set(manifest["oof_metrics"]) == {"tabular", "sequence", "boosting", "ensemble"}
    assert "churn" in manifest["meta_weights"] and manifest["params"]["n_folds"] == 3

    loaded = StackingEnsemble.load(path)
    a, b = fitted.predict_proba(inputs), loaded.predict_proba(inputs)
    np.testing.assert_allclose(b.churn, a.churn, atol=1e-6)
    np.testing.assert_allclose(b.tier, a.tier, atol=1e-6)
    for name, metrics in fitted.oof_metrics_.items():
        assert loaded.oof_metrics_[name] == pytest.approx(metrics)
    assert loaded.base_models["sequence"].get_params() == SequenceModel(**KERAS_FAST).get_params()


def test_other_feature_names_are_refused(data, fitted) -> None:
    inputs, _, _ = data
    renamed = replace(inputs, feature_names=("recency", *inputs.feature_names[1:]))
    with pytest.raises(ValueError, match="StackingEnsemble was fitted on other feature_names"):
        fitted.predict_proba(renamed)


def test_tier_missing_from_training_labels_and_progress_bar(data, capsys) -> None:
    inputs, churn, tier = data
    keep = tier != TIERS.index("platinum")
    ensemble = StackingEnsemble(
        base_models={"deep": BoostingModel(max_iter=30, n_threads=1),
                     "shallow": lambda: BoostingModel(max_iter=30, max_leaf_nodes=4,
                                                      n_threads=1)},
        n_folds=3, progress=True)
    ensemble.fit(inputs.take(keep), churn[keep], tier[keep])
    assert "stacking" in capsys.readouterr().err
    predictions = ensemble.predict_proba(inputs)
    assert predictions.tier.shape == (len(inputs), len(TIERS))
    assert np.all(predictions.tier[:, TIERS.index("platinum")] == 0.0)
    np.testing.assert_allclose(predictions.tier.sum(axis=1), 1.0, atol=1e-9)
    assert set(ensemble.meta_weights_["tier"]["coef"]) == {"bronze", "silver", "gold"}


def test_default_base_models_and_names() -> None:
    assert list(StackingEnsemble()._factories()) == ["tabular", "sequence", "boosting"]
    assert list(StackingEnsemble(use_boosting=False)._factories()) == ["tabular", "sequence"]
    made = StackingEnsemble(seed=7)._factories()["sequence"]()
    assert isinstance(made, SequenceModel) and made.seed == 7
    with pytest.raises(ValueError, match="folder name"):
        StackingEnsemble(base_models={"../x": TabularModel()})._factories()
