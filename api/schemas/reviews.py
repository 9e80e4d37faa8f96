"""Schemas of the review endpoints (store, score) and of the batch jobs that score them.

The per-review rules follow the import's (`loyalty.ingest.schemas`, kind "reviews"): text
required and at most 10,000 characters, rating 1-5 in steps of 0.5, language en or es, a
timestamp that is not in the future (one without an offset is local time), no NUL characters
(PostgreSQL cannot store them). Customer and location must exist: the view checks that.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from api.schemas.customers import PathId
from loyalty.ids import MAX_ID

MAX_REVIEWS = 100  # per POST /reviews
MAX_TEXTS = 64  # per POST /reviews/score
MAX_REVIEW_CHARS = 10_000  # as the import allows
MAX_SCORE_CHARS = 5_000
Label = Literal["negative", "neutral", "positive"]
# What the language detector answers (loyalty.models.DETECTED_LANGUAGES): Spanish, English,
# another language, Spanish and English mixed, undetermined (too few letters).
ReviewLanguage = Literal["es", "en", "other", "mixed", "und"]
LANGUAGE_NOTE = ('"es", "en", "other" (another language), "mixed" (Spanish and English) or '
                 '"und" (undetermined: blank, emoji only, too few letters).')

# Not blank (something besides white space) and no NUL, which PostgreSQL cannot store.
TEXT_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
# Not blank and no control characters.
ID_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"


def _number(value: Any) -> Any:
    """JSON numbers only: true/false and strings are not numbers here (pydantic's lax mode
    would take them); 3.0 is the integer 3, as JSON Schema has it."""
    if isinstance(value, bool | str | bytes):
        raise ValueError("must be a number")
    return value


Id = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_number)]
Stars = Annotated[float, Field(ge=1, le=5, multiple_of=0.5), BeforeValidator(_number)]


# ---- requests -------------------------------------------------------------------------------


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: Id = Field(description="The guest who wrote it (customer id).")
    location_id: Id = Field(description="The restaurant it is about (location id).")
    text: str = Field(min_length=1, max_length=MAX_REVIEW_CHARS, pattern=TEXT_PATTERN,
                      description="The review; not blank, at most 10,000 characters.")
    rating: Stars | None = Field(None, description="Stars, 1 to 5 in steps of 0.5.")
    posted_at: datetime | None = Field(
        None, description="When it was written (ISO 8601; without an offset: the restaurant's "
                          "time zone). Not in the future. Default: now.")
    language: Literal["en", "es"] | None = Field(
        None, description="The language it is written in, when you know it. Kept as given: "
                          "the language detected when it is scored does not replace it.")
    external_id: str | None = Field(
        None, min_length=1, max_length=64, pattern=ID_PATTERN,
        description="Your id for the review. Sending the same id again returns the review "
                    "stored the first time instead of storing a copy.")

    @field_validator("external_id")
    @classmethod
    def _external_id(cls, value: str | None) -> str | None:
        return None if value is None else value.strip()  # the pattern saw a non-blank

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


class ReviewsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reviews: list[ReviewIn] = Field(min_length=1, max_length=MAX_REVIEWS,
                                    description=f"1 to {MAX_REVIEWS} reviews.")


class ScoreBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    texts: list[Annotated[str, Field(max_length=MAX_SCORE_CHARS)]] = Field(
        min_length=1, max_length=MAX_TEXTS,
        description=f"1 to {MAX_TEXTS} texts of at most {MAX_SCORE_CHARS:,} characters. A blank "
                    "text is scored neutral (0, 1, 0) with note \"empty\".")


class ScoreJobBody(BaseModel):
    """Optional: ``rescore`` also scores again reviews another model scored."""

    model_config = ConfigDict(extra="forbid",
                              openapi_extra={"required": False,
                                             "description": "Optional; an empty body is fine."})

    rescore: Annotated[bool, Field(strict=True)] = Field(
        False, description="Also re-score reviews scored by another model than production.")

    @model_validator(mode="before")
    @classmethod
    def _empty_body(cls, data: Any) -> Any:
        return {} if data is None else data


class JobPath(BaseModel):
    job_id: PathId = Field(description="The job's id.")


# ---- responses ------------------------------------------------------------------------------


class Probabilities(BaseModel):
    negative: float
    neutral: float
    positive: float


class AspectOut(BaseModel):
    label: Label | None
    score: float | None = Field(description="P(positive) - P(negative), in [-1, 1].")


class TextSentiment(BaseModel):
    label: Label
    probabilities: Probabilities
    score: float = Field(description="P(positive) - P(negative), in [-1, 1].")
    aspects: dict[str, AspectOut] = Field(
        description="Only the aspects the text talks about (food, service, ambience, price, "
                    "wait).")
    note: str | None = Field(None, description='"empty", "emoji-only", "long: 3 chunks", ...')
    language: ReviewLanguage = Field(description="The language detected in the text: "
                                                 + LANGUAGE_NOTE)


class ScoredTexts(BaseModel):
    model_version: str | None
    items: list[TextSentiment] = Field(description="One per text, in the order sent.")


class ReviewSentiment(BaseModel):
    label: Label
    probabilities: Probabilities
    score: float
    aspects: dict[str, AspectOut]
    model_version: str | None = None
    scored_at: datetime | None = None


class ReviewOut(BaseModel):
    id: int
    external_id: str
    customer_id: int
    location_id: int
    rating: float | None = None
    language: ReviewLanguage | None = Field(
        None, description="The review's language: the one sent with it (en or es) when it was, "
                          "else the one detected when it was scored; null when neither is "
                          "known yet.")
    language_detected: ReviewLanguage | None = Field(
        None, description="The language detected in the text when it was scored (null until "
                          "then); it may differ from a language that was sent. "
                          + LANGUAGE_NOTE)
    text: str
    posted_at: datetime
    created: bool = Field(description="False when the external id was stored before (this "
                                      "is that review, unchanged).")
    sentiment: ReviewSentiment | None = Field(None, description="None until it is scored.")


class Progress(BaseModel):
    done: int
    total: int | None = None


class JobOut(BaseModel):
    id: int
    kind: str
    status: str
    params: dict[str, Any]
    progress: Progress
    counts: dict[str, Any]
    error: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    heartbeat_at: datetime | None = None
    finished_at: datetime | None = None


class StoredReviews(BaseModel):
    items: list[ReviewOut] = Field(description="One per review sent, in order.")
    job: JobOut | None = Field(None, description="The job that will score them (202 only).")
