"""Reading back what `predict_all` stored: a customer's latest prediction and explanation, and
a whole run's churn SHAP values as `Explanations` (for the plots)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loyalty.errors import NotFoundError
from loyalty.explain.shapley import Explanations
from loyalty.models import Explanation, Prediction


@dataclass
class CustomerExplanation:
    prediction: Prediction
    churn: Explanation
    tier: Explanation | None


def latest(engine: Engine, customer_id: int) -> CustomerExplanation:
    """The customer's most recent prediction (latest as-of, then latest written) explained."""
    with Session(engine, expire_on_commit=False) as session:
        pred = session.scalars(
            select(Prediction).where(Prediction.customer_id == customer_id)
            .order_by(Prediction.as_of.desc(), Prediction.id.desc()).limit(1)).first()
        if pred is None:
            raise NotFoundError(f"no prediction for customer {customer_id}: run "
                                "`loyalty predict` (or the customer has no visits)")
        rows = {e.target: e for e in session.scalars(
            select(Explanation).where(Explanation.prediction_id == pred.id))}
    churn = rows.get("churn")
    if churn is None:
        raise NotFoundError(f"prediction {pred.id} of customer {customer_id} has no explanation")
    tier = next((e for t, e in rows.items() if t.startswith("tier")), None)
    return CustomerExplanation(pred, churn, tier)


def run_explanations(engine: Engine, model_version_id: int, as_of: Any) -> Explanations:
    """Every stored churn explanation of one run (model version and as-of date)."""
    query = (select(Prediction.customer_id, Explanation.base_value, Explanation.output_value,
                    Explanation.shap_values, Explanation.feature_values)
             .join(Explanation, Explanation.prediction_id == Prediction.id)
             .where(Prediction.model_version_id == model_version_id,
                    Prediction.as_of == as_of, Explanation.target == "churn")
             .order_by(Prediction.customer_id))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    if not rows:
        raise NotFoundError("no stored churn explanations for that run")
    names = tuple(rows[0].shap_values)
    values = np.array([[r.shap_values[n] for n in names] for r in rows])[:, :, None]
    features = np.array([[r.feature_values.get(n, np.nan) for n in names] for r in rows])
    return Explanations(
        customer_ids=np.array([r.customer_id for r in rows]), feature_names=names,
        output_names=("churn",), base_values=np.array([rows[0].base_value]),
        values=values, predictions=np.array([[r.output_value] for r in rows]),
        feature_values=features)
