"""Issuing offers: priority, one at a time, caps, control groups, expiry, and concurrency."""

from __future__ import annotations

import multiprocessing as mp
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.config import Settings
from loyalty.db import make_engine
from loyalty.errors import NotFoundError
from loyalty.models import Offer
from loyalty.offers.context import build_contexts
from loyalty.offers.issue import (
    RuleBook,
    current_offer,
    in_control_group,
    issue_offer,
    issue_offers,
)
from loyalty.offers.lifecycle import expire_offers
from loyalty.rules.store import activate, retire, save_rule
from tests.offers.scenario import NOW, make_world, rule_doc


@pytest.fixture
def world(engine):
    return make_world(engine, customers=20)


def add_rules(engine, *docs, active=True):
    with Session(engine) as s, s.begin():
        for doc in docs:
            save_rule(s, doc)
            if active:
                activate(s, doc["key"], now=NOW)


def offers(engine, **where):
    with Session(engine) as s:
        query = select(Offer)
        for name, value in where.items():
            query = query.where(getattr(Offer, name) == value)
        return list(s.scalars(query.order_by(Offer.id)))


def test_context_holds_what_rules_test(engine, world, settings):
    risky, loyal = world["customers"][0], world["customers"][1]
    with Session(engine) as s:
        ctx = build_contexts(s, [risky, loyal, 999_999], now=NOW, settings=settings)
    assert set(ctx) == {risky, loyal}
    v = ctx[risky].values
    assert v["churn_probability"] == 0.8 and v["predicted_tier"] == "bronze"
    assert v["tier"] == "silver" and v["segment"] == "seg-risk"
    assert v["reason_codes"] == ["LAPSING", "NEG_SERVICE"]
    assert v["days_since_last_visit"] == pytest.approx(90.0)
    assert v["aspect_service"] == -0.7 and v["usual_day_part"] == "dinner"
    # Lomo saltado once and Ceviche twice on the mains; Picarones twice on desserts.
    assert v["favourite_dish"] in {"Ceviche clásico", "Picarones"}
    assert ctx[risky].reward_inputs["favourites_by_category"] == {
        "main": "Ceviche clásico", "dessert": "Picarones"}
    assert v["days_to_birthday"] == 5 and v["birthday_month"] == 6  # customer 0: 20 June
    assert v["month"] == 6 and v["weekday"] == "mon"
    # 160 spent in the last year; silver starts at 150 x 6 = 900 a year.
    assert v["spend_to_next_tier"] == pytest.approx(740.0)
    assert ctx[risky].slots["next_tier"] == "Silver"
    assert ctx[risky].reasons["en"].startswith("No visit in 90 days")


def test_first_matching_rule_by_priority_and_one_offer_at_a_time(engine, world, settings):
    add_rules(engine,
              rule_doc("winback", priority=20),
              rule_doc("recovery", priority=10, conditions={
                  "field": "reason_codes", "op": "contains", "value": "NEG_SERVICE"},
                  reward={"type": "free_item", "favourite_in_category": "dessert"}),
              rule_doc("loyal", priority=30, conditions={
                  "field": "churn_probability", "op": "<", "value": 0.5}))
    risky, loyal = world["customers"][0], world["customers"][1]
    first = issue_offer(engine, risky, settings=settings, now=NOW)
    assert first.issued and first.given
    o = first.offer
    assert o.reward["type"] == "free_item" and o.reward["item"] == "Picarones"
    assert o.cost == pytest.approx(14.0)
    assert o.message.startswith("Ana0, disfruta un Picarones gratis") or "Picarones" in o.message
    assert o.reason.startswith("Recovery: No visit in 90 days")
    assert o.expires_at == NOW + timedelta(days=14)
    assert o.prediction_id is not None and o.explanation_id is not None
    assert o.segment_id == world["segments"]["risk"]
    again = issue_offer(engine, risky, settings=settings, now=NOW + timedelta(days=1))
    assert not again.issued and again.offer.id == o.id
    other = issue_offer(engine, loyal, settings=settings, now=NOW)
    assert other.offer is not None
    assert len(offers(engine)) == 2
    rules = {r.rule_id for r in offers(engine)}
    assert len(rules) == 2


def test_no_match_and_segment_restriction(engine, world, settings):
    add_rules(engine, rule_doc("winback-loyal-segment", segment="seg-loyal"))
    result = issue_offer(engine, world["customers"][0], settings=settings, now=NOW)
    assert result.offer is None and result.reason == "no rule matches"


def test_favourite_dishes_are_read_when_a_rule_tests_them(engine, world, settings):
    # A single lookup reads the favourites only when a rule's conditions test them (or an
    # offer is written): the decision must be the same as with them read up front.
    add_rules(engine, rule_doc("picarones-fans", conditions={
        "field": "favourite_category", "op": "==", "value": "dessert"}))
    risky, loyal = world["customers"][0], world["customers"][1]
    given = issue_offer(engine, risky, settings=settings, now=NOW)
    assert given.issued and given.offer.rule_id is not None
    with Session(engine) as s:
        ctx = build_contexts(s, [loyal], now=NOW, settings=settings)[loyal]
    expected = ctx.values["favourite_category"] == "dessert"
    assert issue_offer(engine, loyal, settings=settings, now=NOW).issued == expected


def test_unknown_guest_is_not_found(engine, world, settings):
    add_rules(engine, rule_doc("winback"))
    with pytest.raises(NotFoundError):
        issue_offer(engine, 999_999, settings=settings, now=NOW)


