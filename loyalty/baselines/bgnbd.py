"""The BG/NBD model of Fader, Hardie & Lee (2005), "Counting your customers the easy way".

Each customer, while alive, visits as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``;
after every repeat visit they drop out for good with probability ``p ~ Beta(a, b)``. A customer's
history is summarised as ``x`` (repeat visits, i.e. visits after the first), ``t_x`` (time of the
last visit, measured from the first) and ``T`` (age: time from the first visit to the as-of date).
Time is in days throughout, so ``alpha`` is in days too.

From the feature frame: ``x = visits_total - 1``, ``T = tenure_days``, ``t_x = tenure_days -
recency_days``.

The parameters are fitted by maximum likelihood on the log-parameters (L-BFGS-B with the
analytic gradient; the likelihood is computed in log space with ``gammaln`` and log-sum-exp).

**The churn score.** ``predict_proba(X, horizon_days)`` ranks churn by the expected number of
visits in the horizon, as DESIGN.md's "Baselines are fair" asks: the default score is
``exp(-E[X(horizon) | history])``, a monotone (decreasing) transform of the conditional
expected number of visits, i.e. the zero-count probability of a Poisson count with that mean.
``score="p_zero"`` instead gives the model's exact probability of no visit in the horizon,

    P(X(t) = 0 | history) = 1 - P(alive) + P(alive) * ((alpha + T) / (alpha + T + t)) ** (r + x),

which holds because a BG/NBD customer can only drop out right after a visit: one who is alive at
``T`` and makes no visit in ``(T, T + t]`` never had a chance to drop out, so given alive and
``lambda`` the no-visit probability is ``exp(-lambda t)``, and given alive the posterior of
``lambda`` is ``Gamma(r + x, alpha + T)``. Both scores are checked against Monte-Carlo
simulation in the tests. ``p_alive`` alone is deliberately not a churn score: it is exactly 1
for every one-visit customer.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.linalg import eigh_tridiagonal
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1

from loyalty.baselines._columns import BaselineInputError, column, require_columns

COLUMNS = ("visits_total", "tenure_days", "recency_days")
SCORES = ("expected_visits", "p_zero")
_LOG_BOUND = 12.0       # log-parameters are kept within +-12 of their reference value
_QUAD_NODES = 48


@dataclass(frozen=True)
class BGNBDParams:
    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def as_array(self) -> np.ndarray:
        return np.array([self.r, self.alpha, self.a, self.b], dtype=np.float64)


@dataclass(frozen=True)
class Summary:
    """Per-customer BG/NBD summary: repeat visits, time of last visit, age (days)."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray


def summary_from_features(X: pd.DataFrame) -> Summary:
    """``(x, t_x, T)`` from the feature frame's ``visits_total``, ``tenure_days`` and
    ``recency_days``; values are clipped into the model's domain (``0 <= t_x <= T``, ``t_x = 0``
    when ``x = 0``)."""
    require_columns(X, COLUMNS, "BGNBD")
    visits = np.rint(column(X, "visits_total"))
    T = np.maximum(column(X, "tenure_days"), 0.0)
    recency = np.maximum(column(X, "recency_days"), 0.0)
    x = np.maximum(visits - 1.0, 0.0)
    t_x = np.where(x > 0, np.clip(T - recency, 0.0, T), 0.0)
    return Summary(x=x, t_x=t_x, T=T)


def features_from_summary(x, t_x, T, index=None) -> pd.DataFrame:
    """A minimal feature frame for a BG/NBD history: the inverse of `summary_from_features`."""
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    return pd.DataFrame({"visits_total": x + 1.0, "tenure_days": T, "recency_days": T - t_x},
                        index=index)


