"""The review endpoints (store, score) and the job endpoints (queue scoring, follow a job)."""

from __future__ import annotations

from datetime import date
from typing import get_args

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.schemas.reviews import JobOut, ReviewLanguage, ScoredTexts, StoredReviews
from loyalty import registry
from loyalty.jobs import finish
from loyalty.models import DETECTED_LANGUAGES, Customer, Job, Location, Review, utcnow
from tests.api.conftest import auth
from tests.api.test_customers import ok, problem

API = "/api/v1"


@pytest.fixture
def people(engine) -> dict[str, list[int]]:
    """One restaurant and three guests."""
    with Session(engine) as s, s.begin():
        loc = Location(source="test", external_id="L1", name="Miraflores", city="Lima")
        guests = [Customer(source="test", external_id=f"C{i}", first_name=f"G{i}",
                           language="es", signup_date=date(2024, 1, 1)) for i in range(3)]
        s.add_all([loc, *guests])
        s.flush()
        return {"locations": [loc.id], "customers": [g.id for g in guests]}


@pytest.fixture
def production(engine, tiny_model) -> int:
    """The tiny model registered and promoted as the production sentiment model."""
    with Session(engine) as s, s.begin():
        row = registry.register(s, kind=registry.SENTIMENT, version="tiny-1", path=tiny_model,
                                metrics={}, seed=0)
        registry.promote(s, row)
        s.flush()
        return row.id


def review(people, i: int = 0, **extra) -> dict:
    return {"customer_id": people["customers"][i % 3], "location_id": people["locations"][0],
            "text": f"The ceviche was great but the service was slow ({i}).", **extra}


def stored(engine) -> list[Review]:
    with Session(engine) as s:
        return list(s.scalars(select(Review).order_by(Review.id)))


def jobs(engine) -> list[Job]:
    with Session(engine) as s:
        return list(s.scalars(select(Job).order_by(Job.id)))


# ---- POST /reviews ---------------------------------------------------------------------------


def test_store_one_scored_inline(client, keys, engine, people, production):
    body = {"reviews": [review(people, rating=4.5, language="ES", external_id=" R-1 ",
                               posted_at="2025-01-02T12:00:00")]}
    found = ok(client.post(f"{API}/reviews", json=body, headers=auth(keys["staff"])),
               StoredReviews, 201)
    assert found.job is None and len(found.items) == 1
    item = found.items[0]
    assert (item.external_id, item.rating, item.language, item.created) == ("R-1", 4.5, "es",
                                                                           True)
    # The text is English: detected and stored beside the language sent, which is kept.
    assert item.language_detected == "en"
    assert item.posted_at.isoformat() == "2025-01-02T17:00:00+00:00"  # Lima is UTC-5
    sentiment = item.sentiment
    assert sentiment.label in ("negative", "neutral", "positive")
    probs = sentiment.probabilities
    assert probs.negative + probs.neutral + probs.positive == pytest.approx(1.0)
    assert sentiment.score == pytest.approx(probs.positive - probs.negative)
    assert {"food", "service", "wait"} <= set(sentiment.aspects)
    assert sentiment.model_version == "tiny-1" and sentiment.scored_at is not None
    [row] = stored(engine)
    assert (row.id, row.source, row.sentiment_label) == (item.id, "api", sentiment.label)
    assert row.sentiment_model_version_id == production
    assert set(row.aspects) == set(sentiment.aspects)
    assert (row.language, row.language_detected) == ("es", "en")
    assert jobs(engine) == []


def test_without_a_language_the_detected_one_is_the_reviews(client, keys, engine, people,
                                                            production):
    body = {"reviews": [review(people, 0), review(people, 1, text="Todo riquísimo, volveremos"),
                        review(people, 2, text="🔥🔥🔥")]}
    found = ok(client.post(f"{API}/reviews", json=body, headers=auth(keys["staff"])),
               StoredReviews, 201)
    assert [(i.language, i.language_detected) for i in found.items] == [
        ("en", "en"), ("es", "es"), ("und", "und")]
    assert [(r.language, r.language_detected) for r in stored(engine)] == [
        (None, "en"), (None, "es"), (None, "und")]


def test_store_many_in_order(client, keys, engine, people, production):
    body = {"reviews": [review(people, i) for i in range(5)]}
    found = ok(client.post(f"{API}/reviews", json=body, headers=auth(keys["marketing"])),
               StoredReviews, 201)
    assert [item.text for item in found.items] == [r["text"] for r in body["reviews"]]
    assert all(item.sentiment is not None and item.created for item in found.items)
    rows = stored(engine)
    assert [r.id for r in rows] == [item.id for item in found.items]
    assert len({r.external_id for r in rows}) == 5  # generated, unique
    assert all(r.external_id.startswith("api-") for r in rows)


