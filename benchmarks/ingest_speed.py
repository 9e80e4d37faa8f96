"""How fast `loyalty ingest visits` loads, beside a naive pandas baseline, in the same run.

Generates N synthetic visits (with the customers and locations they refer to), loads them with
`ingest_file` twice (a first load, all inserts; then a re-run of the same file, all unchanged:
the cost of idempotency), and times `pandas.read_csv(...).to_sql(...)` into a plain table on the
same database as the baseline (no validation, no references, no idempotency).

    .venv/bin/python benchmarks/ingest_speed.py                      # 1,000,000 rows, SQLite
    .venv/bin/python benchmarks/ingest_speed.py --postgres           # a throwaway PostgreSQL
    .venv/bin/python benchmarks/ingest_speed.py --rows 200000 \\
        --database-url postgresql+psycopg://user@host/scratch_db

Without --database-url a fresh SQLite file in a temporary folder is used. With one, the database
is migrated to head, the benchmark's rows get a source of their own (`bench-XXXXXXXX`) and are
deleted afterwards (unless --keep), and the `visits_naive` table is dropped. --profile FILE runs
the first load under cProfile (its time is then inflated) and lists the hotspots in
loyalty/ingest/.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select, text

from loyalty import migrate
from loyalty.config import Settings
from loyalty.db import make_engine
from loyalty.ingest.files import ingest_file
from loyalty.ingest.loader import Counts
from loyalty.models import Customer, Location, Visit

NAIVE_TABLE = "visits_naive"
CHANNELS = np.array(["dine_in", "takeaway", "delivery", "online"])
CHANNEL_P = [0.60, 0.20, 0.15, 0.05]
FIRST_NAMES = np.array(["Ana", "Luis", "María", "José", "Carmen", "Jorge", "Rosa", "Carlos",
                        "Lucía", "Miguel", "Sofía", "Diego"])
LAST_NAMES = np.array(["Quispe", "Flores", "Sánchez", "Rodríguez", "García", "Mamani", "Torres",
                       "Rojas", "Vargas", "Huamán"])

T = TypeVar("T")


# -- data ------------------------------------------------------------------------------------


def _ids(prefix: str, count: int, width: int) -> np.ndarray:
    numbers = np.arange(1, count + 1).astype(str)
    return np.strings.add(prefix, np.strings.zfill(numbers, width))


def generate(folder: Path, rows: int, customers: int, seed: int, now: datetime
             ) -> tuple[Path, Path, Path]:
    """Write locations.csv, customers.csv and visits.csv (``rows`` visits) into ``folder``."""
    rng = np.random.default_rng(seed)
    today = now.date()

    locations = pd.DataFrame({
        "location_id": ["L001", "L002", "L003"],
        "name": ["Miraflores", "Barranco", "San Isidro"],
        "city": ["Lima"] * 3,
        "district": ["Miraflores", "Barranco", "San Isidro"],
        "seats": [80, 45, 120],
        "opened_on": ["2015-03-01", "2018-07-15", "2021-11-20"],
        "timezone": ["America/Lima"] * 3,
    })
    location_ids = locations["location_id"].to_numpy()

    customer_ids = _ids("C", customers, 6)
    signup = np.datetime64(today - timedelta(days=4 * 365)) + rng.integers(
        0, 4 * 365 - 1, customers).astype("timedelta64[D]")
    customer_frame = pd.DataFrame({
        "customer_id": customer_ids,
        "first_name": rng.choice(FIRST_NAMES, customers),
        "last_name": rng.choice(LAST_NAMES, customers),
        "email": np.strings.add(np.strings.lower(customer_ids), "@example.com"),
        "language": rng.choice(np.array(["es", "en"]), customers, p=[0.9, 0.1]),
        "signup_date": np.datetime_as_string(signup, unit="D"),
        "home_location_id": rng.choice(location_ids, customers),
        "marketing_opt_in": rng.choice(np.array(["true", "false"]), customers),
    })

    # Some guests come far more often than others: draw customers by a skewed weight.
    weight = rng.gamma(0.7, 1.0, customers)
    who = rng.choice(customers, rows, p=weight / weight.sum())
    # Two years of visits between 11:00 and 23:00 local time, ending the day before yesterday
    # (local time without an offset: Lima has no DST, so none is ambiguous or in the future).
    first_day = np.datetime64(today - timedelta(days=2 + 730))
    at = (first_day.astype("datetime64[s]")
          + rng.integers(0, 730, rows).astype("timedelta64[D]")
          + rng.integers(11 * 3600, 23 * 3600, rows).astype("timedelta64[s]"))
    channel = rng.choice(CHANNELS, rows, p=CHANNEL_P)
    party = pd.array(np.minimum(1 + rng.poisson(1.4, rows), 50), dtype="Int64")
    party[np.isin(channel, ["delivery", "online"])] = pd.NA  # no table, no party size
    is_return = rng.random(rows) < 0.01
    cents = np.round(rng.lognormal(4.0, 0.6, rows) * 100)
    amount = np.where(is_return, -cents, cents) / 100
    visits = pd.DataFrame({
        "visit_id": _ids("V", rows, 9),
        "customer_id": customer_ids[who],
        "location_id": rng.choice(location_ids, rows, p=[0.5, 0.2, 0.3]),
        "visited_at": np.datetime_as_string(at, unit="s"),
        "channel": channel,
        "party_size": party,
        "total_amount": amount,
        "is_return": np.where(is_return, "true", "false"),
    })

    paths = folder / "locations.csv", folder / "customers.csv", folder / "visits.csv"
    locations.to_csv(paths[0], index=False)
    customer_frame.to_csv(paths[1], index=False)
    visits.to_csv(paths[2], index=False, float_format="%.2f")
    return paths


# -- measuring -------------------------------------------------------------------------------


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def naive_load(engine: Engine, path: Path, chunk_size: int) -> int:
    frame = pd.read_csv(path)
    frame.to_sql(NAIVE_TABLE, engine, if_exists="append", index=False, chunksize=chunk_size)
    return len(frame)


def count_rows(engine: Engine, query: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def hotspots(profile: cProfile.Profile, path: Path, limit: int = 10) -> None:
    profile.dump_stats(str(path))
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    rows = [(tt, ct, nc, f"{Path(file).name}:{line}({name})")
            for (file, line, name), (_cc, nc, tt, ct, _callers) in stats.items()
            if "loyalty/ingest/" in file.replace("\\", "/")]
    total = sum(tt for (_f, _l, _n), (_cc, _nc, tt, _ct, _c) in stats.items())
    print(f"\nProfile of the first load ({path}); top {limit} in loyalty/ingest/ by tottime "
          f"(all functions: {total:.1f} s tottime):\n")
    print("| tottime s | cumtime s | calls | function |")
    print("|---:|---:|---:|---|")
    for tt, ct, nc, where in sorted(rows, reverse=True)[:limit]:
        print(f"| {tt:.2f} | {ct:.2f} | {nc:,} | {where} |")
    print(f"\nTop {limit + 5} of all functions by tottime:\n")
    pstats.Stats(profile).sort_stats("tottime").print_stats(limit + 5)


def cleanup(engine: Engine, source: str) -> None:
    """Remove what the benchmark wrote into a database it was given (visits cascade)."""
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {NAIVE_TABLE}"))
        conn.execute(Customer.__table__.delete().where(Customer.__table__.c.source == source))
        conn.execute(Location.__table__.delete().where(Location.__table__.c.source == source))


# -- report ----------------------------------------------------------------------------------


def table(results: list[tuple[str, int, float, str, str]], baseline: float) -> str:
    lines = ["| method | rows | seconds | rows/s | validates | idempotent |",
             "|---|---:|---:|---:|---|---|"]
    for method, rows, seconds, validates, idempotent in results:
        lines.append(f"| {method} | {rows:,} | {seconds:.2f} | {rows / seconds:,.0f} | "
                     f"{validates} | {idempotent} |")
    first, rerun = (r[1] / r[2] for r in results[:2])
    lines.append("")
    lines.append(f"Ratio to the baseline (rows/s, ours / pandas.to_sql): first load "
                 f"{first / baseline:.2f}x, re-run {rerun / baseline:.2f}x")
    return "\n".join(lines)


def check(label: str, ok: bool, detail: str) -> bool:
    print(f"- [{'ok' if ok else 'FAILED'}] {label}: {detail}")
    return ok


def main() -> None:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="visits (default 1,000,000)")
    parser.add_argument("--customers", type=int, default=5_000, help="default 5,000")
    parser.add_argument("--database-url", default=None,
                        help="SQLAlchemy URL of a scratch database (default: a fresh SQLite file "
                             "in a temporary folder)")
    parser.add_argument("--chunk-size", type=int, default=settings.ingest_chunk_size,
                        help="rows per chunk, for both methods (default LOYALTY_INGEST_CHUNK_SIZE,"
                             f" {settings.ingest_chunk_size:,})")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", type=Path, default=None, metavar="FILE",
                        help="profile the first load with cProfile, write the stats to FILE and "
                             "list the hotspots in loyalty/ingest/ (inflates its time)")
    parser.add_argument("--keep", action="store_true",
                        help="with --database-url: leave the benchmark's rows in the database")
    parser.add_argument("--progress", action="store_true", help="progress bars")
    parser.add_argument("--postgres", action="store_true",
                        help="start a throwaway PostgreSQL server (Debian's postgresql package) "
                             "and measure on it")
    args = parser.parse_args()
    if args.rows < 1 or args.customers < 1 or args.chunk_size < 1:
        parser.error("--rows, --customers and --chunk-size must be at least 1")
    if not args.postgres:
        run(args, settings)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.pgserver import PostgresServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        parser.error("--postgres needs PostgreSQL installed (apt-get install postgresql)")
    server = PostgresServer(bindir)
    try:
        args.database_url = server.start()
        run(args, settings)
    finally:
        server.stop()


def run(args: argparse.Namespace, settings: Settings) -> None:
    tz = settings.tz
    source = f"bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="ingest-speed-") as tmp:
        folder = Path(tmp)
        url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
        engine = make_engine(url)
        kind = engine.dialect.name
        try:
            migrate.upgrade(engine)
            with engine.begin() as conn:
                conn.execute(text(f"DROP TABLE IF EXISTS {NAIVE_TABLE}"))

            (loc_csv, cust_csv, visits_csv), gen_s = timed(lambda: generate(
                folder, args.rows, args.customers, args.seed, datetime.now(tz)))
            size = visits_csv.stat().st_size / 1e6
            print(f"Generated {args.rows:,} visits ({size:.0f} MB CSV) for {args.customers:,} "
                  f"customers in {gen_s:.1f} s; database: {kind}; chunk size "
                  f"{args.chunk_size:,}; source {source!r}")

            def ingest(name: str, path: Path) -> Counts:
                counts, _seconds = ingest_file(engine, name, path, source=source, tz=tz,
                                               chunk_size=args.chunk_size,
                                               progress=args.progress)
                return counts

            for name, path in (("locations", loc_csv), ("customers", cust_csv)):
                counts = ingest(name, path)
                print(f"Loaded {name} (not timed): {counts.line()}")

            profiler = cProfile.Profile() if args.profile else None
            if profiler:
                profiler.enable()
            first, first_s = timed(lambda: ingest("visits", visits_csv))
            if profiler:
                profiler.disable()
            stored = count_rows(engine, select(func.count()).select_from(Visit.__table__)
                                .where(Visit.__table__.c.source == source))
            rerun, rerun_s = timed(lambda: ingest("visits", visits_csv))
            naive_rows, naive_s = timed(lambda: naive_load(engine, visits_csv, args.chunk_size))
            naive_stored = count_rows(engine, text(f"SELECT count(*) FROM {NAIVE_TABLE}"))

            print(f"\nFirst load: {first.line()}\nRe-run:     {rerun.line()}\n")
            print("Guarantees:")
            ok = all([
                check("first load", first.inserted == args.rows and first.quarantined == 0,
                      f"{first.inserted:,} inserted, {first.quarantined:,} quarantined"),
                check("visits in the database after the first load", stored == args.rows,
                      f"{stored:,} (expected {args.rows:,})"),
                check("re-run", rerun.unchanged == args.rows
                      and rerun.inserted == rerun.updated == rerun.quarantined == 0,
                      f"{rerun.unchanged:,} unchanged, {rerun.inserted:,} inserted, "
                      f"{rerun.updated:,} updated"),
                check("baseline rows", naive_stored == naive_rows == args.rows,
                      f"{naive_stored:,} in {NAIVE_TABLE} (nothing checked; a second run would "
                      "append every row again)"),
            ])

            profiled = " (under cProfile)" if profiler else ""
            results = [
                (f"loyalty ingest (first load){profiled}", first.read, first_s, "yes", "yes"),
                ("loyalty ingest (re-run, all unchanged)", rerun.read, rerun_s, "yes", "yes"),
                ("pandas.to_sql (naive baseline)", naive_rows, naive_s, "no", "no"),
            ]
            print(f"\nloyalty ingest visits vs. pandas.to_sql on {kind}, "
                  f"{date.today().isoformat()}:\n")
            print(table(results, naive_rows / naive_s))
            if profiler:
                hotspots(profiler, args.profile)
            if not ok:
                raise SystemExit("a guarantee failed: see above")
        finally:
            if args.database_url and not args.keep:
                cleanup(engine, source)
            engine.dispose()


if __name__ == "__main__":
    main()
