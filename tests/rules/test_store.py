"""Rule documents: validation naming every bad part, drafts, activation, retirement; proposals."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.errors import LoyaltyError, NotFoundError, RuleValidationError
from loyalty.models import RewardRule
from loyalty.rules.propose import propose
from loyalty.rules.store import activate, get_rule, retire, rule_document, save_rule, validate_rule
from tests.offers.scenario import NOW, make_world, rule_doc


def issues_of(doc, **kwargs):
    with pytest.raises(RuleValidationError) as err:
        validate_rule(doc, **kwargs)
    return dict(err.value.issues)


def test_valid_document_gives_columns():
    doc = rule_doc("winback", priority=5, budget_limit=100, valid_from="2026-12-01")
    del doc["control_share"]
    values = validate_rule(doc)
    assert values["priority"] == 5 and values["budget_limit"] == 100
    assert values["message_template"].startswith("{first_name")
    assert values["valid_from"].isoformat() == "2026-12-01T00:00:00+00:00"
    assert values["control_share"] == 0.1 and values["offer_valid_days"] == 14


def test_every_problem_is_reported_with_its_path():
    doc = rule_doc("bad key!", priority=-1, control_share=0.9, colour="red",
                   per_customer_window_days=30, valid_from="tomorrow",
                   messages={"fr": "Bonjour", "es": "Hola {nombre}"})
    doc.pop("name")
    doc["conditions"] = {"all": [{"field": "churn_prob", "op": ">=", "value": 0.5}]}
    doc["reward"] = {"type": "percent_off", "percent": 250}
    found = issues_of(doc)
    assert "name" in found and "colour" in found and "key" in found
    assert "priority" in found and "control_share" in found
    assert "per_customer_window_days" in found and "valid_from" in found
    assert "messages.fr" in found
    assert any(p.startswith("messages.es[") for p in found)
    assert any(p.startswith("conditions.all[0]") for p in found)
    assert "reward.percent" in found
    assert 'did you mean "churn_probability"' in " ".join(found.values())


def test_not_an_object_and_unknown_segment():
    assert issues_of([1, 2]) == {"rule": "must be a JSON object"}
    found = issues_of(rule_doc("x", segment="seg-nope"), segments={"seg-a": 1})
    assert "no active segment" in found["segment"]


def test_nul_characters_reserved_keys_and_long_lists_are_refused():
    doc = rule_doc("validate", name="Win\x00back", messages={"es": "Hola\x00"})
    doc["message"] = "{first_name|friend}, \x00 come back"
    doc["conditions"] = {"all": [{"field": "tier", "op": "in",
                                  "value": ["gold"] * 201}]}
    found = issues_of(doc)
    assert found["key"] == "'validate' is reserved; choose another key"
    for path in ("name", "message", "messages.es"):
        assert "NUL" in found[path], path
    assert found["conditions.all[0].value"] == '"in" may list at most 200 values, not 201'
    doc = rule_doc("fine")
    doc["conditions"] = {"all": [{"field": "tier", "op": "in", "value": ["gold"] * 200}]}
    validate_rule(doc)


def test_drafts_change_active_rules_do_not(engine):
    with Session(engine) as s, s.begin():
        rule = save_rule(s, rule_doc("winback"))
        assert rule.status == "draft"
        save_rule(s, rule_doc("winback", priority=7))
        assert s.scalar(select(func.count()).select_from(RewardRule)) == 1
        assert get_rule(s, "winback").priority == 7
        assert get_rule(s, str(rule.id)).key == "winback"
        activate(s, "winback", now=NOW)
        assert rule.status == "active" and rule.activated_at == NOW
        with pytest.raises(LoyaltyError, match="only drafts change"):
            save_rule(s, rule_doc("winback", priority=9))
        retire(s, rule.id, now=NOW)
        assert rule.status == "retired"
        with pytest.raises(LoyaltyError, match="retired rules stay retired"):
            activate(s, "winback", now=NOW)
        with pytest.raises(NotFoundError):
            get_rule(s, "nope")
        doc = rule_document(s, rule)
    assert validate_rule(doc)["priority"] == 7


def test_propose_drafts_per_segment_and_programme_wide(engine, settings):
    make_world(engine, customers=20)
    proposals = propose(engine, settings, now=NOW)
    keys = {p.key for p in proposals}
    assert {"recovery-risk", "winback-risk", "favourite-loyal", "birthday", "anniversary",
            "tier-nudge", "off-peak"} <= keys
    by_key = {p.key: p for p in proposals}
    assert by_key["winback-risk"].matched == 10
    assert by_key["recovery-risk"].matched == 10
    assert by_key["favourite-loyal"].matched == 10
    assert by_key["birthday"].matched == 4  # ids 0, 5, 10, 15: birthday on 20 June
    # Win-back value: 10 x (0.8 x 0.15 x 80 + 0.1 x 80 - 0.35 x 12) = 134.0
    assert by_key["winback-risk"].expected_value == pytest.approx(134.0)
    assert "Matches 10 guests" in by_key["winback-risk"].doc["rationale"]
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(RewardRule)) == len(proposals)
        assert {r.status for r in s.scalars(select(RewardRule))} == {"draft"}
    # Proposing again updates the drafts; an active rule is left alone.
    with Session(engine) as s, s.begin():
        activate(s, "winback-risk", now=NOW)
    again = propose(engine, settings, now=NOW)
    assert {p.key for p in again} == keys
    assert any("already active" in n for p in again for n in p.notes)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(RewardRule)) == len(proposals)
