"""What guests did: visits (orders), the lines of each order, and the reviews they wrote."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.models.base import Base, ExternalId, Timestamps, utcnow
from loyalty.models.people import LANGUAGES

CHANNELS = ("dine_in", "takeaway", "delivery", "online")
SENTIMENTS = ("negative", "neutral", "positive")
# What the language detector answers (`nlp.language.LABELS`; a test keeps the two equal):
# Spanish, English, confidently another language, Spanish and English both substantial, and
# undetermined (too few letters: empty, emoji only).
DETECTED_LANGUAGES = ("es", "en", "other", "mixed", "und")


def review_language(given: object, detected: object) -> str | None:
    """The language a review counts as: the one its input gave when that is a code the service
    knows (en, es; case and surrounding blanks do not matter), otherwise the detected one.

    A given language wins because the detector is a guess: it reads English reviews that name
    Peruvian dishes ("The pollo a la brasa was so salty") as "mixed". Anything else given
    (blank, NaN, "fr", "spanish") is no language, so the detected one counts.
    """
    code = given.strip().lower() if isinstance(given, str) else None
    if code in LANGUAGES:
        return code
    return detected if isinstance(detected, str) else None  # NaN from pandas is None


class Visit(ExternalId, Timestamps, Base):
    """One order. A return is a visit of its own with ``is_return`` and a negative amount."""

    __tablename__ = "visits"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        CheckConstraint(f"channel IN {CHANNELS}", name="channel_known"),
        CheckConstraint("party_size IS NULL OR party_size BETWEEN 1 AND 50", name="party_size"),
        # Features and staff pages read a customer's visits in time order.
        Index(None, "customer_id", "visited_at"),
        # Batch jobs and labels scan time windows.
        Index(None, "visited_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="RESTRICT"))
    visited_at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(16), default="dine_in")
    party_size: Mapped[int | None] = mapped_column(Integer)
    total_amount: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False))
    is_return: Mapped[bool] = mapped_column(Boolean, default=False)


class OrderItem(Base):
    __tablename__ = "order_items"
    __table_args__ = (
        UniqueConstraint("visit_id", "line_no"),
        CheckConstraint("quantity <> 0", name="quantity_not_zero"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        Index(None, "menu_item_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    menu_item_id: Mapped[int] = mapped_column(ForeignKey("menu_items.id", ondelete="RESTRICT"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[float] = mapped_column(Numeric(10, 2, asdecimal=False))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Review(ExternalId, Timestamps, Base):
    """A review and, once scored, its sentiment and aspects with the model that scored it.

    ``language`` is the language its input gave (import, API), never changed by scoring;
    ``language_detected`` is what the detector read in the text when it was scored. What a
    review counts as is `effective_language` (see `review_language`).
    """

    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_range"),
        CheckConstraint(
            f"sentiment_label IS NULL OR sentiment_label IN {SENTIMENTS}", name="sentiment_known"
        ),
        CheckConstraint(f"language_detected IS NULL OR language_detected IN {DETECTED_LANGUAGES}",
                        name="language_detected_known"),
        Index(None, "customer_id", "posted_at"),
        Index(None, "location_id", "posted_at"),
        # The batch scorer asks for reviews no model has scored yet.
        Index(None, "sentiment_model_version_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="RESTRICT"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="SET NULL"))
    rating: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(2))
    posted_at: Mapped[datetime]

    sentiment_label: Mapped[str | None] = mapped_column(String(8))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    prob_negative: Mapped[float | None] = mapped_column(Float)
    prob_neutral: Mapped[float | None] = mapped_column(Float)
    prob_positive: Mapped[float | None] = mapped_column(Float)
    # {"service": {"mentioned": true, "label": "negative", "score": -0.8}, ...}
    aspects: Mapped[dict[str, Any] | None]
    sentiment_model_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL")
    )
    scored_at: Mapped[datetime | None]
    language_detected: Mapped[str | None] = mapped_column(String(8))

    @property
    def effective_language(self) -> str | None:
        """The given language when it is en or es, else the detected one (`review_language`)."""
        return review_language(self.language, self.language_detected)
