"""SHAP values of the deployed churn / tier ensemble as a whole.

What is computed
----------------
Interventional Shapley values, estimated by antithetic permutation sampling (what shap's
``PermutationExplainer`` computes), batched so that thousands of customers' coalitions go through
the model in a few large ``predict_proba`` calls.

* Players: the M tabular features, by name, plus ONE group ``"visit_history"``: the whole padded
  visit sequence. A coalition either uses the customer's own sequence or the background row's.
* Value function: ``v(S) = sum_b w_b f(x_S, b_~S)`` over K background rows ``b`` with weights
  ``w_b`` (summing to 1): the features in S come from the customer, the others from ``b``.
* Estimate: for each customer, P permutations of the M + 1 players (antithetic pairs: a random
  permutation and its reverse); walking a permutation adds one player at a time and credits it
  with the change in ``v``. The values are the mean over the permutations.
* Outputs: churn probability and every tier probability at once (a vector output: the same
  model calls serve all of them).

Each permutation's credits telescope to ``v(all) - v(empty) = f(x) - sum_b w_b f(b)``, so
``base_value + sum(values) == prediction`` holds exactly (to float64 rounding) whatever P is. For
a model that is additive in the players (linear in the tabular features plus any function of the
sequence) every permutation gives the exact Shapley value ``w_i (x_i - E_b x_i)``, and with
``n_permutations >= (M + 1)!`` every permutation is enumerated once, which is the exact Shapley
value of ``v`` for any model (only practical for a handful of players; used by the tests).

Why this explainer
------------------
* Faithful to what is deployed: it explains the stacking ensemble's own output (Keras MLP + GRU +
  gradient boosting + logistic meta-learner) end to end, not one base model or a surrogate.
* Model-agnostic: it only calls ``predict_proba(ModelInputs) -> Predictions``; retraining or
  swapping a base model needs no change here.
* Exact additivity: base value + contributions = the probability the service shows, per customer
  and per output, by construction (not up to a regression's residual).
* Cost linear in M and K: ``P * M * K`` model rows per customer (plus one for f(x)); with the
  defaults (P=2, K=16, M=39: 1,248 rows) 10,000 customers take about 12.5 M ensemble rows.
* The visit sequence is ONE interpretable player ("visit history"): explaining 30 time steps x 8
  sequence features separately would be both costlier and meaningless to a waiter.

Why not the others
------------------
* ``DeepExplainer`` (DeepLIFT / DeepSHAP) rewrites gradients of TensorFlow ops; it does not
  support Keras 3 models reliably, has no rules for recurrent cells (GRU / LSTM loops, masking),
  so its values break additivity or it raises, and it would only explain one Keras base model,
  not the gradient boosting or the meta-learner on top.
* ``TreeExplainer`` is exact and fast but only for tree models: it could explain the gradient
  boosting member alone, not the ensemble.
* ``KernelExplainer`` is model-agnostic but far too slow (thousands of evaluations per customer
  on an unbatched path, each with the whole background) and its weighted regression only
  enforces additivity as a constraint on a noisy fit: with few samples the individual values
  are noisy and the fit can be poor.

Background
----------
``fit`` keeps K rows of the training inputs. By default (``background_method="kmeans"``) they
are k-means medoids: the training rows are standardised (tabular features plus the log number of
visits, so sequences are represented), clustered into K groups, and the real row nearest each
centroid is kept, weighted by its cluster's share of the data. Real rows keep each background
row's tabular features and sequence consistent with one another (a centroid would be an
impossible customer), and weighting by cluster size makes the K rows a stratified sample: the base
value and ``v(S)`` are closer to the full-data expectation than with K random rows (measured: see
the table above ``DEFAULT_BACKGROUND_SIZE``). ``background_method="random"`` keeps a seeded
uniform sample instead.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np
from tqdm.auto import tqdm

from loyalty.prediction.inputs import TIERS, ModelInputs, Predictions

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from loyalty.explain.reasons import Reason

VISIT_HISTORY = "visit_history"
OUTPUT_NAMES: tuple[str, ...] = ("churn", *(f"tier:{t}" for t in TIERS))

# Defaults, from a measured accuracy / speed trade-off: a nonlinear stand-in ensemble (MLP on the
# 39 named features + GRU on the visit sequence), 100 customers, error = RMS distance (churn
# probability; the values themselves have RMS 0.026) to reference values from a 512-row random
# background with 16 permutations; "top-3" = share of each customer's three largest risk
# contributions that the reference also ranks top three. Mean of 4 seeds:
#
#   K, P  (k-means)   rows/customer    RMS error   top-3    |  random K rows: RMS   top-3
#   8, 2                   624          0.0126     0.70     |                0.0139  0.67
#   4, 4                   624          0.0121     0.74     |                0.0150  0.66
#   16, 2                 1248          0.0100     0.77     |                0.0110  0.74
#   8, 4                  1248          0.0106     0.75     |                0.0122  0.71
#   32, 2                 2496          0.0089     0.80     |                0.0093  0.75
#   16, 4                 2496          0.0080     0.80     |                0.0093  0.77
#
# k-means medoids beat random rows at every size; at equal cost more background rows beat more
# permutations. K=16, P=2 (one antithetic pair) costs 1,248 ensemble rows per customer: 12.5 M
# rows for 10,000 customers, about 3 minutes at the ensemble's ~70k rows/s (GRU-bound) on two
# cores, inside the 5-minute budget; K=8 halves that at ~25 % more error. Measured on 2 cores,
# 10,000 customers (N=30 steps x 6 sequence features): 226 s with a numpy stand-in ensemble
# running 55k rows/s, 124 s at 100k rows/s; the explainer's own work (building the coalition
# rows, averaging) is 4.4 s of that.
DEFAULT_BACKGROUND_SIZE = 16
DEFAULT_N_PERMUTATIONS = 2
# Large enough that Keras' per-call overhead vanishes, small enough that one call's inputs
# (rows x (M + N x F) float32) stay a few hundred MB.
DEFAULT_MAX_ROWS_PER_CALL = 200_000
DEFAULT_MAX_BYTES_PER_CALL = 512 * 2**20
# At most this many training rows go into the k-means that picks the background.
_KMEANS_MAX_ROWS = 20_000


class ProbabilisticModel(Protocol):
    """Anything that answers model inputs with churn and tier probabilities."""

    def predict_proba(self, inputs: ModelInputs) -> Predictions: ...


class Contribution(NamedTuple):
    feature: str
    shap: float
    value: float


@dataclass(frozen=True)
class Explanations:
    """SHAP values of n customers for every output, and what they add up to.

    ``values[i, j, o]`` is feature ``feature_names[j]``'s contribution to output
    ``output_names[o]`` for customer i; ``base_values[o] + values[i, :, o].sum() ==
    predictions[i, o]``. ``feature_values`` holds the customers' tabular rows, with the number of
    visits present in the ``visit_history`` column.
    """

    customer_ids: np.ndarray            # (n,)
    feature_names: tuple[str, ...]      # M + 1, the last is "visit_history"
    output_names: tuple[str, ...]       # ("churn", "tier:bronze", ...)
    base_values: np.ndarray             # (n_outputs,)
    values: np.ndarray                  # (n, M + 1, n_outputs)
    predictions: np.ndarray             # (n, n_outputs)
    feature_values: np.ndarray          # (n, M + 1)

    def __len__(self) -> int:
        return len(self.customer_ids)

    def output_index(self, output: str | int) -> int:
        """Position of ``output``: a name ("churn", "tier:gold", or just "gold") or an index."""
        if isinstance(output, (int, np.integer)):
            if not -len(self.output_names) <= output < len(self.output_names):
                raise IndexError(f"output {output} out of range")
            return int(output) % len(self.output_names)
        for candidate in (output, f"tier:{output}"):
            if candidate in self.output_names:
                return self.output_names.index(candidate)
        raise KeyError(f"unknown output {output!r}; known: {', '.join(self.output_names)}")

    def for_output(self, output: str | int = "churn") -> Any:
        """One output's values as a ``shap.Explanation``, so shap's own plots can draw it."""
        import shap

        o = self.output_index(output)
        return shap.Explanation(
            values=self.values[:, :, o],
            base_values=np.full(len(self), self.base_values[o]),
            data=self.feature_values,
            feature_names=list(self.feature_names),
            output_names=self.output_names[o],
        )

    def additivity_error(self, output: str | int | None = None) -> float:
        """Largest |base value + sum of values - prediction| over customers (and outputs)."""
        gap = self.base_values[None, :] + self.values.sum(axis=1) - self.predictions
        if output is not None:
            gap = gap[:, self.output_index(output)]
        return float(np.abs(gap).max()) if gap.size else 0.0

    def top(self, i: int, output: str | int = "churn", k: int = 5) -> list[Contribution]:
        """Customer i's k largest contributions to ``output`` by absolute value."""
        o = self.output_index(output)
        row = self.values[i, :, o]
        order = np.argsort(-np.abs(row), kind="stable")[:k]
        return [Contribution(self.feature_names[j], float(row[j]),
                             float(self.feature_values[i, j])) for j in order]

    def shap_dict(self, i: int, output: str | int = "churn") -> dict[str, float]:
        o = self.output_index(output)
        return dict(zip(self.feature_names, map(float, self.values[i, :, o]), strict=True))

    def feature_dict(self, i: int) -> dict[str, float]:
        return dict(zip(self.feature_names, map(float, self.feature_values[i]), strict=True))

    def reasons(self, i: int, k: int = 3, language: str = "en",
                protective: bool = False) -> list[Reason]:
        """Customer i's churn reason codes (see `loyalty.explain.reasons.reason_codes`)."""
        from loyalty.explain.reasons import protective_reasons, reason_codes

        fn = protective_reasons if protective else reason_codes
        return fn(self.feature_dict(i), self.shap_dict(i, "churn"), k=k, language=language)

    def to_frame(self, output: str | int = "churn") -> pd.DataFrame:
        """One output's values, one row per customer, one column per feature."""
        import pandas as pd

        o = self.output_index(output)
        frame = pd.DataFrame(self.values[:, :, o], columns=list(self.feature_names),
                             index=pd.Index(self.customer_ids, name="customer_id"))
        return frame


