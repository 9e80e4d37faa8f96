"""BG/NBD: likelihood and gradient, parameter recovery on simulated data, the conditional
expectation and the no-visit probability against Monte-Carlo simulation, and the properties the
churn benchmark relies on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import check_grad
from scipy.special import hyp2f1
from scipy.stats import gamma

from loyalty.baselines import BGNBD, BaselineInputError, BGNBDParams, features_from_summary
from loyalty.baselines import bgnbd as bg

CDNOW = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)   # FHL (2005), time in weeks


def simulate(n: int, params: BGNBDParams, T_low: float, T_high: float, seed: int,
             horizon: float = 0.0) -> tuple[np.ndarray, ...]:
    """BG/NBD customers first seen at time 0, observed until T ~ U(T_low, T_high): returns
    (x, t_x, T, visits in (T, T + horizon])."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params.r, 1.0 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    T = rng.uniform(T_low, T_high, n)
    x, t_x, future = np.zeros(n), np.zeros(n), np.zeros(n)
    clock = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        clock[idx] += rng.exponential(1.0 / lam[idx])
        ended = clock[idx] > T[idx] + horizon
        alive[idx[ended]] = False
        idx = idx[~ended]
        before = clock[idx] <= T[idx]
        x[idx[before]] += 1
        t_x[idx[before]] = clock[idx[before]]
        future[idx[~before]] += 1
        alive[idx[rng.random(len(idx)) < p[idx]]] = False   # dropout right after a visit
    return x, t_x, T, future


def fitted(params: BGNBDParams) -> BGNBD:
    model = BGNBD()
    model.params_ = params
    return model


