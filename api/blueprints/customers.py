"""Guests: find one the way staff know them, their profile with the latest prediction and its
reasons, and (for marketing) the full SHAP explanation behind it."""

from __future__ import annotations

import math
from typing import Any

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag
from sqlalchemy import select

from api import API_PREFIX
from api.auth import SECURITY, require
from api.errors import problem_responses
from api.extensions import database, db_session
from api.metrics import PREDICTIONS_SERVED
from api.schemas.customers import (
    Card,
    CustomerExplanation,
    CustomerMatches,
    CustomerPath,
    CustomerProfile,
    CustomerQuery,
    CustomerSummary,
    FeatureShap,
    LanguageQuery,
    PredictionOut,
    Reason,
    Reasons,
    TargetExplanation,
)
from loyalty.churn.stored import latest
from loyalty.config import Settings
from loyalty.customers import find_customer
from loyalty.errors import NotFoundError
from loyalty.models import Customer, Explanation, LoyaltyAccount, ModelVersion, Prediction

bp = APIBlueprint("customers", __name__, url_prefix=API_PREFIX,
                  abp_tags=[Tag(name="customers", description="Guests, their predictions and "
                                                              "why")])


def settings() -> Settings:
    return current_app.extensions["loyalty.config"].settings


def get_customer(customer_id: int) -> Customer:
    customer = db_session().get(Customer, customer_id)
    if customer is None:
        raise NotFoundError(f"no customer with id {customer_id}")
    return customer


def display_name(customer: Customer) -> str:
    name = f"{customer.first_name or ''} {customer.last_name or ''}".strip()
    return name or f"Customer {customer.id}"


def account_of(customer_id: int) -> LoyaltyAccount | None:
    return db_session().scalars(select(LoyaltyAccount).where(
        LoyaltyAccount.customer_id == customer_id)).first()


@bp.get("/customers", security=SECURITY, summary="Find a guest",
        description="By loyalty number, phone (with or without +51; spaces, dashes and "
                    "brackets are ignored), email (case does not matter) or customer id. "
                    "404 when nobody matches; 400 when the reference is ambiguous (then use "
                    "the loyalty number).",
        responses={200: CustomerMatches, **problem_responses(400, 401, 403, 404, 422)})
@require("staff", "marketing")
def search_customers(query: CustomerQuery):
    customer = find_customer(db_session(), query.q)
    account = account_of(customer.id)
    found = CustomerSummary(id=customer.id, name=display_name(customer),
                            loyalty_number=account.loyalty_number if account else None,
                            tier=account.tier if account else None)
    return CustomerMatches(items=[found]).model_dump(mode="json")


def latest_prediction(customer_id: int) -> tuple[Prediction, Explanation | None,
                                                 str | None] | None:
    session = db_session()
    pred = session.scalars(
        select(Prediction).where(Prediction.customer_id == customer_id)
        .order_by(Prediction.as_of.desc(), Prediction.id.desc()).limit(1)).first()
    if pred is None:
        return None
    churn = session.scalars(select(Explanation).where(
        Explanation.prediction_id == pred.id, Explanation.target == "churn")).first()
    version = session.scalar(select(ModelVersion.version).where(
        ModelVersion.id == pred.model_version_id))
    return pred, churn, version


def prediction_out(pred: Prediction, version: str | None) -> PredictionOut:
    return PredictionOut(churn_probability=pred.churn_probability, predicted_tier=pred.tier,
                         tier_probabilities={str(k): float(v) for k, v in
                                             (pred.tier_probabilities or {}).items()},
                         as_of=pred.as_of, model_version=version)


def reasons_out(codes: dict[str, Any] | None, language: str) -> Reasons | None:
    """The stored reasons in ``language`` (English when that language is missing)."""
    codes = codes or {}
    for lang in dict.fromkeys((language, "en", "es")):
        found = codes.get(lang)
        if isinstance(found, dict):
            return Reasons(
                language=lang,  # type: ignore[arg-type]
                risk=[_reason(r) for r in found.get("risk") or []],
                protective=[_reason(r) for r in found.get("protective") or []],
                line=found.get("line") or "")
    return None


def _reason(raw: dict[str, Any]) -> Reason:
    return Reason(code=str(raw.get("code", "")), text=str(raw.get("text", "")),
                  shap=float(raw.get("shap") or 0.0), feature=raw.get("feature"))


@bp.get("/customers/<customer_id>", security=SECURITY, summary="A guest's profile",
        description="Name, language and card, the latest prediction (churn probability, the "
                    "tier the guest is heading to) and its reasons in the staff language "
                    "(or `language`).",
        responses={200: CustomerProfile, **problem_responses(401, 403, 404, 422)})
@require("staff", "marketing")
def customer_profile(path: CustomerPath, query: LanguageQuery):
    customer = get_customer(path.customer_id)
    account = account_of(customer.id)
    profile = CustomerProfile(
        id=customer.id, name=display_name(customer), first_name=customer.first_name,
        last_name=customer.last_name, language=customer.language,
        card=Card(loyalty_number=account.loyalty_number, tier=account.tier,
                  points=account.points) if account else None)
    found = latest_prediction(customer.id)
    if found is not None:
        pred, churn, version = found
        profile.prediction = prediction_out(pred, version)
        if churn is not None:
            profile.reasons = reasons_out(churn.reason_codes,
                                          query.language or settings().staff_language)
        PREDICTIONS_SERVED.inc()
    return profile.model_dump(mode="json")


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def target_out(expl: Explanation) -> TargetExplanation:
    values = expl.feature_values or {}
    features = [FeatureShap(name=name, value=_finite(values.get(name)),
                            shap=_finite(shap) or 0.0)
                for name, shap in (expl.shap_values or {}).items()]
    features.sort(key=lambda f: (-abs(f.shap), f.name))
    return TargetExplanation(target=expl.target, base_value=expl.base_value,
                             output_value=expl.output_value, features=features)


@bp.get("/customers/<customer_id>/explanation", security=SECURITY,
        summary="The SHAP values of a guest's latest prediction",
        description="Base value, output and every feature's value and SHAP contribution, for "
                    "churn and for the predicted tier, by |SHAP| (largest first). 404 when the "
                    "guest has no explained prediction yet.",
        responses={200: CustomerExplanation, **problem_responses(401, 403, 404, 422)})
@require("marketing")
def customer_explanation(path: CustomerPath):
    get_customer(path.customer_id)
    db_session().rollback()  # `latest` reads on its own connection; end this read first
    found = latest(database().engine, path.customer_id)
    pred = found.prediction
    version = db_session().scalar(select(ModelVersion.version).where(
        ModelVersion.id == pred.model_version_id))
    PREDICTIONS_SERVED.inc()
    return CustomerExplanation(
        customer_id=pred.customer_id, prediction_id=pred.id, as_of=pred.as_of,
        model_version=version, churn_probability=pred.churn_probability,
        predicted_tier=pred.tier, churn=target_out(found.churn),
        tier=target_out(found.tier) if found.tier is not None else None,
    ).model_dump(mode="json")
