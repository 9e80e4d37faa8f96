"""Predict and explain every customer with the production model, into the database.

Re-running for the same model and as-of date replaces that run's rows (one transaction), so a
killed or repeated batch never leaves duplicates or half a run behind.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import Engine, delete, insert
from sqlalchemy.orm import Session

from loyalty import registry
from loyalty.churn.artifact import ChurnModel
from loyalty.churn.dates import as_of_datetime, data_end
from loyalty.config import Settings
from loyalty.errors import NotFoundError
from loyalty.explain.reasons import one_line, protective_reasons, reason_codes
from loyalty.models import Explanation, ModelVersion, Prediction
from loyalty.prediction.inputs import TIERS

CHUNK = 2_000  # customers written per insert


@dataclass
class PredictOutcome:
    version: str
    as_of: date
    customers: int
    mean_churn: float
    tiers: dict[str, int]
    additivity_error: float

    def lines(self) -> list[str]:
        mix = ", ".join(f"{k} {v:,}" for k, v in self.tiers.items())
        return [f"predicted {self.customers:,} customers as of {self.as_of} with churn model "
                f"{self.version}: mean churn probability {self.mean_churn:.3f}; tiers: {mix}",
                f"  SHAP values add up to the predictions within {self.additivity_error:.1e}"]


def model_row(session: Session, version: str | None) -> ModelVersion:
    if version:
        return registry.get(session, registry.CHURN, version)
    row = registry.production(session, registry.CHURN)
    if row is None:
        raise NotFoundError("no churn model in production: run `loyalty train` first")
    return row


def predict_all(engine: Engine, settings: Settings, *, as_of: date | None = None,
                version: str | None = None, progress: bool = False) -> PredictOutcome:
    """Predictions, SHAP explanations and reason codes for every customer with a visit."""
    from loyalty.features import build_inputs, load_frames

    with Session(engine) as session:
        row = model_row(session, version)
        row_id, row_version = row.id, row.version
        row_path = registry.resolve_path(settings, row)
    model = ChurnModel.load(row_path)
    frames = load_frames(engine)
    as_of = as_of or data_end(frames.visits, settings.timezone)
    t = as_of_datetime(as_of, model.spec.get("timezone", settings.timezone))
    inputs = build_inputs(frames, t, max_visits=model.max_visits,
                          timezone=model.spec.get("timezone", settings.timezone),
                          tier_thresholds=model.tier_thresholds)
    # The explainer evaluates the ensemble on every customer anyway: its predictions are the
    # ones stored, so each prediction is exactly what its SHAP values add up to.
    expl = model.explainer().explain(inputs, progress=progress)
    churn_out = expl.output_index("churn")
    churn = expl.predictions[:, churn_out]
    tiers = expl.predictions[:, [expl.output_index(f"tier:{t}") for t in TIERS]]

    names = list(expl.feature_names)
    tier_idx = np.argmax(tiers, axis=1)
    pred_rows: list[dict[str, Any]] = []
    expl_rows: list[tuple[int, dict[str, Any]]] = []  # (position of its prediction, row)
    for i, customer_id in enumerate(inputs.customer_ids.tolist()):
        features = {n: float(v) for n, v in zip(inputs.feature_names, inputs.tabular[i],
                                                 strict=True)}
        features["visit_history"] = float(inputs.sequences[i, :, 0].sum())  # visits present
        pred_rows.append({
            "customer_id": customer_id, "model_version_id": row_id, "as_of": as_of,
            "churn_probability": float(np.clip(churn[i], 0.0, 1.0)),
            "tier": TIERS[tier_idx[i]],
            "tier_probabilities": {t_: round(float(p), 6) for t_, p in zip(TIERS, tiers[i],
                                                                         strict=True)}})
        # Churn, and the probability of the tier the customer is predicted to reach.
        tier_target = f"tier:{TIERS[tier_idx[i]]}"
        for target, out in (("churn", churn_out), (tier_target, expl.output_index(tier_target))):
            shap = {n: float(v) for n, v in zip(names, expl.values[i, :, out], strict=True)}
            codes = _reasons(features, shap) if target == "churn" else {}
            expl_rows.append((i, {
                "target": target,
                "base_value": float(expl.base_values[out]),
                "output_value": float(expl.predictions[i, out]),
                "shap_values": shap, "feature_values": features, "reason_codes": codes}))

    with Session(engine) as session, session.begin():
        session.execute(delete(Prediction).where(Prediction.model_version_id == row_id,
                                                 Prediction.as_of == as_of))
        ids: list[int] = []
        for start in range(0, len(pred_rows), CHUNK):
            returning = insert(Prediction).returning(Prediction.id,
                                                     sort_by_parameter_order=True)
            ids += session.scalars(returning, pred_rows[start:start + CHUNK]).all()
        rows = [{"prediction_id": ids[i], **r} for i, r in expl_rows]
        for start in range(0, len(rows), CHUNK):
            session.execute(insert(Explanation), rows[start:start + CHUNK])
    counts = {t_: int(np.sum(tier_idx == k)) for k, t_ in enumerate(TIERS)}
    return PredictOutcome(row_version, as_of, len(inputs), float(np.mean(churn)), counts,
                          float(expl.additivity_error()))


def _reasons(features: dict[str, float], shap: dict[str, float]) -> dict[str, Any]:
    """Reasons in English and Spanish (staff read the language of their restaurant)."""
    out: dict[str, Any] = {}
    for lang in ("en", "es"):
        risk = reason_codes(features, shap, k=3, language=lang)
        keep = protective_reasons(features, shap, k=2, language=lang)
        out[lang] = {"risk": [asdict(r) for r in risk], "protective": [asdict(r) for r in keep],
                     "line": one_line(risk)}
    out["codes"] = [r["code"] for r in out["en"]["risk"]]
    return out