def monte_carlo(params: BGNBDParams, x: float, t_x: float, T: float, t: float,
                n: int = 300_000, seed: int = 0) -> tuple[float, float, float]:
    """(E[visits in t], P(no visit in t), P(alive)) given the history, by importance sampling
    (lambda, p) from the prior weighted by the history's likelihood, then simulating the
    future directly: visits = min(Poisson(lambda t), Geometric(p))."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params.r + x, 1.0 / (params.alpha + t_x), n)     # proposal for lambda
    log_prior_ratio = (gamma.logpdf(lam, params.r, scale=1.0 / params.alpha)
                       - gamma.logpdf(lam, params.r + x, scale=1.0 / (params.alpha + t_x)))
    p = rng.beta(params.a, params.b, n)
    log_alive = x * np.log1p(-p) + x * np.log(lam) - lam * T + log_prior_ratio
    log_dead = (np.log(p) + (x - 1) * np.log1p(-p) + x * np.log(lam) - lam * t_x
                + log_prior_ratio) if x > 0 else np.full(n, -np.inf)
    top = max(log_alive.max(), log_dead.max())
    w_alive, w_dead = np.exp(log_alive - top), np.exp(log_dead - top)
    visits = np.minimum(rng.poisson(lam * t), rng.geometric(p))
    total = w_alive.sum() + w_dead.sum()
    return (float((w_alive * visits).sum() / total),
            float((w_dead.sum() + (w_alive * (visits == 0)).sum()) / total),
            float(w_alive.sum() / total))


def test_gradient_matches_finite_differences():
    x, t_x, T, _ = simulate(500, CDNOW, 27, 39, seed=3)
    w = np.ones_like(x)
    ref = np.array([0.0, np.log(30.0), 0.0, 0.0])
    for point in (np.log([0.3, 5.0, 0.7, 2.0]), np.log([2.0, 40.0, 1.5, 0.5])):
        err = check_grad(lambda v: bg._neg_loglik(v, x, t_x, T, w, 0.1, ref)[0],
                         lambda v: bg._neg_loglik(v, x, t_x, T, w, 0.1, ref)[1], point)
        assert err < 1e-5


def test_likelihood_matches_the_paper_formula():
    r, alpha, a, b = 0.5, 8.0, 0.9, 2.5
    x, t_x, T = np.array([0.0, 1.0, 4.0]), np.array([0.0, 3.0, 20.0]), np.array([10.0, 12.0, 30.0])
    from scipy.special import beta as B
    from scipy.special import gamma as G
    direct = (B(a, b + x) / B(a, b) * G(r + x) * alpha**r / (G(r) * (alpha + T) ** (r + x))
              + (x > 0) * B(a + 1, b + np.maximum(x - 1, 0)) / B(a, b) * G(r + x) * alpha**r
              / (G(r) * (alpha + t_x) ** (r + x)))
    model = fitted(BGNBDParams(r, alpha, a, b))
    np.testing.assert_allclose(model.log_likelihood(features_from_summary(x, t_x, T)),
                               np.log(direct), rtol=1e-10)


def test_maximum_likelihood_recovers_simulated_parameters():
    x, t_x, T, _ = simulate(6000, CDNOW, 27, 39, seed=11)
    model = BGNBD().fit(features_from_summary(x, t_x, T))
    assert model.converged_
    got = model.params_.as_array()
    # the purchase-rate parameters are well identified; the dropout ones (a, b) much less so
    np.testing.assert_allclose(got[:2], CDNOW.as_array()[:2], rtol=0.15)
    np.testing.assert_allclose(got[2:], CDNOW.as_array()[2:], rtol=0.35)
    # the fit is at least as likely as the truth on its own data
    truth = fitted(CDNOW).log_likelihood(features_from_summary(x, t_x, T)).mean()
    assert model.log_likelihood_ >= truth - 1e-9


def test_recovery_in_days_with_integer_times():
    params = BGNBDParams(r=1.2, alpha=40.0, a=0.6, b=3.0)
    x, t_x, T, _ = simulate(5000, params, 100, 700, seed=5)
    x, t_x, T = x, np.floor(t_x), np.floor(T)      # whole days, as the feature frame has them
    model = BGNBD().fit(features_from_summary(x, t_x, T))
    np.testing.assert_allclose(model.params_.as_array(), params.as_array(), rtol=0.3)


def test_penalizer_shrinks_towards_the_reference():
    x, t_x, T, _ = simulate(300, CDNOW, 27, 39, seed=2)
    frame = features_from_summary(x, t_x, T)
    plain = BGNBD().fit(frame).params_
    strong = BGNBD(penalizer=10.0).fit(frame).params_
    assert abs(np.log(strong.r)) < abs(np.log(plain.r))
    assert abs(np.log(strong.a)) + abs(np.log(strong.b)) < abs(np.log(plain.a)) + abs(
        np.log(plain.b))


@pytest.mark.parametrize("history", [(0, 0.0, 30.0), (2, 10.0, 35.0), (5, 30.0, 38.0),
                                     (5, 10.0, 38.0), (10, 35.0, 39.0)])
def test_conditional_expectation_and_no_visit_probability_match_monte_carlo(history):
    x, t_x, T = history
    e_mc, p0_mc, alive_mc = monte_carlo(CDNOW, x, t_x, T, t=20.0)
    frame = features_from_summary([x], [t_x], [T])
    model = fitted(CDNOW)
    assert model.expected_visits(20.0, frame)[0] == pytest.approx(e_mc, rel=0.03, abs=2e-3)
    assert model.prob_no_visit(20.0, frame)[0] == pytest.approx(p0_mc, abs=5e-3)
    assert model.p_alive(frame)[0] == pytest.approx(alive_mc, abs=5e-3)


def test_population_forecast_matches_simulated_future():
    x, t_x, T, future = simulate(40_000, CDNOW, 27, 39, seed=7, horizon=26.0)
    frame = features_from_summary(x, t_x, T)
    model = fitted(CDNOW)
    for group in (x == 0, (x >= 1) & (x <= 3), x > 3):
        expected = model.expected_visits(26.0, frame[group]).mean()
        assert expected == pytest.approx(future[group].mean(), rel=0.06)
        p0 = model.prob_no_visit(26.0, frame[group]).mean()
        assert p0 == pytest.approx((future[group] == 0).mean(), abs=0.015)


def test_closed_form_matches_direct_formula_and_quadrature():
    x = np.array([0.0, 1.0, 5.0, 50.0, 400.0])
    T = np.array([10.0, 40.0, 100.0, 300.0, 800.0])
    t = np.full(5, 60.0)
    for params in (CDNOW, BGNBDParams(2.0, 30.0, 1.5, 3.0), BGNBDParams(0.5, 50.0, 0.3, 0.5)):
        closed = bg._conditional_given_alive(t, x, T, params)
        quad = bg._conditional_given_alive_quadrature(t, x, T, params)
        r, alpha, a, b = params.as_array()
        direct = (a + b + x - 1) / (a - 1) * (
            1 - ((alpha + T) / (alpha + T + t)) ** (r + x)
            * hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t)))
        np.testing.assert_allclose(closed, quad, rtol=1e-8)
        np.testing.assert_allclose(closed, direct, rtol=1e-6)


def test_a_equal_to_one_and_very_frequent_customers_stay_finite():
    model = fitted(BGNBDParams(1.0, 10.0, 1.0, 5.0))
    frame = features_from_summary([0, 3, 5000], [0, 50, 999], [100, 100, 1000])
    e = model.expected_visits(60.0, frame)
    assert np.isfinite(e).all() and (e >= 0).all()
    quad = bg._conditional_given_alive_quadrature(np.full(3, 60.0), np.array([0.0, 3, 5000]),
                                                  np.array([100.0, 100, 1000]),
                                                  model.params_)
    np.testing.assert_allclose(e, model.p_alive(frame) * quad, rtol=1e-8)
    # five visits a day: close to the Poisson rate (5001 / 1010 a day), a little less for dropout
    assert 0.9 * 60 * 5001 / 1010 < e[2] < 60 * 5001 / 1010


def test_p_alive_is_one_without_repeat_visits():
    frame = features_from_summary([0, 0, 0], [0, 0, 0], [1.0, 100.0, 1000.0])
    np.testing.assert_array_equal(fitted(CDNOW).p_alive(frame), 1.0)


def test_churn_score_rises_with_recency():
    t_x = np.array([290.0, 250.0, 200.0, 150.0, 100.0, 50.0])     # last visit ever longer ago
    frame = features_from_summary(np.full(6, 5.0), t_x, np.full(6, 300.0))
    model = fitted(BGNBDParams(0.8, 60.0, 0.7, 2.5))
    assert np.all(np.diff(model.expected_visits(60.0, frame)) < 0)
    assert np.all(np.diff(model.predict_proba(frame, 60.0)) > 0)
    assert np.all(np.diff(model.predict_proba(frame, 60.0, score="p_zero")) > 0)


def test_one_time_guests_are_not_all_called_alive():
    # ranks by expected visits: an old one-time guest is a likelier churner than a new one
    frame = features_from_summary([0, 0], [0, 0], [5.0, 400.0])
    score = fitted(BGNBDParams(0.8, 60.0, 0.7, 2.5)).predict_proba(frame, 60.0)
    assert score[1] > score[0]


def test_predict_proba_is_a_probability_and_default_is_exp_of_minus_expected_visits():
    x, t_x, T, _ = simulate(500, CDNOW, 27, 39, seed=4)
    frame = features_from_summary(x, t_x, T, index=pd.RangeIndex(500, name="customer_id"))
    model = BGNBD().fit(frame)
    for score in ("expected_visits", "p_zero"):
        p = model.predict_proba(frame, 10.0, score=score)
        assert p.shape == (500,) and np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(model.predict_proba(frame, 10.0),
                               np.exp(-model.expected_visits(10.0, frame)))


def test_feature_frame_mapping():
    frame = pd.DataFrame({"visits_total": [1.0, 4.0], "tenure_days": [30.0, 200.0],
                          "recency_days": [30.0, 20.0], "other": [0.0, 1.0]})
    s = bg.summary_from_features(frame)
    np.testing.assert_array_equal(s.x, [0.0, 3.0])
    np.testing.assert_array_equal(s.t_x, [0.0, 180.0])
    np.testing.assert_array_equal(s.T, [30.0, 200.0])


def test_errors_are_typed():
    with pytest.raises(BaselineInputError):
        BGNBD().p_alive(features_from_summary([1], [1], [2]))
    with pytest.raises(BaselineInputError):
        BGNBD().fit(pd.DataFrame({"visits_total": [1.0]}))
    model = fitted(CDNOW)
    with pytest.raises(BaselineInputError):
        model.predict_proba(features_from_summary([1], [1], [2]), 10.0, score="p_alive")
    with pytest.raises(BaselineInputError):
        model.expected_visits(-1.0, features_from_summary([1], [1], [2]))


@pytest.mark.parametrize("alpha_beta", [(-0.5, -0.5), (0.5, -0.2), (10.0, -0.9), (0.0, 0.0)])
def test_gauss_jacobi_rule_matches_scipy(alpha_beta):
    from scipy.special import roots_jacobi
    nodes, weights = roots_jacobi(20, *alpha_beta)
    got_nodes, got_weights = bg._gauss_jacobi(20, *alpha_beta)
    np.testing.assert_allclose(got_nodes, np.sort(nodes), atol=1e-12)
    np.testing.assert_allclose(got_weights, weights / weights.sum(), atol=1e-10)
