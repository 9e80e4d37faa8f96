"""The guest endpoints: look-up, profile, the offer to give now, redeeming it, the explanation."""

from __future__ import annotations

import pytest
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import create_app
from api.config import Config
from api.errors import Problem
from api.schemas.customers import (
    CustomerExplanation,
    CustomerMatches,
    CustomerOffer,
    CustomerProfile,
    RedeemedOffer,
)
from loyalty.models import Customer, Explanation, Offer, Prediction
from loyalty.offers.issue import in_control_group
from loyalty.rules.store import activate, save_rule
from tests.api.conftest import auth
from tests.offers.scenario import NOW, rule_doc

API = "/api/v1"


def ok(response, model: type[BaseModel], status: int = 200) -> BaseModel:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return model.model_validate(response.get_json())


def problem(response, status: int) -> Problem:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    found = Problem.model_validate(response.get_json())
    assert found.status == status and found.title
    assert "Traceback" not in response.get_data(as_text=True)
    return found


@pytest.fixture
def at_risk(world) -> int:
    return world["customers"][0]  # churn 0.8: the win-back rule matches


@pytest.fixture
def loyal(world) -> int:
    return world["customers"][1]  # churn 0.1: no rule matches


# ---- GET /customers?q= ---------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["+51900000000", "900000000", "900 000 000", "+51 900-000-000",
                                 "ANA0@example.com", "  ana0@example.com "])
def test_search_finds_a_guest_by_phone_or_email(client, keys, at_risk, ref):
    found = ok(client.get(f"{API}/customers", query_string={"q": ref},
                          headers=auth(keys["staff"])), CustomerMatches)
    assert [m.model_dump() for m in found.items] == [
        {"id": at_risk, "name": "Ana0 Test", "loyalty_number": f"L{at_risk:06d}",
         "tier": "silver"}]


def test_answers_naming_guests_are_not_cached_or_sniffed(client, keys, at_risk):
    staff = auth(keys["staff"])
    for url in (f"{API}/customers?q=ana0@example.com", f"{API}/customers/{at_risk}",
                f"{API}/customers/{at_risk}/offer", f"{API}/customers/999999",
                f"{API}/openapi.json", "/staff"):
        answer = client.get(url, headers=staff)
        assert answer.headers["Cache-Control"] == "no-store", url
        assert answer.headers["X-Content-Type-Options"] == "nosniff", url


def test_search_by_loyalty_number_for_marketing_and_admin(client, keys, loyal):
    for role in ("marketing", "admin"):
        found = ok(client.get(f"{API}/customers?q=L{loyal:06d}", headers=auth(keys[role])),
                   CustomerMatches)
        assert [m.id for m in found.items] == [loyal]


def test_search_errors(client, keys, world):
    staff = auth(keys["staff"])
    none = problem(client.get(f"{API}/customers?q=999111222", headers=staff), 404)
    assert "no customer matches" in none.detail
    problem(client.get(f"{API}/customers?q=nobody@example.com", headers=staff), 404)
    too_long = problem(client.get(f"{API}/customers", query_string={"q": "9" * 255},
                                  headers=staff), 422)
    assert too_long.issues and too_long.issues[0].path == "q"
    problem(client.get(f"{API}/customers", headers=staff), 422)
    problem(client.get(f"{API}/customers?q=", headers=staff), 422)
    problem(client.get(f"{API}/customers?q=%20%20", headers=staff), 400)
    problem(client.get(f"{API}/customers?q=x&extra=1", headers=staff), 422)
    unauthorised = client.get(f"{API}/customers?q=L000001")
    problem(unauthorised, 401)
    assert unauthorised.headers["WWW-Authenticate"].startswith("Bearer")
    problem(client.get(f"{API}/customers?q=L000001", headers=auth("lk_not-a-key")), 401)


# ---- GET /customers/{id} -------------------------------------------------------------------