def _loglik_rows(log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per-row log-likelihood and the posterior share ``w4`` of "dropped out after the last
    visit" (0 when ``x = 0``). ``L = A1 A2 (exp(A3) + exp(A4))`` in the notation of FHL (2005)."""
    r, alpha, a, b = np.exp(log_params)
    pos = x > 0
    xm1 = np.maximum(x - 1.0, 0.0)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.where(pos, np.log(a) - np.log(b + xm1) - (r + x) * np.log(alpha + t_x), -np.inf)
    mix = np.logaddexp(a3, a4)
    return a1 + a2 + mix, np.exp(a4 - mix)


def _neg_loglik(log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                weights: np.ndarray, penalizer: float, ref: np.ndarray
                ) -> tuple[float, np.ndarray]:
    """Weighted mean negative log-likelihood plus ``penalizer * sum((log theta - ref)^2)``, and
    its gradient with respect to the log-parameters."""
    r, alpha, a, b = np.exp(log_params)
    ll, w4 = _loglik_rows(log_params, x, t_x, T)
    w3 = 1.0 - w4
    log_a_T = np.log(alpha + T)
    log_a_tx = np.log(alpha + t_x)
    b_xm1 = b + np.maximum(x - 1.0, 0.0)

    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w3 * log_a_T - w4 * log_a_tx
    d_alpha = r / alpha - w3 * (r + x) / (alpha + T) - w4 * (r + x) / (alpha + t_x)
    d_a = digamma(a + b) - digamma(a + b + x) + w4 / a
    d_b = digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x) - w4 / b_xm1

    total = weights.sum()
    value = -float(weights @ ll) / total
    grad = -np.array([weights @ d_r * r, weights @ d_alpha * alpha,
                      weights @ d_a * a, weights @ d_b * b]) / total
    if penalizer > 0:
        dev = log_params - ref
        value += penalizer * float(dev @ dev)
        grad = grad + 2.0 * penalizer * dev
    return value, grad


