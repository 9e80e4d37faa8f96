"""The points ledger: earn, bonus and reversal amounts, idempotency, and a balance never below 0."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.errors import NotFoundError
from loyalty.models import LoyaltyAccount, PointsEntry
from loyalty.offers.points import (
    balance,
    earn_for_visit,
    history,
    reverse_offer,
    reverse_visit,
    visit_points,
)
from tests.offers.factory import make_customer, make_location, make_offer, make_rule, make_visit


@pytest.fixture
def s(engine):
    with Session(engine, expire_on_commit=False) as session:
        yield session


def ledger_sum(s, customer_id):
    return s.scalar(select(func.coalesce(func.sum(PointsEntry.points), 0))
                    .where(PointsEntry.customer_id == customer_id))


def test_visit_points_floor():
    assert visit_points(80.99) == (80, 0)
    assert visit_points(80.99, 2) == (80, 80)
    assert visit_points(45.5, 1.5) == (45, 22)  # floor(22.75)
    assert visit_points(0.29, 3) == (0, 0)
    assert visit_points(None, 2) == (0, 0)
    assert visit_points(-20.0, 2) == (0, 0)
    assert visit_points(10.1, 1.1) == (10, 1)  # no float drift: 10.1 x 0.1 = 1.01


def test_earn_and_bonus_are_written_once(s):
    loc = make_location(s)
    c = make_customer(s, points=100)
    v = make_visit(s, c, loc, 45.5)
    offer = make_offer(s, c, make_rule(s, {"type": "points_multiplier", "multiplier": 1.5}))
    first = earn_for_visit(s, v.id, multiplier=1.5, offer_id=offer.id)
    assert [(e.kind, e.points, e.dedupe_key, e.offer_id) for e in first] == [
        ("earn", 45, f"earn:visit:{v.id}", None),
        ("bonus", 22, f"bonus:visit:{v.id}", offer.id)]
    assert all(e.visit_id == v.id and e.customer_id == c.id for e in first)
    s.commit()
    assert earn_for_visit(s, v.id, multiplier=1.5, offer_id=offer.id) == []
    assert earn_for_visit(s, v.id) == []
    s.commit()
    assert balance(s, c.id) == 167 == 100 + ledger_sum(s, c.id)


def test_earn_then_bonus_later_adds_only_the_bonus(s):
    loc = make_location(s)
    c = make_customer(s)
    v = make_visit(s, c, loc, 30.0)
    assert [e.kind for e in earn_for_visit(s, v.id)] == ["earn"]
    assert [(e.kind, e.points) for e in earn_for_visit(s, v.id, multiplier=3)] == [("bonus", 60)]
    assert balance(s, c.id) == 90


def test_nothing_to_earn(s):
    loc = make_location(s)
    c = make_customer(s, points=5)
    no_card = make_customer(s, account=False)
    returned = make_visit(s, c, loc, -30.0, is_return=True)
    free = make_visit(s, c, loc, 0.0)
    unknown_amount = make_visit(s, c, loc, None)
    assert earn_for_visit(s, returned.id, multiplier=2) == []
    assert earn_for_visit(s, free.id) == []
    assert earn_for_visit(s, unknown_amount.id) == []
    assert earn_for_visit(s, make_visit(s, no_card, loc, 50.0).id) == []
    assert balance(s, c.id) == 5 and balance(s, no_card.id) == 0
    with pytest.raises(NotFoundError, match="no visit with id 999"):
        earn_for_visit(s, 999)
    with pytest.raises(NotFoundError, match="no customer with id 999"):
        balance(s, 999)


def test_reverse_visit_reverses_each_entry_once(s):
    loc = make_location(s)
    c = make_customer(s, points=10)
    v = make_visit(s, c, loc, 40.0)
    earned = earn_for_visit(s, v.id, multiplier=2)
    reversals = reverse_visit(s, v.id, reason="refund")
    assert sorted((r.kind, r.points, r.dedupe_key) for r in reversals) == sorted(
        ("reversal", -e.points, f"reversal:{e.id}") for e in earned)
    assert all(r.note == "refund" and r.visit_id == v.id for r in reversals)
    s.commit()
    assert reverse_visit(s, v.id, reason="refund") == []
    assert earn_for_visit(s, v.id, multiplier=2) == []  # a refunded visit earns nothing again
    assert balance(s, c.id) == 10 == 10 + ledger_sum(s, c.id)
    assert [e.kind for e in history(s, c.id)].count("reversal") == 2


def test_reverse_offer_takes_back_only_the_bonus(s):
    loc = make_location(s)
    c = make_customer(s)
    v = make_visit(s, c, loc, 50.0)
    offer = make_offer(s, c, make_rule(s, {"type": "points_multiplier", "multiplier": 2}))
    earn_for_visit(s, v.id, multiplier=2, offer_id=offer.id)
    (rev,) = reverse_offer(s, offer.id, reason="offer cancelled")
    assert (rev.points, rev.offer_id, rev.visit_id) == (-50, offer.id, v.id)
    assert reverse_offer(s, offer.id, reason="again") == []
    # The visit's own return then reverses only what is left: the earn.
    assert [r.points for r in reverse_visit(s, v.id, reason="refund")] == [-50]
    assert balance(s, c.id) == 0


def test_reversal_never_takes_the_balance_below_zero(s):
    loc = make_location(s)
    c = make_customer(s)
    v = make_visit(s, c, loc, 80.0)
    earn_for_visit(s, v.id)
    acct = s.scalars(select(LoyaltyAccount).where(LoyaltyAccount.customer_id == c.id)).one()
    acct.points = 30  # 50 points spent at the till since
    s.commit()
    (rev,) = reverse_visit(s, v.id, reason="refund")
    assert rev.points == -30
    assert "shortfall 50 of 80 points" in rev.note and rev.note.startswith("refund")
    s.commit()
    assert balance(s, c.id) == 0
    assert s.scalar(select(LoyaltyAccount.points).where(LoyaltyAccount.customer_id == c.id)) == 0


def test_history_newest_first(s):
    loc = make_location(s)
    c = make_customer(s)
    v1, v2 = make_visit(s, c, loc, 10.0), make_visit(s, c, loc, 20.0)
    earn_for_visit(s, v1.id)
    earn_for_visit(s, v2.id)
    reverse_visit(s, v1.id, reason="refund")
    assert [(e.kind, e.points) for e in history(s, c.id)] == [
        ("reversal", -10), ("earn", 20), ("earn", 10)]


def test_a_duplicate_key_from_a_race_keeps_the_outer_transaction(s, engine):
    """The key check misses a row another process commits meanwhile: the savepoint catches it."""
    loc = make_location(s)
    c = make_customer(s, points=7)
    v = make_visit(s, c, loc, 25.0)
    other = make_visit(s, c, loc, 5.0)
    s.commit()
    with Session(engine) as rival, rival.begin():
        rival.add(PointsEntry(customer_id=c.id, kind="earn", points=25, visit_id=v.id,
                              dedupe_key=f"earn:visit:{v.id}"))
    from loyalty.offers import points

    real_scalar = s.scalar
    calls = []

    def blind_first_check(statement, *args, **kwargs):
        # The first dedupe check sees nothing, as if the rival had not committed yet.
        if not calls and "dedupe_key" in str(statement):
            calls.append(statement)
            return None
        return real_scalar(statement, *args, **kwargs)

    s.scalar = blind_first_check  # type: ignore[method-assign]
    try:
        assert points.earn_for_visit(s, v.id) == []
    finally:
        del s.scalar
    assert calls
    # The transaction goes on: more work, then commit.
    assert [e.points for e in earn_for_visit(s, other.id)] == [5]
    s.commit()
    keys = set(s.scalars(select(PointsEntry.dedupe_key)))
    assert keys == {f"earn:visit:{v.id}", f"earn:visit:{other.id}"}
    # The rival's row changed no balance here (it skipped this module); ours added 5.
    assert balance(s, c.id) == 12