def test_profile_with_prediction_and_reasons(client, keys, at_risk):
    profile = ok(client.get(f"{API}/customers/{at_risk}", headers=auth(keys["staff"])),
                 CustomerProfile)
    assert (profile.id, profile.name, profile.language) == (at_risk, "Ana0 Test", "es")
    assert profile.card.model_dump() == {"loyalty_number": f"L{at_risk:06d}", "tier": "silver",
                                         "points": 100}
    pred = profile.prediction
    assert pred.churn_probability == pytest.approx(0.8)
    assert pred.predicted_tier == "bronze"
    assert pred.tier_probabilities["bronze"] == pytest.approx(0.7)
    assert pred.as_of == NOW.date() and pred.model_version == "test-1"
    reasons = profile.reasons
    assert reasons.language == "en"  # Settings.staff_language
    assert [r.code for r in reasons.risk] == ["LAPSING", "NEG_SERVICE"]
    assert reasons.protective == []
    assert reasons.line == "No visit in 90 days; Reviews complain about the service"


def test_profile_reasons_in_another_language(client, keys, at_risk, loyal):
    profile = ok(client.get(f"{API}/customers/{at_risk}?language=es",
                            headers=auth(keys["marketing"])), CustomerProfile)
    assert profile.reasons.language == "es"
    assert profile.reasons.line == "Sin visitas en 90 días"
    loyal_profile = ok(client.get(f"{API}/customers/{loyal}", headers=auth(keys["staff"])),
                       CustomerProfile)
    assert loyal_profile.reasons.risk == [] and loyal_profile.reasons.line == "Visits regularly"
    problem(client.get(f"{API}/customers/{at_risk}?language=fr", headers=auth(keys["staff"])),
            422)


def test_profile_of_a_guest_without_card_or_prediction(client, keys, engine, world):
    with Session(engine) as s, s.begin():
        guest = Customer(source="test", external_id="NEW", first_name=None, last_name=None,
                         language="en", signup_date=NOW.date())
        s.add(guest)
        s.flush()
        new_id = guest.id
    profile = ok(client.get(f"{API}/customers/{new_id}", headers=auth(keys["staff"])),
                 CustomerProfile)
    assert profile.name == f"Customer {new_id}"
    assert (profile.card, profile.prediction, profile.reasons) == (None, None, None)


@pytest.mark.parametrize("bad", ["abc", "-1", "0", "1.5", "99999999999", "1e3", "%20"])
def test_bad_ids_are_4xx_problems(client, keys, world, bad):
    for suffix in ("", "/offer", "/explanation"):
        response = client.get(f"{API}/customers/{bad}{suffix}", headers=auth(keys["admin"]))
        assert 400 <= response.status_code < 500, (bad, suffix, response.status_code)
        assert response.mimetype == "application/problem+json"


def test_unknown_customer_is_404(client, keys, world):
    for suffix in ("", "/offer", "/explanation"):
        found = problem(client.get(f"{API}/customers/987654{suffix}",
                                   headers=auth(keys["admin"])), 404)
        assert "no customer with id 987654" in found.detail


def test_profile_auth(client, keys, at_risk):
    problem(client.get(f"{API}/customers/{at_risk}"), 401)
    problem(client.get(f"{API}/customers/{at_risk}", headers={"X-API-Key": "lk_nope"}), 401)
    ok(client.get(f"{API}/customers/{at_risk}", headers={"X-API-Key": keys["staff"]}),
       CustomerProfile)


# ---- GET /customers/{id}/offer -------------------------------------------------------------


def test_offer_is_issued_on_first_ask_and_the_same_one_returned_after(client, keys, engine,
                                                                      at_risk):
    staff = auth(keys["staff"])
    first = ok(client.get(f"{API}/customers/{at_risk}/offer", headers=staff), CustomerOffer)
    assert first.issued_now and first.reason is None
    offer = first.offer
    assert offer.status == "issued" and offer.reward_type == "percent_off"
    assert offer.reward == "15% off your next visit"
    assert offer.message.startswith("Ana0, disfruta")  # the guest's language (es)
    assert offer.reason == "Winback: No visit in 90 days; Reviews complain about the service"
    assert offer.expires_at > offer.issued_at
    second = ok(client.get(f"{API}/customers/{at_risk}/offer", headers=staff), CustomerOffer)
    assert not second.issued_now
    assert second.offer == offer
    with Session(engine) as s:
        rows = s.scalars(select(Offer).where(Offer.customer_id == at_risk)).all()
    assert [(o.code, o.status, o.is_control) for o in rows] == [(offer.code, "issued", False)]


