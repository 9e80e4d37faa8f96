"""Loyalty points: the ledger of every movement the service makes, and the balance it keeps.

The ledger (``points_ledger``, :class:`~loyalty.models.PointsEntry`) is the truth for points the
service moves. ``LoyaltyAccount.points`` is kept equal to the balance the account started with
(imported cards arrive with one) plus the sum of its ledger entries, and never goes below 0.

- A visit earns ``POINTS_PER_CURRENCY`` point per currency unit spent, rounded down ("earn",
  key ``earn:visit:<id>``); a return visit or one without a positive amount earns nothing.
- A points multiplier offer adds ``floor(amount x (multiplier - 1))`` ("bonus", key
  ``bonus:visit:<id>``, with the offer's id), so the visit earns ``multiplier`` times in all.
- A refunded visit or a cancelled offer gets one "reversal" per earn/bonus entry (key
  ``reversal:<entry id>``) taking those points back.

Every movement has a ``dedupe_key``: each function checks it first, so a second call (a re-run
job, a double click) adds nothing, and a race between two processes ends at the unique
constraint, caught inside a SAVEPOINT so the caller's transaction goes on.

A movement that would take the balance below 0 (points spent between an earn and its reversal)
applies what the balance holds: the entry's ``points`` is the movement actually applied and its
``note`` records the shortfall. The account row is locked (``SELECT ... FOR UPDATE`` on
PostgreSQL) while its balance changes, so two processes cannot lose an update.

Functions take a Session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import math
from decimal import Decimal

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loyalty.errors import NotFoundError
from loyalty.models import Customer, LoyaltyAccount, PointsEntry, Visit

POINTS_PER_CURRENCY = 1
EARNING_KINDS = ("earn", "bonus")  # the movements a reversal takes back


def visit_points(amount: float | None, multiplier: float = 1.0) -> tuple[int, int]:
    """(earn, bonus) points for a visit of ``amount`` under a points ``multiplier``."""
    if amount is None or amount <= 0:
        return 0, 0
    spent = Decimal(str(amount)) * POINTS_PER_CURRENCY
    earn = math.floor(spent)
    m = Decimal(str(multiplier))
    bonus = math.floor(spent * (m - 1)) if m > 1 else 0
    return earn, bonus


def earn_for_visit(session: Session, visit_id: int, *, multiplier: float = 1.0,
                   offer_id: int | None = None) -> list[PointsEntry]:
    """Points a visit earns: "earn", plus a "bonus" with ``multiplier`` > 1 (tied to ``offer_id``).

    Returns the entries this call wrote: none when they were already there (idempotent), for a
    return visit, a visit without a positive amount, or a guest without a loyalty account.
    Raises NotFoundError for an unknown visit.
    """
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise NotFoundError(f"no visit with id {visit_id}")
    if visit.is_return:
        return []
    earn, bonus = visit_points(visit.total_amount, multiplier)
    wanted = [("earn", f"earn:visit:{visit_id}", earn, None),
              ("bonus", f"bonus:visit:{visit_id}", bonus, offer_id)]
    wanted = [w for w in wanted if w[2] > 0]
    if not wanted:
        return []
    account = lock_account(session, visit.customer_id)
    if account is None:
        return []
    written = []
    for kind, key, points, offer in wanted:
        entry = _record(session, account, kind=kind, key=key, points=points,
                        visit_id=visit_id, offer_id=offer)
        if entry is not None:
            written.append(entry)
    return written


def reverse_visit(session: Session, visit_id: int, *, reason: str) -> list[PointsEntry]:
    """Take back what a visit earned (earn and bonus): one "reversal" per entry, idempotent.

    Returns the reversals this call wrote. Raises NotFoundError for an unknown visit.
    """
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise NotFoundError(f"no visit with id {visit_id}")
    return _reverse(session, visit.customer_id,
                    select(PointsEntry).where(PointsEntry.visit_id == visit_id,
                                              PointsEntry.kind.in_(EARNING_KINDS)),
                    reason=reason)


def reverse_offer(session: Session, offer_id: int, *, reason: str) -> list[PointsEntry]:
    """Take back the bonus points an offer gave: one "reversal" per bonus entry, idempotent.

    Returns the reversals this call wrote (none when the offer gave no points).
    """
    query = select(PointsEntry).where(PointsEntry.offer_id == offer_id,
                                      PointsEntry.kind == "bonus")
    customers = set(session.scalars(query.with_only_columns(PointsEntry.customer_id)))
    written = []
    for customer_id in sorted(customers):
        written += _reverse(session, customer_id,
                            query.where(PointsEntry.customer_id == customer_id), reason=reason)
    return written


def balance(session: Session, customer_id: int) -> int:
    """The guest's points now (0 without a loyalty account). NotFoundError for unknown guests."""
    points = session.scalar(select(LoyaltyAccount.points)
                            .where(LoyaltyAccount.customer_id == customer_id))
    if points is not None:
        return int(points)
    if session.get(Customer, customer_id) is None:
        raise NotFoundError(f"no customer with id {customer_id}")
    return 0


