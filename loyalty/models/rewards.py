"""What marketing acts on: segments and their members, reward rules, and the offers issued."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.models.base import Base, Timestamps, utcnow

RULE_STATUSES = ("draft", "active", "retired")
POINTS_KINDS = ("earn", "bonus", "reversal", "adjustment")
OFFER_STATUSES = ("issued", "redeemed", "expired", "cancelled")


class Segment(Timestamps, Base):
    __tablename__ = "segments"
    __table_args__ = (CheckConstraint("status IN ('active', 'retired')", name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable across refreshes, so rules and reports keep pointing at "the same" group.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    profile: Mapped[dict[str, Any] | None]
    size: Mapped[int] = mapped_column(Integer, default=0)
    revenue_share: Mapped[float | None] = mapped_column(Float)
    mean_churn_probability: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="active")
    model_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL")
    )
    built_at: Mapped[datetime | None]


class SegmentMembership(Base):
    __tablename__ = "segment_memberships"
    __table_args__ = (Index(None, "customer_id"),)

    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[date] = mapped_column(Date)
    distance: Mapped[float | None] = mapped_column(Float)


class RewardRule(Timestamps, Base):
    __tablename__ = "reward_rules"
    __table_args__ = (
        CheckConstraint(f"status IN {RULE_STATUSES}", name="status_known"),
        CheckConstraint("control_share >= 0 AND control_share < 1", name="control_share_range"),
        # The rule engine walks active rules by priority for every offer it issues.
        Index(None, "status", "priority"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="SET NULL"))
    conditions: Mapped[dict[str, Any]]
    reward: Mapped[dict[str, Any]]
    message_template: Mapped[str] = mapped_column(Text)
    # The message in other languages ({"es": "..."}); a guest gets theirs, else the default.
    messages: Mapped[dict[str, Any] | None]
    priority: Mapped[int] = mapped_column(Integer, default=100)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)
    per_customer_window_days: Mapped[int | None] = mapped_column(Integer)
    budget_limit: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False))
    max_offers: Mapped[int | None] = mapped_column(Integer)
    control_share: Mapped[float] = mapped_column(Float, default=0.1)
    offer_valid_days: Mapped[int] = mapped_column(Integer, default=14)
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    rationale: Mapped[str | None] = mapped_column(Text)
    expected_value: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False))
    activated_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]


class Offer(Timestamps, Base):
    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint(f"status IN {OFFER_STATUSES}", name="status_known"),
        # "Does this guest hold an offer now?" and per-rule caps are the hot lookups.
        Index(None, "customer_id", "status"),
        Index(None, "rule_id", "status"),
        Index(None, "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    rule_id: Mapped[int] = mapped_column(ForeignKey("reward_rules.id", ondelete="RESTRICT"))
    prediction_id: Mapped[int | None] = mapped_column(
        ForeignKey("predictions.id", ondelete="SET NULL")
    )
    explanation_id: Mapped[int | None] = mapped_column(
        ForeignKey("explanations.id", ondelete="SET NULL")
    )
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="issued")
    is_control: Mapped[bool] = mapped_column(Boolean, default=False)
    reward: Mapped[dict[str, Any]]
    cost: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False))
    message: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    redeemed_at: Mapped[datetime | None]
    redeemed_visit_id: Mapped[int | None] = mapped_column(
        ForeignKey("visits.id", ondelete="SET NULL")
    )
    cancelled_at: Mapped[datetime | None]


class PointsEntry(Base):
    """One movement of a loyalty points balance; the account's ``points`` is their running sum.

    Every entry names what caused it (a visit, an offer) so a return or a cancellation can
    reverse exactly what was earned, and ``dedupe_key`` makes each movement happen once however
    often a job re-runs ("earn:visit:42", "reversal:visit:42", "bonus:offer:7").
    """

    __tablename__ = "points_ledger"
    __table_args__ = (
        CheckConstraint(f"kind IN {POINTS_KINDS}", name="kind_known"),
        Index(None, "customer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(Integer)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="SET NULL"))
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id", ondelete="SET NULL"))
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
