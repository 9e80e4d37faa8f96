"""The fields a reward-rule condition may test, with their kind, allowed values and bounds.

Every customer-level value the offer engine puts in a rule's evaluation context is named here:
the tabular model features (``loyalty.features.tabular.FEATURE_NAMES``), the model outputs
(churn probability, predicted tier), the loyalty card, the segment, calendar facts and habits.
A condition naming anything else is rejected when the rule is saved, never at offer time.

Kinds: ``number`` (any real number), ``integer`` (a whole number), ``text`` (optionally limited
to ``choices``), ``bool`` (true/false) and ``list`` (a list of text values, tested with
``contains``).
"""

from __future__ import annotations

from dataclasses import dataclass

from loyalty.features.tabular import ASPECTS, FEATURE_NAMES
from loyalty.models import TIERS

KINDS: tuple[str, ...] = ("number", "integer", "text", "bool", "list")
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_PARTS: tuple[str, ...] = ("breakfast", "lunch", "dinner", "late")
LANGUAGES: tuple[str, ...] = ("en", "es")


@dataclass(frozen=True)
class Field:
    """One field a condition may test."""

    name: str
    kind: str
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown field kind {self.kind!r}")
        if self.choices is not None and self.kind != "text":
            raise ValueError("only text fields have choices")


# Short descriptions and bounds of the model features (see the docstring of
# loyalty.features.tabular for the exact definitions). Bounds are only given where the feature
# definition guarantees them, so a condition outside them can never be true.
_FEATURES: dict[str, tuple[str, float | None, float | None]] = {
    "recency_days": ("days since the last visit (as of the feature date)", 0.0, None),
    "frequency_30d": ("visits in the last 30 days", 0.0, None),
    "frequency_90d": ("visits in the last 90 days", 0.0, None),
    "frequency_365d": ("visits in the last 365 days", 0.0, None),
    "visits_total": ("all visits ever", 0.0, None),
    "monetary_total": ("total spend ever", None, None),
    "monetary_avg": ("average spend per visit", None, None),
    "monetary_90d": ("spend in the last 90 days", None, None),
    "monetary_trend": ("spend trend, last 90 days against the 90 before (-1 to 1)", -1.0, 1.0),
    "tenure_days": ("days since the first visit", 0.0, None),
    "gap_mean_days": ("usual number of days between visits", 0.0, None),
    "gap_std_days": ("spread of the days between visits", 0.0, None),
    "gap_ratio": ("current gap relative to the usual gap (1 = as usual)", 0.0, None),
    "has_repeat_visits": ("1 if the customer came more than once, else 0", 0.0, 1.0),
    "share_breakfast": ("share of visits at breakfast (0 to 1)", 0.0, 1.0),
    "share_lunch": ("share of visits at lunch (0 to 1)", 0.0, 1.0),
    "share_dinner": ("share of visits at dinner (0 to 1)", 0.0, 1.0),
    "share_late": ("share of late-night visits (0 to 1)", 0.0, 1.0),
    "share_weekend": ("share of weekend visits (0 to 1)", 0.0, 1.0),
    "share_dine_in": ("share of dine-in visits (0 to 1)", 0.0, 1.0),
    "share_takeaway": ("share of takeaway visits (0 to 1)", 0.0, 1.0),
    "share_delivery": ("share of delivery visits (0 to 1)", 0.0, 1.0),
    "party_size_avg": ("average party size (0 when unknown)", 0.0, None),
    "items_per_visit": ("average items ordered per visit", 0.0, None),
    "fav_category_share": ("share of items from the favourite category (0 to 1)", 0.0, 1.0),
    "points": ("loyalty points earned (one per currency unit spent)", 0.0, None),
    "tier_rank": ("tier as a number: 0 bronze, 1 silver, 2 gold, 3 platinum", 0.0, 3.0),
    "has_reviews": ("1 if the customer wrote a scored review, else 0", 0.0, 1.0),
    "review_count": ("number of scored reviews", 0.0, None),
    "sentiment_mean": ("mean review sentiment (-1 negative to 1 positive)", -1.0, 1.0),
    "sentiment_latest": ("sentiment of the latest review (-1 to 1)", -1.0, 1.0),
    "negative_reviews": ("number of negative reviews", 0.0, None),
    "days_since_negative": ("days since the latest negative review", 0.0, None),
    "has_negative_review": ("1 if the customer wrote a negative review, else 0", 0.0, 1.0),
    **{
        f"aspect_{aspect}": (f"mean review sentiment about {aspect} (-1 to 1)", -1.0, 1.0)
        for aspect in ASPECTS
    },
    "spanish_review_share": ("share of scored reviews written in Spanish (0 to 1; 0 without "
                             "any)", 0.0, 1.0),
}


def _build() -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for name in FEATURE_NAMES:
        description, low, high = _FEATURES.get(name, (name.replace("_", " "), None, None))
        fields[name] = Field(name, "number", minimum=low, maximum=high, description=description)
    extra = [
        Field("churn_probability", "number", minimum=0.0, maximum=1.0,
              description="predicted probability that the customer stops coming (0 to 1)"),
        Field("predicted_tier", "text", choices=TIERS,
              description="tier the model predicts from the customer's coming spend"),
        Field("tier", "text", choices=TIERS, description="current tier on the loyalty card"),
        Field("spend_to_next_tier", "number", minimum=0.0,
              description="spend still needed for the next tier (missing when platinum)"),
        Field("reason_codes", "list",
              description='risk reason codes, e.g. "LAPSING", "NEG_SERVICE", "NEG_WAIT"'),
        Field("segment", "text", description='segment key, e.g. "seg-3fa2c1"'),
        Field("segment_name", "text", description="name of the customer's segment"),
        Field("days_since_last_visit", "number", minimum=0.0,
              description="days since the last visit (as of the offer date)"),
        Field("birthday_month", "integer", minimum=1, maximum=12,
              description="month of the customer's birthday (1 to 12)"),
        Field("days_to_birthday", "integer", minimum=0, maximum=365,
              description="days until the next birthday (0 = today)"),
        Field("days_to_anniversary", "integer", minimum=0, maximum=365,
              description="days until the anniversary of signing up (0 = today)"),
        Field("month", "integer", minimum=1, maximum=12,
              description="month of the offer date (1 to 12)"),
        Field("weekday", "text", choices=WEEKDAYS, description="weekday of the offer date"),
        Field("usual_day_part", "text", choices=DAY_PARTS,
              description="the day part the customer usually comes at"),
        Field("favourite_dish", "text", description="the customer's most-ordered dish"),
        Field("favourite_category", "text",
              description="the menu category the customer orders most"),
        Field("language", "text", choices=LANGUAGES, description="the customer's language"),
        Field("marketing_opt_in", "bool",
              description="whether the customer agreed to marketing messages"),
    ]
    for field in extra:
        if field.name in fields:  # pragma: no cover - a contract check, not a runtime path
            raise RuntimeError(f"field {field.name!r} defined twice")
        fields[field.name] = field
    return fields


FIELDS: dict[str, Field] = _build()
