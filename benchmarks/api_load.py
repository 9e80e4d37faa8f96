"""Load on the staff offer lookup under `loyalty serve`, beside a bare Flask app, in the same run.

For each database (SQLite; PostgreSQL with --postgres or --database-url) a database with
customers, precomputed predictions and reward rules is prepared, a staff key is created,
`loyalty serve` (gunicorn) is started on 127.0.0.1 on a free port and, once /readyz
answers, a load generator hits ``GET /api/v1/customers/{random id}/offer`` with the key for a
fixed time. Beside it, with the same generator, worker count and gunicorn settings (access log
included), a minimal Flask app returning a small JSON gives the ceiling of the stack.

    .venv/bin/python benchmarks/api_load.py                         # SQLite, 60 s per endpoint
    .venv/bin/python benchmarks/api_load.py --seconds 20 --postgres # SQLite, then PostgreSQL
    .venv/bin/python benchmarks/api_load.py --profile 200           # + an in-process profile

Data: by default a copy (SQLite backup API) of the database `./scripts/demo` left under
LOYALTY_HOME (``var/loyalty.db``; --source-db for another) with its models; when there is none,
or with --customers N, `loyalty demo --customers N --no-serve` (2,000 by default) into a
temporary home first (about 8 minutes: it fine-tunes the sentiment model). PostgreSQL gets
the same rows by a plain SQLAlchemy table-by-table copy into a database migrated to head
(sequences reset, ANALYZE).
The copy is the database exactly as the demo left it: offers that have expired are re-issued on
a guest's first ask, so the run includes those writes; the response mix is reported.

Load generator: `wrk` (Debian package) when installed, with a Lua script picking a random
customer id per request; otherwise several Python processes, one keep-alive http.client
connection each. Both are closed-loop: --connections requests in flight at all times. Errors
are non-2xx answers plus connection, read, write and timeout errors. All traffic goes to
127.0.0.1; every server is stopped on exit, Ctrl-C included.

Goal: >= 500 requests/s, p99 <= 50 ms and 0 errors over 60 s on the offer endpoint.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import http.client
import json
import multiprocessing as mp
import os
import pstats
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, Integer, event, func, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from loyalty import migrate  # noqa: E402
from loyalty.cli.serve import gunicorn_argv  # noqa: E402
from loyalty.config import Settings  # noqa: E402
from loyalty.db import make_engine  # noqa: E402
from loyalty.keys import create_key  # noqa: E402
from loyalty.models import Base, Customer  # noqa: E402

DEMO_CUSTOMERS = 2000  # the demo's own default
HOST = "127.0.0.1"
LOYALTY = [sys.executable, "-c", "import sys; from loyalty.cli import main; sys.exit(main())"]
GOAL_RPS, GOAL_P99_MS = 500.0, 50.0
BARE_APP = '''
from flask import Flask

app = Flask(__name__)


@app.get("/ping")
def ping():
    return {"status": "ok", "service": "bare flask"}
'''

WRK_LUA = r'''
local ids, auth = {}, nil
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  auth = args[1]
  local path = args[2]
  if path ~= nil and path ~= "" then
    for line in io.lines(path) do ids[#ids + 1] = line end
  end
  math.randomseed(os.time() * 1000 + (seed or 0))
end

function request()
  local headers = {}
  if auth ~= nil and auth ~= "" then headers["Authorization"] = "Bearer " .. auth end
  if #ids > 0 then
    local path = "/api/v1/customers/" .. ids[math.random(#ids)] .. "/offer"
    return wrk.format("GET", path, headers)
  end
  return wrk.format("GET", nil, headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
'''


@dataclass
class Result:
    database: str
    endpoint: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    note: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# -- processes -------------------------------------------------------------------------------


class Servers:
    """Every process this script starts, each in its own process group, stopped on exit."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, argv: list[str], *, env: dict[str, str], log: Path, cwd: Path | None = None
              ) -> subprocess.Popen:
        with open(log, "ab") as out:
            proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, grace: float = 20.0) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.procs):
            self.stop(proc)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_ready(proc: subprocess.Popen, url: str, log: Path, timeout: float = 180.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}); its log:\n"
                             + log.read_text(errors="replace")[-3000:])
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} not ready after {timeout:.0f} s; log:\n"
                     + log.read_text(errors="replace")[-3000:])


