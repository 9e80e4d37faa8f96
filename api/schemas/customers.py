"""Schemas of the guest endpoints: look-up, profile, the offer to give now, redeeming it, and the
full SHAP explanation of the latest prediction."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from loyalty.ids import MAX_ID

Language = Literal["en", "es"]


def _ascii_digits(value: Any) -> Any:
    """A path id is ASCII digits and nothing else: pydantic would also read " 1" or "٣"."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("must be a whole number written with the digits 0-9")
    return value


PathId = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_ascii_digits)]


# ---- requests -------------------------------------------------------------------------------


class CustomerQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: str = Field(min_length=1, max_length=254,
                   description="A loyalty number, a phone number (with or without +51, spaces "
                               "allowed), an email address or a customer id.")


class CustomerPath(BaseModel):
    customer_id: PathId = Field(description="The customer's id.")


class LanguageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Language | None = Field(
        None, description="The language of the reasons (default: the staff language setting).")


class OfferPath(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^\s*[A-Za-z0-9_-]+\s*$",
                      description="The offer's code (case does not matter).")


class RedeemBody(BaseModel):
    """Optional: the visit (order) the offer was used on; points and the real cost follow it."""

    model_config = ConfigDict(extra="forbid",
                              openapi_extra={"required": False,
                                             "description": "Optional; an empty body is fine."})

    visit_id: int | None = Field(None, ge=1, le=MAX_ID,
                                 description="The visit (order) the offer was redeemed on.")

    @model_validator(mode="before")
    @classmethod
    def _empty_body(cls, data: Any) -> Any:
        return {} if data is None else data  # no body at all means no visit


# ---- responses ------------------------------------------------------------------------------


class CustomerSummary(BaseModel):
    id: int
    name: str
    loyalty_number: str | None = None
    tier: str | None = Field(None, description="The card's current tier.")


class CustomerMatches(BaseModel):
    items: list[CustomerSummary]


class Card(BaseModel):
    loyalty_number: str
    tier: str
    points: int


class PredictionOut(BaseModel):
    churn_probability: float
    predicted_tier: str = Field(description="The tier the guest is heading to.")
    tier_probabilities: dict[str, float]
    as_of: date
    model_version: str | None = None


class Reason(BaseModel):
    code: str
    text: str
    shap: float
    feature: str | None = None


class Reasons(BaseModel):
    language: Language
    risk: list[Reason] = Field(description="What raises the churn risk, strongest first.")
    protective: list[Reason] = Field(description="What keeps the guest coming, strongest first.")
    line: str = Field(description="The one-line reason a waiter reads.")


class CustomerProfile(BaseModel):
    id: int
    name: str
    first_name: str | None = None
    last_name: str | None = None
    language: str
    card: Card | None = Field(None, description="None for a guest without a loyalty card.")
    prediction: PredictionOut | None = Field(None, description="The latest prediction, if any.")
    reasons: Reasons | None = Field(None, description="Why, from the latest prediction.")


class OfferOut(BaseModel):
    code: str
    status: str
    message: str = Field(description="What to tell the guest, in the guest's language.")
    reward: str = Field(description="The reward, described in the staff language.")
    reward_type: str
    reason: str | None = Field(None, description="Why this guest gets it: the one-line reason.")
    issued_at: datetime
    expires_at: datetime


class CustomerOffer(BaseModel):
    customer_id: int
    offer: OfferOut | None
    issued_now: bool = Field(False, description="True when this request issued the offer.")
    reason: str | None = Field(None, description="Why there is no offer, when there is none.")


class RedeemedOffer(BaseModel):
    code: str
    status: Literal["redeemed"]
    customer_id: int
    reward: str
    redeemed_at: datetime
    visit_id: int | None = None


class FeatureShap(BaseModel):
    name: str
    value: float | None = Field(description="The feature's value (None when not a number).")
    shap: float


class TargetExplanation(BaseModel):
    target: str = Field(description='"churn", or "tier:<tier>" for the predicted tier.')
    base_value: float
    output_value: float
    features: list[FeatureShap] = Field(description="Every feature, by |SHAP| descending.")


class CustomerExplanation(BaseModel):
    customer_id: int
    prediction_id: int
    as_of: date
    model_version: str | None = None
    churn_probability: float
    predicted_tier: str
    churn: TargetExplanation
    tier: TargetExplanation | None = None