def test_a_stale_rule_book_never_writes_from_a_retired_rule(engine, world, settings):
    # A server decides "no new offer" from rules read a few seconds ago; the offer itself is
    # only written from the rules as they are under the guest's lock.
    add_rules(engine, rule_doc("winback"), rule_doc("fallback", priority=200))
    stale = RuleBook.load(engine)
    assert [r.key for r in stale.rules] == ["winback", "fallback"]
    with Session(engine) as s, s.begin():
        retire(s, "winback", now=NOW)
    risky = world["customers"][0]
    result = issue_offer(engine, risky, settings=settings, now=NOW, book=stale)
    assert result.issued and result.offer.rule_id != stale.rules[0].id
    assert offers(engine, rule_id=stale.rules[0].id) == []


def test_a_rule_activated_after_the_book_was_read_waits_for_the_next_read(engine, world,
                                                                          settings):
    stale = RuleBook.load(engine)
    add_rules(engine, rule_doc("winback"))
    risky = world["customers"][0]
    assert issue_offer(engine, risky, settings=settings, now=NOW,
                       book=stale).reason == "no active rules"
    fresh = issue_offer(engine, risky, settings=settings, now=NOW, book=RuleBook.load(engine))
    assert fresh.issued


def test_rules_outside_their_validity_window_are_left_out(engine, world, settings):
    add_rules(engine, rule_doc("later", valid_from=(NOW + timedelta(days=3)).isoformat()))
    book = RuleBook.load(engine)
    assert book.rules_at(NOW) == [] and [r.key for r in book.rules_at(
        NOW + timedelta(days=4))] == ["later"]


def test_expiry_and_per_customer_cap_and_min_gap(engine, world, settings):
    add_rules(engine, rule_doc("winback", per_customer_limit=1, per_customer_window_days=60))
    cid = world["customers"][0]
    first = issue_offer(engine, cid, settings=settings, now=NOW).offer
    later = NOW + timedelta(days=20)  # past the 14-day expiry
    second = issue_offer(engine, cid, settings=settings, now=later)
    assert second.offer is None and second.reason == "no rule matches"
    # A lapsed offer is no longer current; deciding "no offer" wrote nothing (the expiry
    # sweep is a batch job's, and issuing marks lapsed offers when it writes a new one).
    with Session(engine) as s:
        assert current_offer(s, cid, later, include_control=True) is None
    [row] = offers(engine)
    assert row.id == first.id and row.status == "issued"
    with Session(engine) as s, s.begin():
        assert expire_offers(s, now=later) == 1
    assert offers(engine)[0].status == "expired"
    # Outside the 60-day window the rule may give again.
    third = issue_offer(engine, cid, settings=settings, now=NOW + timedelta(days=61))
    assert third.issued
    # The programme-wide gap: no offer within N days of the last, whatever the rule.
    add_rules(engine, rule_doc("other", priority=200))
    strict = settings.with_(offer_min_gap_days=30)
    gap = issue_offer(engine, cid, settings=strict, now=NOW + timedelta(days=80))
    assert gap.offer is None and gap.reason.startswith("recent offer")


def test_budget_and_max_offers(engine, world, settings):
    # 15% of 80 = 12 per offer: a budget of 50 pays for four.
    add_rules(engine, rule_doc("winback", budget_limit=50),
              rule_doc("loyal", max_offers=3,
                       conditions={"field": "churn_probability", "op": "<", "value": 0.5}))
    summary = issue_offers(engine, settings, now=NOW)
    assert summary.by_rule == {"Winback": 4, "Loyal": 3}
    with Session(engine) as s:
        spent = s.scalar(select(func.sum(Offer.cost)).where(Offer.cost == 12.0))
    assert spent == pytest.approx(7 * 12.0)


def test_control_group_is_deterministic_and_withheld(engine, world, settings):
    assert all(in_control_group("r", i, 0.3) == in_control_group("r", i, 0.3)
               for i in range(500))
    share = sum(in_control_group("r", i, 0.3) for i in range(5000)) / 5000
    assert 0.27 < share < 0.33
    assert not any(in_control_group("r", i, 0.0) for i in range(500))
    add_rules(engine, rule_doc("winback", control_share=0.5))
    issue_offers(engine, settings, now=NOW)
    rows = offers(engine)
    assert len(rows) == 10
    for o in rows:
        assert o.is_control == in_control_group("winback", o.customer_id, 0.5)
        with Session(engine) as s:
            shown = current_offer(s, o.customer_id, NOW)
        assert (shown is None) == o.is_control
        assert o.cost == (0.0 if o.is_control else 12.0)
    assert 0 < sum(o.is_control for o in rows) < 10
    # The control guest holds the slot: no other rule reaches them while it runs.
    add_rules(engine, rule_doc("fallback", priority=500))
    control = next(o for o in rows if o.is_control)
    again = issue_offer(engine, control.customer_id, settings=settings, now=NOW)
    assert not again.issued and again.offer.id == control.id


def _issue_all(url: str, ids: list[int], home: str) -> None:
    import time

    import loyalty.offers.issue as issue

    # Widen the gap between reading the caps and writing the offer, so that without locks the
    # two processes would both see room and both write.
    evaluate = issue.evaluate
    issue.evaluate = lambda doc, values: (time.sleep(0.05), evaluate(doc, values))[1]
    engine = make_engine(url)
    settings = Settings(home=Path(home), database_url=url)
    for cid in ids:
        issue_offer(engine, cid, settings=settings, now=NOW)
    engine.dispose()


def test_two_processes_never_over_issue(engine, world, settings, db_url, tmp_path):
    """Two processes issue to the same guests at once: caps and one-at-a-time still hold."""
    add_rules(engine, rule_doc("winback", budget_limit=60))  # five offers of 12
    ids = world["customers"][0::2] * 2
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_issue_all, args=(db_url, ids, str(tmp_path)))
             for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    rows = offers(engine)
    assert len(rows) == 5
    assert len({o.customer_id for o in rows}) == 5
    assert sum(o.cost for o in rows) <= 60