def worker_class(threads: int) -> str:
    return "sync" if threads == 1 else "gthread"  # as `loyalty serve` picks


# -- data ------------------------------------------------------------------------------------


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's backup API (the source is only read)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def demo_database(home: Path, customers: int) -> Path:
    env = dict(os.environ, LOYALTY_HOME=str(home))
    env.pop("LOYALTY_DATABASE_URL", None)
    print(f"Running `loyalty demo --customers {customers} --no-serve` into {home} ...",
          flush=True)
    subprocess.run([*LOYALTY, "demo", "--customers", str(customers),
                    "--no-serve"], env=env, check=True, stdout=subprocess.DEVNULL, timeout=3600)
    return home / "loyalty.db"


def copy_tables(source: Engine, target: Engine, chunk: int = 5000) -> dict[str, int]:
    """Every ORM table, parents first, row for row; then sequences reset and ANALYZE."""
    counts: dict[str, int] = {}
    with source.connect() as src, target.begin() as dst:
        for table in Base.metadata.sorted_tables:
            result = src.execution_options(yield_per=chunk).execute(select(table))
            n = 0
            for part in result.partitions(chunk):
                dst.execute(insert(table), [dict(row._mapping) for row in part])
                n += len(part)
            counts[table.name] = n
        if target.dialect.name == "postgresql":
            for table in Base.metadata.sorted_tables:
                pk = list(table.primary_key.columns)
                if len(pk) == 1 and isinstance(pk[0].type, Integer) and counts[table.name]:
                    dst.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk[0].name}'), "
                        f"(SELECT max({pk[0].name}) FROM {table.name}))"))
    if target.dialect.name == "postgresql":
        with target.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    return counts


def prepare(url: str, engine: Engine, ids_file: Path) -> tuple[str, int]:
    """A staff key and the list of customer ids to ask for."""
    with Session(engine) as session:
        _row, key = create_key(session, role="staff", name="api_load benchmark")
        session.commit()
        ids = list(session.scalars(select(Customer.id).order_by(Customer.id)))
    ids_file.write_text("".join(f"{i}\n" for i in ids))
    return key, len(ids)


# -- load generators -------------------------------------------------------------------------


def run_wrk(port: int, path: str, key: str, ids_file: Path | None, seconds: int,
            connections: int, threads: int, lua: Path) -> dict:
    argv = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
            "--timeout", "10s", "-s", str(lua), f"http://{HOST}:{port}{path}", "--", key,
            str(ids_file or "")]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no summary:\n{out.stdout}\n{out.stderr}")
    raw = json.loads(line.removeprefix("WRKJSON "))
    # wrk counts answers >= 400 as status errors; the API answers no 3xx here.
    errors = raw["connect"] + raw["read"] + raw["write"] + raw["status"] + raw["timeout"]
    return {"requests": raw["requests"], "seconds": raw["duration_us"] / 1e6,
            "p50": raw["p50_us"] / 1e3, "p95": raw["p95_us"] / 1e3, "p99": raw["p99_us"] / 1e3,
            "errors": errors, "detail": {k: raw[k] for k in
                                         ("connect", "read", "write", "status", "timeout")}}


def _py_worker(port: int, path: str, key: str, ids: list[int], deadline: float, seed: int,
               queue: mp.Queue) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    latencies: list[float] = []
    errors = 0
    conn: http.client.HTTPConnection | None = None
    while time.monotonic() < deadline:
        target = f"/api/v1/customers/{rng.choice(ids)}/offer" if ids else path
        started = time.perf_counter()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
            conn.request("GET", target, headers=headers)
            response = conn.getresponse()
            response.read()
            ok = 200 <= response.status < 300
            if response.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException):
            ok = False
            if conn is not None:
                conn.close()
            conn = None
        latencies.append(time.perf_counter() - started)
        errors += not ok
    if conn is not None:
        conn.close()
    queue.put((latencies, errors))


def run_python(port: int, path: str, key: str, ids: list[int], seconds: int,
               connections: int) -> dict:
    queue: mp.Queue = mp.get_context("fork").Queue()
    deadline = time.monotonic() + seconds
    procs = [mp.get_context("fork").Process(
        target=_py_worker, args=(port, path, key, ids, deadline, seed, queue), daemon=True)
        for seed in range(connections)]
    started = time.monotonic()
    for proc in procs:
        proc.start()
    latencies: list[float] = []
    errors = 0
    try:
        for _ in procs:
            lat, err = queue.get(timeout=seconds + 60)
            latencies.extend(lat)
            errors += err
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
    elapsed = time.monotonic() - started
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1e3 if latencies \
            else float("nan")

    return {"requests": len(latencies), "seconds": elapsed, "p50": pct(0.50),
            "p95": pct(0.95), "p99": pct(0.99), "errors": errors, "detail": {}}


