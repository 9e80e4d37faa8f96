"""Batch jobs: queue the scoring of unscored reviews, and follow any job's progress.

The API only writes a ``queued`` row (`loyalty.jobs.enqueue`); a worker (`loyalty worker`)
runs it. A request for a job that is already waiting in the queue with the same parameters
gets that job back rather than a second one: the queued job will do the same work when it
runs (a ``score-reviews`` job picks its reviews when it starts, not when it is queued).
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_openapi3 import APIBlueprint, Tag
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import API_PREFIX
from api.auth import SECURITY, require
from api.errors import problem_responses
from api.extensions import database, db_session
from api.schemas.reviews import JobOut, JobPath, Progress, ScoreJobBody
from loyalty.jobs import enqueue, get_job
from loyalty.models import Job

bp = APIBlueprint("jobs", __name__, url_prefix=API_PREFIX,
                  abp_tags=[Tag(name="jobs", description="Batch work and its progress")])

SCORE_REVIEWS = "score-reviews"


def job_out(job: Job) -> JobOut:
    return JobOut(id=job.id, kind=job.kind, status=job.status, params=job.params or {},
                  progress=Progress(done=job.progress_done or 0, total=job.progress_total),
                  counts=job.counts or {}, error=job.error, created_at=job.created_at,
                  started_at=job.started_at, heartbeat_at=job.heartbeat_at,
                  finished_at=job.finished_at)


def job_location(job: Job) -> str:
    return url_for("jobs.job_status", job_id=job.id)


def queue_score_reviews(session: Session, params: dict[str, Any] | None = None) -> Job:
    """A queued score-reviews job with ``params``: the one already waiting, else a new one.
    The caller commits."""
    params = dict(params or {})
    waiting = session.scalars(select(Job).where(Job.kind == SCORE_REVIEWS,
                                                Job.status == "queued")
                              .order_by(Job.created_at, Job.id)).all()
    for job in waiting:
        if (job.params or {}) == params:
            return job
    return enqueue(session, SCORE_REVIEWS, params)


@bp.post("/jobs/score-reviews", security=SECURITY,
         summary="Queue the scoring of unscored reviews",
         description="Sentiment and aspects of every review no model has scored (with "
                     "`rescore`: also those another model scored) by the production model, "
                     "run by a worker. 202 with the job and its URL in `Location`; when such "
                     "a job is already waiting in the queue, that job.",
         responses={202: JobOut, **problem_responses(400, 401, 403, 413, 415, 422)})
@require("marketing", "admin")
def queue_scoring(body: ScoreJobBody):
    session = db_session()
    job = queue_score_reviews(session, {"rescore": True} if body.rescore else {})
    session.commit()
    return job_out(job).model_dump(mode="json"), 202, {"Location": job_location(job)}


@bp.get('/jobs/<other("score-reviews"):job_id>', security=SECURITY,
        summary="A job's status and progress",
        description="Status (queued, running, succeeded, failed, interrupted: its process "
                    "is gone), progress done/total, what it "
                    "did so far (counts), the error of a failed job, and its timestamps.",
        responses={200: JobOut, **problem_responses(401, 403, 404, 422)})
@require("staff", "marketing", "admin")
def job_status(path: JobPath):
    job = get_job(db_session(), path.job_id, settings=database().settings)
    return job_out(job).model_dump(mode="json")
