"""Batched permutation SHAP of a whole ensemble: additivity, exactness, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest

from loyalty.explain import (
    OUTPUT_NAMES,
    VISIT_HISTORY,
    EnsembleExplainer,
    Explanations,
    explain,
)
from loyalty.prediction.inputs import TIERS, ModelInputs, Predictions

M, N, F = 6, 5, 3
NAMES = tuple(f"f{i}" for i in range(M))
SEQ_NAMES = ("present", "spend", "gap")


def make_inputs(n: int, seed: int, m: int = M, id_offset: int = 0) -> ModelInputs:
    rng = np.random.default_rng(seed)
    tab = rng.normal(size=(n, m)).astype(np.float32)
    seq = np.zeros((n, N, F), np.float32)
    visits = rng.integers(1, N + 1, size=n)
    for i, v in enumerate(visits):
        steps = rng.normal(size=(v, F)).astype(np.float32)
        steps[:, 0] = 1.0
        seq[i, N - v:] = steps
    return ModelInputs(np.arange(id_offset, id_offset + n, dtype=np.int64), tab, seq,
                       tuple(f"f{i}" for i in range(m)), SEQ_NAMES)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


class NonlinearModel:
    """Interactions between features and with the sequence; counts its rows and calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.rows = 0

    def predict_proba(self, inputs: ModelInputs) -> Predictions:
        self.calls += 1
        self.rows += len(inputs)
        x = inputs.tabular.astype(np.float64)
        s = inputs.sequences.astype(np.float64)
        visits = s[:, :, 0].sum(axis=1)
        spend = (s[:, :, 1] * s[:, :, 0]).sum(axis=1) / np.maximum(visits, 1)
        last_gap = s[:, -1, 2]
        z = (0.8 * np.tanh(x[:, 0]) - 0.5 * x[:, 1] * x[:, 2] + 0.3 * np.maximum(x[:, 3], 0)
             + 0.4 * x[:, 4] * spend - 0.2 * visits + 0.3 * last_gap * x[:, 5])
        churn = 1 / (1 + np.exp(-z))
        tiers = np.column_stack([x[:, 0] * x[:, 1], np.sin(x[:, 2]) + spend,
                                 x[:, 3] ** 2 / 4, -z + 0.1 * visits])
        return Predictions(churn, _softmax(tiers))


W = np.array([0.5, -1.0, 0.25, 2.0, 0.0, -0.75])
C = 0.3
V = np.random.default_rng(3).normal(size=(M, len(TIERS)))


class LinearModel:
    """Additive in the players: linear in the tabular features plus a term in the sequence."""

    @staticmethod
    def seq_term(seq: np.ndarray) -> np.ndarray:
        s = seq.astype(np.float64)
        return np.sin((s[:, :, 1] * s[:, :, 0]).sum(axis=1))

    def predict_proba(self, inputs: ModelInputs) -> Predictions:
        x = inputs.tabular.astype(np.float64)
        g = self.seq_term(inputs.sequences)
        churn = 0.4 + x @ W + C * g
        tier = 0.25 + x @ V - g[:, None]
        return Predictions(churn, tier)


@pytest.fixture(scope="module")
def train() -> ModelInputs:
    return make_inputs(300, seed=1)


@pytest.fixture(scope="module")
def customers() -> ModelInputs:
    return make_inputs(40, seed=2, id_offset=10_000)


@pytest.fixture(scope="module")
def fitted(train: ModelInputs) -> EnsembleExplainer:
    return EnsembleExplainer(background_size=8, n_permutations=4, seed=0).fit(
        NonlinearModel(), train)


@pytest.fixture(scope="module")
def explained(fitted: EnsembleExplainer, customers: ModelInputs) -> Explanations:
    return fitted.explain(customers)


def test_shapes_names_and_predictions(explained: Explanations, customers: ModelInputs) -> None:
    n = len(customers)
    assert explained.feature_names == (*NAMES, VISIT_HISTORY)
    assert explained.output_names == OUTPUT_NAMES == ("churn", *(f"tier:{t}" for t in TIERS))
    assert explained.values.shape == (n, M + 1, 1 + len(TIERS))
    assert explained.base_values.shape == (1 + len(TIERS),)
    direct = NonlinearModel().predict_proba(customers)
    np.testing.assert_allclose(explained.predictions[:, 0], direct.churn, atol=1e-12)
    np.testing.assert_allclose(explained.predictions[:, 1:], direct.tier, atol=1e-12)
    np.testing.assert_array_equal(explained.customer_ids, customers.customer_ids)
    np.testing.assert_array_equal(explained.feature_values[:, :M], customers.tabular)
    visits = customers.sequences[:, :, 0].sum(axis=1)
    np.testing.assert_array_equal(explained.feature_values[:, M], visits)