def test_beyond_the_inline_limit_a_job_scores_them(app, client, keys, engine, people,
                                                   production):
    app.extensions["loyalty.config"] = app.extensions["loyalty.config"].with_(
        reviews_sync_limit=2)
    body = {"reviews": [review(people, i) for i in range(3)]}
    response = client.post(f"{API}/reviews", json=body, headers=auth(keys["staff"]))
    found = ok(response, StoredReviews, 202)
    assert all(item.sentiment is None for item in found.items)
    job = found.job
    assert (job.kind, job.status, job.progress.done) == ("score-reviews", "queued", 0)
    assert response.headers["Location"].endswith(f"{API}/jobs/{job.id}")
    followed = ok(client.get(response.headers["Location"], headers=auth(keys["staff"])), JobOut)
    assert followed.id == job.id
    # A second batch joins the job that is still waiting rather than queueing another.
    again = ok(client.post(f"{API}/reviews", json=body, headers=auth(keys["staff"])),
               StoredReviews, 202)
    assert again.job.id == job.id
    assert len(jobs(engine)) == 1 and len(stored(engine)) == 6
    # Within the limit the same app scores inline.
    ok(client.post(f"{API}/reviews", json={"reviews": body["reviews"][:2]},
                   headers=auth(keys["staff"])), StoredReviews, 201)


def test_without_a_model_reviews_are_stored_unscored_with_a_job(client, keys, engine, people):
    response = client.post(f"{API}/reviews", json={"reviews": [review(people)]},
                           headers=auth(keys["staff"]))
    found = ok(response, StoredReviews, 202)
    assert found.items[0].sentiment is None and found.job.kind == "score-reviews"
    assert (found.items[0].language, found.items[0].language_detected) == (None, None)
    assert stored(engine)[0].sentiment_label is None


def test_external_ids_are_idempotent(client, keys, engine, people, production):
    staff = auth(keys["staff"])
    first = ok(client.post(f"{API}/reviews", json={"reviews": [review(people, 0,
                                                                      external_id="X1")]},
                           headers=staff), StoredReviews, 201)
    body = {"reviews": [review(people, 1, external_id="X1", text="something else"),
                        review(people, 2, external_id="X2")]}
    second = ok(client.post(f"{API}/reviews", json=body, headers=staff), StoredReviews, 201)
    repeat, new = second.items
    assert not repeat.created and new.created
    assert repeat.model_dump() == {**first.items[0].model_dump(), "created": False}
    third = ok(client.post(f"{API}/reviews", json=body, headers=staff), StoredReviews, 200)
    assert [i.created for i in third.items] == [False, False]
    assert [r.external_id for r in stored(engine)] == ["X1", "X2"]


def test_a_repeat_of_an_unscored_review_is_scored_now(client, keys, engine, people,
                                                      production):
    with Session(engine) as s, s.begin():
        s.add(Review(source="api", external_id="OLD", customer_id=people["customers"][0],
                     location_id=people["locations"][0], text="Rico todo",
                     posted_at=utcnow()))
    found = ok(client.post(f"{API}/reviews", json={"reviews": [review(people, 0,
                                                                      external_id="OLD")]},
                           headers=auth(keys["staff"])), StoredReviews, 200)
    assert found.items[0].text == "Rico todo" and found.items[0].sentiment is not None
    assert stored(engine)[0].sentiment_label is not None


def test_per_item_issues_name_the_index(client, keys, engine, people):
    staff = auth(keys["staff"])
    body = {"reviews": [review(people, 0), review(people, 1, external_id="D"),
                        review(people, 2, external_id="D"),
                        {**review(people, 3), "customer_id": 987654, "location_id": 876543},
                        review(people, 4, posted_at="2999-01-01T00:00:00Z")]}
    found = problem(client.post(f"{API}/reviews", json=body, headers=staff), 422)
    assert [(i.path, i.message) for i in found.issues] == [
        ("reviews[2].external_id", "the same as reviews[1].external_id"),
        ("reviews[3].customer_id", "no customer with id 987654"),
        ("reviews[3].location_id", "no location with id 876543"),
        ("reviews[4].posted_at", "in the future")]
    assert stored(engine) == [] and jobs(engine) == []


