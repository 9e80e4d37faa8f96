"""The job queue: enqueue, claim (never twice), finish, fail, requeue, and the worker loop."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loyalty import jobs, registry
from loyalty.errors import LoyaltyError
from loyalty.ingest import ingest_file
from loyalty.jobs import (
    claim_next,
    enqueue,
    fail,
    finish,
    heartbeat,
    requeue_stale,
    run_job,
    work,
)
from loyalty.keys import verify_key
from loyalty.models import Job, Review, utcnow
from loyalty.owners import Owner
from nlp.scorer import SentimentScorer

TEXTS = ["Delicious ceviche and friendly staff", "The food was cold and the waiter was rude",
         "Slow service, we waited an hour", "It was okay, nothing special",
         "La atención fue pésima y lentísima"]


def _queue(engine, n=1, kind="score-reviews", params=None):
    with Session(engine, expire_on_commit=False) as session, session.begin():
        return [enqueue(session, kind, params) for _ in range(n)]


def _job(engine, job_id) -> Job:
    with Session(engine) as session:
        return session.get(Job, job_id)


def test_enqueue_validates_kind_and_params(engine):
    (job,) = _queue(engine, params={"rescore": True})
    row = _job(engine, job.id)
    assert (row.kind, row.status, row.params, row.progress_done) == \
        ("score-reviews", "queued", {"rescore": True}, 0)
    with Session(engine) as session:
        with pytest.raises(LoyaltyError, match="unknown job kind 'train'.*score-reviews"):
            enqueue(session, "train", {})
        with pytest.raises(LoyaltyError, match="no parameter 'force'"):
            enqueue(session, "score-reviews", {"force": True})
        with pytest.raises(LoyaltyError, match="must be a bool"):
            enqueue(session, "score-reviews", {"rescore": "yes"})


def test_claim_takes_the_oldest_and_marks_it_running(engine):
    first, second = _queue(engine, 2)
    now = utcnow()
    claimed = claim_next(engine, now=now)
    assert claimed.id == first.id and claimed.status == "running"
    assert claimed.started_at == claimed.heartbeat_at == now
    row = _job(engine, first.id)
    assert row.status == "running" and row.heartbeat_at == now
    assert claim_next(engine).id == second.id
    assert claim_next(engine) is None
    assert claim_next(engine, kinds=[]) is None


def test_claim_only_takes_the_kinds_asked_for(engine):
    with Session(engine) as session, session.begin():
        session.add(Job(kind="import-customers", status="queued", params={}))
    assert claim_next(engine) is None  # not a kind the worker runs
    assert claim_next(engine, kinds=["import-customers"]).kind == "import-customers"


def test_finish_and_fail_record_the_outcome(engine):
    a, b = _queue(engine, 2)
    ja, jb = claim_next(engine), claim_next(engine)
    assert heartbeat(engine, ja)
    finish(engine, ja, {"scored": 3})
    fail(engine, jb, RuntimeError("disk full\nand a second line"))
    done, failed = _job(engine, a.id), _job(engine, b.id)
    assert (done.status, done.counts, done.error) == ("succeeded", {"scored": 3}, None)
    assert done.finished_at is not None and ja.status == "succeeded"
    assert failed.status == "failed" and failed.error == "RuntimeError: disk full"
    assert not heartbeat(engine, ja)  # no longer running
    fail(engine, jb, LoyaltyError("x" * 2000))
    assert len(_job(engine, b.id).error) == jobs.MAX_ERROR


def test_requeue_stale_puts_a_dead_workers_job_back_with_its_checkpoint(engine):
    stale, fresh = _queue(engine, 2)
    t0 = utcnow()
    claim_next(engine, now=t0 - timedelta(minutes=30))
    claim_next(engine, now=t0 - timedelta(minutes=1))
    with Session(engine) as session, session.begin():
        session.execute(update(Job).where(Job.id == stale.id).values(
            checkpoint={"last_review_id": 7}, progress_done=7, counts={"scored": 7}))
        # an import that died long ago: not a kind the worker runs, so not touched
        session.add(Job(kind="import-reviews", status="running",
                        started_at=t0 - timedelta(hours=5), heartbeat_at=None))
    changed = requeue_stale(engine, older_than=timedelta(minutes=10), now=t0)
    assert [j.id for j in changed] == [stale.id]
    row = _job(engine, stale.id)
    assert row.status == "queued" and row.progress_done == 7
    assert row.checkpoint == {"last_review_id": 7, "requeues": 1}
    assert _job(engine, fresh.id).status == "running"
    with Session(engine) as session:
        assert session.scalar(select(Job.status).where(Job.kind == "import-reviews")) == "running"
    assert claim_next(engine, now=t0).id == stale.id  # and it is claimed again


def test_a_job_that_keeps_killing_its_worker_fails(engine):
    (job,) = _queue(engine)
    t0 = utcnow()
    for attempt in range(jobs.MAX_REQUEUES + 1):
        claimed = claim_next(engine, now=t0 - timedelta(hours=1))
        assert claimed is not None and claimed.id == job.id, attempt
        requeue_stale(engine, older_than=timedelta(minutes=10), now=t0)
    row = _job(engine, job.id)
    assert row.status == "failed" and "stopped answering" in row.error
    assert claim_next(engine) is None


def test_two_workers_never_claim_the_same_job(engine):
    _queue(engine, 40)
    claimed: list[list[int]] = [[] for _ in range(4)]
    start = threading.Barrier(4)
    errors = []

    def worker(mine: list[int]) -> None:
        try:
            start.wait()
            while (job := claim_next(engine)) is not None:
                mine.append(job.id)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(c,)) for c in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    everything = [i for c in claimed for i in c]
    assert len(everything) == 40 and len(set(everything)) == 40
    with Session(engine) as session:
        assert set(session.scalars(select(Job.status))) == {"running"}


# --- running jobs ---------------------------------------------------------------------------

def _reviews(engine, tmp_path, n=12):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "locations.csv").write_text("location_id,name\nL1,Miraflores\n", encoding="utf-8")
    (folder / "customers.csv").write_text("customer_id,signup_date\nC1,2024-01-01\n",
                                          encoding="utf-8")
    with open(folder / "reviews.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["review_id", "customer_id", "location_id", "text", "created_at"])
        for i in range(n):
            writer.writerow([f"R{i}", "C1", "L1", TEXTS[i % len(TEXTS)], "2025-01-01T12:00:00"])
    for kind in ("locations", "customers", "reviews"):
        ingest_file(engine, kind, folder / f"{kind}.csv", tz=ZoneInfo("America/Lima"))


def _production(engine, path) -> int:
    with Session(engine) as session, session.begin():
        row = registry.register(session, kind=registry.SENTIMENT, version="v1", path=path,
                                metrics={}, seed=0)
        registry.promote(session, row)
        return row.id


def test_score_reviews_job_end_to_end(engine, settings, tiny_model, tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "SCORE_CHUNK", 5)
    _reviews(engine, tmp_path, n=12)
    version_id = _production(engine, tiny_model)
    (queued,) = _queue(engine)
    seen = []

    def on_progress(done: int, total: int) -> None:
        row = _job(engine, queued.id)  # what another process (the API) sees meanwhile
        seen.append((done, total, row.status, row.progress_done, row.progress_total))

    job = run_job(engine, settings, claim_next(engine), on_progress=on_progress)
    assert job.status == "succeeded", job.error
    assert seen == [(0, 12, "running", 0, 12), (5, 12, "running", 5, 12),
                    (10, 12, "running", 10, 12), (12, 12, "running", 12, 12)]
    row = _job(engine, queued.id)
    assert row.status == "succeeded" and row.finished_at is not None
    assert (row.progress_done, row.progress_total) == (12, 12)
    assert row.counts == {"scored": 12, "empty": 0, "model_version": "v1"}
    with Session(engine) as session:
        reviews = session.scalars(select(Review)).all()
        assert len(reviews) == 12
        assert all(r.sentiment_model_version_id == version_id for r in reviews)
        assert all(r.sentiment_label in ("negative", "neutral", "positive") for r in reviews)
        # The job stores the language detected in each text; none was given.
        languages = {r.text: (r.language, r.language_detected, r.effective_language)
                     for r in reviews}
        assert languages == {t: (None, "es" if "atención" in t else "en",
                                 "es" if "atención" in t else "en") for t in TEXTS}

    _queue(engine)
    assert work(engine, settings, once=True) == 1
    with Session(engine) as session:
        again = session.scalars(select(Job).order_by(Job.id.desc())).first()
    assert again.status == "succeeded"
    assert (again.counts["scored"], again.progress_done, again.progress_total) == (0, 0, 0)


class _DiesAfter:
    """A scorer whose worker is stopped (Ctrl-C) after ``chunks`` chunks."""

    chunks = 1

    def __init__(self, folder, **kwargs):
        self.scorer = SentimentScorer(folder, backend="torch")

    def score(self, texts, progress=False):
        if _DiesAfter.chunks == 0:
            raise KeyboardInterrupt
        _DiesAfter.chunks -= 1
        return self.scorer.score(texts)

    def predict_proba(self, texts):
        return self.scorer.predict_proba(texts)


def test_an_interrupted_job_goes_back_to_the_queue_and_resumes(engine, settings, tiny_model,
                                                               tmp_path, monkeypatch):
    import nlp.scorer

    monkeypatch.setattr(jobs, "SCORE_CHUNK", 4)
    _reviews(engine, tmp_path, n=10)
    _production(engine, tiny_model)
    (queued,) = _queue(engine)
    with monkeypatch.context() as patch:
        patch.setattr(nlp.scorer, "SentimentScorer", _DiesAfter)
        patch.setattr(_DiesAfter, "chunks", 1)
        with pytest.raises(KeyboardInterrupt):
            run_job(engine, settings, claim_next(engine))
    row = _job(engine, queued.id)
    assert row.status == "queued" and row.progress_done == 4
    assert row.checkpoint["last_review_id"] > 0
    assert work(engine, settings, once=True) == 1
    row = _job(engine, queued.id)
    assert row.status == "succeeded"
    assert (row.progress_done, row.progress_total, row.counts["scored"]) == (10, 10, 10)
    with Session(engine) as session:
        assert session.scalar(select(Review.id).where(Review.scored_at.is_(None))) is None


def test_a_job_without_a_production_model_fails_clearly_and_the_worker_goes_on(engine,
                                                                                settings):
    first, second = _queue(engine, 2)
    lines = []
    assert work(engine, settings, once=True, echo=lines.append) == 2
    for job in (first, second):
        row = _job(engine, job.id)
        assert row.status == "failed"
        assert row.error.startswith("no sentiment model in production")
        assert "\n" not in row.error
    assert any(f"job {first.id} (score-reviews): failed: no sentiment model" in line
               for line in lines)


def test_unknown_kind_fails_when_run(engine, settings):
    with Session(engine, expire_on_commit=False) as session, session.begin():
        job = Job(kind="mystery", status="queued", params={})
        session.add(job)
    claimed = claim_next(engine, kinds=["mystery"])
    assert run_job(engine, settings, claimed).status == "failed"
    assert _job(engine, job.id).error == "unknown job kind 'mystery'"


def test_worker_loop_runs_until_stopped(engine, settings):
    stop = threading.Event()
    result = []
    thread = threading.Thread(target=lambda: result.append(
        work(engine, settings, poll_seconds=0.02, stop=stop, echo=lambda line: None)))
    thread.start()
    try:
        (job,) = _queue(engine)
        for _ in range(500):
            if _job(engine, job.id).status != "queued":
                break
            stop.wait(0.02)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive() and result == [1]
    assert _job(engine, job.id).status == "failed"  # no model: recorded, the loop went on


# --- the command line -----------------------------------------------------------------------

def test_cli_keys(db_url, engine, capsys):
    from loyalty.cli import main

    url = ["--database-url", db_url]
    assert main([*url, "keys", "create", "--role", "marketing", "--name", "dashboards"]) == 0
    out, err = capsys.readouterr()
    key = out.strip()
    assert "cannot be shown again" in err and key not in err
    with Session(engine) as session:
        row = verify_key(session, key)
        assert row is not None and (row.role, row.name) == ("marketing", "dashboards")
    assert main([*url, "keys", "list"]) == 0
    out = capsys.readouterr().out
    assert row.prefix in out and "dashboards" in out and "active" in out and key not in out
    assert main([*url, "keys", "revoke", row.prefix]) == 0
    assert f"revoked marketing key {row.prefix}" in capsys.readouterr().out
    assert main([*url, "keys", "list"]) == 0
    assert "revoked" in capsys.readouterr().out
    with Session(engine) as session:
        assert verify_key(session, key) is None
    assert main([*url, "keys", "revoke", "ffffffff"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no API key") and len(err.strip().splitlines()) == 1
    assert main([*url, "keys", "create", "--role", "chef"]) == 2


def test_cli_jobs_and_worker(db_url, engine, capsys):
    from loyalty.cli import main

    url = ["--database-url", db_url]
    assert main([*url, "jobs", "list"]) == 0
    assert "no jobs" in capsys.readouterr().out
    assert main([*url, "jobs", "enqueue", "score-reviews", "--rescore"]) == 0
    assert "queued job 1 (score-reviews)" in capsys.readouterr().out
    assert main([*url, "jobs", "list", "--status", "queued"]) == 0
    assert "score-reviews" in capsys.readouterr().out
    assert main([*url, "worker", "--once"]) == 0
    out = capsys.readouterr().out
    assert "job 1 (score-reviews): failed: no sentiment model in production" in out
    assert "ran 1 job" in out
    assert main([*url, "jobs", "show", "1"]) == 0
    out = capsys.readouterr().out
    assert "job 1: score-reviews, failed" in out and '"rescore": true' in out
    assert main([*url, "jobs", "show", "1", "--json"]) == 0
    assert '"status": "failed"' in capsys.readouterr().out
    assert main([*url, "jobs", "list", "--status", "queued"]) == 0
    assert "no jobs queued" in capsys.readouterr().out
    assert main([*url, "jobs", "show", "99"]) == 1
    assert capsys.readouterr().err.strip() == "error: no job with id 99"
    assert main([*url, "jobs", "enqueue", "train"]) == 2


# --- owners that are gone -------------------------------------------------------------------

def _loyalty(*args: str, env: dict[str, str]) -> subprocess.Popen:
    """`loyalty ARGS` in a process of its own, as a person would start it."""
    code = "import sys; from loyalty.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen([sys.executable, "-c", code, *args], env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(engine, condition, proc: subprocess.Popen, what: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(engine) as session:
            found = session.scalars(select(Job).where(condition)).first()
        if found is not None:
            return found
        if proc.poll() is not None:
            raise AssertionError(f"the process ended before {what}: "
                                 f"{proc.stderr.read().decode(errors='replace')[-2000:]}")
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"no {what} within {timeout}s")


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL


def _metrics(engine, settings) -> str:
    from api.metrics import exposition

    return exposition(engine, settings).get_data(as_text=True)


def test_a_killed_import_is_marked_interrupted(engine, db_url, settings, tmp_path, capsys):
    from loyalty.cli import main

    big = tmp_path / "customers.csv"
    big.write_text("customer_id,signup_date\n"
                   + "".join(f"C{i},2024-01-01\n" for i in range(20_000)), encoding="utf-8")
    # One row per chunk: it takes minutes, and it has written progress when it is killed.
    proc = _loyalty("ingest", "customers", str(big), "--no-progress",
                    env={"LOYALTY_DATABASE_URL": db_url, "LOYALTY_INGEST_CHUNK_SIZE": "1"})
    try:
        job = _wait_for(engine, (Job.kind == "ingest") & (Job.progress_done > 0), proc,
                        "import with progress")
        assert (job.status, job.owner_pid) == ("running", proc.pid)
        assert job.owner_host and job.owner_process
    finally:  # a failed check must not leave a minutes-long import running
        _kill(proc)

    # Until someone looks, the row says nothing new; the metrics scrape looks.
    assert _job(engine, job.id).status == "running"
    text = _metrics(engine, settings)
    assert 'loyalty_jobs{kind="ingest",status="interrupted"} 1.0' in text
    assert 'status="running"' not in text and "loyalty_job_progress_ratio{" not in text
    row = _job(engine, job.id)
    assert row.status == "interrupted" and row.progress_done > 0
    assert row.error == f"its process {proc.pid} on {row.owner_host} is gone"

    env_url = ["--database-url", db_url]
    assert main([*env_url, "jobs", "list"]) == 0
    out = capsys.readouterr().out
    assert f"{job.id:>6}  ingest" in out and "interrupted" in out and "running" not in out
    assert main([*env_url, "jobs", "show", str(job.id)]) == 0
    out = capsys.readouterr().out
    assert f"job {job.id}: ingest, interrupted" in out and f"pid {proc.pid}" in out
    assert work(engine, settings, once=True) == 0  # the worker never requeues an import
    assert _job(engine, job.id).status == "interrupted"


def test_a_killed_worker_job_is_interrupted_then_resumed(engine, db_url, settings, tiny_model,
                                                          tmp_path):
    _reviews(engine, tmp_path, n=10)
    _production(engine, tiny_model)
    (queued,) = _queue(engine)
    # A worker that claims the job and dies before its first chunk.
    code = ("import sys, time; from loyalty.db import make_engine; "
            "from loyalty.jobs import claim_next; "
            "claim_next(make_engine(sys.argv[1])); time.sleep(600)")
    proc = subprocess.Popen([sys.executable, "-c", code, db_url], stderr=subprocess.PIPE)
    try:
        job = _wait_for(engine, (Job.id == queued.id) & (Job.status == "running"), proc,
                        "claimed job")
        assert job.owner_pid == proc.pid
    finally:
        _kill(proc)

    with Session(engine) as session:
        listed = jobs.list_jobs(session, settings=settings, kind="score-reviews")
        assert [(j.id, j.status) for j in listed] == [(queued.id, "interrupted")]
    assert work(engine, settings, once=True) == 1
    row = _job(engine, queued.id)
    assert row.status == "succeeded", row.error
    assert (row.progress_done, row.counts["scored"], row.checkpoint["requeues"]) == (10, 10, 1)
    assert row.owner_pid == os.getpid() and row.error is None


def _running(engine, **values) -> int:
    now = utcnow()
    with Session(engine) as session, session.begin():
        job = Job(kind="ingest", status="running", progress_done=0, created_at=now,
                  started_at=now, heartbeat_at=now, **values)
        session.add(job)
        session.flush()
        return job.id


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_whose_process_is_gone(engine, settings):
    me = Owner.current()
    minutes = settings.job_stale_minutes
    if me.process is None:
        pytest.skip("no /proc here: processes are told apart by pid alone")
    scope = me.process.rpartition("/")[0]
    alive = _running(engine, **me.columns())
    dead = _running(engine, **{**me.columns(), "owner_pid": _dead_pid()})
    # The pid is alive but was given to another process since the job started.
    reused = _running(engine, **{**me.columns(), "owner_process": f"{scope}/1"})
    elsewhere = _running(engine, owner_host="another-host", owner_pid=me.pid,
                         owner_process=me.process)
    with Session(engine) as session, session.begin():
        session.execute(update(Job).where(Job.id == elsewhere).values(
            heartbeat_at=utcnow() - timedelta(minutes=minutes - 1)))
    assert sorted(jobs.mark_interrupted(engine, settings)) == [dead, reused]
    assert _job(engine, alive).status == _job(engine, elsewhere).status == "running"
    # Another host (or a row from before owners were recorded): the heartbeat decides, and a
    # live process here is running however old its heartbeat.
    legacy = _running(engine)
    later = utcnow() + timedelta(minutes=2)
    assert sorted(jobs.mark_interrupted(engine, settings, now=later)) == [elsewhere]
    assert "no heartbeat for" in _job(engine, elsewhere).error
    assert jobs.mark_interrupted(engine, settings,
                                 now=later + timedelta(minutes=minutes)) == [legacy]
    assert _job(engine, alive).status == "running"


def test_the_api_shows_an_interrupted_job(engine, settings):
    from api import create_app
    from api.config import Config
    from loyalty.keys import create_key

    with Session(engine) as session, session.begin():
        _, key = create_key(session, role="admin", name="test")
    dead = _running(engine, **{**Owner.current().columns(), "owner_pid": _dead_pid()})
    app = create_app(Config(settings=settings, testing=True))
    try:
        got = app.test_client().get(f"/api/v1/jobs/{dead}",
                                    headers={"Authorization": f"Bearer {key}"})
    finally:
        app.extensions["loyalty.db"].engine.dispose()
    assert got.status_code == 200 and got.json["status"] == "interrupted"
    assert "is gone" in got.json["error"]
