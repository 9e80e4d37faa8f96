"""Schemathesis fuzzes every operation of the OpenAPI document, in-process on the Flask app.

With an admin key (every operation is reachable) and a production sentiment model (the tiny
random BERT, so scoring and /readyz work), valid and invalid requests are generated from the
document against the `world` database. Every check Schemathesis has runs: no 5xx; every
answer's status code, content type, headers and body are ones the document declares; invalid
requests are refused, valid ones accepted; other methods get 405 with a true ``Allow``; a
request without its key is refused; and no answer takes more than 10 s.
Seeded (derandomized) and bounded, so CI runs it on every push.

Schemathesis' own pytest loader (`schemathesis.pytest.from_fixture`) does not work with pytest 9
(it reads `Function._nodeid`, which pytest 9 no longer has), so the test drives each operation's
Hypothesis strategy itself, one subtest per operation: every failing operation is reported.
"""

from __future__ import annotations

import time

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, max_response_time
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy.orm import Session

from api.errors import PROBLEM
from loyalty import registry
from tests.api.conftest import auth

OPENAPI = "/api/v1/openapi.json"
MAX_EXAMPLES = 25  # per operation, valid and invalid requests together
SECONDS_PER_OPERATION = 30.0  # a bound for a pathological operation; usually about 1 s
FUZZ = settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# Refusals of schema-valid requests that the API documents and means. Each is matched on the
# operation and on the problem it answers, so any other refusal still fails the check.
# - Text that is not storable: a NUL character (PostgreSQL cannot store it; see
#   api/schemas/reviews.py) or a lone UTF-16 surrogate from a \ud800-style JSON escape (not
#   Unicode; RFC 8259 section 8.2). The document cannot say either in JSON Schema.
_UNSTORABLE_TEXT = ("contains a NUL character", "unable to parse raw data as a unicode string")
# - GET /customers: a blank or ambiguous reference is a 400 (the operation's description).
# - POST /rules, /rules/validate: the rule engine checks the document against the menu and the
#   segments and reports every issue at once as "The rule is not valid" (422, described).
# - POST /reviews: a review from the future or before 1900 is "The reviews are not valid" (422;
#   `posted_at` says "not in the future").
_DOMAIN_REFUSALS = {
    "GET /api/v1/customers": (400, "Bad request"),
    "POST /api/v1/rules": (422, "The rule is not valid"),
    "POST /api/v1/rules/validate": (422, "The rule is not valid"),
    "POST /api/v1/reviews": (422, "The reviews are not valid"),
}


def documented_refusal(case: schemathesis.Case, response: schemathesis.Response) -> bool:
    if response.headers.get("content-type", [""])[0] != PROBLEM:
        return False
    body = response.json()
    if _DOMAIN_REFUSALS.get(case.operation.label) == (response.status_code, body.get("title")):
        return True
    issues = body.get("issues") or []
    return response.status_code == 422 and bool(issues) and all(
        any(text in issue.get("message", "") for text in _UNSTORABLE_TEXT) for issue in issues)


def accepts_valid_data(ctx, response, case):
    """Schemathesis' `positive_data_acceptance`, less the documented refusals above."""
    if documented_refusal(case, response):
        return None
    return positive_data_acceptance(ctx, response, case)


# Every check Schemathesis has (its defaults and the opt-in ones: negative data rejected,
# unsupported methods answered 405 with a true Allow, auth not ignored, ...), with
# `positive_data_acceptance` in the form above, and a bound on the response time.
ALL_CHECKS = [*(check for check in CHECKS.get_all() if check is not positive_data_acceptance),
              accepts_valid_data, max_response_time]


@pytest.fixture
def production_model(engine, tiny_model) -> None:
    with Session(engine) as session, session.begin():
        row = registry.register(session, kind=registry.SENTIMENT, version="tiny-1",
                                path=tiny_model, metrics={}, seed=0)
        registry.promote(session, row)


def test_every_operation_conforms_to_the_openapi_document(app, keys, world, production_model,
                                                          subtests: pytest.Subtests):
    schema = schemathesis.openapi.from_wsgi(OPENAPI, app)
    headers = auth(keys["admin"])
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20, [op.label for op in operations]
    for operation in operations:
        strategy = (operation.as_strategy(GenerationMode.POSITIVE)
                    | operation.as_strategy(GenerationMode.NEGATIVE))

        @FUZZ
        @given(case=strategy)
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=ALL_CHECKS)

        with subtests.test(msg=operation.label):
            started = time.perf_counter()
            fuzz()
            took = time.perf_counter() - started
            assert took < SECONDS_PER_OPERATION, f"{operation.label} took {took:.0f} s"
