"""The offer state machine: redeem each reward type, cancel, returns, expiry, refusals, races."""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.db import make_engine
from loyalty.errors import NotFoundError, OfferError
from loyalty.models import LoyaltyAccount, Offer, PointsEntry
from loyalty.offers.lifecycle import cancel, expire_offers, redeem, return_visit
from loyalty.offers.points import balance, earn_for_visit
from tests.offers.factory import (
    NOW,
    make_customer,
    make_location,
    make_menu_item,
    make_offer,
    make_rule,
    make_visit,
)

LATER = NOW + timedelta(days=1)
MULTIPLIER = {"type": "points_multiplier", "multiplier": 2, "visits": 1}
UPGRADE = {"type": "tier_upgrade", "to": "gold", "days": 90}


@pytest.fixture
def s(engine):
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def loc(s):
    return make_location(s)


def account(s, customer_id):
    return s.scalars(select(LoyaltyAccount).where(LoyaltyAccount.customer_id == customer_id)
                     .execution_options(populate_existing=True)).one()


def offer_of(s, reward, *, points=0, tier="bronze", **kw):
    c = make_customer(s, points=points, tier=tier)
    return c, make_offer(s, c, make_rule(s, reward), **kw)


# -- redeem: the effect of each reward type -------------------------------------------------


def test_redeem_points_multiplier_earns_visit_and_bonus(s, loc):
    c, o = offer_of(s, MULTIPLIER, points=10)
    v = make_visit(s, c, loc, 80.5)
    done = redeem(s, o.code.lower(), visit_id=v.id, now=LATER)
    s.commit()
    assert (done.status, done.redeemed_at, done.redeemed_visit_id) == ("redeemed", LATER, v.id)
    entries = s.scalars(select(PointsEntry).order_by(PointsEntry.id)).all()
    assert [(e.kind, e.points, e.offer_id) for e in entries] == [("earn", 80, None),
                                                                ("bonus", 80, o.id)]
    assert balance(s, c.id) == 170


def test_redeem_multiplier_on_a_visit_that_already_earned(s, loc):
    c, o = offer_of(s, {"type": "points_multiplier", "multiplier": 1.5})
    v = make_visit(s, c, loc, 50.0)
    earn_for_visit(s, v.id)
    redeem(s, o.id, visit_id=v.id, now=LATER)
    assert balance(s, c.id) == 75


def test_redeem_multiplier_without_a_visit_gives_no_points(s):
    c, o = offer_of(s, MULTIPLIER)
    assert redeem(s, o.id, now=LATER).status == "redeemed"
    assert balance(s, c.id) == 0


def test_redeem_tier_upgrade_remembers_the_previous_tier(s):
    c, o = offer_of(s, UPGRADE, tier="silver")
    done = redeem(s, o.id, now=LATER)
    s.commit()
    acct = account(s, c.id)
    assert (acct.tier, acct.tier_since) == ("gold", LATER)
    assert done.reward["previous_tier"] == "silver" and done.reward["upgraded"] is True
    assert done.reward["upgraded_until"] == (LATER + timedelta(days=90)).isoformat()
    stored = s.scalar(select(Offer.reward).where(Offer.id == o.id)
                      .execution_options(populate_existing=True))
    assert stored["previous_tier"] == "silver"


def test_redeem_tier_upgrade_never_downgrades(s):
    c, o = offer_of(s, UPGRADE, tier="platinum")
    done = redeem(s, o.id, now=LATER)
    assert account(s, c.id).tier == "platinum" and done.reward["upgraded"] is False


def test_tier_upgrade_uses_the_resolved_target(s):
    # Issued from {"to": "next"}: the issuer stored the resolved tier as target_tier.
    c, o = offer_of(s, {"type": "tier_upgrade", "to": "next", "days": 30,
                        "target_tier": "silver"})
    redeem(s, o.id, now=LATER)
    assert account(s, c.id).tier == "silver"