class Generator:
    def __init__(self, kind: str, connections: int, threads: int, folder: Path) -> None:
        self.kind, self.connections, self.threads = kind, connections, threads
        self.lua = folder / "offer.lua"
        self.lua.write_text(WRK_LUA)

    def __call__(self, port: int, path: str, key: str, ids_file: Path | None,
                 seconds: int) -> dict:
        if self.kind == "wrk":
            return run_wrk(port, path, key, ids_file, seconds, self.connections, self.threads,
                           self.lua)
        ids = [int(x) for x in ids_file.read_text().split()] if ids_file else []
        return run_python(port, path, key, ids, seconds, self.connections)


# -- one database ----------------------------------------------------------------------------


def response_mix(port: int, key: str, ids: list[int], sample: int = 200) -> Counter:
    """What the offer endpoint answers now, on a sample of guests (after the load)."""
    mix: Counter = Counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        for cid in random.Random(1).sample(ids, min(sample, len(ids))):
            conn.request("GET", f"/api/v1/customers/{cid}/offer",
                         headers={"Authorization": f"Bearer {key}"})
            response = conn.getresponse()
            body = json.loads(response.read() or b"{}")
            if response.status != 200:
                mix[f"HTTP {response.status}"] += 1
            elif body.get("offer"):
                mix["offer held" if not body.get("issued_now") else "offer issued now"] += 1
            else:
                mix[f"no offer: {(body.get('reason') or '')[:40]}"] += 1
    finally:
        conn.close()
    return mix


def measure(label: str, url: str, home: Path, args: argparse.Namespace, servers: Servers,
            generate: Generator, bare: Result | None) -> tuple[list[Result], Result]:
    """Load the offer endpoint of `loyalty serve` (and the bare app, unless given) on ``url``."""
    work = Path(tempfile.mkdtemp(prefix=f"api-load-{label.lower()}-", dir=home))
    engine = make_engine(url)
    key, n_ids = prepare(url, engine, work / "ids.txt")
    engine.dispose()
    ids = [int(x) for x in (work / "ids.txt").read_text().split()]
    print(f"[{label}] {n_ids:,} customers; staff key created", flush=True)

    results: list[Result] = []
    if bare is None:
        (work / "bare_app.py").write_text(textwrap.dedent(BARE_APP))
        port = free_port()
        log = work / "bare.log"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(work), str(ROOT)]))
        proc = servers.start(gunicorn_argv(HOST, port, args.workers, args.threads,
                                           "bare_app:app"),
                             env=env, log=log, cwd=work)
        try:
            wait_ready(proc, f"http://{HOST}:{port}/ping", log)
            if args.warmup:
                generate(port, "/ping", "", None, args.warmup)
            raw = generate(port, "/ping", "", None, args.seconds)
        finally:
            servers.stop(proc)
        bare = Result("-", "bare Flask GET /ping (baseline)", raw["requests"], raw["seconds"],
                      raw["p50"], raw["p95"], raw["p99"], raw["errors"])
        print(f"[bare] {bare.rps:,.0f} requests/s, p99 {bare.p99_ms:.1f} ms", flush=True)

    port = free_port()
    log = work / "serve.log"
    env = dict(os.environ, LOYALTY_HOME=str(home), LOYALTY_DATABASE_URL=url)
    argv = [*LOYALTY, "serve", "--host", HOST, "--port", str(port),
            "--workers", str(args.workers), "--threads", str(args.threads)]
    proc = servers.start(argv, env=env, log=log, cwd=ROOT)
    try:
        ready_s = wait_ready(proc, f"http://{HOST}:{port}/readyz", log)
        print(f"[{label}] loyalty serve ready in {ready_s:.1f} s on port {port}", flush=True)
        note = ""
        if args.warmup:
            warm = generate(port, "", key, work / "ids.txt", args.warmup)
            note = f"after a {args.warmup} s warm-up ({warm['requests']:,} requests)"
        raw = generate(port, "", key, work / "ids.txt", args.seconds)
        mix = response_mix(port, key, ids)
    finally:
        servers.stop(proc)
    offer = Result(label, "GET /api/v1/customers/{id}/offer", raw["requests"], raw["seconds"],
                   raw["p50"], raw["p95"], raw["p99"], raw["errors"], note)
    results.append(offer)
    detail = ", ".join(f"{k} {v}" for k, v in raw["detail"].items() if v)
    print(f"[{label}] {offer.rps:,.0f} requests/s, p99 {offer.p99_ms:.1f} ms, "
          f"{offer.errors} errors{f' ({detail})' if detail else ''}; answers on a sample of "
          f"{sum(mix.values())} guests afterwards: "
          + ", ".join(f"{k} {v}" for k, v in mix.most_common()), flush=True)
    if args.profile:
        profile(url, home, key, ids, args.profile)
    return results, bare


