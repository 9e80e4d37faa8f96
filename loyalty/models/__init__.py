"""The SQL data model (SQLAlchemy 2 typed ORM). Alembic migrations in `migrations/` mirror it."""

from loyalty.models.activity import (
    CHANNELS,
    DETECTED_LANGUAGES,
    SENTIMENTS,
    OrderItem,
    Review,
    Visit,
    review_language,
)
from loyalty.models.base import Base, UTCDateTime, utcnow
from loyalty.models.ml import MODEL_STATUSES, Explanation, ModelVersion, Prediction
from loyalty.models.ops import JOB_STATUSES, ROLES, ApiKey, IngestError, Job
from loyalty.models.people import LANGUAGES, TIERS, Customer, Location, LoyaltyAccount, MenuItem
from loyalty.models.rewards import (
    OFFER_STATUSES,
    POINTS_KINDS,
    RULE_STATUSES,
    Offer,
    PointsEntry,
    RewardRule,
    Segment,
    SegmentMembership,
)

__all__ = [
    "CHANNELS", "DETECTED_LANGUAGES", "JOB_STATUSES", "LANGUAGES", "MODEL_STATUSES",
    "OFFER_STATUSES", "POINTS_KINDS", "ROLES",
    "RULE_STATUSES", "SENTIMENTS", "TIERS",
    "ApiKey", "Base", "Customer", "Explanation", "IngestError", "Job", "Location",
    "LoyaltyAccount", "MenuItem", "ModelVersion", "Offer", "OrderItem", "PointsEntry", "Prediction",
    "Review",
    "RewardRule", "Segment", "SegmentMembership", "UTCDateTime", "Visit", "review_language",
    "utcnow",
]
