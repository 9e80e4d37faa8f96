"""The role matrix, from the app's own URL map: every endpoint declares its roles, and for every
method of every protected endpoint no key is 401, a role it does not serve 403, and a role it
serves gets past authentication. Revoked keys and malformed headers are 401 everywhere.

An endpoint added later without `@require(...)` or `@public` fails
`test_every_endpoint_declares_its_roles`; one added with roles is in the matrix by itself (a new
path parameter must get a value in `path_values`).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from api.errors import PROBLEM
from loyalty.jobs import enqueue
from loyalty.keys import create_key, revoke_key
from loyalty.models import ROLES
from tests.api.conftest import auth

V1 = "/api/v1"
# flask-openapi3's OpenAPI document and Swagger UI, and Flask's static files: public docs.
DOCUMENTATION = {"static", "openapi", "swagger"}
PUBLIC_PATHS = {"/healthz", "/readyz", "/staff"}
# OPTIONS is answered by Flask itself for every rule (and still needs a key); not a view method.
SKIPPED_METHODS = {"OPTIONS"}


def is_documentation(endpoint: str) -> bool:
    return endpoint.split(".")[0] in DOCUMENTATION


def declared(app: Flask) -> list[tuple[Any, frozenset[str] | None]]:
    """(rule, roles) of every rule that is not documentation; roles None when undeclared."""
    return [(rule, getattr(app.view_functions[rule.endpoint], "roles", None))
            for rule in app.url_map.iter_rules() if not is_documentation(rule.endpoint)]


def protected(app: Flask) -> list[tuple[str, Any, frozenset[str]]]:
    """(method, rule, roles) for every method of every endpoint that needs a key."""
    return [(method, rule, roles) for rule, roles in declared(app) if roles
            for method in sorted(rule.methods - SKIPPED_METHODS)]


def is_problem(response, status: int | None = None) -> bool:
    ok = response.mimetype == PROBLEM and (status is None or response.status_code == status)
    if response.request.method != "HEAD":  # HEAD answers have no body
        body = response.get_json(silent=True) or {}
        ok = ok and body.get("status") == response.status_code and bool(body.get("title"))
        ok = ok and "Traceback" not in response.get_data(as_text=True)
    return ok


@pytest.fixture
def path_values(app, client, engine, keys, world) -> dict[tuple[str, str], Any]:
    """A real value for each (blueprint, path parameter)."""
    at_risk = world["customers"][0]  # even index: at risk, so the win-back rule issues an offer
    answer = client.get(f"{V1}/customers/{at_risk}/offer", headers=auth(keys["staff"]))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    code = answer.get_json()["offer"]["code"]
    with Session(engine) as session, session.begin():
        job_id = enqueue(session, "score-reviews", {}).id
    return {("customers", "customer_id"): at_risk, ("offers", "customer_id"): at_risk,
            ("offers", "code"): code, ("segments", "key"): "seg-risk",
            ("rules", "key"): "winback", ("jobs", "job_id"): job_id}


def url_of(rule, values: dict[tuple[str, str], Any]) -> str:
    blueprint = rule.endpoint.split(".")[0]
    args = {}
    for name in rule.arguments:
        assert (blueprint, name) in values, f"no test value for {name} of {rule.rule}"
        args[name] = values[(blueprint, name)]
    return rule.build(args, append_unknown=False)[1]


def call(client, method: str, url: str, headers: dict[str, str] | None = None):
    return client.open(url, method=method, headers=headers or {})


def test_every_endpoint_declares_its_roles(app):
    undeclared = [rule.rule for rule, roles in declared(app) if roles is None]
    assert not undeclared, f"endpoints without @require(...) or @public: {undeclared}"
    assert {rule.rule for rule, roles in declared(app) if not roles} == PUBLIC_PATHS
    for rule, roles in declared(app):
        assert isinstance(roles, frozenset), rule.rule
        if roles:
            assert rule.rule.startswith(f"{V1}/") or rule.rule == "/metrics", rule.rule
            assert "admin" in roles and roles <= set(ROLES), (rule.rule, roles)
    assert len(protected(app)) >= 25  # the matrix below is not empty


def test_role_matrix(app, client, keys, path_values, subtests):
    for method, rule, roles in protected(app):
        url = url_of(rule, path_values)
        with subtests.test(msg=f"{method} {rule.rule}"):
            answer = call(client, method, url)
            assert is_problem(answer, 401), (answer.status_code, answer.get_data(as_text=True))
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")
            for role in sorted(set(ROLES) - roles):
                answer = call(client, method, url, auth(keys[role]))
                assert is_problem(answer, 403), (role, answer.status_code)
            for role in sorted(roles):
                answer = call(client, method, url, auth(keys[role]))
                assert answer.status_code not in (401, 403), (role, answer.status_code,
                                                              answer.get_data(as_text=True))
                assert answer.status_code < 500, (role, answer.get_data(as_text=True))
                if answer.status_code >= 400:
                    assert is_problem(answer), (role, answer.get_data(as_text=True))


def test_the_key_may_come_as_x_api_key(client, keys, world):
    assert client.get(f"{V1}/segments", headers={"X-API-Key": keys["marketing"]}
                      ).status_code == 200
    assert client.get(f"{V1}/segments", headers={"X-API-Key": keys["staff"]}
                      ).status_code == 403


def malformed_headers(keys: dict[str, str]) -> list[dict[str, str]]:
    admin = keys["admin"]
    return [
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": admin},  # no scheme
        {"Authorization": f"Basic {admin}"},
        {"Authorization": f"Token {admin}"},
        {"Authorization": f"Bearer {admin}x"},
        {"Authorization": f"Bearer {admin[:-1]}"},
        {"Authorization": f"Bearer {admin.upper()}"},
        {"Authorization": f"Bearer {admin} {admin}"},
        {"Authorization": "Bearer lk_00000000_" + "A" * 43},  # well formed, unknown
        {"Authorization": "Bearer " + "x" * 10_000},
        {"Authorization": "Bearer ' OR 1=1 --"},
        {"Authorization": "Bearer lk_é"},
        {"X-API-Key": ""},
        {"X-API-Key": f"Bearer {admin}"},
    ]


def test_revoked_and_malformed_keys_are_unauthorised_everywhere(app, client, engine, keys,
                                                                 path_values, subtests):
    with Session(engine) as session, session.begin():
        row, revoked = create_key(session, role="admin", name="leaver")
        prefix = row.prefix
    assert client.get(f"{V1}/segments", headers=auth(revoked)).status_code == 200
    with Session(engine) as session, session.begin():
        revoke_key(session, prefix)
    bad = [auth(revoked), *malformed_headers(keys)]
    for method, rule, _roles in protected(app):
        url = url_of(rule, path_values)
        with subtests.test(msg=f"{method} {rule.rule}"):
            for headers in bad:
                answer = call(client, method, url, headers)
                assert is_problem(answer, 401), (headers, answer.status_code)
                assert "WWW-Authenticate" in answer.headers
