"""Recency heuristic: recency measured against the customer's own rhythm."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalty.baselines import BaselineInputError, RecencyHeuristic


def frame(recency, visits, tenure, gap=None) -> pd.DataFrame:
    recency, visits, tenure = (np.asarray(v, dtype=float) for v in (recency, visits, tenure))
    if gap is None:
        gap = np.where(visits > 1, (tenure - recency) / np.maximum(visits - 1, 1), tenure)
    return pd.DataFrame({"recency_days": recency, "visits_total": visits,
                         "tenure_days": tenure, "gap_mean_days": gap},
                        index=pd.RangeIndex(len(recency), name="customer_id"))


def test_lapsing_customer_ranks_above_regular():
    # both last came 20 days ago; one usually comes weekly (lapsing), one monthly (on time)
    X = frame(recency=[20, 20], visits=[30, 10], tenure=[223, 290])
    score = RecencyHeuristic().fit(X).predict_proba(X)
    assert score[0] > score[1]
    # a regular who came yesterday is the least likely churner of all
    X = frame(recency=[20, 1, 20], visits=[30, 30, 10], tenure=[223, 204, 290])
    score = RecencyHeuristic().fit(X).predict_proba(X)
    assert score[1] < score[2] < score[0]


def test_simulated_population_ranks_lapsers_first():
    rng = np.random.default_rng(0)
    n = 400
    gap = rng.uniform(5, 60, n)
    visits = rng.integers(2, 30, n).astype(float)
    lapsed = rng.random(n) < 0.5
    recency = np.where(lapsed, gap * rng.uniform(3, 8, n), gap * rng.uniform(0, 0.8, n))
    tenure = recency + gap * (visits - 1)
    X = frame(recency, visits, tenure, gap)
    score = RecencyHeuristic().fit(X).predict_proba(X)
    from sklearn.metrics import roc_auc_score
    assert roc_auc_score(lapsed, score) > 0.95


def test_one_visit_customers_use_the_population_median_gap():
    X = frame(recency=[10, 10, 10, 40], visits=[5, 3, 1, 1], tenure=[90, 30, 10, 40])
    model = RecencyHeuristic().fit(X)
    assert model.prior_gap_ == pytest.approx(np.median([20.0, 10.0]))
    gap = model.effective_gap(X)
    assert gap[2] == gap[3] == pytest.approx(15.0)
    # shrinkage: four gaps of 20 days and one pseudo-gap of 15 days
    assert gap[0] == pytest.approx((4 * 20 + 15) / 5)
    score = model.predict_proba(X)
    assert score[3] > score[2]                       # same prior gap, longer absence


def test_scores_are_probabilities_and_fit_is_optional():
    X = frame(recency=[0, 1e6, 5, 0], visits=[1, 1, 2, 50], tenure=[0, 1e6, 5, 100],
              gap=[0, 1e6, 0, 2])
    score = RecencyHeuristic().predict_proba(X)
    assert score.shape == (4,)
    assert np.all((score >= 0) & (score <= 1)) and np.isfinite(score).all()
    assert score[0] == 0.0 and score[1] == pytest.approx(1.0)


def test_gap_derived_from_tenure_when_no_gap_column():
    X = frame(recency=[10, 10], visits=[5, 1], tenure=[90, 10]).drop(columns="gap_mean_days")
    assert RecencyHeuristic(prior_strength=0).fit(X).effective_gap(X)[0] == pytest.approx(20.0)


def test_missing_columns_raise_a_typed_error():
    with pytest.raises(BaselineInputError):
        RecencyHeuristic().fit(pd.DataFrame({"recency_days": [1.0]}))