def test_no_offer_says_why(client, keys, loyal):
    found = ok(client.get(f"{API}/customers/{loyal}/offer", headers=auth(keys["staff"])),
               CustomerOffer)
    assert found.offer is None and not found.issued_now
    assert found.reason == "no offer for this guest now: no rule matches"


def test_no_prediction_no_offer(client, keys, engine, world):
    with Session(engine) as s, s.begin():
        guest = Customer(source="test", external_id="NEW", first_name="Nu", language="en",
                         signup_date=NOW.date())
        s.add(guest)
        s.flush()
        new_id = guest.id
    found = ok(client.get(f"{API}/customers/{new_id}/offer", headers=auth(keys["staff"])),
               CustomerOffer)
    assert found.offer is None and "no prediction" in found.reason


def test_control_group_guest_gets_no_offer_and_no_hint(client, keys, engine, world):
    share = 0.5
    with Session(engine) as s, s.begin():
        save_rule(s, rule_doc("holdout", control_share=share, priority=1))
        activate(s, "holdout", now=NOW)
    at_risk = world["customers"][0::2]
    control = next(c for c in at_risk if in_control_group("holdout", c, share))
    for _ in range(2):  # issued (as control) on the first ask, held on the second
        response = client.get(f"{API}/customers/{control}/offer", headers=auth(keys["staff"]))
        found = ok(response, CustomerOffer)
        assert found.offer is None and not found.issued_now
        assert found.reason == "no offer for this guest now"
        assert "control" not in response.get_data(as_text=True).lower()
    with Session(engine) as s:
        row = s.scalars(select(Offer).where(Offer.customer_id == control)).one()
    assert row.is_control and row.status == "issued"
    # The code of a control offer cannot be redeemed either.
    problem(client.post(f"{API}/offers/{row.code}/redeem", headers=auth(keys["staff"])), 409)


def test_offer_auth(client, keys, at_risk):
    problem(client.get(f"{API}/customers/{at_risk}/offer"), 401)
    forbidden = problem(client.get(f"{API}/customers/{at_risk}/offer",
                                   headers=auth(keys["marketing"])), 403)
    assert "marketing" in forbidden.detail
    ok(client.get(f"{API}/customers/{at_risk}/offer", headers=auth(keys["admin"])),
       CustomerOffer)


# ---- POST /offers/{code}/redeem ------------------------------------------------------------


def _issue(client, keys, customer_id: int) -> str:
    found = ok(client.get(f"{API}/customers/{customer_id}/offer", headers=auth(keys["staff"])),
               CustomerOffer)
    return found.offer.code


def test_redeem_then_redeem_again_is_409(client, keys, engine, at_risk):
    code = _issue(client, keys, at_risk)
    staff = auth(keys["staff"])
    done = ok(client.post(f"{API}/offers/{code.lower()}/redeem", headers=staff), RedeemedOffer)
    assert (done.code, done.status, done.customer_id, done.visit_id) == (code, "redeemed",
                                                                          at_risk, None)
    assert done.reward == "15% off your next visit"
    with Session(engine) as s:
        row = s.scalars(select(Offer).where(Offer.code == code)).one()
    assert row.status == "redeemed" and row.redeemed_at is not None
    again = problem(client.post(f"{API}/offers/{code}/redeem", headers=staff, json={}), 409)
    assert "already redeemed" in again.detail
    # Redeemed: nothing to give now, and no new offer inside the minimum gap.
    after = ok(client.get(f"{API}/customers/{at_risk}/offer", headers=staff), CustomerOffer)
    assert after.offer is None and "recently" in after.reason


