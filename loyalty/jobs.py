"""A small job queue on the `jobs` table, so the API never blocks on batch work.

The API (or `loyalty jobs enqueue`) writes a ``queued`` row; a worker (`loyalty worker`) claims
the oldest one, runs it and records what it did::

    queued ──claim_next──► running ──finish──► succeeded
       ▲                      │  └─────fail──► failed   (one-line error)
       │                      └──mark_interrupted──► interrupted   (its process is gone)
       └────requeue_stale─────┘ ◄──────────────────────┘

Claiming is atomic on both databases, so two workers never take the same job. On PostgreSQL the
oldest queued row is read ``FOR UPDATE SKIP LOCKED`` (a second worker skips the row the first
holds and takes the next). On SQLite the claim is one ``UPDATE ... WHERE id = (SELECT oldest)``
as the transaction's first statement: a write takes the database's single write lock before it
reads, so the subquery sees every claim committed before it (see
`loyalty.offers.issue.lock_customer`).

Every running job records its owner (host, pid and, on Linux, the process's start time:
`Owner`) and beats its heartbeat while it works (after every chunk). Listing or showing jobs
and the `/metrics` scrape call `mark_interrupted`: a running job whose owner is gone (on this
host: its pid is dead or now belongs to another process; on another host: no heartbeat for
``Settings.job_stale_minutes``) becomes ``interrupted``, so a killed import no longer looks
like it runs for ever. The worker's sweep, `requeue_stale`, puts the jobs of the kinds it runs
back in the queue when they are interrupted, when their owner is gone, or when their heartbeat
is older than the threshold (a hung worker), with progress and checkpoint kept; the work itself
is resumable (``score-reviews`` scores only unscored reviews). A job requeued ``MAX_REQUEUES``
times (a job that kills its worker, say) fails instead of looping. Other batch work (imports)
records itself in the same table and is never requeued: an interrupted import is run again by
a person.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from loyalty.config import Settings
from loyalty.db import serialised_writes
from loyalty.errors import LoyaltyError, NotFoundError
from loyalty.models import JOB_STATUSES, Job, utcnow
from loyalty.owners import Owner, owner_gone

log = logging.getLogger(__name__)

SCORE_CHUNK = 256  # reviews per committed chunk (and heartbeat) of a score-reviews job
MAX_REQUEUES = 3
MAX_ERROR = 500

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class JobKind:
    """What a kind of job accepts and how it runs. ``run`` returns the job's counts."""

    description: str
    params: dict[str, type]
    run: Callable[[Engine, Settings, Job, Progress | None], dict[str, Any]]


def _engine_of(bind: Engine | Connection) -> Engine:
    return bind if isinstance(bind, Engine) else bind.engine


def mark_interrupted(bind: Engine | Connection | Session, settings: Settings, *,
                     now: datetime | None = None) -> list[int]:
    """Mark every running job whose owner is gone (`owner_gone`) ``interrupted``, with the
    reason as its error, in a transaction of its own. Returns the ids marked.

    Reading costs one query on the running jobs; a write happens only when one is found dead.
    A job that beat its heartbeat (or was claimed again) between the read and the write is
    left as it is.
    """
    engine = _engine_of(bind.get_bind() if isinstance(bind, Session) else bind)
    now = now or utcnow()
    table = Job.__table__
    columns = (table.c.id, table.c.owner_host, table.c.owner_pid, table.c.owner_process,
               table.c.heartbeat_at, table.c.started_at, table.c.created_at)
    with engine.connect() as conn:
        running = conn.execute(select(*columns).where(table.c.status == "running")).all()
    dead = [(row, reason) for row in running
            if (reason := owner_gone(row, stale_after=settings.job_stale_after, now=now))]
    if not dead:
        return []
    marked = []
    with serialised_writes(engine), engine.begin() as conn:
        for row, reason in dead:
            done = conn.execute(update(table).where(
                table.c.id == row.id, table.c.status == "running",
                table.c.heartbeat_at.is_not_distinct_from(row.heartbeat_at))
                .values(status="interrupted", error=one_line(reason))).rowcount
            if done:
                marked.append(row.id)
    for job_id in marked:
        log.info("job %s: its process is gone, marked interrupted", job_id)
    return marked


# --- the kinds of job a worker runs ------------------------------------------------------------