def history(session: Session, customer_id: int) -> list[PointsEntry]:
    """The guest's ledger entries, newest first."""
    return list(session.scalars(
        select(PointsEntry).where(PointsEntry.customer_id == customer_id)
        .order_by(PointsEntry.created_at.desc(), PointsEntry.id.desc())))


def lock_account(session: Session, customer_id: int) -> LoyaltyAccount | None:
    """The guest's loyalty account, row-locked (PostgreSQL) until the transaction ends."""
    # populate_existing: once the lock is ours, read the balance another process may have just
    # committed, not the copy this session already holds.
    return session.scalars(
        select(LoyaltyAccount).where(LoyaltyAccount.customer_id == customer_id)
        .with_for_update().execution_options(populate_existing=True)).first()


# --------------------------------------------------------------------------------------------


def _reverse(session: Session, customer_id: int, query: Select[tuple[PointsEntry]], *,
             reason: str) -> list[PointsEntry]:
    originals = list(session.scalars(query.order_by(PointsEntry.id)))
    if not originals:
        return []
    account = lock_account(session, customer_id)
    if account is None:  # the card was deleted; nothing left to take points from
        return []
    written = []
    for original in originals:
        if original.points == 0:
            continue
        entry = _record(session, account, kind="reversal", key=f"reversal:{original.id}",
                        points=-original.points, visit_id=original.visit_id,
                        offer_id=original.offer_id, note=reason)
        if entry is not None:
            written.append(entry)
    return written


def _record(session: Session, account: LoyaltyAccount, *, kind: str, key: str, points: int,
            visit_id: int | None, offer_id: int | None,
            note: str | None = None) -> PointsEntry | None:
    """Write one movement and apply it to the (locked) account; None when the key exists."""
    if session.scalar(select(PointsEntry.id).where(PointsEntry.dedupe_key == key)) is not None:
        return None
    applied = points
    if points < 0 and account.points + points < 0:
        applied = -account.points
        shortfall = (f"shortfall {-points - account.points} of {-points} points: "
                     f"balance was {account.points}")
        note = f"{note}; {shortfall}" if note else shortfall
    entry = PointsEntry(customer_id=account.customer_id, kind=kind, points=applied,
                        visit_id=visit_id, offer_id=offer_id, dedupe_key=key, note=note)
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:
        if entry in session:
            session.expunge(entry)
        if session.scalar(select(PointsEntry.id).where(PointsEntry.dedupe_key == key)) is None:
            raise  # not the race on the key: a real error
        # Another process wrote the same movement since the check; its balance change is its own.
        return None
    account.points += applied
    session.flush()
    return entry


__all__ = ["POINTS_PER_CURRENCY", "balance", "earn_for_visit", "history", "lock_account",
           "reverse_offer",
           "reverse_visit", "visit_points"]