def test_redeem_on_a_visit(client, keys, engine, world, at_risk):
    code = _issue(client, keys, at_risk)
    other_visit = world["visits"][world["customers"][1]][0]
    staff = auth(keys["staff"])
    problem(client.post(f"{API}/offers/{code}/redeem", headers=staff,
                        json={"visit_id": other_visit}), 409)
    problem(client.post(f"{API}/offers/{code}/redeem", headers=staff,
                        json={"visit_id": 7654321}), 404)
    visit = world["visits"][at_risk][0]
    done = ok(client.post(f"{API}/offers/{code}/redeem", headers=staff,
                          json={"visit_id": visit}), RedeemedOffer)
    assert done.visit_id == visit
    with Session(engine) as s:
        row = s.scalars(select(Offer).where(Offer.code == code)).one()
    assert row.redeemed_visit_id == visit and row.cost == pytest.approx(12.0)  # 15% of 80


def test_redeem_errors(client, keys, at_risk):
    code = _issue(client, keys, at_risk)
    staff = auth(keys["staff"])
    missing = problem(client.post(f"{API}/offers/NOSUCHCODE/redeem", headers=staff), 404)
    assert "NOSUCHCODE" in missing.detail
    problem(client.post(f"{API}/offers/%21%21/redeem", headers=staff), 422)
    problem(client.post(f"{API}/offers/{'A' * 33}/redeem", headers=staff), 422)
    problem(client.post(f"{API}/offers/{code}/redeem", headers=staff,
                        json={"visit_id": "x"}), 422)
    problem(client.post(f"{API}/offers/{code}/redeem", headers=staff,
                        json={"visit_id": -3}), 422)
    problem(client.post(f"{API}/offers/{code}/redeem", headers=staff,
                        json={"visit": 3}), 422)
    problem(client.post(f"{API}/offers/{code}/redeem", headers=staff, data="{not json",
                        content_type="application/json"), 400)
    problem(client.get(f"{API}/offers/{code}/redeem", headers=staff), 405)
    problem(client.post(f"{API}/offers/{code}/redeem"), 401)
    problem(client.post(f"{API}/offers/{code}/redeem", headers=auth(keys["marketing"])), 403)
    # None of that redeemed it.
    ok(client.post(f"{API}/offers/{code}/redeem", headers=auth(keys["admin"])), RedeemedOffer)


# ---- GET /customers/{id}/explanation -------------------------------------------------------


def test_explanation_lists_every_shap_value_by_size(client, keys, engine, at_risk):
    with Session(engine) as s, s.begin():
        pred = s.scalars(select(Prediction).where(Prediction.customer_id == at_risk)).one()
        churn = s.scalars(select(Explanation).where(Explanation.prediction_id == pred.id)).one()
        shap = dict.fromkeys(churn.shap_values, 0.0)
        shap.update({"recency_days": 0.25, "frequency_90d": 0.1, "aspect_service": -0.3})
        churn.shap_values = shap
        s.add(Explanation(prediction_id=pred.id, target="tier:bronze", base_value=0.25,
                          output_value=0.7, shap_values={"recency_days": 0.05,
                                                         "monetary_total": 0.4},
                          feature_values={"recency_days": 90.0, "monetary_total": 240.0},
                          reason_codes={}))
        n_features = len(shap)
    found = ok(client.get(f"{API}/customers/{at_risk}/explanation",
                          headers=auth(keys["marketing"])), CustomerExplanation)
    assert (found.customer_id, found.as_of, found.model_version) == (at_risk, NOW.date(),
                                                                     "test-1")
    assert found.churn_probability == pytest.approx(0.8) and found.predicted_tier == "bronze"
    assert found.churn.target == "churn"
    assert (found.churn.base_value, found.churn.output_value) == (0.4, 0.8)
    assert len(found.churn.features) == n_features
    top = [(f.name, f.value, f.shap) for f in found.churn.features[:3]]
    assert top == [("aspect_service", -0.7, -0.3), ("recency_days", 90.0, 0.25),
                   ("frequency_90d", 0.0, 0.1)]
    assert found.tier.target == "tier:bronze"
    assert [f.name for f in found.tier.features] == ["monetary_total", "recency_days"]