@pytest.mark.parametrize(("change", "path"), [
    ({"text": "   "}, "reviews.0.text"),
    ({"text": ""}, "reviews.0.text"),
    ({"text": "x" * 10_001}, "reviews.0.text"),
    ({"text": "a\x00b"}, "reviews.0.text"),
    ({"rating": 4.2}, "reviews.0.rating"),
    ({"rating": 0.5}, "reviews.0.rating"),
    ({"rating": 5.5}, "reviews.0.rating"),
    ({"rating": True}, "reviews.0.rating"),
    ({"rating": "4"}, "reviews.0.rating"),
    ({"customer_id": True}, "reviews.0.customer_id"),
    ({"customer_id": 0}, "reviews.0.customer_id"),
    ({"language": "fr"}, "reviews.0.language"),
    ({"external_id": "x" * 65}, "reviews.0.external_id"),
    ({"external_id": "  "}, "reviews.0.external_id"),
    ({"posted_at": "yesterday"}, "reviews.0.posted_at"),
    ({"stars": 5}, "reviews.0.stars"),
])
def test_schema_issues(client, keys, people, change, path):
    body = {"reviews": [{**review(people), **change}]}
    found = problem(client.post(f"{API}/reviews", json=body, headers=auth(keys["staff"])), 422)
    assert path in [i.path for i in found.issues]


def test_sizes_and_bodies(client, keys, people):
    staff = auth(keys["staff"])
    too_many = problem(client.post(f"{API}/reviews", json={"reviews": [review(people, i)
                                                                       for i in range(101)]},
                                   headers=staff), 422)
    assert too_many.issues[0].path == "reviews"
    problem(client.post(f"{API}/reviews", json={"reviews": []}, headers=staff), 422)
    problem(client.post(f"{API}/reviews", json={}, headers=staff), 422)
    problem(client.post(f"{API}/reviews", data="{nope", content_type="application/json",
                        headers=staff), 400)
    problem(client.post(f"{API}/reviews", data="text=1", headers=staff), 415)
    problem(client.post(f"{API}/reviews", json={"reviews": [review(people, text="x" * 2**20)]},
                        headers=staff), 413)


def test_roles(client, keys, people):
    body = {"reviews": [review(people)]}
    for path, payload in ((f"{API}/reviews", body), (f"{API}/reviews/score", {"texts": ["a"]}),
                          (f"{API}/jobs/score-reviews", {})):
        problem(client.post(path, json=payload), 401)
        problem(client.post(path, json=payload, headers=auth("lk_nope")), 401)
    # Admin may do everything; staff may not queue a batch job.
    ok(client.post(f"{API}/reviews", json=body, headers=auth(keys["admin"])), StoredReviews, 202)
    problem(client.post(f"{API}/jobs/score-reviews", json={}, headers=auth(keys["staff"])), 403)
    problem(client.get(f"{API}/jobs/1"), 401)


# ---- POST /reviews/score ---------------------------------------------------------------------


def test_score_without_storing(client, keys, engine, people, production):
    texts = ["La comida estuvo riquísima", "", "   ", "😡😡", "Slow service. " * 200]
    found = ok(client.post(f"{API}/reviews/score", json={"texts": texts},
                           headers=auth(keys["marketing"])), ScoredTexts)
    assert found.model_version == "tiny-1" and len(found.items) == len(texts)
    for item in found.items:
        p = item.probabilities
        assert p.negative + p.neutral + p.positive == pytest.approx(1.0)
        assert item.score == pytest.approx(p.positive - p.negative)
    for blank in found.items[1:3]:
        assert (blank.label, blank.score, blank.note, blank.aspects) == ("neutral", 0.0,
                                                                         "empty", {})
        assert blank.probabilities.neutral == 1.0
    assert "food" in found.items[0].aspects
    assert found.items[3].note == "emoji-only"
    assert [item.language for item in found.items] == ["es", "und", "und", "und", "en"]
    assert found.items[4].note.startswith("long") and "service" in found.items[4].aspects
    assert stored(engine) == [] and jobs(engine) == []


def test_score_limits(client, keys, production):
    staff = auth(keys["staff"])
    long = problem(client.post(f"{API}/reviews/score", json={"texts": ["ok", "x" * 5001]},
                               headers=staff), 422)
    assert [i.path for i in long.issues] == ["texts.1"]
    problem(client.post(f"{API}/reviews/score", json={"texts": ["a"] * 65}, headers=staff), 422)
    problem(client.post(f"{API}/reviews/score", json={"texts": []}, headers=staff), 422)
    problem(client.post(f"{API}/reviews/score", json={"texts": [3]}, headers=staff), 422)
    problem(client.post(f"{API}/reviews/score", json={"texts": "one"}, headers=staff), 422)
    problem(client.post(f"{API}/reviews/score", json={"texts": ["a"], "x": 1}, headers=staff),
            422)
    ok(client.post(f"{API}/reviews/score", json={"texts": ["a"] * 64}, headers=staff),
       ScoredTexts)