def test_additivity_is_exact_for_every_row_and_output(explained: Explanations) -> None:
    total = explained.base_values[None, :] + explained.values.sum(axis=1)
    assert np.abs(total - explained.predictions).max() < 1e-9
    for name in explained.output_names:
        assert explained.additivity_error(name) < 1e-9
    assert explained.additivity_error() < 1e-9


def test_background_is_weighted_real_rows(fitted: EnsembleExplainer, train: ModelInputs) -> None:
    bg = fitted.background_
    assert len(bg) == 8
    assert np.isclose(fitted.background_weights_.sum(), 1.0)
    assert (fitted.background_weights_ > 0).all()
    for row, cid in zip(bg.tabular, bg.customer_ids, strict=True):
        np.testing.assert_array_equal(row, train.tabular[cid])
    out = NonlinearModel().predict_proba(bg)
    expected = fitted.background_weights_ @ np.column_stack([out.churn, out.tier])
    np.testing.assert_allclose(fitted.base_values_, expected, atol=1e-12)
    rand = EnsembleExplainer(background_size=8, background_method="random").fit(
        NonlinearModel(), train)
    assert np.allclose(rand.background_weights_, 1 / 8)


@pytest.mark.parametrize(("method", "n_permutations", "seed"),
                         [("kmeans", 2, 0), ("kmeans", 1, 5), ("random", 3, 7)])
def test_linear_model_gets_closed_form_values(train: ModelInputs, customers: ModelInputs,
                                              method: str, n_permutations: int,
                                              seed: int) -> None:
    ex = EnsembleExplainer(background_size=6, n_permutations=n_permutations, seed=seed,
                           background_method=method).fit(LinearModel(), train)
    out = ex.explain(customers)
    w, bg = ex.background_weights_, ex.background_
    x = customers.tabular.astype(np.float64)
    centred = x - w @ bg.tabular.astype(np.float64)
    g = LinearModel.seq_term(customers.sequences)
    g_centred = g - w @ LinearModel.seq_term(bg.sequences)
    np.testing.assert_allclose(out.values[:, :M, 0], W * centred, atol=1e-9)
    np.testing.assert_allclose(out.values[:, M, 0], C * g_centred, atol=1e-9)
    for t in range(len(TIERS)):
        np.testing.assert_allclose(out.values[:, :M, 1 + t], V[:, t] * centred, atol=1e-9)
        np.testing.assert_allclose(out.values[:, M, 1 + t], -g_centred, atol=1e-9)
    assert out.additivity_error() < 1e-9


class TabularOnly:
    """A nonlinear model of 5 tabular features that ignores the sequences."""

    @staticmethod
    def outputs(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32).astype(np.float64)
        z = np.tanh(x[:, 0] * x[:, 1]) + 0.5 * np.maximum(x[:, 2] - x[:, 3], 0) + 0.3 * x[:, 4]
        churn = 1 / (1 + np.exp(-z))
        tier = _softmax(np.column_stack([x[:, 0], x[:, 1] * x[:, 4], x[:, 2] ** 2, z]))
        return np.column_stack([churn, tier])

    def predict_proba(self, inputs: ModelInputs) -> Predictions:
        out = self.outputs(inputs.tabular)
        return Predictions(out[:, 0], out[:, 1:])


