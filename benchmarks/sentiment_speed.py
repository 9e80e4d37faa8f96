"""Sentiment scoring speed on 2 CPU cores: this project's scorer beside the plain pipeline.

Measured in the same run on the same Zomato reviews: `transformers.pipeline("text-
classification")` called one review at a time (the baseline), then `SentimentScorer` with the
torch, ONNX and int8 ONNX backends. Each method runs in a fresh process so its peak memory
(max RSS) is its own. Also reports the review length distribution and each backend's label
agreement with torch.

    .venv/bin/python benchmarks/sentiment_speed.py --model var/models/bench-sentiment
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

METHODS = ("pipeline, one at a time", "torch", "onnx", "onnx-int8")


def _texts(data_dir: Path, n: int, seed: int) -> list[str]:
    reviews = pd.read_csv(data_dir / "zomato_reviews.csv")["review"].dropna()
    return reviews.sample(n=min(n, len(reviews)), random_state=seed).astype(str).tolist()


def _measure(method: str, model: Path, texts: list[str]) -> dict:
    """Runs inside a child process: time one method, return labels, seconds, peak memory."""
    import torch

    torch.set_num_threads(2)
    if method == METHODS[0]:
        from transformers import pipeline

        classify = pipeline("text-classification", model=str(model), tokenizer=str(model),
                            device=-1, truncation=True)
        classify(texts[:2])  # warm-up, as for the scorer below
        start = time.perf_counter()
        labels = [classify(text)[0]["label"] for text in texts]
    else:
        from nlp.scorer import SentimentScorer

        scorer = SentimentScorer(model, backend=method, threads=2)
        scorer.predict(texts[:2])
        start = time.perf_counter()
        labels = scorer.predict(texts)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"labels": labels, "seconds": seconds, "peak_mb": peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True,
                        help="a fine-tuned folder with onnx/ exports (loyalty nlp export)")
    parser.add_argument("--data-dir", type=Path,
                        default=Path(os.environ.get("LOYALTY_SHARED_DATA", "../shared/data")))
    parser.add_argument("--reviews", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    texts = _texts(args.data_dir, args.reviews, args.seed)
    if args.child:
        method, out = args.child
        Path(out).write_text(json.dumps(_measure(method, args.model, texts)), encoding="utf-8")
        return

    from transformers import AutoTokenizer

    from nlp.fast import onnx_paths

    tokens = np.array([len(ids) for ids in AutoTokenizer.from_pretrained(
        args.model, local_files_only=True)(texts)["input_ids"]])
    print(f"{len(texts):,} Zomato reviews; tokens per review: median {np.median(tokens):.0f}, "
          f"p90 {np.percentile(tokens, 90):.0f}, p99 {np.percentile(tokens, 99):.0f}, "
          f"max {tokens.max()}; {np.mean(tokens > 256):.1%} longer than the 256-token window")
    results = {}
    available = {name for name, path in onnx_paths(args.model).items() if path.exists()}
    for method in METHODS:
        if method.startswith("onnx") and method not in available:
            print(f"({method}: no export in {args.model}/onnx, skipped)")
            continue
        out = Path(f"/tmp/sentiment-speed-{os.getpid()}-{method.replace(' ', '_')}.json")
        subprocess.run([sys.executable, __file__, "--model", str(args.model), "--data-dir",
                        str(args.data_dir), "--reviews", str(args.reviews), "--seed",
                        str(args.seed), "--child", method, str(out)], check=True)
        results[method] = json.loads(out.read_text(encoding="utf-8"))
        out.unlink()
    base = results[METHODS[0]]
    torch_labels = results["torch"]["labels"]
    print("\n| method | reviews/s | x pipeline | labels = torch | peak memory (MB) |")
    print("|---|---:|---:|---:|---:|")
    for method, r in results.items():
        rate = len(texts) / r["seconds"]
        agree = np.mean([a.lower() == b for a, b in zip(r["labels"], torch_labels,
                                                          strict=True)])
        print(f"| {method} | {rate:,.1f} | {base['seconds'] / r['seconds']:.1f}x | "
              f"{agree:.1%} | {r['peak_mb']:,.0f} |")


if __name__ == "__main__":
    main()
