"""The main job, end to end on the embedded default. Later stages append to the same run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from loyalty import migrate, registry
from loyalty.config import Settings
from loyalty.db import make_engine
from loyalty.errors import LoyaltyError
from loyalty.ingest import LOAD_ORDER, ingest_file
from loyalty.models import Base

SYNTHETIC_SOURCE = "synthetic"


def run_demo(settings: Settings, *, customers: int = 2000, seed: int = 0,
             train_reviews: int = 1500, progress: bool = True) -> Iterator[str]:
    """Synthetic data into a migrated database, then review sentiment; yield what happened."""
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

    yield from _sentiment(engine, settings, paths["reviews"], seed=seed,
                          train_rows=train_reviews, progress=progress)
    yield from _churn(engine, settings, seed=seed, progress=progress)
    yield from design_programme(engine, settings, seed=seed, progress=progress)

    yield "in the database now: " + ", ".join(
        f"{name} {n:,}" for name, n in table_counts(engine).items() if n
    )
    engine.dispose()


def _sentiment(engine: Engine, settings: Settings, reviews_csv: Path, *, seed: int,
               train_rows: int, progress: bool) -> Iterator[str]:
    """Fine-tune the packaged BERT on the reviews (once), then score every unscored review.

    A production sentiment model from an earlier run is reused: re-running the demo costs a
    minute, not a fine-tune.
    """
    from loyalty.review_scoring import score_database
    from loyalty.sentiment import train_sentiment
    from nlp.scorer import SentimentScorer

    with Session(engine) as session:
        model = registry.production(session, registry.SENTIMENT)
    if model is None:
        outcome = train_sentiment(engine, settings, reviews_csv, text_col="text",
                                  rating_col="rating", label_col=None, epochs=1,
                                  max_rows=train_rows, seed=seed, progress=progress)
        yield from (f"  {line.strip()}" for line in outcome.lines())
        with Session(engine) as session:
            model = registry.production(session, registry.SENTIMENT)
        if model is None:
            raise LoyaltyError(f"the new sentiment model was not promoted: {outcome.reason}")
    else:
        yield f"  sentiment model {model.version} (production) reused"
    scorer = SentimentScorer(Path(model.path))
    counts = score_database(engine, scorer, model.id, progress=progress)
    yield (f"  scored {counts.scored:,} reviews with sentiment and aspects "
           f"({scorer.backend_} backend)")


def _churn(engine: Engine, settings: Settings, *, seed: int, progress: bool) -> Iterator[str]:
    """Train the churn + tier ensemble (once) and predict and explain every customer."""
    from loyalty.churn.serve import predict_all
    from loyalty.churn.train import train_churn

    with Session(engine) as session:
        model = registry.production(session, registry.CHURN)
    if model is None:
        outcome = train_churn(engine, settings, seed=seed, progress=progress)
        yield from (f"  {line.strip()}" for line in outcome.lines())
    else:
        yield f"  churn model {model.version} (production) reused"
    yield from (f"  {line.strip()}" for line in
                predict_all(engine, settings, progress=progress).lines())


def design_programme(engine: Engine, settings: Settings, *, seed: int = 0,
                     progress: bool = False) -> Iterator[str]:
    """Segments, proposed rules (the worthwhile ones activated), offers at the end of the
    history, then the offer window played forward and its uplift per rule."""
    from loyalty.churn.dates import as_of_datetime
    from loyalty.models import Prediction
    from loyalty.offers.issue import issue_offers
    from loyalty.offers.uplift import uplift_report
    from loyalty.rules.propose import propose
    from loyalty.rules.store import activate
    from loyalty.segments import build_segments
    from loyalty.synth.play import play_offer_window

    built = build_segments(engine, settings, seed=seed, progress=progress)
    yield from (f"  {line.strip()}" for line in built.lines())
    with Session(engine) as session:
        as_of = session.scalar(select(func.max(Prediction.as_of)))
    # The service's clock in the demo: the end of the last day of the synthetic history.
    now = as_of_datetime(as_of, settings.timezone)
    proposals = propose(engine, settings, now=now, progress=progress)
    worthwhile = [p for p in proposals if p.expected_value > 0 and p.rule_id is not None]
    with Session(engine) as session, session.begin():
        for p in worthwhile:
            activate(session, p.rule_id, now=now)
    yield (f"  proposed {len(proposals)} reward rules; activated the {len(worthwhile)} with a "
           "positive expected value")
    yield from (f"  {line.strip()}" for line in
                issue_offers(engine, settings, now=now, progress=progress).lines())
    played = play_offer_window(engine, seed=seed)
    yield from (f"  {line}" for line in played.lines())
    if played.window_end is not None:
        report = uplift_report(engine, as_of=played.window_end, pooled=True)
        yield from (f"  {line}" for line in report.table().splitlines())


def table_counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }
