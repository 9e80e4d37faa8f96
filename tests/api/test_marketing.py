"""Marketing's API: explained segments and their members (JSON and CSV), reward rules through
their life cycle, model versions, roles, problem answers and the OpenAPI document."""

from __future__ import annotations

import csv
import io

import pytest

from api.errors import PROBLEM, Problem
from api.schemas.marketing import (
    MEMBER_CSV_COLUMNS,
    ModelList,
    RuleList,
    RuleOut,
    RuleValidity,
    SegmentList,
    SegmentMemberPage,
    SegmentOut,
)
from tests.api.conftest import auth
from tests.offers.scenario import rule_doc

V1 = "/api/v1"
# (method, path, JSON body) of every marketing endpoint
ENDPOINTS = [
    ("get", "/segments", None),
    ("get", "/segments/seg-risk", None),
    ("get", "/segments/seg-risk/customers", None),
    ("get", "/rules", None),
    ("get", "/rules/winback", None),
    ("post", "/rules", rule_doc("new-rule")),
    ("post", "/rules/validate", rule_doc("new-rule")),
    ("post", "/rules/winback/activate", None),
    ("post", "/rules/winback/retire", None),
    ("get", "/models", None),
]


def problem_of(response, status: int) -> Problem:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    found = Problem.model_validate(response.get_json())
    assert found.status == status
    return found


def issue_paths(response) -> set[str]:
    found = problem_of(response, 422)
    assert found.issues
    return {i.path for i in found.issues}


# ---------------------------------------------------------------------------------- access


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_staff_is_refused_and_no_key_is_unauthorised(client, keys, world, method, path, body):
    call = getattr(client, method)
    problem_of(call(V1 + path, json=body, headers=auth(keys["staff"])), 403)
    answer = call(V1 + path, json=body)
    problem_of(answer, 401)
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    problem_of(call(V1 + path, json=body, headers=auth("lk_not-a-key")), 401)


def test_roles_are_checked_before_the_parameters(client, keys, world):
    """A caller without the right key learns nothing about what the parameters should be."""
    staff = auth(keys["staff"])
    problem_of(client.get(f"{V1}/segments/seg-risk/customers?limit=100000", headers=staff), 403)
    problem_of(client.post(f"{V1}/rules", data="{nope", content_type="application/json",
                           headers=staff), 403)
    problem_of(client.post(f"{V1}/rules/validate", json=[1, 2]), 401)


def test_admin_may_do_what_marketing_does(client, keys, world):
    admin = auth(keys["admin"])
    assert client.get(f"{V1}/segments", headers=admin).status_code == 200
    assert client.get(f"{V1}/rules", headers=admin).status_code == 200
    assert client.get(f"{V1}/models", headers=admin).status_code == 200


# -------------------------------------------------------------------------------- segments


def test_segments_are_explained_with_the_rules_that_target_them(client, keys, world):
    h = auth(keys["marketing"])
    saved = client.post(f"{V1}/rules", json=rule_doc("risk-only", segment="seg-risk"),
                        headers=h)
    assert saved.status_code == 201, saved.get_json()

    answer = client.get(f"{V1}/segments", headers=h)
    assert answer.status_code == 200
    listed = SegmentList.model_validate(answer.get_json())
    by_key = {s.key: s for s in listed.items}
    assert set(by_key) == {"seg-risk", "seg-loyal"}
    risk = by_key["seg-risk"]
    assert risk.name == "risk guests" and risk.status == "active"
    assert risk.mean_churn_probability == pytest.approx(0.8)
    assert risk.revenue_share == pytest.approx(0.3)
    assert risk.customer_share == pytest.approx(0.5)
    assert risk.complaints == ["service"]
    assert risk.favourite_dishes == ["Lomo saltado"]
    assert [(r.key, r.status) for r in risk.rules] == [("risk-only", "draft")]
    assert by_key["seg-loyal"].rules == []  # the win-back rule targets everyone, no segment

    one = client.get(f"{V1}/segments/seg-risk", headers=h)
    assert one.status_code == 200
    assert SegmentOut.model_validate(one.get_json()) == risk
    by_id = client.get(f"{V1}/segments/{world['segments']['loyal']}", headers=h)
    assert SegmentOut.model_validate(by_id.get_json()).key == "seg-loyal"


def test_unknown_segment_is_404(client, keys, world):
    h = auth(keys["marketing"])
    assert "seg-nope" in (problem_of(client.get(f"{V1}/segments/seg-nope", headers=h), 404)
                          .detail or "")
    problem_of(client.get(f"{V1}/segments/seg-nope/customers", headers=h), 404)


def test_members_are_paginated(client, keys, world):
    h = auth(keys["marketing"])
    answer = client.get(f"{V1}/segments/seg-risk/customers?limit=4&offset=0", headers=h)
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    first = SegmentMemberPage.model_validate(answer.get_json())
    assert (first.total, first.limit, first.offset, len(first.items)) == (10, 4, 0, 4)
    member = first.items[0]
    assert member.churn_probability == pytest.approx(0.8) and member.tier == "bronze"
    assert member.distance == pytest.approx(0.1)
    assert member.name.startswith("Ana") and member.name.endswith(" Test")

    pages = [first]
    for offset in (4, 8):
        nxt = client.get(f"{V1}/segments/seg-risk/customers?limit=4&offset={offset}",
                         headers=h)
        pages.append(SegmentMemberPage.model_validate(nxt.get_json()))
    ids = [m.id for p in pages for m in p.items]
    assert len(ids) == 10 and len(set(ids)) == 10  # every member once, none twice
    at_risk = {cid for k, cid in enumerate(world["customers"]) if k % 2 == 0}
    assert set(ids) == at_risk
    assert [len(p.items) for p in pages] == [4, 4, 2]

    beyond = client.get(f"{V1}/segments/seg-risk/customers?offset=50", headers=h)
    assert SegmentMemberPage.model_validate(beyond.get_json()).items == []
    default = SegmentMemberPage.model_validate(
        client.get(f"{V1}/segments/seg-risk/customers", headers=h).get_json())
    assert (default.limit, default.offset, len(default.items)) == (50, 0, 10)


def test_members_show_the_prediction_their_segment_was_built_from(client, keys, world,
                                                                  engine):
    from datetime import timedelta

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from loyalty.models import ModelVersion, Prediction
    from tests.offers.scenario import NOW

    first = world["customers"][0]
    with Session(engine) as session, session.begin():
        model = session.scalars(select(ModelVersion)).one()
        session.add(Prediction(customer_id=first, model_version_id=model.id,
                               as_of=NOW.date() + timedelta(days=7), churn_probability=0.3,
                               tier="gold", tier_probabilities={}))
    page = SegmentMemberPage.model_validate(client.get(
        f"{V1}/segments/seg-risk/customers", headers=auth(keys["marketing"])).get_json())
    member = {m.id: m for m in page.items}[first]
    assert (member.churn_probability, member.tier) == (pytest.approx(0.8), "bronze")


@pytest.mark.parametrize("query", ["limit=501", "limit=0", "offset=-1", "limit=ten",
                                   "format=xml", "colour=red"])
def test_bad_page_parameters_are_422(client, keys, world, query):
    answer = client.get(f"{V1}/segments/seg-risk/customers?{query}",
                        headers=auth(keys["marketing"]))
    assert issue_paths(answer)


@pytest.mark.parametrize("how", ["accept", "format"])
def test_members_as_csv(client, keys, world, how):
    h = auth(keys["marketing"])
    url = f"{V1}/segments/seg-risk/customers?limit=3&offset=2"
    as_json = SegmentMemberPage.model_validate(client.get(url, headers=h).get_json())
    if how == "accept":
        answer = client.get(url, headers={**h, "Accept": "text/csv"})
    else:
        answer = client.get(url + "&format=csv", headers=h)
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and 'filename="seg-risk-customers' in disposition
    assert disposition.endswith('.csv"')
    assert answer.headers["X-Total-Count"] == "10"
    assert "Accept" in answer.headers["Vary"]

    reader = csv.DictReader(io.StringIO(answer.get_data(as_text=True)))
    assert tuple(reader.fieldnames or ()) == MEMBER_CSV_COLUMNS
    rows = list(reader)
    assert [int(r["id"]) for r in rows] == [m.id for m in as_json.items]
    assert [r["name"] for r in rows] == [m.name for m in as_json.items]
    assert all(float(r["churn_probability"]) == pytest.approx(0.8) for r in rows)
    assert {r["tier"] for r in rows} == {"bronze"}
    assert {r["as_of"] for r in rows} == {"2026-06-15"}


def test_csv_cells_never_start_a_formula(client, keys, world, engine):
    """Guest names come from outside; a spreadsheet must not run one as a formula."""
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from loyalty.models import Customer

    first = world["customers"][0]
    with Session(engine) as session, session.begin():
        session.execute(update(Customer).where(Customer.id == first)
                        .values(first_name='=HYPERLINK("http://x")', last_name=None))
    h = auth(keys["marketing"])
    url = f"{V1}/segments/seg-risk/customers?limit=500"
    rows = list(csv.DictReader(io.StringIO(
        client.get(url + "&format=csv", headers=h).get_data(as_text=True))))
    names = {int(r["id"]): r["name"] for r in rows}
    assert names[first] == "'=HYPERLINK(\"http://x\")"
    as_json = SegmentMemberPage.model_validate(client.get(url, headers=h).get_json())
    assert {m.id: m.name for m in as_json.items}[first] == '=HYPERLINK("http://x")'


def test_json_is_the_default_and_format_wins_over_accept(client, keys, world):
    h = auth(keys["marketing"])
    url = f"{V1}/segments/seg-loyal/customers"
    assert client.get(url, headers={**h, "Accept": "*/*"}).mimetype == "application/json"
    both = {**h, "Accept": "application/json, text/csv;q=0.5"}
    assert client.get(url, headers=both).mimetype == "application/json"
    assert client.get(url + "?format=json",
                      headers={**h, "Accept": "text/csv"}).mimetype == "application/json"


# ----------------------------------------------------------------------------------- rules


def test_rules_are_listed_with_a_readable_when(client, keys, world):
    h = auth(keys["marketing"])
    answer = client.get(f"{V1}/rules", headers=h)
    assert answer.status_code == 200
    rules = RuleList.model_validate(answer.get_json()).items
    assert [r.key for r in rules] == ["winback"]
    winback = rules[0]
    assert winback.status == "active" and winback.activated_at is not None
    assert "churn_probability" in winback.when and "0.5" in winback.when
    assert winback.reward == {"type": "percent_off", "percent": 15}
    assert winback.messages and "es" in winback.messages

    drafts = client.get(f"{V1}/rules?status=draft", headers=h)
    assert RuleList.model_validate(drafts.get_json()).items == []
    active = client.get(f"{V1}/rules?status=active", headers=h)
    assert [r.key for r in RuleList.model_validate(active.get_json()).items] == ["winback"]
    assert issue_paths(client.get(f"{V1}/rules?status=paused", headers=h)) == {"status"}

    one = client.get(f"{V1}/rules/winback", headers=h)
    assert RuleOut.model_validate(one.get_json()) == winback
    by_id = client.get(f"{V1}/rules/{winback.id}", headers=h)
    assert RuleOut.model_validate(by_id.get_json()).key == "winback"


def test_unknown_rule_is_404(client, keys, world):
    h = auth(keys["marketing"])
    problem_of(client.get(f"{V1}/rules/nope", headers=h), 404)
    problem_of(client.post(f"{V1}/rules/nope/activate", headers=h), 404)
    problem_of(client.post(f"{V1}/rules/nope/retire", headers=h), 404)


def test_validate_reports_every_issue_with_its_path(client, keys, world):
    h = auth(keys["marketing"])
    good = client.post(f"{V1}/rules/validate", json=rule_doc("fine", segment="seg-risk"),
                       headers=h)
    assert good.status_code == 200
    assert RuleValidity.model_validate(good.get_json()).valid is True

    bad = rule_doc("bad key!", segment="seg-nope", priority="high", colour="red",
                   reward={"type": "percent_off", "percent": 150},
                   conditions={"all": [{"field": "churn_probability", "op": "~", "value": 1}]})
    del bad["message"]
    paths = issue_paths(client.post(f"{V1}/rules/validate", json=bad, headers=h))
    assert {"key", "message", "segment", "priority", "colour", "reward.percent"} <= paths
    assert any(p.startswith("conditions.all[0]") for p in paths)

    dish = rule_doc("dish", reward={"type": "free_item", "item": "Pizza"})
    assert "reward.item" in issue_paths(client.post(f"{V1}/rules/validate", json=dish,
                                                    headers=h))
    # validating saves nothing
    listed = RuleList.model_validate(client.get(f"{V1}/rules", headers=h).get_json())
    assert [r.key for r in listed.items] == ["winback"]


def test_a_rule_through_its_life_cycle(client, keys, world):
    h = auth(keys["marketing"])
    doc = rule_doc("loyal-dessert", segment="seg-loyal", priority=20,
                   reward={"type": "free_item", "item": "Picarones"},
                   valid_until="2026-12-31")
    created = client.post(f"{V1}/rules", json=doc, headers=h)
    assert created.status_code == 201, created.get_json()
    assert created.headers["Location"] == f"{V1}/rules/loyal-dessert"
    rule = RuleOut.model_validate(created.get_json())
    assert (rule.status, rule.segment, rule.priority) == ("draft", "seg-loyal", 20)
    assert rule.valid_until is not None and rule.valid_until.year == 2026

    updated = client.post(f"{V1}/rules", json={**doc, "name": "Dessert on us"}, headers=h)
    assert updated.status_code == 200
    assert RuleOut.model_validate(updated.get_json()).name == "Dessert on us"
    assert RuleOut.model_validate(updated.get_json()).id == rule.id

    invalid = client.post(f"{V1}/rules", json={**doc, "reward": {"type": "percent_off",
                                                                 "percent": 0}}, headers=h)
    assert "reward.percent" in issue_paths(invalid)
    assert RuleOut.model_validate(
        client.get(f"{V1}/rules/loyal-dessert", headers=h).get_json()).name == "Dessert on us"

    activated = client.post(f"{V1}/rules/loyal-dessert/activate", headers=h)
    assert activated.status_code == 200
    active = RuleOut.model_validate(activated.get_json())
    assert active.status == "active" and active.activated_at is not None
    again = client.post(f"{V1}/rules/loyal-dessert/activate", headers=h)
    assert RuleOut.model_validate(again.get_json()).status == "active"

    edit = client.post(f"{V1}/rules", json={**doc, "name": "Changed"}, headers=h)
    assert "active" in (problem_of(edit, 409).detail or "")

    retired = client.post(f"{V1}/rules/loyal-dessert/retire", headers=h)
    assert retired.status_code == 200
    gone = RuleOut.model_validate(retired.get_json())
    assert gone.status == "retired" and gone.retired_at is not None
    assert client.post(f"{V1}/rules/loyal-dessert/retire", headers=h).status_code == 200
    assert "retired" in (problem_of(client.post(f"{V1}/rules/loyal-dessert/activate",
                                                headers=h), 409).detail or "")
    problem_of(client.post(f"{V1}/rules", json=doc, headers=h), 409)

    stored = client.get(f"{V1}/rules/loyal-dessert", headers=h)
    assert RuleOut.model_validate(stored.get_json()).name == "Dessert on us"
    segment = SegmentOut.model_validate(
        client.get(f"{V1}/segments/seg-loyal", headers=h).get_json())
    assert [(r.key, r.status) for r in segment.rules] == [("loyal-dessert", "retired")]


def test_activation_checks_the_rule_again(client, keys, world, engine):
    """A draft whose segment was retired since it was saved does not go live."""
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from loyalty.models import Segment

    h = auth(keys["marketing"])
    created = client.post(f"{V1}/rules", json=rule_doc("risky", segment="seg-risk"), headers=h)
    assert created.status_code == 201
    with Session(engine) as session, session.begin():
        session.execute(update(Segment).where(Segment.key == "seg-risk")
                        .values(status="retired"))
    assert "segment" in issue_paths(client.post(f"{V1}/rules/risky/activate", headers=h))
    assert RuleOut.model_validate(
        client.get(f"{V1}/rules/risky", headers=h).get_json()).status == "draft"


@pytest.mark.parametrize("path", ["/rules", "/rules/validate"])
def test_bodies_that_are_not_a_json_object(client, keys, world, path):
    h = auth(keys["marketing"])
    url = V1 + path
    problem_of(client.post(url, data="{not json", content_type="application/json",
                           headers=h), 400)
    problem_of(client.post(url, data=b"\xff\xfe{}", content_type="application/json",
                           headers=h), 400)
    problem_of(client.post(url, data="key=x", content_type="application/x-www-form-urlencoded",
                           headers=h), 415)
    problem_of(client.post(url, data="{}", content_type="text/plain", headers=h), 415)
    problem_of(client.post(url, headers=h), 415)
    for body in ([rule_doc("in-a-list")], "winback", 42):
        assert issue_paths(client.post(url, json=body, headers=h)) == {"body"}
    assert issue_paths(client.post(url, data="null", content_type="application/json",
                                   headers=h)) == {"body"}
    assert "key" in issue_paths(client.post(url, json={}, headers=h))
    assert len(client.get(f"{V1}/rules", headers=h).get_json()["items"]) == 1


def test_oversized_body_is_413(client, keys, world):
    big = rule_doc("big", description="x" * (2 * 1024 * 1024))
    problem_of(client.post(f"{V1}/rules", json=big, headers=auth(keys["marketing"])), 413)


# ---------------------------------------------------------------------------------- models


def test_models_per_kind(client, keys, world, engine):
    from sqlalchemy.orm import Session

    from loyalty.models import ModelVersion

    with Session(engine) as session, session.begin():
        session.add(ModelVersion(kind="sentiment", version="s-1", status="candidate",
                                 path="/secret/models/s-1", metrics={"macro_f1": 0.81}))
    h = auth(keys["marketing"])
    answer = client.get(f"{V1}/models", headers=h)
    assert answer.status_code == 200
    assert "/secret" not in answer.get_data(as_text=True)
    listed = ModelList.model_validate(answer.get_json())
    assert [k.kind for k in listed.items] == ["churn", "sentiment"]
    churn, sentiment = listed.items
    assert churn.production == "test-1"
    assert [(v.version, v.status) for v in churn.versions] == [("test-1", "production")]
    assert sentiment.production is None
    assert sentiment.versions[0].metrics == {"macro_f1": 0.81}
    assert sentiment.versions[0].created_at is not None

    only = ModelList.model_validate(
        client.get(f"{V1}/models?kind=sentiment", headers=h).get_json())
    assert [k.kind for k in only.items] == ["sentiment"]
    none = ModelList.model_validate(client.get(f"{V1}/models?kind=nlp", headers=h).get_json())
    assert none.items == []


# --------------------------------------------------------------------------------- OpenAPI


def test_openapi_documents_the_marketing_paths(client):
    answer = client.get(f"{V1}/openapi.json")
    assert answer.status_code == 200
    doc = answer.get_json()
    paths = doc["paths"]
    expected = {
        "/api/v1/segments": {"get"}, "/api/v1/segments/{key}": {"get"},
        "/api/v1/segments/{key}/customers": {"get"}, "/api/v1/rules": {"get", "post"},
        "/api/v1/rules/{key}": {"get"}, "/api/v1/rules/validate": {"post"},
        "/api/v1/rules/{key}/activate": {"post"}, "/api/v1/rules/{key}/retire": {"post"},
        "/api/v1/models": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path
        for method in methods:
            operation = paths[path][method]
            assert operation["security"] == [{"ApiKey": []}]
            assert {"401", "403"} <= set(operation["responses"])
            assert operation["responses"]["403"]["content"][PROBLEM]

    members = paths["/api/v1/segments/{key}/customers"]["get"]
    assert set(members["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert {p["name"] for p in members["parameters"]} >= {"key", "limit", "offset", "format"}
    assert members["responses"]["422"]["content"][PROBLEM]

    save = paths["/api/v1/rules"]["post"]
    assert {"201", "409", "415", "422"} <= set(save["responses"])
    ref = save["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(body["required"]) == {"key", "name", "conditions", "reward", "message"}
    assert {"segment", "priority", "control_share", "valid_until"} <= set(body["properties"])
    for name in ("activate", "retire"):
        assert "409" in paths[f"/api/v1/rules/{{key}}/{name}"]["post"]["responses"]