@pytest.mark.parametrize(("reward", "amount", "cost"), [
    ({"type": "percent_off", "percent": 15}, 80.0, 12.0),
    ({"type": "percent_off", "percent": 15, "max_amount": 30}, 300.0, 30.0),
    ({"type": "percent_off", "percent": 12.5, "max_amount": None}, 33.33, 4.17),
    ({"type": "amount_off", "amount": 20, "min_spend": 50}, 60.0, 20.0),
    ({"type": "amount_off", "amount": 20}, 15.0, 15.0),  # never more than the bill
    ({"type": "free_item", "item": "Suspiro limeño", "price": 12.0}, 40.0, 12.0),
])
def test_redeem_books_the_real_cost(s, loc, reward, amount, cost):
    make_menu_item(s)
    c, o = offer_of(s, reward, cost=99.0)
    v = make_visit(s, c, loc, amount)
    assert redeem(s, o.id, visit_id=v.id, now=LATER).cost == cost
    s.commit()
    assert s.scalar(select(Offer.cost).where(Offer.id == o.id)) == cost
    assert balance(s, c.id) == 0  # only points offers move points


def test_redeem_without_a_visit_keeps_the_expected_percent_cost(s):
    _, o = offer_of(s, {"type": "percent_off", "percent": 15}, cost=12.0)
    assert redeem(s, o.id, now=LATER).cost == 12.0
    _, o = offer_of(s, {"type": "amount_off", "amount": 20}, cost=None)
    assert redeem(s, o.id, now=LATER).cost == 20.0


# -- redeem: every refusal --------------------------------------------------------------------


def test_unknown_offer(s):
    with pytest.raises(NotFoundError, match="no offer with id 404"):
        redeem(s, 404, now=LATER)
    with pytest.raises(NotFoundError, match="no offer with code 'NOPE'"):
        cancel(s, "NOPE", reason="x", now=LATER)


def test_control_offer_cannot_be_redeemed(s):
    _, o = offer_of(s, MULTIPLIER, is_control=True)
    with pytest.raises(OfferError, match="held back as the control group; nothing to redeem"):
        redeem(s, o.id, now=LATER)
    assert o.status == "issued"


def test_double_redemption_refused(s, loc):
    c, o = offer_of(s, MULTIPLIER)
    v = make_visit(s, c, loc, 40.0)
    redeem(s, o.id, visit_id=v.id, now=LATER)
    s.commit()
    with pytest.raises(OfferError, match=f"offer {o.code} was already redeemed on 2026-06-16"):
        redeem(s, o.code, visit_id=v.id, now=LATER)
    assert balance(s, c.id) == 80


def test_cancelled_and_expired_offers_cannot_be_redeemed(s):
    _, o = offer_of(s, UPGRADE)
    cancel(s, o.id, reason="guest asked", now=NOW)
    with pytest.raises(OfferError, match="was cancelled on 2026-06-15"):
        redeem(s, o.id, now=LATER)
    _, o = offer_of(s, UPGRADE, status="expired")
    with pytest.raises(OfferError, match="expired on"):
        redeem(s, o.id, now=LATER)


def test_redeem_past_expiry_marks_it_expired(s, engine):
    c, o = offer_of(s, UPGRADE, expires_at=NOW + timedelta(hours=1))
    s.commit()
    with pytest.raises(OfferError, match=f"offer {o.code} expired on 2026-06-15 19:00 UTC"):
        redeem(s, o.id, now=LATER)
    s.commit()  # the session is still usable, and the expiry can be kept
    with Session(engine) as other:
        assert other.get(Offer, o.id).status == "expired"
    assert account(s, c.id).tier == "bronze"


def test_visit_of_another_guest_or_a_return_is_refused(s, loc):
    c, o = offer_of(s, MULTIPLIER)
    stranger = make_customer(s)
    with pytest.raises(OfferError, match="is another customer's"):
        redeem(s, o.id, visit_id=make_visit(s, stranger, loc, 50.0).id, now=LATER)
    with pytest.raises(OfferError, match="is a return"):
        redeem(s, o.id, visit_id=make_visit(s, c, loc, -50.0, is_return=True).id, now=LATER)
    with pytest.raises(NotFoundError, match="no visit with id 999"):
        redeem(s, o.id, visit_id=999, now=LATER)
    assert o.status == "issued" and balance(s, c.id) == balance(s, stranger.id) == 0


def test_amount_off_below_minimum_spend(s, loc):
    c, o = offer_of(s, {"type": "amount_off", "amount": 20, "min_spend": 50})
    with pytest.raises(OfferError, match="needs a spend of at least 50"):
        redeem(s, o.id, visit_id=make_visit(s, c, loc, 49.99).id, now=LATER)
    assert o.status == "issued"


