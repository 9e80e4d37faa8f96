"""Where guests eat and who they are: locations, menu items, customers, loyalty accounts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalty.models.base import Base, ExternalId, Timestamps

TIERS = ("bronze", "silver", "gold", "platinum")
LANGUAGES = ("en", "es")


class Location(ExternalId, Timestamps, Base):
    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    district: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(300))
    seats: Mapped[int | None] = mapped_column(Integer)
    opened_on: Mapped[date | None] = mapped_column(Date)
    timezone: Mapped[str | None] = mapped_column(String(64))


class MenuItem(ExternalId, Timestamps, Base):
    __tablename__ = "menu_items"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        Index(None, "category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(50))
    cuisine: Mapped[str | None] = mapped_column(String(50))
    price: Mapped[float] = mapped_column(Numeric(10, 2, asdecimal=False))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Customer(ExternalId, Timestamps, Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        CheckConstraint("language IN ('en', 'es')", name="language_known"),
        # Staff look guests up by email or phone at the till.
        Index(None, "email"),
        Index(None, "phone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(2), default="es")
    birthday: Mapped[date | None] = mapped_column(Date)
    signup_date: Mapped[date] = mapped_column(Date)
    home_location_id: Mapped[int | None] = mapped_column(
        ForeignKey("locations.id", ondelete="SET NULL")
    )
    country: Mapped[str | None] = mapped_column(String(60))
    marketing_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)

    account: Mapped[LoyaltyAccount | None] = relationship(
        back_populates="customer", uselist=False, passive_deletes=True
    )


class LoyaltyAccount(Timestamps, Base):
    """The card: the number staff type in, the points balance and the current tier."""

    __tablename__ = "loyalty_accounts"
    __table_args__ = (
        CheckConstraint("tier IN ('bronze', 'silver', 'gold', 'platinum')", name="tier_known"),
        CheckConstraint("points >= 0", name="points_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), unique=True
    )
    loyalty_number: Mapped[str] = mapped_column(String(32), unique=True)
    points: Mapped[int] = mapped_column(Integer, default=0)
    tier: Mapped[str] = mapped_column(String(16), default="bronze")
    tier_since: Mapped[datetime | None]
    enrolled_on: Mapped[date] = mapped_column(Date)

    customer: Mapped[Customer] = relationship(back_populates="account")
