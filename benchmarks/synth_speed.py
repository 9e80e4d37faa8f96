"""Time the synthetic data generator against the issue's goal (10,000 customers < 60 s).

    python benchmarks/synth_speed.py [--customers 10000] [--seed 0] [--out DIR]

Prints a markdown table: sizes, seconds for ``generate`` and ``write``, throughput, the share
of unique review texts, and PASS/FAIL against the goal.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from loyalty.synth import generate, write

GOAL_SECONDS = 60.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write the CSVs (default: a temporary folder)")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    data = generate(customers=args.customers, seed=args.seed)
    gen_s = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        t1 = time.perf_counter()
        paths = write(data, out)
        write_s = time.perf_counter() - t1
        size_mb = sum(p.stat().st_size for p in paths.values()) / 1e6

    n_visits = len(data.visits)
    unique = data.reviews.text.nunique() / max(len(data.reviews), 1)
    verdict = "PASS" if gen_s < GOAL_SECONDS else "FAIL"
    rows = [
        ("customers", f"{args.customers:,}"),
        ("visits", f"{n_visits:,}"),
        ("order items", f"{len(data.order_items):,}"),
        ("reviews", f"{len(data.reviews):,}"),
        ("generate seconds", f"{gen_s:.2f}"),
        ("write seconds", f"{write_s:.2f} ({size_mb:.1f} MB of CSV)"),
        ("visits/second (generate)", f"{n_visits / gen_s:,.0f}"),
        ("unique review share", f"{unique:.2%}"),
        (f"goal: generate < {GOAL_SECONDS:.0f} s", verdict),
    ]
    print("| metric | value |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
