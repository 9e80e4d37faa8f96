"""The main job, end to end on the embedded default. Later stages append to the same run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
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
# The demo's size, chosen so that it runs in under 10 minutes on 2 CPU cores after set-up
# (README, "What the demo does"): the reviews are scored with a 12-layer BERT and every
# guest's prediction is explained with SHAP, both linear in the number of guests.
DEMO_CUSTOMERS = 1500
DEMO_TRAIN_REVIEWS = 1200
DEMO_SENTIMENT_EPOCHS = 1
DEMO_CHURN_FOLDS = 3


def run_demo(settings: Settings, *, customers: int = DEMO_CUSTOMERS, seed: int = 0,
             train_reviews: int = DEMO_TRAIN_REVIEWS, progress: bool = True) -> Iterator[str]:
    """Synthetic data into a migrated database, then review sentiment; yield what happened."""
    from loyalty import synth

    engine = make_engine(settings.database_url)
    migrate.upgrade(engine, settings=settings)
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
    from loyalty.sentiment.batch import score_database
    from loyalty.sentiment.production import find_production_model, load_scorer
    from loyalty.sentiment.training import train_sentiment
    from nlp.corpus import Source

    model = find_production_model(engine, settings)
    if model is None:
        # The multilingual base (12 layers) takes about 110 s an epoch on ~1,100 training
        # reviews. From a random head, epoch 1 left validation macro-F1 at 0.54 and epoch 3
        # reached 0.92; a head started from a linear probe of the frozen base (one pass over
        # the rows) saves those epochs: see the README for the demo's figures.
        reviews = Source(str(reviews_csv), rating_col="rating", max_rows=train_rows,
                         name="synthetic")  # English and Spanish: detected per review
        outcome = train_sentiment(engine, settings, [reviews], epochs=DEMO_SENTIMENT_EPOCHS,
                                  learning_rate=1e-4, head_init="probe", seed=seed,
                                  progress=progress)
        yield from (f"  {line.strip()}" for line in outcome.lines())
        model = find_production_model(engine, settings)
        if model is None:
            raise LoyaltyError(f"the new sentiment model was not promoted: {outcome.reason}")
    else:
        yield f"  sentiment model {model.version} (production) reused"
    scorer = load_scorer(model.folder)
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
        outcome = train_churn(engine, settings, seed=seed, n_folds=DEMO_CHURN_FOLDS,
                              progress=progress)
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


@dataclass
class DemoAccess:
    """What a new user needs to try the API on the demo data."""

    staff_key: str
    marketing_key: str
    customer_id: int | None
    phone: str | None
    keys_file: Path | None = None

    def lines(self, base_url: str) -> list[str]:
        out = [f"API keys of the demo (also in {self.keys_file or DEMO_KEYS_FILE}):",
               f"  export STAFF_KEY={self.staff_key}",
               f"  export MARKETING_KEY={self.marketing_key}"]
        if self.customer_id is not None:
            out += ["a staff lookup (the guest's offer, issued now if none is current):",
                    f"  curl -s -H \"Authorization: Bearer $STAFF_KEY\" "
                    f"{base_url}/api/v1/customers/{self.customer_id}/offer"]
        out += ["a segment pull (marketing; a staff key is refused with 403):",
                f"  curl -s -H \"Authorization: Bearer $MARKETING_KEY\" "
                f"{base_url}/api/v1/segments",
                f"the staff page: {base_url}/staff (paste the staff key"
                + (f", then look up {self.phone})" if self.phone else ")"),
                f"the API's documentation: {base_url}/api/v1/swagger"]
        return out


DEMO_KEYS_FILE = "demo-keys.json"


def demo_access(engine: Engine, settings: Settings) -> DemoAccess:
    """A staff and a marketing key for the demo, kept in ``LOYALTY_HOME/demo-keys.json`` (mode
    600) and reused while they are valid, and a guest worth looking up: the one most at risk
    (with a phone) who is given an offer today."""
    import json
    import os

    from loyalty.keys import create_key, verify_key
    from loyalty.models import Customer, Prediction
    from loyalty.offers.issue import issue_offer

    path = settings.home / DEMO_KEYS_FILE
    stored: dict[str, str] = {}
    if path.is_file():
        try:
            stored = json.loads(path.read_text())
        except ValueError:
            stored = {}
    with Session(engine) as session, session.begin():
        for role in ("staff", "marketing"):
            key = stored.get(role)
            row = verify_key(session, key) if isinstance(key, str) else None
            if row is None or row.role != role:
                _, stored[role] = create_key(session, role=role, name=f"demo {role}")
        candidates = session.execute(
            select(Customer.id, Customer.phone)
            .join(Prediction, Prediction.customer_id == Customer.id)
            .where(Customer.phone.is_not(None))
            .order_by(Prediction.churn_probability.desc(), Customer.id).limit(200)).all()
    # The guest to show: the most at risk who gets an offer today (what staff would see).
    guest = next((c for c in candidates
                  if issue_offer(engine, c.id, settings=settings).given), None)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"staff": stored["staff"], "marketing": stored["marketing"]}, handle)
    return DemoAccess(stored["staff"], stored["marketing"],
                      guest.id if guest else None, guest.phone if guest else None, path)


def table_counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }
