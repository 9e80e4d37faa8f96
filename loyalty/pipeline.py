"""The main job, end to end on the embedded default. Later stages append to the same run."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty import migrate
from loyalty.config import Settings
from loyalty.db import make_engine
from loyalty.ingest import LOAD_ORDER, ingest_file
from loyalty.models import Base

SYNTHETIC_SOURCE = "synthetic"


def run_demo(settings: Settings, *, customers: int = 2000, seed: int = 0,
             progress: bool = True) -> Iterator[str]:
    """Generate synthetic data, migrate the database, ingest everything; yield what happened."""
    from loyalty import synth

    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    yield f"database {engine.url.render_as_string(hide_password=True)} at revision " \
          f"{migrate.current_revision(engine)}"

    out = settings.data_dir / "synthetic"
    data = synth.generate(customers=customers, seed=seed, progress=progress)
    paths = synth.write(data, out)
    yield f"synthetic data ({customers:,} customers, seed {seed}) written to {out}"

    for kind in LOAD_ORDER:
        counts, seconds = ingest_file(engine, kind, paths[kind], source=SYNTHETIC_SOURCE,
                                      tz=settings.tz, chunk_size=settings.ingest_chunk_size,
                                      progress=progress)
        yield f"  {kind:12s} {counts.line()} ({seconds:.1f}s)"

    yield "in the database now: " + ", ".join(
        f"{name} {n:,}" for name, n in table_counts(engine).items() if n
    )
    engine.dispose()


def table_counts(engine) -> dict[str, int]:  # noqa: ANN001 - an Engine
    with Session(engine) as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }
