"""Random but learnable model inputs, for tests and quick experiments.

Churn rises with ``recency_days``, with gaps that lengthen and spend that falls over the last
visits of the sequence, and with poor sentiment; the tier follows ``monetary_avg`` and
``frequency_90d``. Sequences are padded at the front with all-zero steps; real steps have
``present == 1`` in column 0, as in `ModelInputs`.
"""

from __future__ import annotations

import numpy as np

from loyalty.prediction.inputs import TIERS, ModelInputs

FEATURE_NAMES = ("recency_days", "frequency_90d", "monetary_avg", "gap_ratio", "sentiment_mean",
                 "sentiment_missing", "tenure_days", "party_size_avg")
SEQUENCE_FEATURE_NAMES = ("present", "log_gap_days", "log_spend", "sentiment", "is_delivery")
TIER_SHARES = (0.4, 0.3, 0.2, 0.1)  # bronze .. platinum, roughly


def make_inputs(n: int = 400, n_steps: int = 10,
                seed: int = 0) -> tuple[ModelInputs, np.ndarray, np.ndarray]:
    """``(inputs, churn, tier)``: churn as 0/1 int64, tier as int64 indices into `TIERS`."""
    rng = np.random.default_rng(seed)
    declining = rng.random(n) < 0.35          # hidden: engagement fading over the last visits
    n_real = rng.integers(1, n_steps + 1, size=n)
    base_gap = rng.lognormal(np.log(12.0), 0.5, size=n)
    base_spend = rng.lognormal(np.log(25.0), 0.5, size=n)
    taste = rng.normal(0.3, 0.4, size=n)

    sequences = np.zeros((n, n_steps, len(SEQUENCE_FEATURE_NAMES)), dtype=np.float32)
    last_gap = np.zeros(n)
    for i in range(n):
        k = n_real[i]
        steps = np.arange(k)
        fade = np.where(declining[i], np.clip(steps - (k - 4), 0, None), 0)  # last 3 visits
        gaps = base_gap[i] * np.exp(0.5 * fade + rng.normal(0.0, 0.3, k))
        spend = base_spend[i] * np.exp(-0.25 * fade + rng.normal(0.0, 0.2, k))
        sentiment = np.clip(taste[i] - 0.15 * fade + rng.normal(0.0, 0.3, k), -1.0, 1.0)
        sequences[i, n_steps - k:, 0] = 1.0
        sequences[i, n_steps - k:, 1] = np.log1p(gaps)
        sequences[i, n_steps - k:, 2] = np.log1p(spend)
        sequences[i, n_steps - k:, 3] = sentiment
        sequences[i, n_steps - k:, 4] = rng.random(k) < 0.3
        last_gap[i] = gaps[-1]

    recency = rng.exponential(base_gap * np.where(declining, 2.5, 1.0))
    frequency = rng.poisson(90.0 / base_gap * np.where(declining, 0.6, 1.0))
    monetary = base_spend * rng.lognormal(0.0, 0.15, size=n)
    gap_ratio = last_gap / base_gap
    has_reviews = rng.random(n) < 0.7
    sentiment_mean = np.where(has_reviews, np.clip(taste + rng.normal(0, 0.1, n), -1, 1), 0.0)
    tenure = rng.uniform(30.0, 900.0, size=n)
    party = rng.uniform(1.0, 5.0, size=n)
    tabular = np.column_stack([recency, frequency, monetary, gap_ratio, sentiment_mean,
                               ~has_reviews, tenure, party]).astype(np.float32)

    churn_logit = (-2.0 + 0.06 * (recency - 20.0) + 2.8 * declining
                   - 1.5 * np.where(has_reviews, sentiment_mean, 0.0) + rng.normal(0, 0.3, n))
    churn = (rng.random(n) < 1.0 / (1.0 + np.exp(-churn_logit))).astype(np.int64)

    value = np.log(monetary) + 0.08 * frequency + rng.normal(0.0, 0.15, n)
    cuts = np.quantile(value, np.cumsum(TIER_SHARES)[:-1])
    tier = np.searchsorted(cuts, value).astype(np.int64)
    assert tier.max() < len(TIERS)

    inputs = ModelInputs(customer_ids=np.arange(1, n + 1, dtype=np.int64), tabular=tabular,
                         sequences=sequences, feature_names=FEATURE_NAMES,
                         sequence_feature_names=SEQUENCE_FEATURE_NAMES)
    return inputs, churn, tier
