"""The synthetic inputs keep the `ModelInputs` contract and carry a signal to learn."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from loyalty.prediction.inputs import TIERS
from loyalty.prediction.synthetic import make_inputs


def test_shapes_names_and_labels() -> None:
    inputs, churn, tier = make_inputs(n=120, n_steps=7, seed=3)
    assert len(inputs) == 120
    assert inputs.tabular.shape == (120, len(inputs.feature_names))
    assert inputs.sequences.shape == (120, 7, len(inputs.sequence_feature_names))
    assert inputs.tabular.dtype == np.float32 and inputs.sequences.dtype == np.float32
    assert inputs.feature_names[:5] == ("recency_days", "frequency_90d", "monetary_avg",
                                        "gap_ratio", "sentiment_mean")
    assert inputs.sequence_feature_names[0] == "present"
    assert set(np.unique(churn)) == {0, 1}
    assert set(np.unique(tier)) == set(range(len(TIERS)))


def test_sequences_are_padded_at_the_front() -> None:
    inputs, _, _ = make_inputs(n=200, n_steps=8, seed=1)
    present = inputs.sequences[:, :, 0]
    real = np.any(inputs.sequences != 0, axis=-1)
    assert np.array_equal(real, present == 1)           # real steps are exactly present == 1
    assert np.all(np.diff(present, axis=1) >= 0)         # zeros first, then ones
    assert present[:, -1].all()                          # everyone has a last visit
    assert (present.sum(axis=1) < 8).any()               # and some are padded


def test_same_seed_same_data() -> None:
    a, churn_a, tier_a = make_inputs(n=50, seed=5)
    b, churn_b, tier_b = make_inputs(n=50, seed=5)
    c, _, _ = make_inputs(n=50, seed=6)
    assert np.array_equal(a.tabular, b.tabular) and np.array_equal(a.sequences, b.sequences)
    assert np.array_equal(churn_a, churn_b) and np.array_equal(tier_a, tier_b)
    assert not np.array_equal(a.tabular, c.tabular)


def test_churn_is_learnable_from_the_tabular_features() -> None:
    inputs, churn, _ = make_inputs(n=1000, seed=0)
    model = LogisticRegression(max_iter=2000).fit(inputs.tabular[:700], churn[:700])
    assert roc_auc_score(churn[700:], model.predict_proba(inputs.tabular[700:])[:, 1]) > 0.75
