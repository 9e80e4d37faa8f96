"""Schemas of what marketing reads and writes: explained segments, their members, reward rules
and model versions.

Response models describe what the views return (and the tests validate against them). The one
request body, a rule document, is deliberately loose: the rule engine
(:func:`loyalty.rules.store.validate_rule`) checks it and reports every issue with the path a
person would point at (``reward.percent``), so pydantic only documents its keys.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from flask_openapi3.models import MediaType, Schema
from pydantic import BaseModel, ConfigDict, Field

from api.pagination import Page, PageQuery

RuleStatus = Literal["draft", "active", "retired"]

# ------------------------------------------------------------------------------------ segments


class SegmentPath(BaseModel):
    key: str = Field(description="A segment key (`seg-...`) or its numeric id.", max_length=64)


class SegmentListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_retired: bool = Field(False, description="Also list retired segments.")


class SegmentDriver(BaseModel):
    """A SHAP driver: how much more (or less) the feature pushes churn in the segment than in
    the whole population (mean SHAP value in the segment minus mean in the population)."""

    feature: str
    segment_mean: float | None = None
    population_mean: float | None = None
    difference: float


class RuleRef(BaseModel):
    key: str
    name: str
    status: RuleStatus


class SegmentOut(BaseModel):
    """An explained segment, with the reward rules that target it."""

    id: int
    key: str = Field(description="Stable across refreshes while the group stays the same.")
    name: str
    description: str | None = None
    status: Literal["active", "retired"]
    size: int
    customer_share: float | None = Field(None, description="Size / all segmented customers.")
    revenue_share: float | None = None
    mean_churn_probability: float | None = None
    tier_mix: dict[str, float] = Field(default_factory=dict,
                                       description="Share of members per predicted tier.")
    drivers: list[SegmentDriver] = Field(
        default_factory=list, description="Top churn SHAP drivers vs the population.")
    complaints: list[str] = Field(default_factory=list,
                                  description="Aspects the members' reviews complain about.")
    praise: list[str] = Field(default_factory=list)
    day_part: str | None = Field(None, description="When the members usually come.")
    favourite_dishes: list[str] = Field(default_factory=list)
    as_of: date | None = Field(None, description="As-of date of the predictions segmented.")
    model_version_id: int | None = None
    built_at: datetime | None = None
    rules: list[RuleRef] = Field(default_factory=list,
                                 description="Reward rules limited to this segment.")


class SegmentList(BaseModel):
    items: list[SegmentOut]


class SegmentMembersQuery(PageQuery):
    format: Literal["json", "csv"] | None = Field(
        None, description="`csv` answers text/csv (like `Accept: text/csv`).")


class SegmentMember(BaseModel):
    id: int = Field(description="The customer id.")
    name: str
    distance: float | None = Field(None, description="To the segment's centre, in standard "
                                                     "deviations: smaller is more typical.")
    churn_probability: float | None = None
    tier: str | None = Field(None, description="The tier the guest is predicted to reach.")
    as_of: date


MEMBER_CSV_COLUMNS = ("id", "name", "distance", "churn_probability", "tier", "as_of")


class SegmentMemberPage(Page[SegmentMember]):
    """A page of a segment's members, the most typical first."""

    model_config = ConfigDict(openapi_extra={  # type: ignore[typeddict-unknown-key]
        "description": "A page of members: JSON, or CSV with `Accept: text/csv` or "
                       "`?format=csv` (a header row, then one row per member; the total is "
                       "in the `X-Total-Count` header).",
        "content": {"text/csv": MediaType(schema=Schema(
            type="string", description=f"columns: {', '.join(MEMBER_CSV_COLUMNS)}"))},
    })


# --------------------------------------------------------------------------------------- rules


class RulePath(BaseModel):
    key: str = Field(description="A rule key or its numeric id.", max_length=64)


class RuleListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: RuleStatus | None = None


def _doc(description: str, json_type: str | list[str], **extra: Any) -> Any:
    """A rule-document key: documented with its JSON type, checked by the rule engine."""
    def document(schema: dict[str, Any]) -> None:
        schema.pop("default", None)  # absent, not null: the engine knows the defaults
        if isinstance(json_type, list):
            schema["anyOf"] = [{"type": t} for t in json_type]
        else:
            schema["type"] = json_type
        schema.update(extra)

    return Field(None, description=description, json_schema_extra=document)