def _gauss_jacobi(n: int, alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Jacobi nodes on [-1, 1] for the weight ``(1-u)^alpha (1+u)^beta`` and weights
    normalised to sum to 1 (Golub-Welsch; unlike `scipy.special.roots_jacobi` this does not
    overflow for large ``alpha``)."""
    k = np.arange(n, dtype=np.float64)
    s = 2.0 * k + alpha + beta
    with np.errstate(divide="ignore", invalid="ignore"):
        diag = (beta**2 - alpha**2) / (s * (s + 2.0))
    diag[0] = (beta - alpha) / (alpha + beta + 2.0)
    m = k[1:]
    sm = 2.0 * m + alpha + beta
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.sqrt(4.0 * m * (m + alpha) * (m + beta) * (m + alpha + beta)
                      / (sm**2 * (sm + 1.0) * (sm - 1.0)))
    # first entry with (1 + alpha + beta) cancelled: 0/0 when alpha + beta = -1
    off[0] = np.sqrt(4.0 * (1.0 + alpha) * (1.0 + beta) / ((2.0 + alpha + beta) ** 2
                                                           * (3.0 + alpha + beta)))
    nodes, vectors = eigh_tridiagonal(diag, off)
    weights = vectors[0] ** 2
    return nodes, weights / weights.sum()


def _conditional_given_alive_quadrature(t: np.ndarray, x: np.ndarray, T: np.ndarray,
                                        params: BGNBDParams) -> np.ndarray:
    """``E[X(t) | alive at T, history]`` by Gauss-Jacobi quadrature over ``p ~ Beta(a, b + x)``:
    ``E_p[(1 - ((alpha+T) / (alpha+T+p t))^(r+x)) / p]``. Exact up to quadrature error for
    every ``a > 0`` (the closed form divides by ``a - 1``)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    out = np.empty_like(t)
    for xv in np.unique(x):
        rows = x == xv
        nodes, weights = _gauss_jacobi(_QUAD_NODES, b + xv - 1.0, a - 1.0)
        p = (1.0 + nodes) / 2.0                                   # (n,)
        ratio = np.outer(t[rows] / (alpha + T[rows]), p)          # p t / (alpha + T)
        g = -np.expm1(-(r + xv) * np.log1p(ratio)) / p            # (rows, n)
        out[rows] = g @ weights
    return out


def _conditional_given_alive(t: np.ndarray, x: np.ndarray, T: np.ndarray,
                             params: BGNBDParams) -> np.ndarray:
    """``E[X(t) | alive at T, history]`` from the BG/NBD closed form

        (a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)],
        z = t / (alpha+T+t),

    evaluated through Euler's transformation ``((alpha+T)/(alpha+T+t))^(r+x) 2F1(...) =
    (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)``, which avoids the huge 2F1 values (and their
    overflow) of the direct form for frequent customers. Rows where the closed form is not
    finite, leaves ``[0, (r+x) t / (alpha+T)]`` or ``a`` is too close to 1 are recomputed by
    quadrature."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + T + t)
    with np.errstate(all="ignore"):
        term = np.exp((a - 1.0) * np.log1p(-z)) * hyp2f1(a + b - 1.0 - r, a - 1.0,
                                                          a + b + x - 1.0, z)
        value = (a + b + x - 1.0) / (a - 1.0) * (1.0 - term)
    bound = (r + x) * t / (alpha + T)   # E[Poisson(lambda t) | alive]: dropout only lowers it
    bad = ~np.isfinite(value) | (value < -1e-12) | (value > bound * (1 + 1e-9) + 1e-12)
    if abs(a - 1.0) < 1e-4:
        bad[:] = True
    if bad.any():
        value = value.copy()
        value[bad] = _conditional_given_alive_quadrature(t[bad], x[bad], T[bad], params)
    return np.clip(value, 0.0, None)


def _horizon(t: float | np.ndarray, n: int) -> np.ndarray:
    t_arr = np.broadcast_to(np.asarray(t, dtype=np.float64), (n,)).copy()
    if not np.isfinite(t_arr).all() or (t_arr < 0).any():
        raise BaselineInputError("the horizon must be a finite, non-negative number of days")
    return t_arr


class BGNBD:
    """BG/NBD fitted by maximum likelihood; scores churn in a horizon from expected visits."""

    def __init__(self, penalizer: float = 0.0, max_iter: int = 500) -> None:
        if penalizer < 0:
            raise BaselineInputError("penalizer must be >= 0")
        self.penalizer = float(penalizer)
        self.max_iter = int(max_iter)
        self.params_: BGNBDParams | None = None
        self.log_likelihood_: float | None = None   # mean log-likelihood per customer at the fit
        self.fit_seconds_: float | None = None
        self.converged_: bool | None = None

    # ----------------------------------------------------------------- fitting
    def fit(self, X: pd.DataFrame, y: object = None) -> BGNBD:
        """Fit on a feature frame (``y`` is ignored: the model is unsupervised)."""
        s = summary_from_features(X)
        return self.fit_summary(s.x, s.t_x, s.T)

    def fit_summary(self, x, t_x, T) -> BGNBD:
        """Fit on ``(x, t_x, T)`` arrays directly (non-integer times are allowed)."""
        x, t_x, T = (np.asarray(v, dtype=np.float64).ravel() for v in (x, t_x, T))
        if not (len(x) == len(t_x) == len(T)) or len(x) == 0:
            raise BaselineInputError("x, t_x and T must be non-empty and of equal length")
        if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(T).all()):
            raise BaselineInputError("x, t_x and T must be finite")
        if (x < 0).any() or (t_x < 0).any() or (t_x > T + 1e-9).any():
            raise BaselineInputError("need x >= 0 and 0 <= t_x <= T")
        start = time.perf_counter()
        rows, counts = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
        ux, utx, uT = rows[:, 0], rows[:, 1], rows[:, 2]
        weights = counts.astype(np.float64)

        time_scale = max(float(np.average(uT, weights=weights)), 1e-6)
        ref = np.array([0.0, np.log(time_scale), 0.0, 0.0])
        bounds = [(c - _LOG_BOUND, c + _LOG_BOUND) for c in ref]
        mean_x = max(float(np.average(ux, weights=weights)), 1e-3)
        starts = [np.array([0.0, np.log(time_scale / mean_x), 0.0, 0.0]),
                  np.array([np.log(0.5), np.log(0.5 * time_scale / mean_x), np.log(0.5),
                            np.log(2.0)])]
        best = None
        for x0 in starts:
            res = minimize(_neg_loglik, np.clip(x0, [lo for lo, _ in bounds],
                                                [hi for _, hi in bounds]),
                           args=(ux, utx, uT, weights, self.penalizer, ref), jac=True,
                           method="L-BFGS-B", bounds=bounds,
                           options={"maxiter": self.max_iter, "ftol": 1e-12, "gtol": 1e-8})
            if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
                best = res
        if best is None:
            raise BaselineInputError("BG/NBD likelihood could not be evaluated on this data")
        r, alpha, a, b = np.exp(best.x)
        self.params_ = BGNBDParams(float(r), float(alpha), float(a), float(b))
        self.converged_ = bool(best.success)
        ll, _ = _neg_loglik(best.x, ux, utx, uT, weights, 0.0, ref)
        self.log_likelihood_ = -ll
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def _require_fit(self) -> BGNBDParams:
        if self.params_ is None:
            raise BaselineInputError("BGNBD is not fitted: call fit() first")
        return self.params_

    # ----------------------------------------------------------------- inference
    def log_likelihood(self, X: pd.DataFrame) -> np.ndarray:
        """Per-customer log-likelihood of the history under the fitted parameters."""
        params = self._require_fit()
        s = summary_from_features(X)
        ll, _ = _loglik_rows(np.log(params.as_array()), s.x, s.t_x, s.T)
        return ll

    def p_alive(self, X: pd.DataFrame) -> np.ndarray:
        """P(still alive at T | history); exactly 1 for customers with no repeat visit."""
        params = self._require_fit()
        s = summary_from_features(X)
        return self._p_alive(s, params)

    @staticmethod
    def _p_alive(s: Summary, params: BGNBDParams) -> np.ndarray:
        r, alpha, a, b = params.r, params.alpha, params.a, params.b
        pos = s.x > 0
        log_odds_dead = (np.log(a) - np.log(b + np.maximum(s.x - 1.0, 0.0))
                         + (r + s.x) * (np.log(alpha + s.T) - np.log(alpha + s.t_x)))
        return np.where(pos, expit(-log_odds_dead), 1.0)

    def expected_visits(self, t: float | np.ndarray, X: pd.DataFrame) -> np.ndarray:
        """E[number of visits in (T, T + t] | history] (``t`` in days, scalar or per row)."""
        params = self._require_fit()
        s = summary_from_features(X)
        t_arr = _horizon(t, len(s.x))
        return self._p_alive(s, params) * _conditional_given_alive(t_arr, s.x, s.T, params)

    def prob_no_visit(self, t: float | np.ndarray, X: pd.DataFrame) -> np.ndarray:
        """The model's exact P(no visit in (T, T + t] | history) (see the module docstring)."""
        params = self._require_fit()
        s = summary_from_features(X)
        t_arr = _horizon(t, len(s.x))
        pa = self._p_alive(s, params)
        visit_if_alive = -np.expm1(-(params.r + s.x) * np.log1p(t_arr / (params.alpha + s.T)))
        return np.clip(1.0 - pa * visit_if_alive, 0.0, 1.0)

    def predict_proba(self, X: pd.DataFrame, horizon_days: float = 60.0,
                      score: str = "expected_visits") -> np.ndarray:
        """Churn score in [0, 1] for the horizon, higher = more likely to churn.

        ``score="expected_visits"`` (default): ``exp(-E[visits in horizon | history])``, which
        ranks exactly as the expected number of visits (reversed). ``score="p_zero"``: the exact
        BG/NBD probability of no visit in the horizon."""
        if score == "expected_visits":
            return np.exp(-self.expected_visits(horizon_days, X))
        if score == "p_zero":
            return self.prob_no_visit(horizon_days, X)
        raise BaselineInputError(f"unknown score {score!r}; expected one of {SCORES}")
