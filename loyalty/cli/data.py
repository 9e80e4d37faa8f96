"""Commands for the data: schema migrations, ingestion, quarantine, synthetic data, the demo."""

from __future__ import annotations

import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from loyalty import migrate
from loyalty.cli.app import App, cli, pass_app
from loyalty.ingest import LOAD_ORDER, Counts
from loyalty.pipeline import DEMO_CUSTOMERS, DEMO_TRAIN_REVIEWS

# -- database --------------------------------------------------------------------------------

@cli.group()
def db() -> None:
    """Create and migrate the database schema (Alembic)."""


@db.command("upgrade")
@click.argument("revision", default="head")
@pass_app
def db_upgrade(app: App, revision: str) -> None:
    """Migrate the schema up to REVISION (default: the latest)."""
    migrate.upgrade(app.engine, revision, settings=app.settings)
    click.echo(f"database at revision {migrate.current_revision(app.engine)}")


@db.command("downgrade")
@click.argument("revision")
@pass_app
def db_downgrade(app: App, revision: str) -> None:
    """Migrate the schema down to REVISION (`base` removes every table)."""
    migrate.downgrade(app.engine, revision, settings=app.settings)
    click.echo(f"database at revision {migrate.current_revision(app.engine) or 'base'}")


@db.command("current")
@pass_app
def db_current(app: App) -> None:
    """Print the schema revision of the database and of the code."""
    click.echo(f"database: {migrate.current_revision(app.engine) or 'base'}")
    click.echo(f"code:     {migrate.head_revision()}")


# -- ingestion -------------------------------------------------------------------------------

FORMATS = ("csv", "jsonl", "online-retail", "reviews-export")


def _kind_name(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    name = value.replace("-", "_")
    if name not in LOAD_ORDER:
        raise click.BadParameter(f"{value!r} is not one of {', '.join(LOAD_ORDER)}")
    return name


@cli.command()
@click.argument("kind", callback=_kind_name, metavar="KIND")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="Default: from the file name. online-retail loads `visits` (with customers, "
                   "items and lines) from the UCI Online Retail layout; reviews-export loads "
                   "`reviews` (with reviewers, restaurants and visits) from a review export.")
@click.option("--source", default=None,
              help="Namespace of the file's ids (default: `default`, or the adapter's name).")
@click.option("--timezone", "tz", default=None,
              help="Zone of timestamps without an offset (default: LOYALTY_TIMEZONE).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a TTY).")
@pass_app
def ingest(app: App, kind: str, file: Path, fmt: str | None, source: str | None,
           tz: str | None, progress: bool | None) -> None:
    """Load FILE (CSV or JSON Lines, optionally .gz) as rows of KIND: locations, menu_items,
    customers, visits, order_items or reviews (load them in that order).

    Invalid rows are quarantined with the reason (see `loyalty quarantine`); the rest go in.
    Re-running the same file inserts nothing twice. Columns: docs/data-schema.md.
    """
    from loyalty.ingest import adapters, ingest_file

    settings = app.settings.with_(timezone=tz) if tz else app.settings
    engine = app.migrated_engine()
    show = sys.stderr.isatty() if progress is None else progress
    if fmt in adapters.ADAPTERS:
        adapter = adapters.ADAPTERS[fmt]
        if kind != adapter.kind:
            raise click.UsageError(f"--format {fmt} loads `{adapter.kind}`, not `{kind}`")
        zone = settings.tz if tz or not adapter.default_tz else ZoneInfo(adapter.default_tz)
        report = adapter.run(engine, file, source=source or fmt, tz=zone, progress=show,
                             chunk_size=settings.ingest_chunk_size)
        for line in report.lines():
            click.echo(line)
        return
    counts, seconds = ingest_file(engine, kind, file, source=source or "default",
                                  tz=settings.tz, chunk_size=settings.ingest_chunk_size,
                                  fmt=fmt, progress=show)
    click.echo(_summary(kind, file, counts, seconds))


def _summary(kind: str, file: Path, counts: Counts, seconds: float) -> str:
    rate = counts.read / seconds if seconds > 0 else 0.0
    return f"{kind} from {file.name}: {counts.line()} ({seconds:.1f}s, {rate:,.0f} rows/s)"


@cli.command()
@click.option("--kind", default=None, help="Only rows of this kind.")
@click.option("--source", default=None, help="Only rows from this source.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@pass_app
def quarantine(app: App, kind: str | None, source: str | None, limit: int) -> None:
    """List quarantined input rows with their reasons, newest first."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from loyalty.models import IngestError

    engine = app.migrated_engine()
    query = select(IngestError).order_by(IngestError.id.desc()).limit(limit)
    count = select(func.count()).select_from(IngestError)
    if kind:
        query = query.where(IngestError.kind == kind.replace("-", "_"))
        count = count.where(IngestError.kind == kind.replace("-", "_"))
    if source:
        query = query.where(IngestError.source == source)
        count = count.where(IngestError.source == source)
    with Session(engine) as session:
        total = session.scalar(count)
        for err in session.scalars(query):
            click.echo(f"{Path(err.file_name).name}:{err.row_number} [{err.kind}] {err.reason}")
    click.echo(f"{total:,} quarantined row(s) in all")


# -- synthetic data and the demo -------------------------------------------------------------

@cli.command()
@click.option("--customers", default=2000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output folder (default: LOYALTY_HOME/data/synthetic).")
@pass_app
def synth(app: App, customers: int, seed: int, out: Path | None) -> None:
    """Write a synthetic restaurant data set (Lima, two years) as CSV files."""
    from loyalty import synth as generator

    out = out or app.settings.data_dir / "synthetic"
    data = generator.generate(customers=customers, seed=seed, progress=sys.stderr.isatty())
    paths = generator.write(data, out)
    for name, path in paths.items():
        click.echo(f"{name:12s} {path}")


@cli.command()
@click.option("--customers", default=DEMO_CUSTOMERS, show_default=True,
              type=click.IntRange(10, 200_000))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--train-reviews", default=DEMO_TRAIN_REVIEWS, show_default=True,
              type=click.IntRange(50), help="Reviews the sentiment model is fine-tuned on.")
@click.option("--serve/--no-serve", default=True, show_default=True,
              help="End by serving the API on localhost.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.pass_context
def demo(ctx: click.Context, customers: int, seed: int, train_reviews: int, serve: bool,
         port: int) -> None:
    """The main job on the embedded default: synthetic data into the database, end to end,
    then the API serving it (with keys and ready-to-paste curl commands printed)."""
    from loyalty.cli.serve import serve as serve_command
    from loyalty.pipeline import demo_access, run_demo

    app: App = ctx.obj
    for line in run_demo(app.settings, customers=customers, seed=seed,
                         train_reviews=train_reviews, progress=sys.stderr.isatty()):
        click.echo(line)
    access = demo_access(app.engine, app.settings)
    for line in access.lines(f"http://127.0.0.1:{port}"):
        click.echo(line)
    if serve:
        ctx.invoke(serve_command, host="127.0.0.1", port=port)  # `loyalty serve`'s defaults