# -- profile ---------------------------------------------------------------------------------


def profile(url: str, home: Path, key: str, ids: list[int], n: int) -> None:
    """The offer view in-process (Flask test client): time per request, SQL statements per
    request, and the top functions by cumulative time."""
    from api import create_app
    from api.config import Config

    app = create_app(Config(settings=Settings(home=home, database_url=url)))
    engine = app.extensions["loyalty.db"].engine
    statements: Counter = Counter()

    @event.listens_for(engine, "before_cursor_execute")
    def count(_conn, _cursor, statement, _params, _context, _many):  # noqa: ANN001
        statements[" ".join(statement.split())[:90]] += 1

    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    rng = random.Random(2)
    sample = [rng.choice(ids) for _ in range(n)]
    for cid in sample[:20]:  # warm: imports, first connections
        client.get(f"/api/v1/customers/{cid}/offer", headers=headers)
    statements.clear()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for cid in sample:
        client.get(f"/api/v1/customers/{cid}/offer", headers=headers)
    profiler.disable()
    elapsed = time.perf_counter() - started
    total = sum(statements.values())
    print(f"\nIn-process profile, {n} requests (one thread, under cProfile): "
          f"{elapsed / n * 1e3:.2f} ms per request, {total / n:.1f} SQL statements per request")
    for statement, count_ in statements.most_common(12):
        print(f"  {count_ / n:5.2f}/req  {statement}")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    engine.dispose()


# -- report ----------------------------------------------------------------------------------