def _score_reviews(engine: Engine, settings: Settings, job: Job,
                   on_progress: Progress | None) -> dict[str, Any]:
    from loyalty.sentiment.batch import score_database
    from loyalty.sentiment.production import load_scorer, production_model, registered_model

    params = job.params or {}
    if params.get("model_version_id") is not None:
        # Set by `loyalty reviews score` on the job it records: a killed run resumes
        # with the model it started with.
        model = registered_model(engine, settings, version_id=int(params["model_version_id"]))
    else:
        model = production_model(engine, settings,
                                 hint=" (or promote one) and enqueue the job again")
    if not model.folder.is_dir():
        raise NotFoundError(f"sentiment model {model.version}: folder {model.folder} is missing")
    scorer = load_scorer(model.folder)
    heartbeat(engine, job)  # loading a model can take a while
    score_database(engine, scorer, model.id, chunk_size=SCORE_CHUNK,
                   rescore=bool(params.get("rescore", False)), job_id=job.id,
                   on_progress=on_progress)
    with Session(engine) as session:
        recorded = session.scalar(select(Job.counts).where(Job.id == job.id)) or {}
    return {**recorded, "model_version": model.version}


KINDS: dict[str, JobKind] = {
    "score-reviews": JobKind(
        "score sentiment and aspects of every unscored review with the production model",
        {"rescore": bool, "model_version_id": int}, _score_reviews),
}


def _check_params(kind: str, params: dict[str, Any] | None) -> dict[str, Any]:
    if kind not in KINDS:
        raise LoyaltyError(f"unknown job kind {kind!r}: use one of {', '.join(sorted(KINDS))}")
    params = dict(params or {})
    allowed = KINDS[kind].params
    for name, value in params.items():
        if name not in allowed:
            raise LoyaltyError(f"a {kind} job takes no parameter {name!r} "
                               f"(it takes: {', '.join(sorted(allowed)) or 'none'})")
        wanted = allowed[name]
        ok = isinstance(value, wanted) and (wanted is bool or not isinstance(value, bool))
        if not ok and not (value is None and name == "model_version_id"):
            raise LoyaltyError(f"{kind} parameter {name!r} must be a {wanted.__name__}, "
                               f"got {value!r}")
    return params


def enqueue(session: Session, kind: str, params: dict[str, Any] | None = None) -> Job:
    """Queue a job of ``kind``; the caller commits. Unknown kinds and parameters are refused."""
    params = _check_params(kind, params)
    job = Job(kind=kind, status="queued", params=params, progress_done=0, created_at=utcnow())
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: int, *, settings: Settings) -> Job:
    """One job, as it is: a running job whose process is gone is marked interrupted first."""
    mark_interrupted(session, settings)
    job = session.get(Job, job_id, populate_existing=True)
    if job is None:
        raise NotFoundError(f"no job with id {job_id}")
    return job


def list_jobs(session: Session, *, settings: Settings, status: str | None = None,
              kind: str | None = None, limit: int = 50) -> list[Job]:
    """Jobs, newest first; running jobs whose process is gone are marked interrupted first."""
    if status is not None and status not in JOB_STATUSES:
        raise LoyaltyError(f"unknown job status {status!r}: use one of {', '.join(JOB_STATUSES)}")
    mark_interrupted(session, settings)
    query = (select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
             .execution_options(populate_existing=True))
    if status is not None:
        query = query.where(Job.status == status)
    if kind is not None:
        query = query.where(Job.kind == kind)
    return list(session.scalars(query))


def _kinds(kinds: Iterable[str] | None) -> tuple[str, ...]:
    return tuple(KINDS) if kinds is None else tuple(kinds)


def claim_next(engine: Engine, *, kinds: Iterable[str] | None = None,
               now: datetime | None = None) -> Job | None:
    """Take the oldest queued job (of ``kinds``; default: every kind this module runs) and mark
    it running, atomically: two workers never claim the same job. None when there is none.

    The job comes back detached, with its attributes loaded.
    """
    now = now or utcnow()
    wanted = _kinds(kinds)
    if not wanted:
        return None
    queued = (Job.status == "queued", Job.kind.in_(wanted))
    oldest = select(Job.id).where(*queued).order_by(Job.created_at, Job.id).limit(1)
    running = {"status": "running", "started_at": now, "heartbeat_at": now,
               "finished_at": None, "error": None, **Owner.current().columns()}
    with Session(engine, expire_on_commit=False) as session, session.begin():
        if engine.dialect.name == "postgresql":
            job_id = session.scalar(oldest.with_for_update(skip_locked=True))
            if job_id is None:
                return None
            session.execute(update(Job).where(Job.id == job_id).values(**running))
        else:
            table = Job.__table__
            job_id = session.execute(
                update(table).where(table.c.id == oldest.scalar_subquery(),
                                    table.c.status == "queued")
                .values(**running).returning(table.c.id)
            ).scalar_one_or_none()
            if job_id is None:
                return None
        return session.get(Job, job_id, populate_existing=True)


