"""The life of an offer after it is issued: redeemed, expired or cancelled.

::

    issued ──► redeemed ──► cancelled   (a cancelled redemption: the order was voided or returned)
       │
       ├─────► expired                  (past ``expires_at``; ``expire_offers`` or a late redeem)
       └─────► cancelled

Redeeming gives the guest the reward the offer holds (resolved when it was issued):

- ``points_multiplier`` on a visit: the visit's points ("earn", if not there yet) and the bonus
  ``floor(amount x (multiplier - 1))`` tied to the offer.
- ``tier_upgrade``: the card moves up to the target tier (never down); the previous tier and the
  upgrade's end date are kept in the offer's reward document so a cancellation can undo it.
- ``percent_off`` on a visit: ``Offer.cost`` becomes the actual discount (percent x the visit's
  amount, capped at ``max_amount``); ``amount_off``: the amount (at most the visit's amount);
  ``free_item``: the dish's price.

Cancelling a redeemed offer takes back what the redemption gave: the bonus points (a ledger
reversal) and the tier upgrade (back to the previous tier, when the card still has the upgraded
one). Control-group offers (``is_control``) are recorded for uplift only: they are never
redeemed, and they expire like any other.

Before it changes anything, a redemption or cancellation claims the offer with a conditional
``UPDATE ... WHERE status = <the status it read>`` and goes on only if that matched the row. The
write takes the row lock on PostgreSQL and the database's write lock on SQLite (where
``SELECT ... FOR UPDATE`` locks nothing), so of several tills or processes acting on one offer
at once exactly one goes on; the others wait, see the first one's result and get an
OfferError. Locks are taken offer first, then the loyalty account.

Functions take a Session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loyalty.errors import LoyaltyError, NotFoundError, OfferError
from loyalty.models import TIERS, LoyaltyAccount, Offer, PointsEntry, Visit
from loyalty.offers.points import earn_for_visit, lock_account, reverse_offer, reverse_visit
from loyalty.rules.rewards import DEFAULT_UPGRADE_DAYS

OfferRef = int | str  # an offer's id, or its code (case and surrounding spaces do not matter)


def find_offer(session: Session, offer_ref: OfferRef, *, lock: bool = False) -> Offer:
    """The offer with this id or code; NotFoundError when there is none.

    ``lock`` takes the row lock (PostgreSQL) and reads the row as it is once the lock is held.
    """
    if isinstance(offer_ref, int) and not isinstance(offer_ref, bool):
        query = select(Offer).where(Offer.id == offer_ref)
    elif isinstance(offer_ref, str) and offer_ref.strip():
        query = select(Offer).where(Offer.code == offer_ref.strip().upper())
    else:
        raise NotFoundError(f"no offer {offer_ref!r}: give its id or its code")
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    offer = session.scalars(query).first()
    if offer is None:
        what = f"id {offer_ref}" if isinstance(offer_ref, int) else f"code {offer_ref.strip()!r}"
        raise NotFoundError(f"no offer with {what}")
    return offer


def redeem(session: Session, offer_ref: OfferRef, *, visit_id: int | None = None,
           now: datetime) -> Offer:
    """The guest used the offer (on ``visit_id`` when given): record it and give the reward.

    Raises NotFoundError for an unknown offer or visit, and OfferError when the offer cannot be
    redeemed: held back as control, already redeemed, cancelled or expired, past its expiry, a
    visit of another guest or a return visit, an ``amount_off`` below its minimum spend, a
    visit that was refunded or already earned a points bonus from another offer, a points or
    tier reward for a guest without a loyalty account.

    An offer found past its expiry is marked ``expired`` (flushed) before the OfferError: the
    session stays usable, so a caller that catches the error and commits keeps the expiry, and
    one that rolls back loses nothing ``expire_offers`` will not redo.
    """
    _aware(now)
    offer = find_offer(session, offer_ref, lock=True)
    if offer.is_control:
        raise OfferError(f"offer {offer.code} is held back as the control group; "
                         "nothing to redeem")
    if offer.status != "issued":
        raise OfferError(_not_open(offer))
    _claim(session, offer)
    if offer.expires_at <= now:
        offer.status = "expired"
        offer.updated_at = now
        session.flush()
        raise OfferError(f"offer {offer.code} expired on {offer.expires_at:%Y-%m-%d %H:%M} UTC")
    visit = _visit_for(session, offer, visit_id)
    reward = dict(offer.reward or {})
    kind = reward.get("type")
    if kind == "points_multiplier":
        _redeem_multiplier(session, offer, reward, visit)
    elif kind == "tier_upgrade":
        offer.reward = _redeem_upgrade(session, offer, reward, now)
    elif kind == "percent_off":
        if visit is not None and visit.total_amount is not None:
            discount = Decimal(str(reward.get("percent", 0))) / 100 * _dec(visit.total_amount)
            cap = reward.get("max_amount")
            if cap is not None:
                discount = min(discount, _dec(cap))
            offer.cost = _cents(discount)
    elif kind == "amount_off":
        amount = _dec(reward.get("amount", 0))
        if visit is not None and visit.total_amount is not None:
            spent = _dec(visit.total_amount)
            floor = reward.get("min_spend")
            if floor is not None and spent < _dec(floor):
                raise OfferError(f"offer {offer.code} needs a spend of at least {floor}; "
                                 f"visit {visit.id} came to {visit.total_amount}")
            amount = min(amount, max(spent, Decimal(0)))
        offer.cost = _cents(amount)
    elif kind == "free_item":
        if reward.get("price") is not None:
            offer.cost = _cents(_dec(reward["price"]))
    else:
        raise OfferError(f"offer {offer.code} holds an unknown reward type {kind!r}")
    offer.status = "redeemed"
    offer.redeemed_at = now
    offer.redeemed_visit_id = visit.id if visit is not None else None
    offer.updated_at = now
    session.flush()
    return offer


def cancel(session: Session, offer_ref: OfferRef, *, reason: str, now: datetime) -> Offer:
    """Cancel an issued offer, or a redemption (taking back its bonus points and tier upgrade).

    The reason and the status cancelled from are kept in the offer's reward document
    (``cancel_reason``, ``cancelled_from``). OfferError for an offer already cancelled or
    expired; NotFoundError for an unknown one.
    """
    _aware(now)
    offer = find_offer(session, offer_ref, lock=True)
    _cancel(session, offer, reason=reason, now=now)
    return offer


def return_visit(session: Session, visit_id: int, *, reason: str,
                 now: datetime) -> dict[str, Any]:
    """The visit was refunded: cancel any offer redeemed on it and take back its points.

    Idempotent: a second call finds nothing left to do. Returns what this call did:
    ``{"visit_id", "points_reversed" (points taken back, >= 0), "entries" (reversals written),
    "cancelled_offers" (codes)}``. NotFoundError for an unknown visit.
    """
    _aware(now)
    if session.get(Visit, visit_id) is None:
        raise NotFoundError(f"no visit with id {visit_id}")
    # Offers first, then the account (inside cancel and reverse_visit): the lock order of redeem.
    offers = list(session.scalars(
        select(Offer).where(Offer.redeemed_visit_id == visit_id, Offer.status == "redeemed")
        .order_by(Offer.id).with_for_update().execution_options(populate_existing=True)))
    entries: list[PointsEntry] = []
    cancelled = []
    for offer in offers:
        entries += _cancel(session, offer, reason=f"visit {visit_id} returned: {reason}", now=now)
        cancelled.append(offer.code)
    entries += reverse_visit(session, visit_id, reason=f"visit {visit_id} returned: {reason}")
    return {"visit_id": visit_id, "points_reversed": -sum(e.points for e in entries),
            "entries": len(entries), "cancelled_offers": cancelled}


def expire_offers(session: Session, *, now: datetime) -> int:
    """Issued offers (given or control) with ``expires_at <= now`` become expired; how many."""
    _aware(now)
    result = session.execute(
        update(Offer).where(Offer.status == "issued", Offer.expires_at <= now)
        .values(status="expired", updated_at=now)
        .execution_options(synchronize_session="fetch"))
    return int(result.rowcount or 0)


# --------------------------------------------------------------------------------------------


def _cancel(session: Session, offer: Offer, *, reason: str, now: datetime) -> list[PointsEntry]:
    """Cancel a locked offer; the ledger reversals it wrote."""
    if offer.status in ("cancelled", "expired"):
        raise OfferError(_not_open(offer))
    _claim(session, offer)
    was = offer.status
    reward = {**(offer.reward or {}), "cancel_reason": reason, "cancelled_from": was}
    entries: list[PointsEntry] = []
    if was == "redeemed":
        entries = reverse_offer(session, offer.id, reason=f"offer {offer.code} cancelled: {reason}")
        if reward.get("type") == "tier_upgrade" and reward.get("upgraded"):
            reward["tier_restored"] = _undo_upgrade(session, offer.customer_id, reward)
    offer.reward = reward  # a new dict: SQLAlchemy sees the change
    offer.status = "cancelled"
    offer.cancelled_at = now
    offer.updated_at = now
    session.flush()
    return entries


def _claim(session: Session, offer: Offer) -> None:
    """Lock the offer's row if it still has the status read, else OfferError with the new one.

    The UPDATE writes the status it tests for, so it changes nothing: it only takes the write
    lock, waiting for a transaction that holds it, and then matches the row as committed.
    """
    claimed = session.execute(
        update(Offer).where(Offer.id == offer.id, Offer.status == offer.status)
        .values(status=offer.status).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        session.refresh(offer)
        raise OfferError(_not_open(offer))


def _visit_for(session: Session, offer: Offer, visit_id: int | None) -> Visit | None:
    if visit_id is None:
        return None
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise NotFoundError(f"no visit with id {visit_id}")
    if visit.customer_id != offer.customer_id:
        raise OfferError(f"visit {visit_id} is another customer's, not the holder's of offer "
                         f"{offer.code}")
    if visit.is_return:
        raise OfferError(f"visit {visit_id} is a return; an offer is redeemed on a purchase")
    return visit


def _redeem_multiplier(session: Session, offer: Offer, reward: dict[str, Any],
                       visit: Visit | None) -> None:
    if visit is None:
        return  # redeemed at the till without naming the order: no points to multiply
    _account(session, offer)
    refunded = session.scalar(select(PointsEntry.id).where(
        PointsEntry.visit_id == visit.id, PointsEntry.kind == "reversal").limit(1))
    if refunded is not None:
        raise OfferError(f"visit {visit.id} was returned; its points cannot be multiplied")
    other = session.scalar(select(PointsEntry.offer_id).where(
        PointsEntry.dedupe_key == f"bonus:visit:{visit.id}"))
    if other is not None and other != offer.id:
        raise OfferError(f"visit {visit.id} already earned a points bonus from offer {other}")
    earn_for_visit(session, visit.id, multiplier=float(reward.get("multiplier", 1)),
                   offer_id=offer.id)


def _redeem_upgrade(session: Session, offer: Offer, reward: dict[str, Any],
                    now: datetime) -> dict[str, Any]:
    target = reward.get("target_tier") or reward.get("to")
    if target not in TIERS:
        raise OfferError(f"offer {offer.code} names no tier to upgrade to (got {target!r})")
    account = _account(session, offer)
    previous, since = account.tier, account.tier_since
    upgraded = TIERS.index(target) > TIERS.index(previous)
    if upgraded:
        account.tier = target
        account.tier_since = now
    until = now + timedelta(days=int(reward.get("days") or DEFAULT_UPGRADE_DAYS))
    return {**reward, "target_tier": target, "upgraded": upgraded, "previous_tier": previous,
            "previous_tier_since": since.isoformat() if since is not None else None,
            "upgraded_until": until.isoformat()}


def _undo_upgrade(session: Session, customer_id: int, reward: dict[str, Any]) -> bool:
    """Put the card back on its previous tier if it still holds the upgraded one."""
    account = lock_account(session, customer_id)
    if account is None or account.tier != reward.get("target_tier"):
        return False  # the tier moved on since (a real upgrade, a manual change): leave it
    account.tier = reward["previous_tier"]
    since = reward.get("previous_tier_since")
    account.tier_since = datetime.fromisoformat(since) if since else None
    return True


def _account(session: Session, offer: Offer) -> LoyaltyAccount:
    account = lock_account(session, offer.customer_id)
    if account is None:
        raise OfferError(f"customer {offer.customer_id} has no loyalty account to give the "
                         f"reward of offer {offer.code} to")
    return account


def _not_open(offer: Offer) -> str:
    if offer.status == "redeemed":
        when = f" on {offer.redeemed_at:%Y-%m-%d}" if offer.redeemed_at else ""
        return f"offer {offer.code} was already redeemed{when}"
    if offer.status == "cancelled":
        when = f" on {offer.cancelled_at:%Y-%m-%d}" if offer.cancelled_at else ""
        return f"offer {offer.code} was cancelled{when}"
    if offer.status == "expired":
        return f"offer {offer.code} expired on {offer.expires_at:%Y-%m-%d}"
    return f"offer {offer.code} is {offer.status}"


def _aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise LoyaltyError("offers need an aware 'now' (UTC)")


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def _cents(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


__all__ = ["OfferRef", "cancel", "expire_offers", "find_offer", "redeem", "return_visit"]
