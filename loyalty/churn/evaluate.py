"""`loyalty evaluate churn`: the ensemble beside fair baselines, out of time, same rows.

Everything learns as of ``T - H`` (features up to T - H, labels from (T - H, T]) and is tested
as of ``T`` (features up to T, labels from (T, T + H]): the test customers' futures are
never seen, as in production where a model trained on last quarter scores today. Baselines:

- recency heuristic: days since the last visit against the customer's usual gap;
- BG/NBD: expected visits in the next H days (fitted on the histories up to T; no labels);
- logistic regression on recency, frequency and monetary value;
- gradient boosting on the full feature set (also for tier);
- and the ensemble's own base models (tabular, sequence, boosting) as the ablation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from loyalty.churn.dates import data_end
from loyalty.churn.train import labelled_inputs
from loyalty.config import Settings
from loyalty.errors import LoyaltyError

CHURN_COLUMNS = ["model", "roc_auc", "pr_auc", "brier", "log_loss", "tier_macro_f1",
                 "tier_accuracy"]


@dataclass
class ChurnEvaluation:
    train_as_of: date
    test_as_of: date
    horizon_days: int
    train_customers: int
    test_customers: int
    churn_rate: float
    rows: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    # Kept for callers that go on to explain (not serialised): the fitted ensemble and inputs.
    ensemble: Any = field(default=None, repr=False)
    train_inputs: Any = field(default=None, repr=False)
    test_inputs: Any = field(default=None, repr=False)

    def best_baseline(self) -> dict[str, Any]:
        return max((r for r in self.rows if r["kind"] == "baseline"),
                   key=lambda r: r["roc_auc"])

    def verdict(self) -> str:
        ours = next(r for r in self.rows if r["model"] == "ensemble")
        best = self.best_baseline()
        gap = ours["roc_auc"] - best["roc_auc"]
        met = "met" if gap >= 0.02 else "NOT met"
        aucs = [r["roc_auc"] for r in self.rows]
        line = (f"ensemble ROC-AUC {ours['roc_auc']:.3f} vs best baseline ({best['model']}) "
                f"{best['roc_auc']:.3f}: {gap:+.3f} (goal +0.020: {met})")
        if gap < 0.02:
            line += (f"; all {len(aucs)} churn scores lie within {max(aucs) - min(aucs):.3f} "
                     "ROC-AUC of each other: what separates churners here is mostly what "
                     "recency, frequency and money already say")
        return line

    def as_dict(self) -> dict[str, Any]:
        return {"train_as_of": self.train_as_of.isoformat(),
                "test_as_of": self.test_as_of.isoformat(), "horizon_days": self.horizon_days,
                "train_customers": self.train_customers, "test_customers": self.test_customers,
                "churn_rate": self.churn_rate, "rows": self.rows, "seconds": self.seconds}

    def table(self) -> str:
        from loyalty.metrics import format_table

        return format_table(self.rows, CHURN_COLUMNS)


def evaluate_churn(engine: Engine, settings: Settings, *, as_of: date | None = None,
                   horizon_days: int | None = None, seed: int = 0, n_folds: int = 5,
                   progress: bool = False, frames: Any = None,
                   ensemble_params: dict[str, Any] | None = None) -> ChurnEvaluation:
    import time

    from loyalty.baselines import BGNBD, FeatureBoosting, RecencyHeuristic, RFMLogistic
    from loyalty.baselines.rfm import FeatureBoostingTier
    from loyalty.features import load_frames
    from loyalty.metrics import churn_metrics, tier_metrics
    from loyalty.prediction.ensemble import StackingEnsemble

    horizon = int(horizon_days or settings.horizon_days)
    frames = frames if frames is not None else load_frames(engine)
    end = data_end(frames.visits, settings.timezone)
    test_day = as_of or end - timedelta(days=horizon)
    train_day = test_day - timedelta(days=horizon)
    train, y_train, tier_train = labelled_inputs(frames, train_day, settings, horizon)
    test, y_test, tier_test = labelled_inputs(frames, test_day, settings, horizon)
    if y_train.min() == y_train.max() or y_test.min() == y_test.max():
        raise LoyaltyError("churn labels are all the same in one window: pick another --as-of")
    x_train = pd.DataFrame(train.tabular, columns=train.feature_names,
                           index=train.customer_ids)
    x_test = pd.DataFrame(test.tabular, columns=test.feature_names, index=test.customer_ids)

    result = ChurnEvaluation(train_day, test_day, horizon, len(train), len(test),
                             float(y_test.mean()), train_inputs=train, test_inputs=test)

    def add(name: str, kind: str, churn_p: np.ndarray,
            tier_p: np.ndarray | None = None) -> None:
        row: dict[str, Any] = {"model": name, "kind": kind,
                               **churn_metrics(y_test, np.asarray(churn_p, dtype=float))}
        if tier_p is not None:
            t = tier_metrics(tier_test, tier_p)
            row.update(tier_macro_f1=t["macro_f1"], tier_accuracy=t["accuracy"])
        result.rows.append(row)

    started = time.perf_counter()
    ensemble = StackingEnsemble(n_folds=n_folds, seed=seed, progress=progress,
                                **(ensemble_params or {}))
    ensemble.fit(train, y_train, tier_train)
    result.seconds["ensemble_fit"] = time.perf_counter() - started
    result.ensemble = ensemble
    pred = ensemble.predict_proba(test)
    add("ensemble", "ours", pred.churn, pred.tier)
    for name, base in ensemble.base_predictions(test).items():
        add(f"{name} only", "ablation", base.churn, base.tier)

    add("recency heuristic", "baseline", RecencyHeuristic().fit(x_train, y_train)
        .predict_proba(x_test))
    add("BG/NBD expected visits", "baseline",
        BGNBD().fit(x_test).predict_proba(x_test, horizon))
    add("logistic regression on RFM", "baseline",
        RFMLogistic().fit(x_train, y_train).predict_proba(x_test))
    tier_gbm = FeatureBoostingTier().fit(x_train, tier_train)
    add("gradient boosting, all features", "baseline",
        FeatureBoosting().fit(x_train, y_train).predict_proba(x_test),
        tier_gbm.predict_proba(x_test))
    return result
