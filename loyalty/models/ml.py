"""Trained models, what they predicted for whom, and why (SHAP)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.models.base import Base, utcnow

MODEL_STATUSES = ("candidate", "production", "retired", "failed")


class ModelVersion(Base):
    """A trained artifact folder under the model directory, with what it was trained on."""

    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("kind", "version"),
        CheckConstraint(f"status IN {MODEL_STATUSES}", name="status_known"),
        Index(None, "kind", "status"),
        # At most one production version per kind, enforced where it cannot be raced.
        Index("uq_model_versions_one_production", "kind", unique=True,
              postgresql_where=text("status = 'production'"),
              sqlite_where=text("status = 'production'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="candidate")
    path: Mapped[str] = mapped_column(String(500))
    metrics: Mapped[dict[str, Any] | None]
    params: Mapped[dict[str, Any] | None]
    features: Mapped[dict[str, Any] | None]
    data_start: Mapped[date | None] = mapped_column(Date)
    data_end: Mapped[date | None] = mapped_column(Date)
    seed: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    promoted_at: Mapped[datetime | None]


class Prediction(Base):
    __tablename__ = "predictions"
    __table_args__ = (
        UniqueConstraint("customer_id", "model_version_id", "as_of"),
        CheckConstraint("churn_probability BETWEEN 0 AND 1", name="churn_probability_range"),
        # "The latest prediction for this guest" is the staff page's hot query.
        Index(None, "customer_id", "as_of"),
        Index(None, "model_version_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="RESTRICT")
    )
    as_of: Mapped[date] = mapped_column(Date)
    churn_probability: Mapped[float] = mapped_column(Float)
    tier: Mapped[str] = mapped_column(String(16))
    tier_probabilities: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Explanation(Base):
    """SHAP values of one prediction target: base value + one value per named feature."""

    __tablename__ = "explanations"
    __table_args__ = (UniqueConstraint("prediction_id", "target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prediction_id: Mapped[int] = mapped_column(ForeignKey("predictions.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(32))
    base_value: Mapped[float] = mapped_column(Float)
    output_value: Mapped[float] = mapped_column(Float)
    shap_values: Mapped[dict[str, Any]]
    feature_values: Mapped[dict[str, Any]]
    reason_codes: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