def test_points_need_a_card_and_a_visit_not_returned_or_already_multiplied(s, loc):
    c = make_customer(s, account=False)
    o = make_offer(s, c, make_rule(s, MULTIPLIER))
    with pytest.raises(OfferError, match="has no loyalty account"):
        redeem(s, o.id, visit_id=make_visit(s, c, loc).id, now=LATER)
    c, first = offer_of(s, MULTIPLIER)
    second = make_offer(s, c, make_rule(s, MULTIPLIER))
    v = make_visit(s, c, loc, 30.0)
    redeem(s, first.id, visit_id=v.id, now=LATER)
    with pytest.raises(OfferError, match=f"already earned a points bonus from offer {first.id}"):
        redeem(s, second.id, visit_id=v.id, now=LATER)
    refunded = make_visit(s, c, loc, 30.0)
    earn_for_visit(s, refunded.id)
    return_visit(s, refunded.id, reason="refund", now=LATER)
    with pytest.raises(OfferError, match="was returned"):
        redeem(s, second.id, visit_id=refunded.id, now=LATER)


def test_naive_now_refused(s):
    from datetime import datetime

    from loyalty.errors import LoyaltyError

    _, o = offer_of(s, UPGRADE)
    with pytest.raises(LoyaltyError, match="aware"):
        redeem(s, o.id, now=datetime(2026, 6, 16))


# -- cancel and returns -----------------------------------------------------------------------


def test_cancel_issued_offer(s):
    c, o = offer_of(s, UPGRADE)
    done = cancel(s, o.code, reason="sent by mistake", now=LATER)
    assert (done.status, done.cancelled_at) == ("cancelled", LATER)
    assert done.reward["cancel_reason"] == "sent by mistake"
    assert done.reward["cancelled_from"] == "issued"
    with pytest.raises(OfferError, match="was cancelled"):
        cancel(s, o.id, reason="again", now=LATER)
    _, expired = offer_of(s, UPGRADE, status="expired")
    with pytest.raises(OfferError, match="expired on"):
        cancel(s, expired.id, reason="x", now=LATER)


def test_cancel_after_redeem_reverses_bonus_points(s, loc):
    c, o = offer_of(s, MULTIPLIER, points=5)
    v = make_visit(s, c, loc, 60.0)
    redeem(s, o.id, visit_id=v.id, now=LATER)
    assert balance(s, c.id) == 125
    cancel(s, o.id, reason="order voided", now=LATER)
    s.commit()
    assert balance(s, c.id) == 65  # the visit's own points stay
    rev = s.scalars(select(PointsEntry).where(PointsEntry.kind == "reversal")).one()
    assert (rev.points, rev.offer_id) == (-60, o.id) and "order voided" in rev.note


def test_cancel_after_redeem_restores_the_tier(s):
    since = NOW - timedelta(days=100)
    c, o = offer_of(s, UPGRADE)
    account(s, c.id).tier_since = since
    redeem(s, o.id, now=LATER)
    done = cancel(s, o.id, reason="voided", now=LATER)
    s.commit()
    acct = account(s, c.id)
    assert (acct.tier, acct.tier_since) == ("bronze", since)
    assert done.reward["tier_restored"] is True


def test_cancel_leaves_a_tier_that_moved_on(s):
    c, o = offer_of(s, UPGRADE, tier="silver")
    redeem(s, o.id, now=LATER)
    account(s, c.id).tier = "platinum"  # earned for real since
    done = cancel(s, o.id, reason="voided", now=LATER)
    assert account(s, c.id).tier == "platinum" and done.reward["tier_restored"] is False


def test_return_visit_reverses_points_and_cancels_the_offer(s, loc):
    c, o = offer_of(s, MULTIPLIER, points=3)
    v = make_visit(s, c, loc, 45.0)
    kept = make_visit(s, c, loc, 20.0)
    earn_for_visit(s, kept.id)
    redeem(s, o.id, visit_id=v.id, now=LATER)
    assert balance(s, c.id) == 3 + 20 + 90
    result = return_visit(s, v.id, reason="cold food", now=LATER)
    s.commit()
    assert result == {"visit_id": v.id, "points_reversed": 90, "entries": 2,
                      "cancelled_offers": [o.code]}
    assert balance(s, c.id) == 23
    assert s.get(Offer, o.id).status == "cancelled"
    assert "cold food" in s.get(Offer, o.id).reward["cancel_reason"]
    again = return_visit(s, v.id, reason="cold food", now=LATER)
    assert again == {"visit_id": v.id, "points_reversed": 0, "entries": 0,
                     "cancelled_offers": []}
    assert balance(s, c.id) == 23
    with pytest.raises(NotFoundError):
        return_visit(s, 999, reason="x", now=LATER)