class RuleDocument(BaseModel):
    """A reward rule document (see `loyalty.rules.store`). Every key is checked by the rule
    engine, which reports all problems at once, each with its path (`reward.percent`,
    `conditions.all[1].op`, ...)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={
        "required": ["key", "name", "conditions", "reward", "message"],
        "example": {
            "key": "winback-15", "name": "Win back lapsing guests", "segment": "seg-3fa2c1",
            "conditions": {"all": [{"field": "churn_probability", "op": ">=", "value": 0.5}]},
            "reward": {"type": "percent_off", "percent": 15},
            "message": "{first_name|Hello}, enjoy {reward} until {expires}.",
            "messages": {"es": "{first_name|Hola}, disfruta {reward} hasta el {expires}."},
            "priority": 50, "control_share": 0.1,
        },
    })

    key: Any = _doc("Stable name: 1-64 letters, digits, `-` or `_`.", "string")
    name: Any = _doc("At most 200 characters.", "string")
    description: Any = _doc("At most 2,000 characters.", "string")
    rationale: Any = _doc("Why the rule exists (at most 4,000 characters).", "string")
    expected_value: Any = _doc("Expected value in currency.", "number")
    segment: Any = _doc("An active segment key the rule is limited to; null: everyone.",
                        ["string", "null"])
    conditions: Any = _doc("Conditions: comparisons `{field, op, value}` combined with "
                           "`all` / `any` / `not`.", "object")
    reward: Any = _doc("`percent_off`, `amount_off`, `free_item`, `points_multiplier` or "
                       "`tier_upgrade`, with its parameters.", "object")
    message: Any = _doc("Default message template, e.g. `{first_name|Hello}, enjoy {reward}`.",
                        "string")
    messages: Any = _doc('The message per language: `{"es": "..."}`.', "object")
    priority: Any = _doc("Lowest first; default 100.", "integer", minimum=0, maximum=10_000)
    per_customer_limit: Any = _doc("Offers per guest (within the window).", "integer")
    per_customer_window_days: Any = _doc("Window of per_customer_limit, in days.", "integer")
    budget_limit: Any = _doc("Total expected cost allowed, in currency.", "number")
    max_offers: Any = _doc("Offers in all.", "integer")
    control_share: Any = _doc("Share held out as a control group (0 to 0.5, default 0.1).",
                              "number", minimum=0, maximum=0.5)
    offer_valid_days: Any = _doc("Days an offer stays valid (1..365, default 14).", "integer",
                                 minimum=1, maximum=365)
    valid_from: Any = _doc("ISO date or date-time (UTC when no zone is given).", "string")
    valid_until: Any = _doc("ISO date or date-time, after valid_from.", "string")


class RuleOut(BaseModel):
    """A reward rule: its document, its status and a readable `when`."""

    id: int
    key: str
    name: str
    status: RuleStatus
    when: str = Field(description="The conditions in words.")
    description: str | None = None
    rationale: str | None = None
    segment: str | None = Field(None, description="The segment key it is limited to.")
    conditions: dict[str, Any]
    reward: dict[str, Any]
    message: str
    messages: dict[str, str] | None = None
    priority: int
    per_customer_limit: int | None = None
    per_customer_window_days: int | None = None
    budget_limit: float | None = None
    max_offers: int | None = None
    control_share: float
    offer_valid_days: int
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    expected_value: float | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    activated_at: datetime | None = None
    retired_at: datetime | None = None


class RuleList(BaseModel):
    items: list[RuleOut]


class RuleValidity(BaseModel):
    valid: Literal[True] = True


# -------------------------------------------------------------------------------------- models


class ModelsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str | None = Field(None, max_length=40, description="Only this kind, e.g. `churn`.")


class ModelVersionOut(BaseModel):
    id: int
    kind: str
    version: str
    status: Literal["candidate", "production", "retired", "failed"]
    metrics: dict[str, Any] = Field(default_factory=dict)
    data_start: date | None = Field(None, description="First day of the training data.")
    data_end: date | None = Field(None, description="Last day of the training data.")
    seed: int | None = None
    notes: str | None = None
    created_at: datetime
    promoted_at: datetime | None = None


class ModelKind(BaseModel):
    kind: str
    production: str | None = Field(None, description="The version in production, if any.")
    versions: list[ModelVersionOut] = Field(description="Newest first.")


class ModelList(BaseModel):
    items: list[ModelKind]