def test_score_without_a_model_is_503(client, keys):
    found = problem(client.post(f"{API}/reviews/score", json={"texts": ["good"]},
                                headers=auth(keys["staff"])), 503)
    assert "no sentiment model in production" in found.detail


# ---- jobs ------------------------------------------------------------------------------------


def test_queue_scoring_and_follow_it(client, keys, engine):
    response = client.post(f"{API}/jobs/score-reviews", headers=auth(keys["marketing"]))
    job = ok(response, JobOut, 202)
    assert (job.kind, job.status, job.params, job.progress.done) == ("score-reviews", "queued",
                                                                     {}, 0)
    assert response.headers["Location"].endswith(f"{API}/jobs/{job.id}")
    same = ok(client.post(f"{API}/jobs/score-reviews", json={"rescore": False},
                          headers=auth(keys["admin"])), JobOut, 202)
    assert same.id == job.id
    rescore = ok(client.post(f"{API}/jobs/score-reviews", json={"rescore": True},
                             headers=auth(keys["admin"])), JobOut, 202)
    assert rescore.id != job.id and rescore.params == {"rescore": True}
    with Session(engine) as s, s.begin():
        row = s.get(Job, job.id)
        row.status, row.progress_done, row.progress_total = "running", 3, 10
        row.counts = {"scored": 3, "empty": 0}
    running = ok(client.get(f"{API}/jobs/{job.id}", headers=auth(keys["staff"])), JobOut)
    assert (running.status, running.progress.done, running.progress.total) == ("running", 3,
                                                                                10)
    assert running.counts == {"scored": 3, "empty": 0}
    finish(engine, job.id, {"scored": 10, "empty": 1})
    done = ok(client.get(f"{API}/jobs/{job.id}", headers=auth(keys["marketing"])), JobOut)
    assert done.status == "succeeded" and done.finished_at is not None
    assert done.counts == {"scored": 10, "empty": 1}
    # A finished job is not reused.
    fresh = ok(client.post(f"{API}/jobs/score-reviews", headers=auth(keys["marketing"])), JobOut,
               202)
    assert fresh.id not in (job.id, rescore.id)


def test_job_errors(client, keys, engine):
    admin = auth(keys["admin"])
    missing = problem(client.get(f"{API}/jobs/987654", headers=admin), 404)
    assert "no job with id 987654" in missing.detail
    for bad in ("abc", "0", "-1", "99999999999"):
        assert client.get(f"{API}/jobs/{bad}", headers=admin).status_code in (404, 422)
    problem(client.post(f"{API}/jobs/score-reviews", json={"rescore": "yes"}, headers=admin), 422)
    problem(client.post(f"{API}/jobs/score-reviews", json={"other": 1}, headers=admin), 422)
    problem(client.get(f"{API}/jobs/score-reviews", headers=admin), 405)  # POST only
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0


# ---- OpenAPI ---------------------------------------------------------------------------------


def test_openapi_lists_the_review_and_job_paths(client):
    doc = client.get(f"{API}/openapi.json").get_json()
    paths = doc["paths"]
    expected = {f"{API}/reviews": ("post", "202"), f"{API}/reviews/score": ("post", "503"),
                f"{API}/jobs/score-reviews": ("post", "202"),
                f"{API}/jobs/{{job_id}}": ("get", "404")}
    for path, (method, status) in expected.items():
        operation = paths[path][method]
        assert operation["security"] == [{"ApiKey": []}]
        assert {"401", "403", "422", status} <= set(operation["responses"])
        assert "application/problem+json" in operation["responses"]["422"]["content"]
    assert paths[f"{API}/jobs/score-reviews"]["post"]["requestBody"]["required"] is False
    schemas = doc["components"]["schemas"]
    for name in ("StoredReviews", "ScoredTexts", "JobOut", "ReviewsBody", "ScoreBody"):
        assert name in schemas
    rating = schemas["ReviewIn"]["properties"]["rating"]["anyOf"][0]
    assert (rating["minimum"], rating["maximum"], rating["multipleOf"]) == (1, 5, 0.5)
    assert schemas["ReviewIn"]["properties"]["customer_id"]["minimum"] == 1
    # The languages a review or a text can have are the detector's labels.
    assert get_args(ReviewLanguage) == DETECTED_LANGUAGES
    assert schemas["TextSentiment"]["properties"]["language"]["enum"] == list(DETECTED_LANGUAGES)
    assert "language" in schemas["TextSentiment"]["required"]
    for field in ("language", "language_detected"):
        shown = schemas["ReviewOut"]["properties"][field]["anyOf"]
        assert {"enum": list(DETECTED_LANGUAGES), "type": "string"} in shown
