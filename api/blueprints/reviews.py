"""Reviews: store them (scored at once when few, else by a queued job) and score texts without
storing them, with the production sentiment model the worker loaded once.

Stored reviews have source "api"; their ``external_id`` is the caller's id when given (a repeat
returns the review stored the first time) and a generated ``api-<uuid>`` otherwise.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api import API_PREFIX
from api.auth import SECURITY, require
from api.blueprints.jobs import job_location, job_out, queue_score_reviews
from api.errors import issues_problem, problem, problem_responses
from api.extensions import db_session, models
from api.schemas.reviews import (
    AspectOut,
    Probabilities,
    ReviewIn,
    ReviewOut,
    ReviewsBody,
    ReviewSentiment,
    ScoreBody,
    ScoredTexts,
    StoredReviews,
    TextSentiment,
)
from loyalty.errors import NotFoundError
from loyalty.ingest.validate import MIN_DATE
from loyalty.models import Customer, Location, ModelVersion, Review, utcnow
from loyalty.sentiment.scoring import review_columns, score_texts

bp = APIBlueprint("reviews", __name__, url_prefix=API_PREFIX,
                  abp_tags=[Tag(name="reviews", description="Guest reviews and their "
                                                            "sentiment")])

SOURCE = "api"
CLOCK_SKEW = timedelta(minutes=5)  # a posted_at this far ahead of our clock is still "now"
EARLIEST = MIN_DATE.to_pydatetime().replace(tzinfo=UTC)


def loaded_scorer() -> Any:
    """The production scorer, or None when there is none (or it does not load)."""
    try:
        return models().sentiment()
    except NotFoundError:
        return None
    except Exception:  # noqa: BLE001 - a broken model folder: store unscored, a job retries
        current_app.logger.exception("the production sentiment model does not load")
        return None


def probabilities(columns: dict[str, Any]) -> Probabilities:
    """From a scored review's columns (`review_columns`)."""
    return Probabilities(negative=columns["prob_negative"], neutral=columns["prob_neutral"],
                         positive=columns["prob_positive"])


def aspects_out(stored: dict[str, Any] | None) -> dict[str, AspectOut]:
    return {name: AspectOut(label=value.get("label"), score=value.get("score"))
            for name, value in (stored or {}).items() if isinstance(value, dict)}


# ---- POST /reviews ------------------------------------------------------------------------


def _posted_at(item: ReviewIn, now: datetime) -> datetime:
    if item.posted_at is None:
        return now
    value = item.posted_at
    if value.tzinfo is None:
        value = value.replace(tzinfo=current_app.extensions["loyalty.config"].settings.tz)
    return value.astimezone(UTC)


def _issues(reviews: list[ReviewIn], now: datetime) -> tuple[list[dict[str, str]],
                                                             list[datetime]]:
    session = db_session()
    issues: list[dict[str, str]] = []
    customers = set(session.scalars(select(Customer.id).where(
        Customer.id.in_({r.customer_id for r in reviews}))))
    locations = set(session.scalars(select(Location.id).where(
        Location.id.in_({r.location_id for r in reviews}))))
    posted: list[datetime] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(reviews):
        where = f"reviews[{i}]"
        if item.customer_id not in customers:
            issues.append({"path": f"{where}.customer_id",
                           "message": f"no customer with id {item.customer_id}"})
        if item.location_id not in locations:
            issues.append({"path": f"{where}.location_id",
                           "message": f"no location with id {item.location_id}"})
        try:
            at = _posted_at(item, now)
        except (OverflowError, ValueError):
            at = EARLIEST - timedelta(days=1)
        if at > now + CLOCK_SKEW:
            issues.append({"path": f"{where}.posted_at", "message": "in the future"})
        elif at < EARLIEST:
            issues.append({"path": f"{where}.posted_at",
                           "message": f"before {EARLIEST.date().isoformat()}"})
        posted.append(at)
        if item.external_id is not None:
            if item.external_id in seen:
                issues.append({"path": f"{where}.external_id",
                               "message": f"the same as reviews[{seen[item.external_id]}]"
                                          ".external_id"})
            seen.setdefault(item.external_id, i)
    return issues, posted


def _store(reviews: list[ReviewIn], posted: list[datetime], scorer: Any,
           now: datetime) -> tuple[list[tuple[Review, bool]], Any]:
    """Store the new reviews (scored when ``scorer`` is given); return every review with
    whether it was created now, and the job queued to score them (or None)."""
    session = db_session()
    wanted = [r.external_id for r in reviews if r.external_id is not None]
    stored = {row.external_id: row for row in session.scalars(select(Review).where(
        Review.source == SOURCE, Review.external_id.in_(wanted)))} if wanted else {}
    rows: list[tuple[Review, bool]] = []
    for item, at in zip(reviews, posted, strict=True):
        found = stored.get(item.external_id) if item.external_id is not None else None
        if found is not None:
            rows.append((found, False))
            continue
        rows.append((Review(source=SOURCE, external_id=item.external_id or
                            f"api-{uuid.uuid4().hex}", customer_id=item.customer_id,
                            location_id=item.location_id, rating=item.rating,
                            text=item.text, language=item.language, posted_at=at), True))
    unscored = [row for row, _ in rows if row.sentiment_model_version_id is None]
    if scorer is not None and unscored:
        # Scored before anything is written: no write lock is held while the model runs.
        try:
            results = score_texts(scorer, [row.text for row in unscored])
        except Exception:  # noqa: BLE001 - the reviews are still stored; the job scores them
            current_app.logger.exception("scoring %d reviews inline failed", len(unscored))
        else:
            version_id = models().sentiment_version_id
            for row, result in zip(unscored, results, strict=True):
                for name, value in review_columns(result, model_version_id=version_id,
                                                  scored_at=now).items():
                    setattr(row, name, value)
            unscored = []
    session.add_all([row for row, created in rows if created])
    session.flush()
    job = queue_score_reviews(session) if unscored else None
    session.commit()
    return rows, job


