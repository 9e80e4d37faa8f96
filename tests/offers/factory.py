"""Rows for offer tests, written directly with the ORM: each function adds, flushes, returns it."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from loyalty.models import Customer, Location, LoyaltyAccount, MenuItem, Offer, RewardRule, Visit

NOW = datetime(2026, 6, 15, 18, 0, tzinfo=UTC)
_ids = itertools.count(1)


def _next() -> int:
    return next(_ids)


def make_location(s: Session, name: str = "Miraflores") -> Location:
    loc = Location(source="test", external_id=f"L{_next()}", name=name, city="Lima")
    s.add(loc)
    s.flush()
    return loc


def make_customer(s: Session, *, points: int = 0, tier: str = "bronze",
                  account: bool = True, tier_since: datetime | None = None) -> Customer:
    """A guest, with a loyalty account holding ``points`` and ``tier`` unless ``account=False``."""
    n = _next()
    c = Customer(source="test", external_id=f"C{n}", first_name=f"Ana{n}", last_name="Test",
                 email=f"ana{n}@example.com", language="es", signup_date=date(2024, 1, 1))
    s.add(c)
    s.flush()
    if account:
        s.add(LoyaltyAccount(customer_id=c.id, loyalty_number=f"L{n:06d}", points=points,
                             tier=tier, tier_since=tier_since, enrolled_on=date(2024, 1, 1)))
        s.flush()
    return c


def make_menu_item(s: Session, name: str = "Suspiro limeño", price: float = 12.0,
                   category: str = "dessert") -> MenuItem:
    item = MenuItem(source="test", external_id=f"M{_next()}", name=name, category=category,
                    price=price)
    s.add(item)
    s.flush()
    return item


def make_visit(s: Session, customer: Customer, location: Location, amount: float | None = 80.0,
               *, is_return: bool = False, at: datetime = NOW) -> Visit:
    v = Visit(source="test", external_id=f"V{_next()}", customer_id=customer.id,
              location_id=location.id, visited_at=at, total_amount=amount, is_return=is_return)
    s.add(v)
    s.flush()
    return v


def make_rule(s: Session, reward: dict[str, Any] | None = None, *, key: str | None = None,
              now: datetime = NOW) -> RewardRule:
    """An active rule (conditions match everyone)."""
    key = key or f"rule-{_next()}"
    rule = RewardRule(key=key, name=key.title(), conditions={"all": []},
                      reward=reward or {"type": "percent_off", "percent": 15},
                      message_template="{first_name|Hello}, enjoy {reward}.",
                      status="active", control_share=0.0, activated_at=now)
    s.add(rule)
    s.flush()
    return rule


def make_offer(s: Session, customer: Customer, rule: RewardRule,
               reward: dict[str, Any] | None = None, *, is_control: bool = False,
               status: str = "issued", cost: float | None = None, issued_at: datetime = NOW,
               expires_at: datetime | None = None, code: str | None = None) -> Offer:
    """An offer of ``rule`` (its reward unless ``reward`` is given), valid 14 days by default."""
    reward = dict(reward if reward is not None else rule.reward)
    offer = Offer(code=code or f"T{_next():07d}", customer_id=customer.id, rule_id=rule.id,
                  status=status, is_control=is_control, reward=reward,
                  cost=0.0 if is_control else cost, message="Enjoy", reason="test",
                  issued_at=issued_at, expires_at=expires_at or issued_at + timedelta(days=14))
    s.add(offer)
    s.flush()
    return offer
