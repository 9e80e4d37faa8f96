"""Sentiment scoring speed on 2 CPU cores: this project's scorer beside the plain pipeline.

Measured in the same run on the same Zomato reviews: `transformers.pipeline("text-
classification")` called one review at a time (the baseline), then `SentimentScorer` with the
torch, ONNX and int8 ONNX backends (int8 with its fp32 re-check of borderline windows, and
without it). Each method runs in a fresh process so its peak memory (max RSS) is its own.
Also reports the review length distribution, each backend's label agreement with torch, and
whether a review scored alone gets the score it gets inside the batch (first round, first
100 reviews, within 1e-6).

    .venv/bin/python benchmarks/sentiment_speed.py --model var/models/bench-sentiment --rounds 7
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

METHODS = ("pipeline, one at a time", "torch", "onnx", "onnx-int8", "onnx-int8, no re-check")


def _texts(data_dir: Path, n: int, seed: int) -> list[str]:
    reviews = pd.read_csv(data_dir / "zomato_reviews.csv")["review"].dropna()
    return reviews.sample(n=min(n, len(reviews)), random_state=seed).astype(str).tolist()


ALONE_TEXTS = 100
ALONE_TOLERANCE = 1e-6


def _measure(method: str, model: Path, texts: list[str], check_alone: bool = False) -> dict:
    """Runs inside a child process: time one method, return labels, seconds, peak memory
    (and, with ``check_alone``, the largest score change between alone and in the batch)."""
    import torch

    torch.set_num_threads(2)
    if method == METHODS[0]:
        from transformers import pipeline

        import nlp.mean_pooling  # noqa: F401 - so the pipeline knows a mean-pooling classifier

        classify = pipeline("text-classification", model=str(model), tokenizer=str(model),
                            device=-1, truncation=True)
        classify(texts[:2])  # warm-up, as for the scorer below
        start = time.perf_counter()
        labels = [classify(text)[0]["label"] for text in texts]
    else:
        from nlp.scorer import SentimentScorer

        backend, _, variant = method.partition(", ")
        scorer = SentimentScorer(model, backend=backend, threads=2,
                                 recheck_margin=0 if variant == "no re-check" else None)
        scorer.predict(texts[:2])
        start = time.perf_counter()
        labels = scorer.predict(texts)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"labels": labels, "seconds": seconds, "peak_mb": peak_mb}
    if check_alone and method != METHODS[0]:
        batch = scorer.score(texts[:ALONE_TEXTS])
        alone = [scorer.score([text])[0] for text in texts[:ALONE_TEXTS]]
        result["alone_diff"] = max(abs(a.score - b.score) for a, b in zip(alone, batch,
                                                                           strict=True))
        result["alone_labels_equal"] = all(a.label == b.label for a, b in zip(alone, batch,
                                                                                strict=True))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True,
                        help="a fine-tuned folder with onnx/ exports (loyalty nlp export)")
    parser.add_argument("--data-dir", type=Path,
                        default=Path(os.environ.get("LOYALTY_SHARED_DATA", "../shared/data")))
    parser.add_argument("--reviews", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3,
                        help="run every method this many times, interleaved; report medians")
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--check-alone", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    texts = _texts(args.data_dir, args.reviews, args.seed)
    if args.child:
        method, out = args.child
        Path(out).write_text(json.dumps(_measure(method, args.model, texts, args.check_alone)),
                             encoding="utf-8")
        return

    from transformers import AutoTokenizer

    from nlp.fast import onnx_paths

    tokens = np.array([len(ids) for ids in AutoTokenizer.from_pretrained(
        args.model, local_files_only=True)(texts)["input_ids"]])
    print(f"{len(texts):,} Zomato reviews; tokens per review: median {np.median(tokens):.0f}, "
          f"p90 {np.percentile(tokens, 90):.0f}, p99 {np.percentile(tokens, 99):.0f}, "
          f"max {tokens.max()}; {np.mean(tokens > 256):.1%} longer than the 256-token window")
    available = {name for name, path in onnx_paths(args.model).items() if path.exists()}
    methods = [m for m in METHODS if not m.startswith("onnx") or m.partition(",")[0] in available]
    for method in sorted(set(METHODS) - set(methods)):
        print(f"({method}: no export in {args.model}/onnx, skipped)")
    # Rounds, each running every method once, interleave the methods in time, so that a slow
    # spell of this shared VM (seen: 15-25% from one minute to the next) hits them alike.
    runs: dict[str, list[dict]] = {m: [] for m in methods}
    for round_ in range(1, args.rounds + 1):
        print(f"round {round_} of {args.rounds} ...", file=sys.stderr)
        for method in methods:
            out = Path(f"/tmp/sentiment-speed-{os.getpid()}-{method.replace(' ', '_')}.json")
            subprocess.run([sys.executable, __file__, "--model", str(args.model), "--data-dir",
                            str(args.data_dir), "--reviews", str(args.reviews), "--seed",
                            str(args.seed), "--child", method, str(out)]
                           + (["--check-alone"] if round_ == 1 else []), check=True)
            runs[method].append(json.loads(out.read_text(encoding="utf-8")))
            out.unlink()
    seconds = {m: float(np.median([r["seconds"] for r in rs])) for m, rs in runs.items()}
    ratios = {m: [b["seconds"] / r["seconds"] for b, r in zip(runs[METHODS[0]], rs, strict=True)]
              for m, rs in runs.items()}
    torch_labels = runs["torch"][0]["labels"]
    print(f"\nMedian of {args.rounds} rounds; x pipeline is the median of the per-round ratios "
          "(lowest-highest).\n")
    print("| method | reviews/s | x pipeline | labels = torch | peak memory (MB) | "
          "alone = in batch (max score change) |")
    print("|---|---:|---:|---:|---:|---|")
    for method, rs in runs.items():
        agree = np.mean([a.lower() == b for a, b in zip(rs[0]["labels"], torch_labels,
                                                          strict=True)])
        spread = f" ({min(ratios[method]):.1f}-{max(ratios[method]):.1f})" if len(rs) > 1 else ""
        alone = "n/a"
        if "alone_diff" in rs[0]:
            same = rs[0]["alone_labels_equal"] and rs[0]["alone_diff"] <= ALONE_TOLERANCE
            alone = f"{'yes' if same else 'no'} ({rs[0]['alone_diff']:.2g})"
        print(f"| {method} | {len(texts) / seconds[method]:,.1f} | "
              f"{np.median(ratios[method]):.1f}x{spread} | {agree:.1%} | "
              f"{max(r['peak_mb'] for r in rs):,.0f} | {alone} |")


if __name__ == "__main__":
    main()
