"""Every error as ``application/problem+json`` (RFC 9457): a title, a detail, never a traceback.

Library errors map to statuses by type: a missing thing is 404, a rule that does not validate
422 with every issue, an offer that cannot change as asked 409, any other `LoyaltyError` 400.
Werkzeug's HTTP errors (404 for unknown URLs, 405, 413 for oversized bodies, ...) keep their
status. Anything unexpected is logged with its traceback and answered 500 with no detail.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from flask import Flask, Response, current_app, json, request
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from loyalty.errors import (
    ConfigError,
    LoyaltyError,
    NotFoundError,
    OfferError,
    RuleValidationError,
)

PROBLEM = "application/problem+json"


class Issue(BaseModel):
    path: str = Field(description="Where the problem is, e.g. `conditions.all[1].op`.")
    message: str


class Problem(BaseModel):
    """An error answer (RFC 9457)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    issues: list[Issue] | None = None


def problem(status: int, title: str, detail: str | None = None, *,
            issues: list[dict[str, str]] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if issues is not None:
        body["issues"] = issues
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def problem_responses(*statuses: int) -> dict[str, dict[str, Any]]:
    """OpenAPI response entries for problem answers (flask-openapi3's raw-dict form)."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {str(s): {"description": _TITLES.get(s, "Error"),
                     "content": {PROBLEM: {"schema": schema}}} for s in statuses}


_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
           405: "Method not allowed", 409: "Conflict", 413: "Payload too large",
           415: "Unsupported media type", 422: "Unprocessable content",
           503: "Service unavailable"}


def issues_problem(title: str, issues: list[dict[str, str]], note: str = "") -> Response:
    """A 422 listing the issues, at most `Config.max_issues` of them; ``note`` ends the detail."""
    limit = current_app.extensions["loyalty.config"].max_issues
    detail = f"{len(issues)} problem(s)"
    if len(issues) > limit:
        detail += f" (the first {limit} are listed, {len(issues) - limit} left out)"
    return problem(422, title, detail + (f"; {note}" if note else ""), issues=issues[:limit])


def validation_problem(e: Any) -> Response:
    """flask-openapi3's hook for a request that fails its pydantic schema."""
    issues = [{"path": ".".join(str(p) for p in err.get("loc", ())) or "body",
               "message": err.get("msg", "invalid")} for err in e.errors()]
    return issues_problem("Request does not match the schema", issues)


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def json_depth(data: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text, found without parsing it.

    Brackets inside strings do not count. Linear in the size, with no recursion: it must be
    safe on exactly the bodies a recursive parser is not.
    """
    bare = np.frombuffer(_JSON_STRING.sub(b"", data), dtype=np.uint8)
    if not bare.size:
        return 0
    steps = (np.isin(bare, (ord("["), ord("{"))).astype(np.int32)
             - np.isin(bare, (ord("]"), ord("}"))))
    return int(np.cumsum(steps).max(initial=0))


def check_query() -> Response | None:
    """Before every request: each query parameter at most once. No parameter of this API is a
    list, and a repeated one would otherwise be read as its first value and the rest ignored."""
    repeated = sorted(name for name, values in request.args.lists() if len(values) > 1)
    if repeated:
        return problem(422, _TITLES[422], "give each query parameter once; repeated: "
                                          + ", ".join(repeated[:10]))
    return None


def check_body() -> Response | None:
    """Before every request that carries a body: JSON only, not nested too deeply, and JSON
    that parses.

    Done once for the whole API so that every endpoint answers a wrong content type with 415,
    nesting past `Config.max_json_depth` with 422, broken JSON with 400 and JSON that is not an
    object (``null`` included: it is not "no body") with 422, before any schema looks at it.
    """
    if request.method not in ("POST", "PUT", "PATCH") or not request.content_length:
        return None
    if not request.is_json:
        return problem(415, _TITLES[415], "send JSON with 'Content-Type: application/json'")
    data = request.get_data()
    limit = current_app.extensions["loyalty.config"].max_json_depth
    depth = json_depth(data)
    if depth > limit:
        return problem(422, _TITLES[422], f"the body nests arrays and objects {depth} levels "
                                          f"deep; at most {limit} are accepted")
    try:
        parsed = json.loads(data)
    except ValueError as exc:  # includes bytes that are not UTF-8
        return problem(400, _TITLES[400], f"the body is not valid JSON: {exc}")
    if not isinstance(parsed, dict):  # every body this API takes is an object
        kind = "null" if parsed is None else type(parsed).__name__.replace("str", "string")
        return problem(422, _TITLES[422], "the body must be a JSON object, e.g. {}",
                       issues=[{"path": "body", "message": f"must be a JSON object, not {kind}"}])
    return None


def register(app: Flask) -> None:
    app.before_request(check_query)
    app.before_request(check_body)

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> Response:
        headers = {}
        if e.code == 405 and e.valid_methods:  # type: ignore[attr-defined]
            headers["Allow"] = ", ".join(e.valid_methods)  # type: ignore[attr-defined]
        detail = e.description
        if e.code == 404 and not request.path.startswith("/api/"):
            detail = f"nothing at {request.path}"
        return problem(e.code or 500, _TITLES.get(e.code or 500, e.name), detail,
                       headers=headers)

    @app.errorhandler(RuleValidationError)
    def rule_error(e: RuleValidationError) -> Response:
        return issues_problem("The rule is not valid",
                              [{"path": p, "message": m} for p, m in e.issues])

    @app.errorhandler(NotFoundError)
    def not_found(e: NotFoundError) -> Response:
        return problem(404, "Not found", str(e))

    @app.errorhandler(OfferError)
    def offer_error(e: OfferError) -> Response:
        return problem(409, "Conflict", str(e))

    @app.errorhandler(ConfigError)
    def config_error(e: ConfigError) -> Response:
        current_app.logger.error("configuration: %s", e)
        return problem(503, "Service unavailable", "the service is misconfigured")

    @app.errorhandler(LoyaltyError)
    def loyalty_error(e: LoyaltyError) -> Response:
        return problem(400, "Bad request", str(e))

    @app.errorhandler(OperationalError)
    def database_down(e: OperationalError) -> Response:
        current_app.logger.error("database: %s", e)
        return problem(503, "Service unavailable", "the database cannot be reached",
                       headers={"Retry-After": "5"})

    @app.errorhandler(SQLAlchemyError)
    @app.errorhandler(Exception)
    def unexpected(e: Exception) -> Response:
        if isinstance(e, HTTPException):
            return http_error(e)
        current_app.logger.exception("unexpected error on %s %s", request.method, request.path)
        return problem(500, "Internal server error",
                       "something went wrong on our side; it has been logged")