def review_out(row: Review, created: bool, versions: dict[int, str]) -> ReviewOut:
    sentiment = None
    if row.sentiment_label is not None and row.prob_negative is not None:
        sentiment = ReviewSentiment(
            label=row.sentiment_label,  # type: ignore[arg-type]
            probabilities=Probabilities(negative=row.prob_negative,
                                        neutral=row.prob_neutral or 0.0,
                                        positive=row.prob_positive or 0.0),
            score=row.sentiment_score or 0.0, aspects=aspects_out(row.aspects),
            model_version=versions.get(row.sentiment_model_version_id or 0),
            scored_at=row.scored_at)
    return ReviewOut(id=row.id, external_id=row.external_id, customer_id=row.customer_id,
                     location_id=row.location_id, rating=row.rating,
                     language=row.effective_language,  # type: ignore[arg-type]
                     language_detected=row.language_detected,  # type: ignore[arg-type]
                     text=row.text, posted_at=row.posted_at, created=created,
                     sentiment=sentiment)


@bp.post("/reviews", security=SECURITY, summary="Store reviews",
         description="One to 100 reviews. Each is checked as an import checks it; an unknown "
                     "customer or location is 422 with the review's index in the issue's "
                     "path (`reviews[3].customer_id`), and nothing is stored. A review whose "
                     "`external_id` was stored before is not stored again: that review comes "
                     "back (`created: false`). Up to the inline limit (16 by default) and "
                     "with a production sentiment model, the reviews are scored now (201; 200 "
                     "when every one was already stored); otherwise they are stored unscored "
                     "and one `score-reviews` job is queued: 202 with the job and its URL in "
                     "`Location`. Scoring also detects the language of the text "
                     "(`language_detected`); a `language` sent with a review is kept and is "
                     "the review's `language`, else the detected one is.",
         responses={200: StoredReviews, 201: StoredReviews, 202: StoredReviews,
                    **problem_responses(400, 401, 403, 413, 415, 422)})
@require("staff", "marketing")
def store_reviews(body: ReviewsBody):
    now = utcnow()
    reviews = body.reviews
    issues, posted = _issues(reviews, now)
    if issues:
        db_session().rollback()
        return issues_problem("The reviews are not valid", issues, "nothing was stored")
    limit = current_app.extensions["loyalty.config"].reviews_sync_limit
    scorer = loaded_scorer() if len(reviews) <= limit else None
    try:
        rows, job = _store(reviews, posted, scorer, now)
    except IntegrityError:  # the same external id stored by a request running beside this one
        db_session().rollback()
        rows, job = _store(reviews, posted, scorer, now)
    version_ids = {row.sentiment_model_version_id for row, _ in rows} - {None}
    versions = {row.id: row.version for row in db_session().execute(
        select(ModelVersion.id, ModelVersion.version).where(
            ModelVersion.id.in_(version_ids)))} if version_ids else {}
    out = StoredReviews(items=[review_out(row, created, versions) for row, created in rows],
                        job=job_out(job) if job is not None else None)
    payload = out.model_dump(mode="json")
    if job is not None:
        return payload, 202, {"Location": job_location(job)}
    return payload, 201 if any(created for _, created in rows) else 200


# ---- POST /reviews/score ------------------------------------------------------------------


@bp.post("/reviews/score", security=SECURITY, summary="Score texts without storing them",
         description="Sentiment (label, probabilities, score), aspects and language of 1 to 64 "
                     "texts of at most 5,000 characters each, by the production model. A blank "
                     "text is neutral (0, 1, 0) with note \"empty\" and language \"und\", as "
                     "the batch scorer does. 503 when no sentiment model is in production.",
         responses={200: ScoredTexts, **problem_responses(400, 401, 403, 413, 415, 422, 503)})
@require("staff", "marketing")
def score(body: ScoreBody):
    db_session().rollback()  # nothing to write; no transaction held while the model runs
    try:
        scorer = models().sentiment()
    except NotFoundError as exc:
        return problem(503, "Service unavailable", str(exc), headers={"Retry-After": "60"})
    except Exception:  # noqa: BLE001
        current_app.logger.exception("the production sentiment model does not load")
        return problem(503, "Service unavailable", "the sentiment model could not be loaded",
                       headers={"Retry-After": "60"})
    results = [(review_columns(r), r.sentiment.note) for r in score_texts(scorer, body.texts)]
    return ScoredTexts(
        model_version=models().sentiment_version,
        items=[TextSentiment(label=c["sentiment_label"], probabilities=probabilities(c),
                             score=c["sentiment_score"], aspects=aspects_out(c["aspects"]),
                             note=note, language=c["language_detected"])
               for c, note in results],
    ).model_dump(mode="json")
