"""Bad input of every kind gets a 4xx problem (application/problem+json with a title and the
status): never HTML, never a traceback, never a 5xx; and SQL-looking text is only text."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.config import Config
from api.errors import PROBLEM, Problem
from loyalty.models import Customer
from tests.api.conftest import auth

V1 = "/api/v1"
TOO_BIG = Config().max_content_length + 1
INJECTIONS = ["1 OR 1=1", "'; DROP TABLE customers;--", "1; DELETE FROM api_keys"]
RULE = {"key": "r1", "name": "R", "conditions": {"field": "churn_probability", "op": ">=",
                                                 "value": 0.5},
        "reward": {"type": "percent_off", "percent": 10}, "message": "Hi"}


def body(raw: bytes | str, content_type: str = "application/json") -> dict:
    return {"data": raw, "content_type": content_type}


# (id, method, path, request keyword arguments, expected status or statuses).
# {customer} is an at-risk guest of the world; a key of the right role is always sent.
CASES = [
    # bodies: too big, not JSON, broken JSON, not UTF-8
    ("too-big-rule", "POST", "/rules", body(b'{"key": "' + b"x" * TOO_BIG + b'"}'), 413),
    ("too-big-reviews", "POST", "/reviews", body(b"[" + b" " * TOO_BIG + b"]"), 413),
    ("too-big-redeem", "POST", "/offers/ABC/redeem", body(b"{" * TOO_BIG), 413),
    ("text-plain", "POST", "/rules", body(json.dumps(RULE), "text/plain"), 415),
    ("form", "POST", "/rules/validate", {"data": {"key": "r1"}}, 415),
    ("xml", "POST", "/reviews", body("<reviews/>", "application/xml"), 415),
    ("redeem-text", "POST", "/offers/ABC/redeem", body("visit=1", "text/plain"), 415),
    ("job-form", "POST", "/jobs/score-reviews", body("rescore=1",
                                                      "application/x-www-form-urlencoded"), 415),
    ("broken-json", "POST", "/rules", body('{"key": "r1",'), 400),
    ("single-quotes", "POST", "/rules/validate", body("{'key': 'r1'}"), 400),
    ("broken-reviews", "POST", "/reviews", body('{"reviews": [}'), 400),
    ("broken-score", "POST", "/reviews/score", body("nope"), 400),
    ("broken-redeem", "POST", "/offers/ABC/redeem", body("{"), 400),
    ("latin-1", "POST", "/rules", body('{"key": "caf\xe9"}'.encode("latin-1")), 400),
    ("invalid-utf8", "POST", "/reviews", body(b'{"reviews": [{"text": "\xff\xfe"}]}'), 400),
    ("json-array-rule", "POST", "/rules", body("[1, 2]"), 422),
    ("json-null-reviews", "POST", "/reviews", body("null"), 422),
    ("json-null-job", "POST", "/jobs/score-reviews", body("null"), 422),
    ("json-array-job", "POST", "/jobs/score-reviews", body("[]"), 422),
    # nesting deeper than the API reads: refused before anything walks the body
    ("deep-arrays-rule", "POST", "/rules", body("[" * 10_000 + "]" * 10_000), 422),
    ("deep-arrays-validate", "POST", "/rules/validate", body("[" * 100_000), 422),
    ("deep-objects-reviews", "POST", "/reviews",
     body('{"a": ' * 5_000 + "1" + "}" * 5_000), 422),
    ("deep-in-rule", "POST", "/rules/validate",
     body(json.dumps({**RULE, "conditions": {"all": [{"any": [{"not": {"all": [
         {"field": "tier", "op": "in", "value": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]
         ]]]]]]]]]]]]]]]]]]}]}}]}]}})), 422),
    ("deep-redeem", "POST", "/offers/ABC/redeem", body("[" * 50 + "]" * 50), 422),
    # unknown ids and keys
    ("no-customer", "GET", "/customers/999999", {}, 404),
    ("no-customer-offer", "GET", "/customers/999999/offer", {}, 404),
    ("no-explanation", "GET", "/customers/999999/explanation", {}, 404),
    ("no-customer-q", "GET", "/customers?q=nobody@example.com", {}, 404),
    ("no-segment", "GET", "/segments/seg-nope", {}, 404),
    ("no-segment-members", "GET", "/segments/seg-nope/customers", {}, 404),
    ("no-rule", "GET", "/rules/nope", {}, 404),
    ("no-rule-activate", "POST", "/rules/nope/activate", {}, 404),
    ("no-offer", "POST", "/offers/NOPE123/redeem", {}, 404),
    ("no-job", "GET", "/jobs/999999", {}, 404),
    ("id-too-big", "GET", f"/customers/{10**30}", {}, 422),
    ("id-zero", "GET", "/customers/0", {}, 422),
    ("id-negative", "GET", "/customers/-1", {}, 422),
    ("id-float", "GET", "/customers/1.5", {}, 422),
    # ids are ASCII digits in the range the id columns hold; other digits are not ids
    ("id-space", "GET", "/customers/%20%31", {}, 422),
    ("id-arabic-indic", "GET", "/customers/\u0663", {}, 422),
    ("id-superscript-offer", "GET", "/customers/\u00b9/offer", {}, 422),
    ("id-fullwidth-job", "GET", "/jobs/\uff11", {}, 422),
    ("id-huge-job", "GET", f"/jobs/{10**20}", {}, 422),
    *[(f"q-digits-{i}", "GET", "/customers", {"query_string": {"q": q}}, 404)
      for i, q in enumerate(["\u00b9", "\u2460", "\u00b2\u00b3", "\u0663", "\uff11",
                             "\u00b9" * 12, "99999999999999999999"])],
    ("segment-huge-id", "GET", "/segments/99999999999999999999", {}, 404),
    ("segment-superscript", "GET", "/segments/\u00b9/customers", {}, 404),
    ("rule-circled", "GET", "/rules/\u2460", {}, 404),
    ("rule-huge-id", "GET", f"/rules/{10**25}", {}, 404),
    ("rule-huge-activate", "POST", f"/rules/{10**25}/activate", {}, 404),
    ("not-utf8-path", "GET", "/segments/%FF%FE", {}, 404),
    ("not-utf8-query", "GET", "/customers?q=%FF%FE", {}, 404),
    # SQL-looking text in path and query
    *[(f"sql-id-{i}", "GET", f"/customers/{s}", {}, 422) for i, s in enumerate(INJECTIONS)],
    *[(f"sql-q-{i}", "GET", "/customers", {"query_string": {"q": s}}, 404)
      for i, s in enumerate(INJECTIONS)],
    *[(f"sql-segment-{i}", "GET", f"/segments/{s}", {}, 404) for i, s in enumerate(INJECTIONS)],
    *[(f"sql-members-{i}", "GET", f"/segments/{s}/customers", {}, 404)
      for i, s in enumerate(INJECTIONS)],
    *[(f"sql-rule-{i}", "GET", f"/rules/{s}", {}, 404) for i, s in enumerate(INJECTIONS)],
    *[(f"sql-offer-{i}", "POST", f"/offers/{s}/redeem", {}, 422)
      for i, s in enumerate(INJECTIONS)],
    ("sql-model-kind", "GET", "/models", {"query_string": {"kind": INJECTIONS[1]}}, 200),
    # paging and query parameters
    ("huge-limit", "GET", f"/segments/seg-risk/customers?limit={10**9}", {}, 422),
    ("limit-zero", "GET", "/segments/seg-risk/customers?limit=0", {}, 422),
    ("limit-text", "GET", "/segments/seg-risk/customers?limit=all", {}, 422),
    ("negative-offset", "GET", "/segments/seg-risk/customers?offset=-1", {}, 422),
    ("huge-offset", "GET", f"/segments/seg-risk/customers?offset={10**20}", {}, 422),
    ("bad-format", "GET", "/segments/seg-risk/customers?format=xlsx", {}, 422),
    ("unknown-param-members", "GET", "/segments/seg-risk/customers?page=2", {}, 422),
    ("unknown-param-segments", "GET", "/segments?all=1", {}, 422),
    ("unknown-param-search", "GET", "/customers?q=1&debug=1", {}, 422),
    ("repeated-param-search", "GET", "/customers?q=1&q=2", {}, 422),
    ("repeated-param-models", "GET", "/models?kind=churn&kind=sentiment", {}, 422),
    ("unknown-param-profile", "GET", "/customers/{customer}?lang=en", {}, 422),
    ("unknown-param-rules", "GET", "/rules?sort=name", {}, 422),
    ("unknown-param-models", "GET", "/models?limit=5", {}, 422),
    ("bad-language", "GET", "/customers/{customer}?language=xx", {}, 422),
    ("bad-status", "GET", "/rules?status=deleted", {}, 422),
    ("empty-q", "GET", "/customers?q=", {}, 422),
    ("long-q", "GET", "/customers?q=" + "9" * 1000, {}, 422),
    ("no-q", "GET", "/customers", {}, 422),
    # unknown URLs, wrong methods
    ("unknown-api-url", "GET", "/nope", {}, 404),
    ("unknown-deep-url", "GET", "/customers/1/nope/2", {}, 404),
    ("unknown-url", "GET", "//../etc/passwd", {}, 404),
    ("delete-rule", "DELETE", "/rules/winback", {}, 405),
    ("put-customer", "PUT", "/customers/{customer}", {}, 405),
    ("get-redeem", "GET", "/offers/ABC/redeem", {}, 405),
    ("get-score", "GET", "/reviews/score", {}, 405),
    ("get-job-queue", "GET", "/jobs/score-reviews", {}, 405),  # only POST queues
    ("get-validate", "GET", "/rules/validate", {}, 405),
    ("delete-validate", "DELETE", "/rules/validate", {}, 405),
    ("patch-segments", "PATCH", "/segments", {}, 405),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "expected"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_bad_input_is_a_problem(client, keys, world, engine, method, path, kwargs, expected):
    url = V1 + path.replace("{customer}", str(world["customers"][0]))
    answer = client.open(url, method=method, headers=auth(keys["admin"]), **kwargs)
    text = answer.get_data(as_text=True)
    allowed = expected if isinstance(expected, tuple) else (expected,)
    assert answer.status_code in allowed, (answer.status_code, text[:500])
    if answer.status_code < 400:  # SQL-looking text that is a valid value: just no match
        return
    assert answer.mimetype == PROBLEM, text[:500]
    found = Problem.model_validate_json(text)
    assert found.status == answer.status_code and found.title
    lowered = text.lower()
    assert "traceback" not in lowered and "<html" not in lowered and "<!doctype" not in lowered
    if answer.status_code == 405:
        allow = {m.strip() for m in answer.headers["Allow"].split(",")}
        assert method not in allow and allow & {"GET", "POST"}
    with Session(engine) as session:  # whatever was sent, the guests are all still there
        assert session.scalar(select(func.count()).select_from(Customer)) == len(
            world["customers"])


def test_error_answers_stay_small(client, keys):
    """A 500 KB rule whose list holds 100,000 values, 100 reviews with every field wrong: the
    answer lists at most 50 issues and says how many it left out."""
    marketing = auth(keys["marketing"])
    huge = {**RULE, "conditions": {"field": "tier", "op": "in", "value": ["gold"] * 100_000}}
    answer = client.post(f"{V1}/rules/validate", json=huge, headers=marketing)
    assert answer.status_code == 422 and answer.mimetype == PROBLEM
    assert len(answer.get_data()) < 2_000
    bad = {"reviews": [{"customer_id": "x", "location_id": -1, "text": "", "rating": 9,
                        "language": "fr"}] * 100}
    answer = client.post(f"{V1}/reviews", json=bad, headers=marketing)
    problem = Problem.model_validate_json(answer.get_data())
    assert answer.status_code == 422 and len(problem.issues) == Config().max_issues
    assert "left out" in problem.detail and len(answer.get_data()) < 20_000


def test_a_rule_message_with_a_nul_is_refused(client, keys):
    doc = {**RULE, "message": "Hola\x00 {first_name|friend}"}
    answer = client.post(f"{V1}/rules", json=doc, headers=auth(keys["marketing"]))
    assert answer.status_code == 422
    assert [i.path for i in Problem.model_validate_json(answer.get_data()).issues] == ["message"]


def test_unknown_urls_outside_the_api_are_problems_too(client):
    answer = client.get("/nope.html")
    assert answer.status_code == 404 and answer.mimetype == PROBLEM
    assert client.post("/healthz").status_code == 405


def test_sql_looking_text_finds_nothing_and_breaks_nothing(client, keys, world, engine):
    staff = auth(keys["staff"])
    for text in INJECTIONS:
        for q in (text, f"ana0@example.com{text}", "ana0@example.com' OR '1'='1"):
            answer = client.get(f"{V1}/customers", query_string={"q": q}, headers=staff)
            assert answer.status_code == 404, (q, answer.get_data(as_text=True))
    customer = world["customers"][0]
    assert client.get(f"{V1}/customers/{customer}", headers=staff).status_code == 200
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 20