def _id(job: Job | int) -> int:
    return job if isinstance(job, int) else job.id


def _mirror(job: Job | int, **values: Any) -> None:
    if isinstance(job, Job):
        for name, value in values.items():
            setattr(job, name, value)


def heartbeat(engine: Engine, job: Job | int, *, now: datetime | None = None) -> bool:
    """Say the job's worker is alive. False when the job is no longer running (requeued as
    stale, or cancelled): its worker should stop."""
    now = now or utcnow()
    with engine.begin() as conn:
        done = conn.execute(update(Job.__table__).where(
            Job.__table__.c.id == _id(job), Job.__table__.c.status == "running")
            .values(heartbeat_at=now)).rowcount
    if done:
        _mirror(job, heartbeat_at=now)
    return bool(done)


def finish(engine: Engine, job: Job | int, counts: dict[str, Any] | None = None, *,
           now: datetime | None = None) -> None:
    """The job succeeded; ``counts`` (what it did) replaces the recorded counts when given."""
    now = now or utcnow()
    values: dict[str, Any] = {"status": "succeeded", "finished_at": now, "heartbeat_at": now,
                              "error": None}
    if counts is not None:
        values["counts"] = counts
    with engine.begin() as conn:
        conn.execute(update(Job.__table__).where(Job.__table__.c.id == _id(job)).values(**values))
    _mirror(job, **values)


def one_line(error: BaseException | str) -> str:
    """An error as one short line: the message, or the type's name when there is none."""
    if isinstance(error, BaseException):
        text = str(error).strip()
        if not isinstance(error, LoyaltyError):
            text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    else:
        text = str(error).strip()
    first = text.splitlines()[0] if text else "failed"
    return first if len(first) <= MAX_ERROR else first[:MAX_ERROR - 3] + "..."


def fail(engine: Engine, job: Job | int, error: BaseException | str, *,
         now: datetime | None = None) -> None:
    """The job failed: record why in one line. Its progress and checkpoint stay as they were."""
    now = now or utcnow()
    values = {"status": "failed", "finished_at": now, "heartbeat_at": now,
              "error": one_line(error)}
    with engine.begin() as conn:
        conn.execute(update(Job.__table__).where(Job.__table__.c.id == _id(job)).values(**values))
    _mirror(job, **values)


def _release(engine: Engine, job: Job) -> None:
    """Put a job this worker was running back in the queue (the worker is stopping)."""
    with engine.begin() as conn:
        conn.execute(update(Job.__table__).where(
            Job.__table__.c.id == job.id, Job.__table__.c.status == "running")
            .values(status="queued"))
    _mirror(job, status="queued")


def requeue_stale(engine: Engine, *, older_than: timedelta, now: datetime | None = None,
                  kinds: Iterable[str] | None = None,
                  max_requeues: int = MAX_REQUEUES) -> list[Job]:
    """Jobs (of ``kinds``) whose worker died go back to the queue: interrupted ones, running
    ones whose owner is gone (`owner_gone`), and running ones whose heartbeat is older than
    ``older_than`` (their worker died elsewhere, or hangs). Progress, counts and checkpoint are
    kept; the checkpoint counts the requeues, and a job past ``max_requeues`` fails instead.
    Returns the jobs changed.
    """
    now = now or utcnow()
    wanted = _kinds(kinds)
    if not wanted:
        return []
    cutoff = now - older_than
    candidates = (Job.status.in_(("running", "interrupted")), Job.kind.in_(wanted))
    changed = []
    with Session(engine, expire_on_commit=False) as session, session.begin():
        query = select(Job).where(*candidates).order_by(Job.id)
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        else:  # a write first takes the write lock, so the rows read next are current
            session.execute(update(Job.__table__).where(*candidates)
                            .values(heartbeat_at=Job.__table__.c.heartbeat_at))
        for job in session.scalars(query):
            last = job.heartbeat_at or job.started_at
            if job.status == "interrupted":
                why = job.error or "interrupted"
            elif last is not None and last < cutoff:
                why = f"no heartbeat since {last:%Y-%m-%d %H:%M} UTC"
            else:
                why = owner_gone(job, stale_after=older_than, now=now)
                if why is None:
                    continue
            checkpoint = dict(job.checkpoint or {})
            checkpoint["requeues"] = int(checkpoint.get("requeues", 0)) + 1
            job.checkpoint = checkpoint
            if checkpoint["requeues"] > max_requeues:
                job.status, job.finished_at = "failed", now
                job.error = (f"its worker stopped answering {checkpoint['requeues']} times "
                             f"(last: {why}); not retried again")
            else:
                job.status, job.error = "queued", None
                log.info("job %s (%s): %s, back in the queue", job.id, job.kind, why)
            changed.append(job)
    return changed


