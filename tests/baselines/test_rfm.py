"""RFM logistic regression, gradient boosting on the feature frame, and the tier baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from loyalty.baselines import (
    BaselineInputError,
    FeatureBoosting,
    FeatureBoostingTier,
    MajorityTier,
    RFMLogistic,
)


@pytest.fixture(autouse=True)
def one_thread():
    """HistGradientBoosting's OpenMP threads slow it down many times over on a busy 2-core
    machine; one thread keeps these tests fast and deterministic in speed."""
    with threadpool_limits(limits=1):
        yield


def synthetic(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A feature frame where churn depends on recency and frequency, and tier on spend."""
    rng = np.random.default_rng(seed)
    recency = rng.exponential(40, n)
    visits = rng.integers(1, 60, n).astype(float)
    freq365 = np.minimum(visits, rng.integers(0, 40, n))
    monetary_avg = rng.lognormal(3, 0.5, n)
    noise = rng.normal(0, 5, n)
    X = pd.DataFrame({
        "recency_days": recency, "visits_total": visits, "frequency_365d": freq365,
        "monetary_avg": monetary_avg, "monetary_total": monetary_avg * visits, "noise": noise,
        "has_repeat_visits": visits > 1,
    }, index=pd.RangeIndex(n, name="customer_id"))
    logit = 1.5 * np.log1p(recency) - 1.0 * np.log1p(freq365) - 3.0
    churn = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    tier = np.digitize(monetary_avg * freq365 + rng.normal(0, 20, n), [150, 400, 800])
    return X, churn, tier


def test_rfm_logistic_learns_the_signal():
    X, y, _ = synthetic(2000, 0)
    Xt, yt, _ = synthetic(1000, 1)
    p = RFMLogistic().fit(X, y).predict_proba(Xt)
    assert p.shape == (1000,) and np.all((p > 0) & (p < 1))
    assert roc_auc_score(yt, p) > 0.75
    coefs = RFMLogistic().fit(X, y).model_[-1].coef_[0]
    assert coefs[0] > 0          # longer absence, more churn
    assert coefs[2] < 0          # more visits in the last year, less churn


def test_rfm_logistic_single_class_and_errors():
    X, _, _ = synthetic(50, 2)
    np.testing.assert_array_equal(RFMLogistic().fit(X, np.ones(50)).predict_proba(X), 1.0)
    with pytest.raises(BaselineInputError):
        RFMLogistic().fit(X.drop(columns="monetary_avg"), np.ones(50))
    with pytest.raises(BaselineInputError):
        RFMLogistic().predict_proba(X)
    with pytest.raises(BaselineInputError):
        RFMLogistic().fit(X, np.full(50, 2))


def test_feature_boosting_uses_every_column_and_learns():
    X, y, _ = synthetic(2000, 3)
    Xt, yt, _ = synthetic(1000, 4)
    model = FeatureBoosting().fit(X, y)
    assert model.columns_ == list(X.columns)
    p = model.predict_proba(Xt[list(reversed(X.columns))])     # column order does not matter
    assert p.shape == (1000,) and np.all((p >= 0) & (p <= 1))
    assert roc_auc_score(yt, p) > 0.72


def test_feature_boosting_rejects_text_columns():
    X, y, _ = synthetic(100, 5)
    with pytest.raises(BaselineInputError):
        FeatureBoosting().fit(X.assign(name="x"), y)


def test_tier_boosting_returns_all_four_tiers():
    X, _, tier = synthetic(1500, 6)
    Xt, _, tier_t = synthetic(500, 7)
    model = FeatureBoostingTier().fit(X, tier)
    proba = model.predict_proba(Xt)
    assert proba.shape == (500, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (model.predict(Xt) == tier_t).mean() > 0.6
    # a tier never seen in training gets probability 0, and the columns still line up
    seen = tier != 3
    proba = FeatureBoostingTier().fit(X[seen], tier[seen]).predict_proba(Xt)
    assert proba.shape == (500, 4) and np.all(proba[:, 3] == 0)


def test_majority_tier():
    model = MajorityTier().fit(None, [0, 2, 2, 1, 2])
    np.testing.assert_allclose(model.predict_proba(np.zeros((3, 1)))[0], [0.2, 0.2, 0.6, 0.0])
    np.testing.assert_array_equal(model.predict(np.zeros((3, 1))), [2, 2, 2])
    with pytest.raises(BaselineInputError):
        MajorityTier().fit(None, [0, 4])