def test_return_visit_without_points_or_offer(s, loc):
    c = make_customer(s, points=4)
    v = make_visit(s, c, loc, 10.0)
    assert return_visit(s, v.id, reason="x", now=LATER)["entries"] == 0
    assert balance(s, c.id) == 4


# -- expiry -----------------------------------------------------------------------------------


def test_expire_offers_treated_and_control(s):
    soon = NOW + timedelta(hours=2)
    c, treated = offer_of(s, UPGRADE, expires_at=soon)
    control = make_offer(s, c, make_rule(s, UPGRADE), is_control=True, expires_at=soon)
    later = make_offer(s, c, make_rule(s, UPGRADE), expires_at=NOW + timedelta(days=3))
    redeemed = make_offer(s, c, make_rule(s, UPGRADE), status="redeemed", expires_at=soon)
    s.commit()
    assert expire_offers(s, now=NOW) == 0
    assert expire_offers(s, now=soon) == 2
    s.commit()
    status = dict(s.execute(select(Offer.id, Offer.status)).all())
    assert status == {treated.id: "expired", control.id: "expired", later.id: "issued",
                      redeemed.id: "redeemed"}
    assert treated.status == "expired"  # the session's copies follow
    assert expire_offers(s, now=soon) == 0


# -- concurrency (PostgreSQL row locks) -------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
def test_two_processes_redeem_the_same_offer_once(engine):
    with Session(engine) as s, s.begin():
        loc = make_location(s)
        c, o = offer_of(s, MULTIPLIER)
        v = make_visit(s, c, loc, 50.0)
        offer_id, visit_id, customer_id = o.id, v.id, c.id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def till() -> None:
        try:
            with Session(engine) as s, s.begin():
                barrier.wait(timeout=10)
                redeem(s, offer_id, visit_id=visit_id, now=LATER)
                time.sleep(0.3)  # hold the lock: the other till must wait, not read "issued"
            outcomes.append("redeemed")
        except OfferError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=till) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(outcomes) == 2
    assert sorted(outcomes)[1] == "redeemed" and "already redeemed" in sorted(outcomes)[0]
    with Session(engine) as s:
        assert balance(s, customer_id) == 100
        assert len(s.scalars(select(PointsEntry)).all()) == 2


def _till(url: str, codes: list[str], barrier, out_dir: str, n: int) -> None:
    """One till in a process of its own: redeem each code once, write what it was told."""
    import loyalty.offers.lifecycle as lifecycle

    # Widen the gap between reading the offer and writing the redemption, so that without a
    # conditional write two tills would both read "issued" and both be told "redeemed".
    visit_for = lifecycle._visit_for
    lifecycle._visit_for = lambda *a: (time.sleep(0.05), visit_for(*a))[1]
    engine = make_engine(url)
    told = []
    for code in codes:
        barrier.wait(timeout=60)
        try:
            with Session(engine) as s, s.begin():
                redeem(s, code, now=LATER)
            told.append(f"{code} redeemed")
        except OfferError:
            told.append(f"{code} refused")
    engine.dispose()
    Path(out_dir, f"till-{n}.txt").write_text("\n".join(told))


def test_processes_redeeming_one_offer_are_told_redeemed_once(engine, db_url, tmp_path):
    """Several processes redeem the same offers at once: exactly one till hears "redeemed"."""
    with Session(engine) as s, s.begin():
        codes = [offer_of(s, {"type": "percent_off", "percent": 10})[1].code for _ in range(4)]
    ctx = mp.get_context("spawn")
    tills = 4
    barrier = ctx.Barrier(tills)
    procs = [ctx.Process(target=_till, args=(db_url, codes, barrier, str(tmp_path), n))
             for n in range(tills)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    told = [line for n in range(tills)
            for line in (tmp_path / f"till-{n}.txt").read_text().splitlines()]
    assert len(told) == tills * len(codes)
    for code in codes:
        assert told.count(f"{code} redeemed") == 1, told
        assert told.count(f"{code} refused") == tills - 1
    with Session(engine) as s:
        assert {o.status for o in s.scalars(select(Offer))} == {"redeemed"}