def _outputs(predictions: Predictions, n: int) -> np.ndarray:
    """Predictions as one (n, 1 + len(TIERS)) float64 matrix."""
    churn = np.asarray(predictions.churn, dtype=np.float64).reshape(-1)
    tier = np.asarray(predictions.tier, dtype=np.float64)
    if churn.shape != (n,) or tier.shape != (n, len(TIERS)):
        raise ValueError(f"model answered churn {churn.shape} and tier {tier.shape} for {n} "
                         f"rows; expected ({n},) and ({n}, {len(TIERS)})")
    return np.column_stack([churn, tier])


def _visit_counts(sequences: np.ndarray) -> np.ndarray:
    """Number of real (not padding) steps: padded steps are all zeros, real ones never are."""
    return (sequences != 0).any(axis=2).sum(axis=1).astype(np.float64)


class EnsembleExplainer:
    """Batched antithetic permutation SHAP for any ``predict_proba(ModelInputs)`` model.

    ``background_size`` (K) rows of the training inputs stand in for "feature absent";
    ``n_permutations`` (P) permutations per customer (antithetic pairs; P >= (M + 1)! enumerates
    all of them: exact Shapley values). Each customer costs ``P * M * K + 1`` model rows; customers
    are processed in chunks of at most ``max_rows_per_call`` rows (and ``max_bytes_per_call``
    bytes of inputs) per ``predict_proba`` call. Results depend on ``seed`` and each customer's
    id, never on chunking or on which other customers are explained alongside.
    """

    def __init__(self, background_size: int = DEFAULT_BACKGROUND_SIZE,
                 n_permutations: int = DEFAULT_N_PERMUTATIONS, seed: int = 0,
                 max_rows_per_call: int = DEFAULT_MAX_ROWS_PER_CALL,
                 background_method: str = "kmeans",
                 max_bytes_per_call: int = DEFAULT_MAX_BYTES_PER_CALL) -> None:
        if background_size < 1:
            raise ValueError("background_size must be at least 1")
        if n_permutations < 1:
            raise ValueError("n_permutations must be at least 1")
        if max_rows_per_call < 1 or max_bytes_per_call < 1:
            raise ValueError("max_rows_per_call and max_bytes_per_call must be positive")
        if background_method not in ("kmeans", "random"):
            raise ValueError("background_method must be 'kmeans' or 'random'")
        self.background_size = background_size
        self.n_permutations = n_permutations
        self.seed = seed
        self.max_rows_per_call = max_rows_per_call
        self.max_bytes_per_call = max_bytes_per_call
        self.background_method = background_method

    # ---- fitting ---------------------------------------------------------------------------

    def fit(self, model: ProbabilisticModel, background_inputs: ModelInputs,
            background_weights: np.ndarray | None = None) -> EnsembleExplainer:
        """Pick and keep the background rows (``background_``, ``background_weights_``) and the
        base values ``base_values_`` (weighted mean model output over them).

        With ``background_weights`` the rows are taken as the background as they are (a
        background chosen earlier and stored with the model, so its explanations keep the
        same base value).
        """
        n = len(background_inputs)
        if n == 0:
            raise ValueError("background_inputs is empty")
        if background_weights is not None:
            weights = np.asarray(background_weights, dtype=np.float64)
            if weights.shape != (n,) or np.any(weights < 0) or not np.isclose(weights.sum(), 1):
                raise ValueError("background_weights must be n non-negative weights summing to 1")
            index = np.arange(n)
        else:
            index, weights = self._select_background(background_inputs)
        self.model_ = model
        self.background_ = background_inputs.take(index)
        self.background_weights_ = weights
        self.feature_names_ = tuple(background_inputs.feature_names)
        self.sequence_feature_names_ = tuple(background_inputs.sequence_feature_names)
        self.players_ = (*self.feature_names_, VISIT_HISTORY)
        out = _outputs(model.predict_proba(self.background_), len(index))
        self.base_values_ = weights @ out
        return self

    def _select_background(self, inputs: ModelInputs) -> tuple[np.ndarray, np.ndarray]:
        n, k = len(inputs), self.background_size
        if n <= k:
            return np.arange(n), np.full(n, 1.0 / n)
        rng = np.random.default_rng(self.seed)
        if self.background_method == "random":
            index = np.sort(rng.choice(n, size=k, replace=False))
            return index, np.full(k, 1.0 / k)

        from sklearn.cluster import KMeans

        data = np.column_stack([inputs.tabular.astype(np.float64),
                                np.log1p(_visit_counts(inputs.sequences))])
        scale = data.std(axis=0)
        data = (data - data.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
        sample = (np.sort(rng.choice(n, size=_KMEANS_MAX_ROWS, replace=False))
                  if n > _KMEANS_MAX_ROWS else np.arange(n))
        with warnings.catch_warnings():  # fewer distinct rows than k: empty clusters, dropped
            warnings.simplefilter("ignore")
            km = KMeans(n_clusters=k, n_init=3, random_state=self.seed).fit(data[sample])
        labels = km.labels_
        index, counts = [], []
        for c in range(k):
            members = sample[labels == c]
            if len(members) == 0:
                continue
            dist = ((data[members] - km.cluster_centers_[c]) ** 2).sum(axis=1)
            index.append(members[int(np.argmin(dist))])
            counts.append(len(members))
        order = np.argsort(index)
        w = np.asarray(counts, dtype=np.float64)[order]
        return np.asarray(index)[order], w / w.sum()

    # ---- explaining ------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "base_values_"):
            raise RuntimeError("EnsembleExplainer is not fitted: call fit(model, background)")

    def rows_per_customer(self, n_features: int | None = None) -> int:
        """Model rows one customer costs: P * M * K coalitions plus f(x) itself."""
        self._check_fitted()
        m = len(self.feature_names_) if n_features is None else n_features
        return self._n_perms(m + 1) * m * len(self.background_) + 1

    def _n_perms(self, n_players: int) -> int:
        if self.n_permutations >= math.factorial(n_players):
            return math.factorial(n_players)
        return self.n_permutations

    def _permutations(self, customer_ids: np.ndarray, n_players: int) -> np.ndarray:
        """(n, P, n_players) permutations: all of them, or antithetic pairs seeded per customer
        by (seed, customer id), so a customer's values do not depend on its batch."""
        if self.n_permutations >= math.factorial(n_players):
            every = np.array(list(itertools.permutations(range(n_players))), dtype=np.intp)
            return np.broadcast_to(every, (len(customer_ids), *every.shape))
        p = self.n_permutations
        out = np.empty((len(customer_ids), p, n_players), dtype=np.intp)
        ids = np.asarray(customer_ids).astype(np.int64).view(np.uint64)
        for i, cid in enumerate(ids):
            rng = np.random.default_rng([self.seed, int(cid)])
            for j in range(0, p, 2):
                perm = rng.permutation(n_players)
                out[i, j] = perm
                if j + 1 < p:
                    out[i, j + 1] = perm[::-1]
        return out

    def explain(self, inputs: ModelInputs, progress: bool = False) -> Explanations:
        """SHAP values of every customer in ``inputs`` for churn and each tier probability."""
        self._check_fitted()
        if tuple(inputs.feature_names) != self.feature_names_:
            raise ValueError("inputs have different tabular features from the background")
        if inputs.sequences.shape[1:] != self.background_.sequences.shape[1:] or \
                tuple(inputs.sequence_feature_names) != self.sequence_feature_names_:
            raise ValueError(f"inputs have sequences of shape {inputs.sequences.shape[1:]}, the "
                             f"background {self.background_.sequences.shape[1:]}")
        n, m = len(inputs), len(self.feature_names_)
        n_players, n_out = m + 1, len(OUTPUT_NAMES)
        per_customer = self.rows_per_customer()
        row_bytes = 4 * (m + int(np.prod(inputs.sequences.shape[1:])))
        max_rows = min(self.max_rows_per_call, self.max_bytes_per_call // max(row_bytes, 1))
        chunk = max(1, max_rows // per_customer)

        values = np.empty((n, n_players, n_out))
        predictions = np.empty((n, n_out))
        with tqdm(total=n, desc="SHAP", unit="customer", disable=not progress) as bar:
            for start in range(0, n, chunk):
                part = inputs.take(slice(start, start + chunk))
                values[start:start + len(part)], predictions[start:start + len(part)] = \
                    self._explain_chunk(part)
                bar.update(len(part))

        feature_values = np.column_stack([inputs.tabular.astype(np.float64),
                                          _visit_counts(inputs.sequences)])
        return Explanations(
            customer_ids=np.asarray(inputs.customer_ids).copy(),
            feature_names=self.players_,
            output_names=OUTPUT_NAMES,
            base_values=self.base_values_.copy(),
            values=values,
            predictions=predictions,
            feature_values=feature_values,
        )

    def _explain_chunk(self, part: ModelInputs) -> tuple[np.ndarray, np.ndarray]:
        c, m = len(part), len(self.feature_names_)
        n_players = m + 1
        bg = self.background_
        k = len(bg)
        perms = self._permutations(part.customer_ids, n_players)           # (c, P, m+1)
        p = perms.shape[1]
        rank = np.argsort(perms, axis=2)                                    # player -> step
        # Coalitions after 1..m steps of each walk (the empty and the full one need no rows:
        # v(empty) is the base value, v(all) = f(x)).
        steps = np.arange(1, n_players)
        member = rank[:, :, None, :] < steps[None, None, :, None]           # (c, P, m, m+1)

        n_rows = c * p * m * k
        tab = np.empty((n_rows + c, m), dtype=np.float32)
        body = tab[:n_rows].reshape(c, p, m, k, m)
        body[...] = bg.tabular[None, None, None]
        np.copyto(body, part.tabular[:, None, None, None, :],
                  where=member[:, :, :, None, :m])
        tab[n_rows:] = part.tabular

        seq_shape = part.sequences.shape[1:]
        seq = np.empty((n_rows + c, *seq_shape), dtype=np.float32)
        sbody = seq[:n_rows].reshape(c, p, m, k, *seq_shape)
        sbody[...] = bg.sequences[None, None, None]
        np.copyto(sbody, part.sequences[:, None, None, None],
                  where=member[:, :, :, None, m, None, None])
        seq[n_rows:] = part.sequences

        ids = np.concatenate([np.repeat(np.asarray(part.customer_ids), p * m * k),
                              np.asarray(part.customer_ids)])
        rows = ModelInputs(ids, tab, seq, self.feature_names_, self.sequence_feature_names_)
        out = _outputs(self.model_.predict_proba(rows), n_rows + c)
        del rows, tab, seq, body, sbody

        v = np.einsum("cpmko,k->cpmo", out[:n_rows].reshape(c, p, m, k, -1),
                      self.background_weights_)
        fx = out[n_rows:]
        n_out = fx.shape[1]
        walk = np.concatenate([
            np.broadcast_to(self.base_values_, (c, p, 1, n_out)),
            v,
            np.broadcast_to(fx[:, None, None, :], (c, p, 1, n_out)),
        ], axis=2)                                                          # (c, P, m+2, out)
        credit = np.diff(walk, axis=2)                                      # step j's player
        values = np.take_along_axis(credit, rank[..., None], axis=2).mean(axis=1)
        return values, fx


def explain(model: ProbabilisticModel, background_inputs: ModelInputs, inputs: ModelInputs,
            progress: bool = False, **options: Any) -> Explanations:
    """One-shot helper: fit an `EnsembleExplainer` on ``background_inputs`` and explain."""
    return EnsembleExplainer(**options).fit(model, background_inputs).explain(inputs, progress)


__all__ = [
    "DEFAULT_BACKGROUND_SIZE", "DEFAULT_N_PERMUTATIONS", "OUTPUT_NAMES", "VISIT_HISTORY",
    "Contribution", "EnsembleExplainer", "Explanations", "ProbabilisticModel", "explain",
]
