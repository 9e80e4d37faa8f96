"""Issuing offers: the active rules, walked by priority, give a guest at most one offer at a time.

For one guest, in one short transaction:

1. Lock the guest (PostgreSQL: ``SELECT ... FOR UPDATE`` on the customer row; SQLite: a no-op
   write as the transaction's first statement, which takes the database's single write lock
   and waits for it, queued by :func:`loyalty.db.serialised_writes`), so two processes
   issuing at once serialise per guest. Everything below is read after the lock, so it sees
   every offer committed before it.
2. Issued offers past their expiry become ``expired``. A guest who still holds an offer (given or
   held back as control) keeps it: one offer at a time.
3. No new offer within ``Settings.offer_min_gap_days`` of the guest's last one, whatever rule.
4. Active rules in their validity window, by ``priority`` (lowest number first), then id. The
   first rule whose segment and conditions match, whose per-guest cap (``per_customer_limit``
   offers within ``per_customer_window_days``; no window = ever) is not reached and whose
   budget allows it gives the offer. The budget check locks the rule row on PostgreSQL (guest
   first, then rules in priority order: every issuer takes locks in the same order, so they
   cannot deadlock). Budget use = the cost of offers redeemed or still outstanding
   (expired and cancelled ones spent nothing); ``max_offers`` counts every given offer that
   was not cancelled.
5. A stable hash of (rule key, guest) below the rule's ``control_share`` puts the guest in the
   rule's control group: the offer row is written (``is_control``, cost 0) so uplift can be
   measured, and the guest is never shown or given the reward.

The offer records the rule, the prediction and explanation it came from, the guest's segment,
the resolved reward and its expected cost, the message in the guest's language, and the
reason a waiter reads (the rule's name and the prediction's one-line reason, in
``Settings.staff_language``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, func, or_, select, text
from sqlalchemy.orm import Session
from tqdm.auto import tqdm

from loyalty.config import Settings
from loyalty.db import serialised_writes
from loyalty.errors import LoyaltyError, NotFoundError, RuleValidationError
from loyalty.models import Customer, MenuItem, Offer, Prediction, RewardRule, utcnow
from loyalty.offers.context import (
    FAVOURITE_FIELDS,
    CustomerContext,
    add_favourites,
    build_contexts,
)
from loyalty.rules.conditions import evaluate, fields_used
from loyalty.rules.rewards import MenuEntry, resolve_reward
from loyalty.rules.templates import render

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud
CODE_LENGTH = 8
OUTSTANDING = ("issued", "redeemed")  # offers whose cost counts against a budget


@dataclass
class IssueResult:
    customer_id: int
    offer: Offer | None
    issued: bool  # True when this call wrote the offer
    reason: str   # why there is (or is not) an offer, for logs and the CLI

    @property
    def given(self) -> bool:
        return self.offer is not None and not self.offer.is_control


@dataclass
class IssueSummary:
    considered: int = 0
    issued: int = 0
    control: int = 0
    held: int = 0  # already held a current offer
    by_rule: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def add(self, result: IssueResult, rule_names: dict[int, str]) -> None:
        self.considered += 1
        if result.issued and result.offer is not None:
            if result.offer.is_control:
                self.control += 1
            else:
                self.issued += 1
            name = rule_names.get(result.offer.rule_id, str(result.offer.rule_id))
            self.by_rule[name] = self.by_rule.get(name, 0) + 1
        elif result.offer is not None:
            self.held += 1
        else:
            key = result.reason.split(":")[0]
            self.skipped[key] = self.skipped.get(key, 0) + 1

    def lines(self) -> list[str]:
        out = [f"offers: {self.considered:,} guests considered, {self.issued:,} offers given, "
               f"{self.control:,} held back as control, {self.held:,} already held one"]
        out += [f"  {name}: {n:,}" for name, n in sorted(self.by_rule.items(),
                                                       key=lambda kv: -kv[1])]
        if self.skipped:
            out.append("  no offer: " + ", ".join(f"{k} {v:,}" for k, v in
                                                  sorted(self.skipped.items(),
                                                         key=lambda kv: -kv[1])))
        return out


def in_control_group(rule_key: str, customer_id: int, share: float) -> bool:
    """Deterministic: the same guest is always in (or out of) a rule's control group."""
    digest = hashlib.sha256(f"{rule_key}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def active_rules(session: Session, now: datetime | None = None) -> list[RewardRule]:
    """Active rules by priority; with ``now``, only those in their validity window then."""
    query = select(RewardRule).where(RewardRule.status == "active")
    if now is not None:
        query = query.where(or_(RewardRule.valid_from.is_(None), RewardRule.valid_from <= now),
                            or_(RewardRule.valid_until.is_(None), RewardRule.valid_until > now))
    return list(session.scalars(query.order_by(RewardRule.priority, RewardRule.id)))


def load_menu(session: Session) -> dict[str, MenuEntry]:
    rows = session.execute(select(MenuItem.name, MenuItem.category, MenuItem.price)
                           .where(MenuItem.active.is_(True)).order_by(MenuItem.id))
    return {name: MenuEntry(category=category, price=float(price))
            for name, category, price in rows}


@dataclass(frozen=True)
class RuleBook:
    """The active rules (every validity window) and the menu that prices their rewards, as
    read at ``loaded_at``. Read-only once loaded, so threads may share one."""

    rules: tuple[RewardRule, ...]
    menu: dict[str, MenuEntry]
    loaded_at: datetime

    @classmethod
    def load(cls, engine: Engine) -> RuleBook:
        with Session(engine, expire_on_commit=False) as session:
            return cls(tuple(active_rules(session)), load_menu(session), utcnow())

    def rules_at(self, now: datetime) -> list[RewardRule]:
        return [r for r in self.rules
                if (r.valid_from is None or _aware(r.valid_from) <= now)
                and (r.valid_until is None or _aware(r.valid_until) > now)]


def current_offer(session: Session, customer_id: int, now: datetime, *,
                  include_control: bool = False) -> Offer | None:
    """The guest's offer in force at ``now`` (issued and not past expiry), if any."""
    query = (select(Offer).where(Offer.customer_id == customer_id, Offer.status == "issued",
                                 Offer.expires_at > now)
             .order_by(Offer.issued_at.desc(), Offer.id.desc()).limit(1))
    offer = session.scalars(query).first()
    if offer is not None and offer.is_control and not include_control:
        return None
    return offer


def issue_offer(engine: Engine, customer_id: int, *, settings: Settings,
                now: datetime | None = None, book: RuleBook | None = None,
                session: Session | None = None) -> IssueResult:
    """Give one guest their offer now (or say why not). Commits its own transaction.

    ``session``: one to do the reads in (a server's request session). The offer is always
    written in a transaction of its own, on another connection, so ``session`` must hold no
    uncommitted write (on SQLite that write's lock would make this one wait).

    ``book``: rules and menu loaded earlier (a server keeps one per worker for a few seconds).
    An offer is only written from rules still active under the guest's lock (the active set is
    compared; an active rule cannot change), so a rule retired since never gives one; its
    reward is priced from the book's menu.
    """
    return _Issuer(engine, settings, now or utcnow(), book=book).issue_one(customer_id,
                                                                          session=session)


def issue_offers(engine: Engine, settings: Settings, *, now: datetime | None = None,
                 customer_ids: Iterable[int] | None = None, chunk: int = 500,
                 progress: bool = False) -> IssueSummary:
    """Offers for many guests (default: every guest with a prediction), one transaction each."""
    now = now or utcnow()
    with Session(engine) as session:
        if customer_ids is None:
            ids = list(session.scalars(select(Prediction.customer_id).distinct()
                                       .order_by(Prediction.customer_id)))
        else:
            ids = list(dict.fromkeys(int(c) for c in customer_ids))
    issuer = _Issuer(engine, settings, now)
    summary = IssueSummary()
    with tqdm(total=len(ids), desc="offers", unit="guest", disable=not progress) as bar:
        for start in range(0, len(ids), chunk):
            part = ids[start:start + chunk]
            with Session(engine, expire_on_commit=False) as session:
                contexts = build_contexts(session, part, now=now, settings=settings)
            for cid in part:
                if cid in contexts:
                    summary.add(issuer.issue(contexts[cid]), issuer.rule_names)
                bar.update(1)
    return summary


class _Issuer:
    """Rules and menu loaded once per run (or given); each guest then gets one short
    transaction."""

    def __init__(self, engine: Engine, settings: Settings, now: datetime, *,
                 book: RuleBook | None = None) -> None:
        if now.tzinfo is None:
            raise LoyaltyError("offers need an aware 'now' (UTC)")
        self.engine, self.settings, self.now = engine, settings, now
        self.book = book or RuleBook.load(engine)
        self.rules = self.book.rules_at(now)
        self.rule_names = {r.id: r.name for r in self.rules}
        self._fields_used: dict[int, set[str]] = {}

    def issue_one(self, customer_id: int, *, session: Session | None = None) -> IssueResult:
        # Held offers and the minimum gap are settled from the guest's offers alone: the
        # context is only built when a rule could give something.
        with _reading(self.engine, session) as reads:
            history = _history(reads, customer_id)
            found = self._settled(history, customer_id)
            if found is not None:
                return found
            contexts = build_contexts(reads, [customer_id], now=self.now,
                                      settings=self.settings, favourites=False)
            if customer_id not in contexts:
                raise NotFoundError(f"no customer with id {customer_id}")
            return self.issue(contexts[customer_id], history=history, session=reads)

    def issue(self, ctx: CustomerContext, *, history: list[Offer] | None = None,
              session: Session | None = None) -> IssueResult:
        # Most lookups end without a new offer (the guest holds one, or no rule matches):
        # decide that first without locking or writing anything, so those answers never wait
        # for a lock (on SQLite the lock is the whole database's). Only when a rule would give
        # an offer is everything decided again under the lock, and the offer written. The
        # lock is held for as little work as possible: every waiting writer waits for it.
        with _reading(self.engine, session) as reads:
            if history is None:
                history = _history(reads, ctx.customer_id)
            found = self._decide(reads, ctx, self.rules, history, locked=False)
            if isinstance(found, IssueResult):
                return found
            add_favourites(reads, [ctx], now=self.now)  # the reward or message may need them
        with serialised_writes(self.engine), \
                Session(self.engine, expire_on_commit=False) as tx, tx.begin():
            if not lock_customer(tx, ctx.customer_id):
                raise NotFoundError(f"no customer with id {ctx.customer_id}")
            history = _history(tx, ctx.customer_id)
            self._expire_lapsed(history)
            found = self._decide(tx, ctx, self._rules_now(tx), history, locked=True)
            if isinstance(found, IssueResult):
                return found
            offer = self._write(tx, found, ctx)
            return IssueResult(ctx.customer_id, offer, True,
                               f"{'control group of' if offer.is_control else 'rule'} "
                               f"{found.key}")

    def _rules_now(self, session: Session) -> list[RewardRule]:
        """The rules to write an offer from: the loaded ones while the same rules are active
        (an active rule cannot change, only be retired), else the rules read again."""
        active = set(session.scalars(_ACTIVE_RULE_IDS))
        if active == {rule.id for rule in self.book.rules}:
            return self.rules
        return active_rules(session, self.now)

    def _settled(self, history: Sequence[Offer], customer_id: int) -> IssueResult | None:
        """No new offer because of the guest's own offers: one still held, or one too recent."""
        held = next((o for o in history
                     if o.status == "issued" and _aware(o.expires_at) > self.now), None)
        if held is not None:
            return IssueResult(customer_id, held, False,
                               f"holds offer {held.code} until {held.expires_at:%Y-%m-%d}")
        gap = self.settings.offer_min_gap_days
        if gap and history and _aware(history[0].issued_at) > self.now - timedelta(days=gap):
            return IssueResult(customer_id, None, False,
                               f"recent offer: one was issued within {gap} days")
        return None

    def _decide(self, session: Session, ctx: CustomerContext, rules: Sequence[RewardRule],
                history: Sequence[Offer], *, locked: bool) -> IssueResult | RewardRule:
        """Why there is no new offer, or the rule that gives one."""
        found = self._settled(history, ctx.customer_id)
        if found is not None:
            return found
        if not ctx.predicted:
            return IssueResult(ctx.customer_id, None, False,
                               "no prediction: run `loyalty predict` first")
        for rule in rules:
            if self._blocked(session, rule, ctx, history, locked=locked) is None:
                return rule
        return IssueResult(ctx.customer_id, None, False,
                           "no rule matches" if rules else "no active rules")

    def _expire_lapsed(self, history: Sequence[Offer]) -> None:
        """Issued offers past their expiry become expired (written with the transaction)."""
        for offer in history:
            if offer.status == "issued" and _aware(offer.expires_at) <= self.now:
                offer.status, offer.updated_at = "expired", self.now

    def _blocked(self, session: Session, rule: RewardRule, ctx: CustomerContext,
                 history: Sequence[Offer], *, locked: bool = True) -> str | None:
        if rule.segment_id is not None and rule.segment_id != ctx.segment_id:
            return "segment"
        if not ctx.favourites_known and FAVOURITE_FIELDS & self._fields(rule):
            add_favourites(session, [ctx], now=self.now)
        try:
            if not evaluate(rule.conditions, ctx.values):
                return "conditions"
        except RuleValidationError:
            return "invalid conditions"  # validated on save; a renamed field must not crash a run
        if rule.per_customer_limit is not None:
            since = (self.now - timedelta(days=rule.per_customer_window_days)
                     if rule.per_customer_window_days else None)
            given = sum(1 for o in history
                        if o.rule_id == rule.id and o.status != "cancelled"
                        and (since is None or _aware(o.issued_at) > since))
            if given >= rule.per_customer_limit:
                return "per-guest cap"
        if rule.budget_limit is not None or rule.max_offers is not None:
            if locked and session.get_bind().dialect.name == "postgresql":
                session.execute(select(RewardRule.id).where(RewardRule.id == rule.id)
                                .with_for_update())
            cost, count = session.execute(
                select(func.coalesce(func.sum(Offer.cost).filter(Offer.status.in_(OUTSTANDING)),
                                     0.0),
                       func.count().filter(Offer.status != "cancelled"))
                .where(Offer.rule_id == rule.id, Offer.is_control.is_(False))).one()
            if rule.max_offers is not None and count >= rule.max_offers:
                return "rule's offer cap"
            if rule.budget_limit is not None:
                add_favourites(session, [ctx], now=self.now)
                expected = self._resolve(rule, ctx).expected_cost
                if float(cost) + expected > float(rule.budget_limit) + 1e-9:
                    return "rule's budget"
        return None

    def _fields(self, rule: RewardRule) -> set[str]:
        if rule.id not in self._fields_used:
            self._fields_used[rule.id] = fields_used(rule.conditions)
        return self._fields_used[rule.id]

    def _resolve(self, rule: RewardRule, ctx: CustomerContext) -> Any:
        return resolve_reward(rule.reward, ctx.reward_inputs, self.book.menu,
                              point_value=self.settings.point_value,
                              tier_thresholds=self.settings.tier_thresholds)

    def _write(self, session: Session, rule: RewardRule, ctx: CustomerContext) -> Offer:
        control = in_control_group(rule.key, ctx.customer_id, rule.control_share)
        resolved = self._resolve(rule, ctx)
        expires = self.now + timedelta(days=rule.offer_valid_days)
        template = (rule.messages or {}).get(ctx.language) or rule.message_template
        slots = {**ctx.slots, "reward": resolved.description.get(ctx.language)
                 or resolved.description.get("en"),
                 "expires": _local_date(expires, self.settings, ctx.language)}
        staff = self.settings.staff_language
        line = ctx.reasons.get(staff) or ctx.reasons.get("en")
        offer = Offer(
            code=new_code(), customer_id=ctx.customer_id, rule_id=rule.id,
            prediction_id=ctx.prediction_id, explanation_id=ctx.explanation_id,
            segment_id=ctx.segment_id, status="issued", is_control=control,
            reward={**rule.reward, **resolved.details, "type": resolved.type,
                    "description": resolved.description},
            cost=0.0 if control else resolved.expected_cost,
            message=render(template, slots), reason=f"{rule.name}: {line}" if line else rule.name,
            issued_at=self.now, expires_at=expires)
        session.add(offer)
        session.flush()
        return offer


_HISTORY = (select(Offer).where(Offer.customer_id == bindparam("customer_id"))
            .order_by(Offer.issued_at.desc(), Offer.id.desc()))
_ACTIVE_RULE_IDS = select(RewardRule.id).where(RewardRule.status == "active")


@contextmanager
def _reading(engine: Engine, session: Session | None) -> Iterator[Session]:
    """The caller's session, or a short one of our own."""
    if session is not None:
        yield session
        return
    with Session(engine, expire_on_commit=False) as own:
        yield own


def _history(session: Session, customer_id: int) -> list[Offer]:
    """Every offer the guest was ever given or held back from, latest first: what holding,
    the minimum gap and the per-guest caps are decided from, in one query."""
    return list(session.scalars(_HISTORY, {"customer_id": customer_id}))


def lock_customer(session: Session, customer_id: int) -> bool:
    """Serialise offer decisions per guest; False when there is no such guest.

    Must be the first statement of the transaction on SQLite: a write that starts a transaction
    waits for the write lock and then reads the latest data, while a transaction that read
    first would hold a stale snapshot.
    """
    if session.get_bind().dialect.name == "postgresql":
        return session.execute(select(Customer.id).where(Customer.id == customer_id)
                               .with_for_update()).first() is not None
    result = session.execute(text("UPDATE customers SET id = id WHERE id = :id"),
                             {"id": customer_id})
    return bool(result.rowcount)


def offers_of(session: Session, customer_id: int, *, limit: int = 20) -> Sequence[Offer]:
    return session.scalars(select(Offer).where(Offer.customer_id == customer_id)
                           .order_by(Offer.issued_at.desc(), Offer.id.desc()).limit(limit)).all()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


MONTHS_ES = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic")


def _local_date(moment: datetime, settings: Settings, language: str) -> str:
    day = moment.astimezone(settings.tz).date()
    if language == "es":
        return f"{day.day} {MONTHS_ES[day.month - 1]}"
    return f"{day.day} {day:%b}"


__all__ = ["IssueResult", "IssueSummary", "RuleBook", "active_rules", "current_offer",
           "in_control_group", "issue_offer", "issue_offers", "load_menu", "lock_customer",
           "new_code", "offers_of"]
