"""Train the churn + tier ensemble as of a date, register it, promote it only if not worse.

The labels of a model trained "as of T" come from (T, T + H], so T must be at least H days
before the data end; by default T is exactly that (the freshest date with complete labels).
Customers are split once, stratified on churn, into training rows and validation rows; the
validation rows score the new model *and* the production model, so the promotion gate
compares the two on the same data.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from loyalty import registry
from loyalty.churn.artifact import ChurnModel
from loyalty.churn.dates import as_of_datetime, data_end
from loyalty.config import Settings
from loyalty.errors import LoyaltyError
from loyalty.prediction._base import json_safe
from loyalty.prediction.inputs import ModelInputs, Predictions

GATE_METRIC = "roc_auc"      # churn ROC-AUC on the validation customers
GATE_TOLERANCE = 0.01
MAX_VISITS = 20              # visits per sequence


@dataclass
class ChurnTrainOutcome:
    version: str
    path: Path
    as_of: date
    metrics: dict[str, Any]
    promoted: bool
    reason: str

    def lines(self) -> list[str]:
        v = self.metrics["validation"]
        return [f"churn model {self.version} (as of {self.as_of}) saved to {self.path}",
                f"  validation: churn ROC-AUC {v['roc_auc']:.3f}, PR-AUC {v['pr_auc']:.3f}, "
                f"Brier {v['brier']:.3f}; tier macro-F1 {v['tier_macro_f1']:.3f}, "
                f"accuracy {v['tier_accuracy']:.3f} ({v['n']:,} customers)",
                ("  promoted to production: " if self.promoted else "  ") + self.reason]


def labelled_inputs(frames, as_of_day: date, settings: Settings, horizon_days: int,
                    max_visits: int = MAX_VISITS):
    """Inputs as of the end of ``as_of_day`` and their labels from the next ``horizon_days``."""
    from loyalty.features import build_inputs
    from loyalty.features.labels import make_labels

    end = data_end(frames.visits, settings.timezone)
    if as_of_day + timedelta(days=horizon_days) > end:
        raise LoyaltyError(f"labels need {horizon_days} days after {as_of_day}, but the data end "
                           f"on {end}: use --as-of {end - timedelta(days=horizon_days)} or earlier")
    t = as_of_datetime(as_of_day, settings.timezone)
    # The data cover their last day to its end, not only to its last visit.
    frames = dataclasses.replace(frames, data_end=pd.Timestamp(
        as_of_datetime(end, settings.timezone)))
    inputs = build_inputs(frames, t, max_visits=max_visits, timezone=settings.timezone,
                          tier_thresholds=settings.tier_thresholds)
    labels = make_labels(frames, t, horizon_days=horizon_days,
                         tier_thresholds=settings.tier_thresholds)
    labels = labels.reindex(inputs.customer_ids)
    if labels["churn"].isna().any():
        raise LoyaltyError("labels and features disagree on which customers exist")
    return inputs, labels["churn"].to_numpy(int), labels["tier"].to_numpy(int)


def validation_metrics(pred: Predictions, churn: np.ndarray, tier: np.ndarray) -> dict[str, Any]:
    from loyalty.metrics import calibration_error, churn_metrics, tier_metrics

    m = churn_metrics(churn, pred.churn)
    t = tier_metrics(tier, pred.tier)
    return {**m, "ece": calibration_error(churn, pred.churn),
            "tier_macro_f1": t["macro_f1"], "tier_accuracy": t["accuracy"]}


def train_churn(engine: Engine, settings: Settings, *, as_of: date | None = None,
                horizon_days: int | None = None, seed: int = 0, n_folds: int = 5,
                validation_fraction: float = 0.2, promote: bool = True, force: bool = False,
                progress: bool = False, ensemble_params: dict[str, Any] | None = None
                ) -> ChurnTrainOutcome:
    """Features -> base models -> ensemble -> validation -> registry (see the module doc)."""
    from loyalty.explain import EnsembleExplainer
    from loyalty.features import load_frames
    from loyalty.prediction.ensemble import StackingEnsemble

    horizon = int(horizon_days or settings.horizon_days)
    frames = load_frames(engine)
    end = data_end(frames.visits, settings.timezone)
    as_of = as_of or end - timedelta(days=horizon)
    inputs, churn, tier = labelled_inputs(frames, as_of, settings, horizon)
    if len(inputs) < 50 or churn.min() == churn.max():
        raise LoyaltyError(f"{len(inputs)} customers as of {as_of}, "
                           f"{int(churn.sum())} of them churned: too few to train on")
    train_idx, val_idx = train_test_split(np.arange(len(inputs)), test_size=validation_fraction,
                                          stratify=churn, random_state=seed)
    ensemble = StackingEnsemble(n_folds=n_folds, seed=seed, progress=progress,
                                **(ensemble_params or {}))
    ensemble.fit(inputs.take(train_idx), churn[train_idx], tier[train_idx])
    val_inputs = inputs.take(val_idx)
    validation = validation_metrics(ensemble.predict_proba(val_inputs), churn[val_idx],
                                    tier[val_idx])
    explainer = EnsembleExplainer(seed=seed).fit(ensemble, inputs.take(train_idx))

    version = registry.new_version()
    path = registry.artifact_dir(settings.model_dir, registry.CHURN, version)
    spec = {"as_of": as_of.isoformat(), "horizon_days": horizon, "timezone": settings.timezone,
            "tier_thresholds": list(settings.tier_thresholds), "max_visits": MAX_VISITS,
            "seed": seed, "train_customers": len(train_idx), "validation_customers": len(val_idx)}
    model = ChurnModel(ensemble, explainer.background_, explainer.background_weights_, spec)
    model.save(path)
    metrics = json_safe({GATE_METRIC: validation["roc_auc"], "validation": validation,
                      "out_of_fold": getattr(ensemble, "oof_metrics_", {})})
    first_visit = frames.visits["visited_at"].min()
    with Session(engine) as session:
        row = registry.register(
            session, kind=registry.CHURN, version=version, path=path, metrics=metrics,
            params={"n_folds": n_folds, "validation_fraction": validation_fraction,
                    "horizon_days": horizon, "tier_thresholds": list(settings.tier_thresholds),
                    "ensemble": repr(ensemble)},
            features={"tabular": list(inputs.feature_names),
                      "sequence": list(inputs.sequence_feature_names),
                      "max_visits": MAX_VISITS},
            data_start=first_visit.tz_convert(settings.timezone).date(), data_end=as_of,
            seed=seed, model_dir=settings.model_dir)
        if promote:
            current_value = _production_score(session, settings, val_inputs, churn[val_idx])
            promoted, reason = registry.promote_if_not_worse(
                session, row, GATE_METRIC, GATE_TOLERANCE, current_value=current_value,
                force=force)
        else:
            promoted, reason = False, "kept as candidate (--no-promote)"
        session.commit()
    return ChurnTrainOutcome(version, path, as_of, metrics, promoted, reason)


def _production_score(session: Session, settings: Settings, inputs: ModelInputs,
                      churn: np.ndarray) -> float | None:
    """The production model's ROC-AUC on these validation customers (None if it cannot say).

    A production model built on other features cannot read these inputs; the gate then falls
    back to its stored score, and says so in the reason.
    """
    from loyalty.metrics import churn_metrics

    current = registry.production(session, registry.CHURN)
    if current is None:
        return None
    try:
        model = ChurnModel.load(registry.resolve_path(settings, current))
        return float(churn_metrics(churn, model.ensemble.predict_proba(inputs).churn)["roc_auc"])
    except (LoyaltyError, ValueError, OSError):
        return None
