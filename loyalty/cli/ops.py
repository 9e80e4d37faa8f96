"""Commands for running the service: API keys, the job queue and the worker that drains it."""

from __future__ import annotations

import json
from datetime import datetime

import click
from sqlalchemy.orm import Session

from loyalty.cli.app import App, cli, pass_app
from loyalty.jobs import KINDS
from loyalty.models import JOB_STATUSES, ROLES


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value is not None else "-"


@cli.group()
def keys() -> None:
    """API keys for the HTTP API: create (shown once), list, revoke."""


@keys.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES),
              help="staff: guest look-up and offers; marketing: segments, rules, models; "
                   "admin: everything.")
@click.option("--name", default=None, help="Who or what uses the key (default: '<role> key').")
@pass_app
def keys_create(app: App, role: str, name: str | None) -> None:
    """Create an API key and print it once: only its hash is stored.

    The key alone goes to stdout (`KEY=$(loyalty keys create --role staff)` works); what it is
    and the warning go to stderr.
    """
    from loyalty.keys import create_key

    with Session(app.migrated_engine(), expire_on_commit=False) as session, session.begin():
        row, key = create_key(session, role=role, name=name or f"{role} key")
    click.echo(f"created {row.role} key {row.prefix} ({row.name}):", err=True)
    click.echo(key)
    click.echo("store it now: it cannot be shown again (lost keys are revoked and replaced)",
               err=True)


@keys.command("list")
@pass_app
def keys_list(app: App) -> None:
    """Every key: prefix, role, name, when created and last used, and whether revoked."""
    from loyalty.keys import list_keys

    with Session(app.migrated_engine()) as session:
        rows = list_keys(session)
        if not rows:
            click.echo("no API keys: create one with `loyalty keys create --role ROLE`")
            return
        click.echo(f"{'prefix':8}  {'role':9}  {'created':16}  {'last used':16}  "
                   f"{'status':18}  name")
        for row in rows:
            status = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
            click.echo(f"{row.prefix:8}  {row.role:9}  {_when(row.created_at):16}  "
                       f"{_when(row.last_used_at):16}  {status:18}  {row.name}")


@keys.command("revoke")
@click.argument("prefix")
@pass_app
def keys_revoke(app: App, prefix: str) -> None:
    """Revoke the key with PREFIX (as `keys list` shows it) for good."""
    from loyalty.keys import revoke_key

    with Session(app.migrated_engine(), expire_on_commit=False) as session, session.begin():
        row = revoke_key(session, prefix)
    click.echo(f"revoked {row.role} key {row.prefix} ({row.name}) at {_when(row.revoked_at)}")


@cli.group()
def jobs() -> None:
    """Batch jobs: queue one, list them, follow one's progress; `loyalty worker` runs them."""


def _progress(job) -> str:  # noqa: ANN001 - a Job
    if job.progress_total:
        share = job.progress_done / job.progress_total
        return f"{job.progress_done:,}/{job.progress_total:,} ({share:.0%})"
    return f"{job.progress_done:,}" if job.progress_done else "-"


@jobs.command("list")
@click.option("--status", type=click.Choice(JOB_STATUSES), default=None)
@click.option("--kind", default=None, help="Only jobs of this kind.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@pass_app
def jobs_list(app: App, status: str | None, kind: str | None, limit: int) -> None:
    """Jobs, newest first: id, kind, status, progress, created, and the error of failed ones.

    A running job whose process is gone (killed, or its host silent for LOYALTY_JOB_STALE_MINUTES)
    shows as interrupted.
    """
    from loyalty.jobs import list_jobs

    with Session(app.migrated_engine()) as session:
        rows = list_jobs(session, settings=app.settings, status=status, kind=kind,
                         limit=limit)
        if not rows:
            click.echo("no jobs" + (f" {status}" if status else ""))
            return
        click.echo(f"{'id':>6}  {'kind':16}  {'status':11}  {'progress':22}  {'created':16}")
        for job in rows:
            line = (f"{job.id:>6}  {job.kind:16}  {job.status:11}  {_progress(job):22}  "
                    f"{_when(job.created_at):16}")
            click.echo(line + (f"  {job.error}" if job.error else ""))


@jobs.command("show")
@click.argument("job_id", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
@pass_app
def jobs_show(app: App, job_id: int, as_json: bool) -> None:
    """One job in full: parameters, progress, counts, checkpoint, times, error."""
    from loyalty.jobs import get_job

    with Session(app.migrated_engine()) as session:
        job = get_job(session, job_id, settings=app.settings)
        doc = {
            "id": job.id, "kind": job.kind, "status": job.status, "params": job.params,
            "progress_done": job.progress_done, "progress_total": job.progress_total,
            "counts": job.counts, "checkpoint": job.checkpoint, "error": job.error,
            "owner_host": job.owner_host, "owner_pid": job.owner_pid,
            **{name: None if getattr(job, name) is None else getattr(job, name).isoformat()
               for name in ("created_at", "started_at", "heartbeat_at", "finished_at")},
        }
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(f"job {doc['id']}: {doc['kind']}, {doc['status']}")
    for name in ("params", "counts", "checkpoint"):
        if doc[name]:
            click.echo(f"  {name + ':':12}{json.dumps(doc[name], sort_keys=True)}")
    click.echo(f"  {'progress:':12}{_progress(job)}")
    if doc["owner_pid"] is not None:
        click.echo(f"  {'owner:':12}pid {doc['owner_pid']} on {doc['owner_host']}")
    for name in ("created_at", "started_at", "heartbeat_at", "finished_at"):
        if doc[name]:
            click.echo(f"  {name.removesuffix('_at') + ':':12}{doc[name]}")
    if doc["error"]:
        click.echo(f"  {'error:':12}{doc['error']}")


@jobs.command("enqueue")
@click.argument("kind", type=click.Choice(sorted(KINDS)))
@click.option("--rescore", is_flag=True,
              help="score-reviews: also re-score reviews scored by other models.")
@pass_app
def jobs_enqueue(app: App, kind: str, rescore: bool) -> None:
    """Queue a job of KIND for `loyalty worker` to run.

    score-reviews: sentiment and aspects of every unscored review, with the production model.
    """
    from loyalty.jobs import enqueue

    params = {"rescore": True} if rescore else {}
    with Session(app.migrated_engine(), expire_on_commit=False) as session, session.begin():
        job = enqueue(session, kind, params)
    click.echo(f"queued job {job.id} ({job.kind}); `loyalty worker` runs it, "
               f"`loyalty jobs show {job.id}` follows it")


@cli.command()
@click.option("--once", is_flag=True, help="Run the queued jobs, then exit (cron, CI).")
@click.option("--poll-seconds", default=2.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="How long to wait when the queue is empty.")
@pass_app
def worker(app: App, once: bool, poll_seconds: float) -> None:
    """Run queued jobs, oldest first, until stopped (Ctrl-C): as many workers as you like.

    A job whose worker died goes back to the queue and resumes: at once when it ran on this
    host, after LOYALTY_JOB_STALE_MINUTES without a heartbeat when it ran elsewhere.
    """
    from loyalty.jobs import work

    engine = app.migrated_engine()
    if not once:
        click.echo(f"worker waiting for jobs (every {poll_seconds:g}s); Ctrl-C stops it",
                   err=True)
    ran = work(engine, app.settings, once=once, poll_seconds=poll_seconds,
               echo=lambda line: click.echo(line))
    if once:
        click.echo(f"ran {ran} job{'s' if ran != 1 else ''}")
