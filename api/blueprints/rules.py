"""Reward rules for marketing: list, read, validate, save drafts, activate and retire.

A rule document is checked by the rule engine (:mod:`loyalty.rules.store`), which reports every
problem at once with its path (422 problem with ``issues``). A change the life cycle does not
allow (editing an active or retired rule, activating a retired one) is a 409 problem. The body
must be a JSON object sent as ``application/json``: another media type is 415, text that is not
JSON 400, JSON that is not an object 422 (``rule: must be a JSON object``, as the engine says).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, request
from flask_openapi3 import APIBlueprint, Tag
from flask_openapi3.request import validate_request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import API_PREFIX
from api.auth import SECURITY, require
from api.errors import problem, problem_responses
from api.extensions import db_session, rule_books
from api.schemas.marketing import (
    RuleDocument,
    RuleList,
    RuleListQuery,
    RuleOut,
    RulePath,
    RuleValidity,
)
from loyalty.errors import LoyaltyError, NotFoundError, RuleValidationError
from loyalty.models import RewardRule
from loyalty.models.base import utcnow
from loyalty.offers.issue import load_menu
from loyalty.rules.conditions import describe
from loyalty.rules.store import (
    activate,
    get_rule,
    list_rules,
    retire,
    rule_document,
    save_rule,
    segment_keys,
    validate_rule,
)

bp = APIBlueprint("rules", __name__, url_prefix=API_PREFIX,
                  abp_tags=[Tag(name="rules", description="Reward rules and their life cycle")])

F = TypeVar("F", bound=Callable[..., Any])
BODY_PROBLEMS = problem_responses(400, 401, 403, 413, 415, 422)


def json_object_body(view: F) -> F:
    """Refuse a body that is not a JSON object before anything else reads it."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not request.is_json:
            return problem(415, "Unsupported media type",
                           "send the rule as JSON with 'Content-Type: application/json'")
        try:
            doc = json.loads(request.get_data())
        except ValueError as exc:  # includes bytes that are not UTF-8
            return problem(400, "Bad request", f"the body is not valid JSON: {exc}")
        if not isinstance(doc, dict):
            raise RuleValidationError([("rule", "must be a JSON object")])
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def rule_out(session: Session, rule: RewardRule) -> RuleOut:
    doc = rule_document(session, rule)
    return RuleOut.model_validate({
        **doc, "id": rule.id, "status": rule.status, "when": describe(rule.conditions),
        "created_at": rule.created_at, "updated_at": rule.updated_at,
        "activated_at": rule.activated_at, "retired_at": rule.retired_at,
    })


def _conflict(exc: LoyaltyError) -> Response:
    return problem(409, "Conflict", str(exc))


def _transition(session: Session, change: Callable[[], RewardRule]) -> Response | dict:
    """Run a life-cycle change and commit it; a change the life cycle refuses is 409."""
    try:
        rule = change()
    except (RuleValidationError, NotFoundError):
        raise
    except LoyaltyError as exc:
        return _conflict(exc)
    session.commit()
    rule_books().invalidate()  # this worker's next lookup sees the change at once
    return rule_out(session, rule).model_dump(mode="json")


@bp.get("/rules", security=SECURITY, summary="The reward rules",
        description="By status, then priority (lowest first); `when` reads the conditions.",
        responses={200: RuleList, **problem_responses(401, 403, 422)})
@require("marketing")
def list_all(query: RuleListQuery):
    session = db_session()
    return RuleList(items=[rule_out(session, r) for r in list_rules(session, query.status)]
                    ).model_dump(mode="json")


@bp.get('/rules/<other("validate"):key>', security=SECURITY, summary="One reward rule",
        responses={200: RuleOut, **problem_responses(401, 403, 404, 422)})
@require("marketing")
def show(path: RulePath):
    session = db_session()
    return rule_out(session, get_rule(session, path.key)).model_dump(mode="json")


@bp.post("/rules", security=SECURITY, summary="Save a draft rule",
         description="Creates a draft (201), or updates the draft with the same key (200). "
                     "Every problem of the document is reported at once (422, with `issues`); "
                     "an active or retired rule cannot change (409): retire it and add the "
                     "new version under another key.",
         responses={201: RuleOut, 200: RuleOut, **BODY_PROBLEMS, **problem_responses(409)})
@require("marketing")
@json_object_body
@validate_request()  # after json_object_body: its answers are the clearer ones
def save(body: RuleDocument):
    session = db_session()
    doc = request.get_json()
    key = doc.get("key")
    existed = isinstance(key, str) and session.scalar(
        select(RewardRule.id).where(RewardRule.key == key)) is not None
    try:
        rule = save_rule(session, doc, menu=load_menu(session))
        session.commit()
    except (RuleValidationError, NotFoundError):
        raise
    except LoyaltyError as exc:
        return _conflict(exc)
    except IntegrityError:  # the same key created by a concurrent request
        session.rollback()
        return problem(409, "Conflict", f"rule {key!r} was just created by another request")
    out = rule_out(session, rule).model_dump(mode="json")
    if existed:
        return out, 200
    return out, 201, {"Location": f"{API_PREFIX}/rules/{rule.key}"}


@bp.post("/rules/validate", security=SECURITY, summary="Check a rule document",
         description="Validates the document against the menu and the active segments "
                     "without saving it: `{\"valid\": true}`, or 422 with every issue.",
         responses={200: RuleValidity, **BODY_PROBLEMS})
@require("marketing")
@json_object_body
@validate_request()  # after json_object_body: its answers are the clearer ones
def check(body: RuleDocument):
    session = db_session()
    validate_rule(request.get_json(), menu=load_menu(session), segments=segment_keys(session))
    return RuleValidity().model_dump(mode="json")


@bp.post("/rules/<key>/activate", security=SECURITY, summary="Activate a draft rule",
         description="Draft → active, validated once more against the current menu and "
                     "segments (422 when it no longer holds). Activating an active rule "
                     "changes nothing; a retired rule stays retired (409).",
         responses={200: RuleOut, **problem_responses(401, 403, 404, 409, 422)})
@require("marketing")
def activate_one(path: RulePath):
    session = db_session()
    return _transition(session, lambda: activate(session, path.key, now=utcnow(),
                                                 menu=load_menu(session)))


@bp.post("/rules/<key>/retire", security=SECURITY, summary="Retire a rule",
         description="Any rule → retired: it issues no more offers; issued offers run their "
                     "course. Retiring a retired rule changes nothing.",
         responses={200: RuleOut, **problem_responses(401, 403, 404, 409, 422)})
@require("marketing")
def retire_one(path: RulePath):
    session = db_session()
    return _transition(session, lambda: retire(session, path.key, now=utcnow()))