def test_explanation_errors(client, keys, engine, at_risk, world):
    problem(client.get(f"{API}/customers/{at_risk}/explanation"), 401)
    problem(client.get(f"{API}/customers/{at_risk}/explanation", headers=auth(keys["staff"])),
            403)
    with Session(engine) as s, s.begin():
        guest = Customer(source="test", external_id="NEW", language="en",
                         signup_date=NOW.date())
        s.add(guest)
        s.flush()
        new_id = guest.id
    none = problem(client.get(f"{API}/customers/{new_id}/explanation",
                              headers=auth(keys["marketing"])), 404)
    assert "no prediction" in none.detail


# ---- OpenAPI ---------------------------------------------------------------------------------


def test_openapi_lists_the_guest_paths(client):
    doc = client.get(f"{API}/openapi.json").get_json()
    paths = doc["paths"]
    expected = {f"{API}/customers": "get", f"{API}/customers/{{customer_id}}": "get",
                f"{API}/customers/{{customer_id}}/offer": "get",
                f"{API}/customers/{{customer_id}}/explanation": "get",
                f"{API}/offers/{{code}}/redeem": "post"}
    for path, method in expected.items():
        operation = paths[path][method]
        assert operation["security"] == [{"ApiKey": []}]
        assert {"200", "401", "403"} <= set(operation["responses"])
        assert "application/problem+json" in operation["responses"]["401"]["content"]
    assert {"404", "422"} <= set(paths[f"{API}/customers/{{customer_id}}"]["get"]["responses"])
    assert "409" in paths[f"{API}/offers/{{code}}/redeem"]["post"]["responses"]
    assert paths[f"{API}/offers/{{code}}/redeem"]["post"]["requestBody"]["required"] is False
    schemas = doc["components"]["schemas"]
    for name in ("CustomerMatches", "CustomerProfile", "CustomerOffer", "RedeemedOffer",
                 "CustomerExplanation", "Problem"):
        assert name in schemas
    assert not any(p.endswith("/staff") for p in paths)


def test_workers_see_rule_changes_within_their_refresh(engine, settings, keys, world, loyal):
    # Two workers on one database: the one that activates a rule sees it at once, the other
    # after its refresh (0 here: on every lookup; the default is a few seconds).
    lazy = create_app(Config(settings=settings, testing=True, rules_refresh_seconds=3600))
    eager = create_app(Config(settings=settings, testing=True, rules_refresh_seconds=0))
    writer = create_app(Config(settings=settings, testing=True))
    staff, marketing = auth(keys["staff"]), auth(keys["marketing"])
    try:
        for worker in (lazy, eager):  # both read the rules once: only win-back, no match
            found = ok(worker.test_client().get(f"{API}/customers/{loyal}/offer",
                                                headers=staff), CustomerOffer)
            assert found.offer is None
        doc = rule_doc("for-loyal", conditions={"field": "churn_probability", "op": "<",
                                                "value": 0.5})
        writer_client = writer.test_client()
        assert writer_client.post(f"{API}/rules", json=doc, headers=marketing).status_code == 201
        assert writer_client.post(f"{API}/rules/for-loyal/activate",
                                  headers=marketing).status_code == 200
        stale = ok(lazy.test_client().get(f"{API}/customers/{loyal}/offer", headers=staff),
                   CustomerOffer)
        assert stale.offer is None and stale.reason.endswith("no rule matches")
        fresh = ok(eager.test_client().get(f"{API}/customers/{loyal}/offer", headers=staff),
                   CustomerOffer)
        assert fresh.issued_now and fresh.offer.reason.startswith("For Loyal")
    finally:
        for worker in (lazy, eager, writer):
            worker.extensions["loyalty.db"].engine.dispose()