def test_matches_shap_exact_explainer() -> None:
    shap = pytest.importorskip("shap")
    background = make_inputs(10, seed=4, m=5)
    customers = make_inputs(6, seed=5, m=5, id_offset=100)
    masker = shap.maskers.Independent(background.tabular, max_samples=len(background))
    reference = shap.explainers.Exact(TabularOnly.outputs, masker)(customers.tabular)
    ref_values = np.asarray(reference.values)                      # (n, 5, outputs)
    np.testing.assert_allclose(reference.base_values[0],
                               TabularOnly.outputs(background.tabular).mean(axis=0))

    # Every one of the 6! orders of the 5 features + visit history: exact Shapley values.
    exact = explain(TabularOnly(), background, customers, background_size=10,
                    n_permutations=math.factorial(6))
    np.testing.assert_allclose(exact.values[:, :5, :], ref_values, atol=1e-6)
    np.testing.assert_allclose(exact.values[:, 5, :], 0.0, atol=1e-12)
    np.testing.assert_allclose(exact.base_values, reference.base_values[0], atol=1e-9)

    # Sampled antithetic permutations: close, and closer with more of them.
    errors = []
    for p in (2, 100):
        est = explain(TabularOnly(), background, customers, background_size=10,
                      n_permutations=p, seed=1)
        assert est.additivity_error() < 1e-9
        errors.append(np.abs(est.values[:, :5, :] - ref_values).max())
    scale = np.abs(ref_values).max()
    assert errors[1] < 0.05 * scale
    assert errors[1] < errors[0]


def test_deterministic_given_seed(train: ModelInputs, customers: ModelInputs,
                                  explained: Explanations) -> None:
    again = EnsembleExplainer(background_size=8, n_permutations=4, seed=0).fit(
        NonlinearModel(), train).explain(customers)
    np.testing.assert_array_equal(again.values, explained.values)
    np.testing.assert_array_equal(again.base_values, explained.base_values)
    # Another seed: other permutations (same background rows, to isolate them).
    other = EnsembleExplainer(background_size=8, n_permutations=4, seed=0).fit(
        NonlinearModel(), train)
    other.seed = 1
    values = other.explain(customers)
    assert not np.allclose(values.values, explained.values)
    assert values.additivity_error() < 1e-9


def test_chunking_and_batch_do_not_change_values(fitted: EnsembleExplainer,
                                                 customers: ModelInputs,
                                                 explained: Explanations) -> None:
    model = NonlinearModel()
    small = EnsembleExplainer(background_size=8, n_permutations=4, seed=0,
                              max_rows_per_call=400)
    small.fit(model, make_inputs(300, seed=1))
    model.calls = model.rows = 0
    out = small.explain(customers, progress=True)
    per_customer = 4 * M * 8 + 1
    assert small.rows_per_customer() == per_customer
    assert model.rows == len(customers) * per_customer
    assert model.calls == len(customers) // 2            # 400 rows: 2 customers per call
    np.testing.assert_allclose(out.values, explained.values, atol=1e-12)
    # A customer's values do not depend on who else is explained with it.
    subset = fitted.explain(customers.take(np.array([7, 3, 30])))
    np.testing.assert_allclose(subset.values, explained.values[[7, 3, 30]], atol=1e-12)


def test_helpers(explained: Explanations) -> None:
    top = explained.top(0, "churn", k=3)
    assert len(top) == 3
    row = explained.values[0, :, 0]
    assert [abs(c.shap) for c in top] == sorted(np.abs(row), reverse=True)[:3]
    assert top[0].value == explained.feature_dict(0)[top[0].feature]
    assert explained.output_index("gold") == explained.output_index("tier:gold") == 3
    with pytest.raises(KeyError):
        explained.output_index("diamond")
    shap_expl = explained.for_output("tier:gold")
    assert shap_expl.values.shape == (len(explained), M + 1)
    np.testing.assert_allclose(shap_expl.base_values, explained.base_values[3])
    assert list(shap_expl.feature_names) == list(explained.feature_names)
    frame = explained.to_frame("churn")
    assert list(frame.columns) == list(explained.feature_names)
    assert explained.shap_dict(1)[VISIT_HISTORY] == explained.values[1, M, 0]
    reasons = explained.reasons(0, k=2)
    assert len(reasons) <= 2 and all(r.shap > 0 for r in reasons)


def test_errors(train: ModelInputs, fitted: EnsembleExplainer) -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        EnsembleExplainer().explain(train)
    with pytest.raises(ValueError, match="different tabular features"):
        fitted.explain(make_inputs(3, seed=0, m=M - 1))
    with pytest.raises(ValueError):
        EnsembleExplainer(n_permutations=0)
    empty = fitted.explain(train.take(slice(0, 0)))
    assert empty.values.shape == (0, M + 1, len(OUTPUT_NAMES))