def run_job(engine: Engine, settings: Settings, job: Job, *,
            on_progress: Progress | None = None) -> Job:
    """Run a claimed job to its end: succeeded with its counts, or failed with a one-line error
    (the error is recorded, not raised). Interrupted (Ctrl-C, shutdown), it goes back to the
    queue and the interruption propagates.
    """
    try:
        kind = KINDS.get(job.kind)
        if kind is None:
            raise LoyaltyError(f"unknown job kind {job.kind!r}")
        _check_params(job.kind, job.params)
        counts = kind.run(engine, settings, job, on_progress)
    except Exception as exc:  # noqa: BLE001 - a failing job must not stop the worker
        if isinstance(exc, LoyaltyError):  # expected, and said in full by the one line
            log.info("job %s (%s) failed: %s", job.id, job.kind, one_line(exc))
        else:  # a bug or an outage: the traceback goes to the worker's log
            log.warning("job %s (%s) failed", job.id, job.kind, exc_info=True)
        fail(engine, job, exc)
        return job
    except BaseException:
        _release(engine, job)
        raise
    finish(engine, job, counts)
    return job


def work(engine: Engine, settings: Settings, *, once: bool = False, poll_seconds: float = 2.0,
         stop: threading.Event | None = None, stale_after: timedelta | None = None,
         kinds: Iterable[str] | None = None,
         echo: Callable[[str], None] | None = None) -> int:
    """The worker loop: requeue stale jobs, claim the oldest, run it, repeat; sleep when idle.

    ``once`` processes jobs until the queue is empty and returns; otherwise it runs until
    ``stop`` is set (tests) or the process is stopped. ``stale_after`` defaults to
    ``settings.job_stale_minutes``. A failed job is recorded and the loop
    goes on; without ``once``, a database that is briefly unreachable is waited for. Returns
    the number of jobs run. ``echo`` receives a line per job (the CLI prints them).
    """
    say = echo or log.info
    wanted = _kinds(kinds)
    stale_after = stale_after or settings.job_stale_after
    ran = 0

    def stopped() -> bool:
        return stop is not None and stop.is_set()

    def idle() -> None:
        if stop is not None:
            stop.wait(poll_seconds)
        else:
            time.sleep(poll_seconds)

    while not stopped():
        try:
            for job in requeue_stale(engine, older_than=stale_after, kinds=wanted):
                say(f"job {job.id} ({job.kind}): worker lost, "
                    + ("back in the queue" if job.status == "queued" else "failed"))
            job = claim_next(engine, kinds=wanted)
        except SQLAlchemyError as exc:
            if once:
                raise
            say(f"database unavailable, retrying: {one_line(exc)}")
            idle()
            continue
        if job is None:
            if once:
                break
            idle()
            continue
        say(f"job {job.id} ({job.kind}): started")
        started = time.monotonic()
        run_job(engine, settings, job)
        ran += 1
        took = time.monotonic() - started
        if job.status == "succeeded":
            say(f"job {job.id} ({job.kind}): succeeded in {took:.1f}s {_counts(job.counts)}")
        else:
            say(f"job {job.id} ({job.kind}): failed: {job.error}")
    return ran


def _counts(counts: dict[str, Any] | None) -> str:
    return ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}"
                     for k, v in (counts or {}).items())


__all__ = ["KINDS", "MAX_REQUEUES", "JobKind", "claim_next", "enqueue", "fail", "finish",
           "get_job", "heartbeat", "list_jobs", "mark_interrupted", "one_line", "requeue_stale",
           "run_job", "work"]