def table(results: list[Result], bare: Result) -> str:
    lines = ["| database | endpoint | requests/s | p50 ms | p95 ms | p99 ms | errors | "
             "ratio to bare Flask |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in [bare, *results]:
        lines.append(f"| {r.database} | {r.endpoint} | {r.rps:,.0f} | {r.p50_ms:.1f} | "
                     f"{r.p95_ms:.1f} | {r.p99_ms:.1f} | {r.errors:,} | "
                     f"{r.rps / bare.rps:.2f}x |")
    return "\n".join(lines)


def verdict(r: Result, seconds: int) -> str:
    parts = [(r.rps >= GOAL_RPS, f"{r.rps:,.0f} requests/s (>= {GOAL_RPS:.0f})"),
             (r.p99_ms <= GOAL_P99_MS, f"p99 {r.p99_ms:.1f} ms (<= {GOAL_P99_MS:.0f})"),
             (r.errors == 0, f"{r.errors} errors (0)")]
    met = all(ok for ok, _ in parts)
    span = "" if seconds >= 60 else f" (measured over {seconds} s, not the goal's 60 s)"
    return (f"- {r.database}: {'MET' if met else 'NOT MET'}{span}: "
            + "; ".join(f"{what} {'ok' if ok else 'missed'}" for ok, what in parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="load per endpoint (default 60)")
    parser.add_argument("--warmup", type=int, default=5,
                        help="seconds of load before each measurement, not counted (default 5)")
    parser.add_argument("--connections", type=int, default=16,
                        help="requests in flight at once (default 16)")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers (default: what `loyalty serve` picks, "
                             "one per core plus one)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per worker (default 1: sync workers, as `loyalty serve`; "
                             "more: gthread)")
    parser.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--source-db", type=Path, default=None,
                        help="SQLite database to copy, only read (default: LOYALTY_HOME's "
                             "loyalty.db, the demo's); its models are read from "
                             "LOYALTY_MODEL_DIR")
    parser.add_argument("--customers", type=int, default=None,
                        help="generate the data with `loyalty demo --customers N` instead")
    parser.add_argument("--postgres", action="store_true",
                        help="also measure on a throwaway PostgreSQL server (Debian's package), "
                             "or on LOYALTY_TEST_POSTGRES_URL when set")
    parser.add_argument("--database-url", default=None,
                        help="also measure on this (scratch!) PostgreSQL database: its tables "
                             "are filled with the copied rows")
    parser.add_argument("--sqlite-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="after each load, profile N offer requests in-process")
    args = parser.parse_args()
    if args.seconds < 1 or args.connections < 1:
        parser.error("--seconds and --connections must be at least 1")
    from loyalty.cli.serve import default_workers

    args.workers = args.workers or default_workers()
    kind = args.generator
    if kind == "auto":
        kind = "wrk" if shutil.which("wrk") else "python"
    elif kind == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install -y wrk)")

    servers = Servers()

    def interrupted(_signum, _frame):  # noqa: ANN001
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)  # also when started with SIGINT ignored (`&`)
    pg = None
    home = Path(tempfile.mkdtemp(prefix="api-load-"))
    try:
        settings = Settings.from_env()
        source, model_dir = args.source_db or settings.home / "loyalty.db", settings.model_dir
        if args.source_db is not None and not source.exists():
            parser.error(f"{source} does not exist")
        if args.customers or not source.exists():
            source = demo_database(home / "demo", args.customers or DEMO_CUSTOMERS)
            model_dir = home / "demo" / "models"
        # The copied rows name their models relative to the model directory: every server
        # started below reads them from the source's.
        os.environ["LOYALTY_MODEL_DIR"] = str(model_dir.resolve())
        db = home / "loyalty.db"
        copy_sqlite(source, db)
        sqlite_url = f"sqlite:///{db}"
        migrate.upgrade(make_engine(sqlite_url))  # no-op when the copy is at head
        print(f"Data: a copy of {source} ({db.stat().st_size / 1e6:.0f} MB); gunicorn "
              f"{args.workers} {worker_class(args.threads)} workers x {args.threads} threads, "
              f"{os.cpu_count()} "
              f"cores; load: {kind}, {args.connections} connections, {args.seconds} s per "
              f"endpoint", flush=True)
        generate = Generator(kind, args.connections, args.wrk_threads, home)

        results, bare = measure("SQLite", sqlite_url, home, args, servers, generate, None)

        pg_url = args.database_url
        if args.postgres and not pg_url:
            pg_url = os.environ.get("LOYALTY_TEST_POSTGRES_URL")
            if not pg_url:
                from tests.pgserver import PostgresServer, find_bindir

                bindir = find_bindir()
                if bindir is None:
                    parser.error("--postgres needs PostgreSQL (apt-get install postgresql)")
                pg = PostgresServer(bindir)
                pg_url = pg.start()
        if pg_url:
            target = make_engine(pg_url)
            migrate.upgrade(target)
            source_engine = make_engine(sqlite_url)
            started = time.perf_counter()
            with target.begin() as conn:  # a scratch database: empty it first
                for table_ in reversed(Base.metadata.sorted_tables):
                    conn.execute(table_.delete())
            counts = copy_tables(source_engine, target)
            print(f"[PostgreSQL] copied {sum(counts.values()):,} rows in "
                  f"{len(counts)} tables in {time.perf_counter() - started:.1f} s", flush=True)
            with target.connect() as conn:
                assert conn.scalar(select(func.count()).select_from(Customer)) == \
                    counts["customers"]
            source_engine.dispose()
            target.dispose()
            more, _ = measure("PostgreSQL", pg_url, home, args, servers, generate, bare)
            results += more

        print(f"\nOffer lookup under `loyalty serve` vs. a bare Flask app, same gunicorn "
              f"settings ({args.workers} {worker_class(args.threads)} workers x "
              f"{args.threads} threads), {kind} with "
              f"{args.connections} connections, {args.seconds} s each, "
              f"{date.today().isoformat()}:\n")
        print(table(results, bare))
        print(f"\nGoal: >= {GOAL_RPS:.0f} requests/s, p99 <= {GOAL_P99_MS:.0f} ms, 0 errors "
              "over 60 s:")
        for r in results:
            print(verdict(r, args.seconds))
    except KeyboardInterrupt:
        print("\ninterrupted: stopping servers", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        servers.stop_all()
        if pg is not None:
            pg.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
