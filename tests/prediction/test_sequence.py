"""The GRU over visit sequences: learns, ignores padding, saves, reproduces."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from loyalty.prediction.inputs import TIERS, ModelInputs
from loyalty.prediction.sequence import SequenceModel, build_sequence_network, real_steps
from loyalty.prediction.synthetic import make_inputs

FAST = {"epochs": 5, "batch_size": 32, "learning_rate": 1e-2}


@pytest.fixture(scope="module")
def data() -> tuple[ModelInputs, np.ndarray, np.ndarray]:
    return make_inputs(n=400, n_steps=10, seed=0)


@pytest.fixture(scope="module")
def fitted(data) -> SequenceModel:
    inputs, churn, tier = data
    return SequenceModel(**FAST).fit(inputs.take(slice(0, 300)), churn[:300], tier[:300])


def pad_front(inputs: ModelInputs, extra: int) -> ModelInputs:
    zeros = np.zeros((len(inputs), extra, inputs.sequences.shape[2]), dtype=np.float32)
    return replace(inputs, sequences=np.concatenate([zeros, inputs.sequences], axis=1))


def test_learns_churn_on_held_out_rows(data, fitted) -> None:
    inputs, churn, _ = data
    predictions = fitted.predict_proba(inputs.take(slice(300, 400)))
    assert roc_auc_score(churn[300:], predictions.churn) > 0.75
    assert predictions.tier.shape == (100, len(TIERS))
    assert np.all((predictions.churn >= 0) & (predictions.churn <= 1))
    np.testing.assert_allclose(predictions.tier.sum(axis=1), 1.0, atol=1e-9)
    assert fitted.n_steps_ == 10


def test_padding_at_the_front_changes_nothing(data, fitted) -> None:
    inputs, _, _ = data
    before = fitted.predict_proba(inputs)
    for extra in (1, 5):
        after = fitted.predict_proba(pad_front(inputs, extra))
        np.testing.assert_allclose(after.churn, before.churn, atol=1e-5)
        np.testing.assert_allclose(after.tier, before.tier, atol=1e-5)


def test_padded_steps_are_masked_in_a_fixed_length_network() -> None:
    """Six steps, three of them padding, answer as the same three real steps alone."""
    rng = np.random.default_rng(0)
    seq = np.zeros((2, 6, 3), dtype=np.float32)
    seq[:, 3:] = rng.normal(size=(2, 3, 3))
    seq[:, 3:, 0] = 1.0
    static = rng.normal(size=(2, 2)).astype(np.float32)

    def network(n_steps: int):
        model = build_sequence_network(n_steps, 3, 2, len(TIERS), units=4, static_units=4,
                                       hidden=(4,))
        model.get_layer("sequence_norm").adapt(seq[real_steps(seq)][:, None, :])
        model.get_layer("static_norm").adapt(static)
        return model

    model, short = network(6), network(3)
    short.set_weights(model.get_weights())
    full = model({"sequence": seq, "static": static})["churn"]
    trimmed = short({"sequence": seq[:, 3:], "static": static})["churn"]
    np.testing.assert_allclose(np.asarray(full), np.asarray(trimmed), atol=1e-6)


def test_sequence_scaling_is_adapted_on_real_steps_only(data, fitted) -> None:
    inputs, _, _ = data
    train = inputs.sequences[:300]       # the fit held 15% of these rows out for validation
    layer = fitted.model_.get_layer("sequence_norm")
    mean, variance = (np.asarray(v).reshape(-1) for v in (layer.mean, layer.variance))
    assert mean[0] == 1.0 and variance[0] == 0.0   # "present" is 1 on every real step
    np.testing.assert_allclose(mean, train[real_steps(train)].mean(axis=0), atol=0.05)


def test_save_load_gives_identical_predictions(data, fitted, tmp_path: Path) -> None:
    inputs, _, _ = data
    loaded = SequenceModel.load(fitted.save(tmp_path / "sequence"))
    assert loaded.get_params() == fitted.get_params()
    assert loaded.sequence_feature_names_ == inputs.sequence_feature_names
    a, b = fitted.predict_proba(inputs), loaded.predict_proba(inputs)
    np.testing.assert_allclose(b.churn, a.churn, atol=1e-6)
    np.testing.assert_allclose(b.tier, a.tier, atol=1e-6)


def test_same_seed_same_model(data, fitted) -> None:
    inputs, churn, tier = data
    again = SequenceModel(**FAST).fit(inputs.take(slice(0, 300)), churn[:300], tier[:300])
    a, b = fitted.predict_proba(inputs), again.predict_proba(inputs)
    np.testing.assert_allclose(b.churn, a.churn, atol=1e-5)
    np.testing.assert_allclose(b.tier, a.tier, atol=1e-5)


def test_other_sequence_feature_names_are_refused(data, fitted) -> None:
    inputs, _, _ = data
    renamed = replace(inputs, sequence_feature_names=("present", "gap", *
                                                      inputs.sequence_feature_names[2:]))
    with pytest.raises(ValueError, match="sequence_feature_names"):
        fitted.predict_proba(renamed)


def test_unknown_cell_is_refused() -> None:
    with pytest.raises(ValueError, match="cell"):
        build_sequence_network(None, 3, 2, len(TIERS), cell="transformer")
    assert build_sequence_network(None, 3, 2, len(TIERS), cell="lstm").get_layer("lstm")
