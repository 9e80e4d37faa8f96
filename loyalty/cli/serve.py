"""`loyalty serve`: the API under gunicorn.

The app is named to gunicorn as ``api:create_app()``, a string: the domain package never imports
the API (the arrows point api → loyalty → nlp).
"""

from __future__ import annotations

import os
import shutil
import sys

import click

from loyalty.cli.app import App, cli, pass_app


def default_workers() -> int:
    # A lookup is short and spends its time on the CPU (SQLite runs inside the worker): one
    # process per core plus one to cover the moments a worker waits on the database or the
    # network, at most 9. Each loads the sentiment model on first use.
    return max(2, min(9, (os.cpu_count() or 1) + 1))


def gunicorn_argv(host: str, port: int, workers: int, threads: int,
                  app: str = "api:create_app()") -> list[str]:
    """The gunicorn command line that serves ``app`` (benchmarks/api_load.py runs it too)."""
    return [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}",
            "--workers", str(workers), "--threads", str(threads),
            # Sync workers: measured against gthread (benchmarks/api_load.py), threads of one
            # process queue for the GIL and keep-alive pins a client to one busy worker,
            # which tripled the p99 of the staff lookup on 2 cores.
            "--worker-class", "sync" if threads == 1 else "gthread",
            # Access log format, request limits and problem+json for gunicorn's own errors.
            "--config", "python:api.serving",
            "--access-logfile", "-", "--timeout", "60", "--graceful-timeout", "20", app]


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 in a container).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Worker processes (default: one per core plus one, at most 9).")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Threads per worker. 1: gunicorn's sync workers, one request at a time "
                   "each; more: gthread workers, for slow clients with no proxy in front.")
@pass_app
def serve(app: App, host: str, port: int, workers: int | None, threads: int) -> None:
    """Serve the API (and the staff page at /staff) with gunicorn."""
    app.migrated_engine()  # a stale schema is refused here, not on the first request
    run_dir = app.settings.home / "run" / "prometheus"
    # Metrics of all workers are added up from files here; a fresh start starts from zero.
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, LOYALTY_DATABASE_URL=app.settings.database_url,
               PROMETHEUS_MULTIPROC_DIR=str(run_dir.resolve()))
    argv = gunicorn_argv(host, port, workers or default_workers(), threads)
    click.echo(f"serving on http://{host}:{port} (API under /api/v1, staff page at /staff, "
               f"docs at /api/v1/swagger)", err=True)
    sys.stdout.flush()
    os.execvpe(argv[0], argv, env)
