"""Aspect detection and aspect polarity per language: the aspect models side by side.

Measured in the same run on the held-out test sentences of the SemEval files (English 2014,
Spanish 2016; split as the sentiment corpus splits them, so no test sentence was trained on by
the review model either), with the product's aspects food (drinks included), service, ambience
and price:

- the lexicon: the cue words of `nlp.aspects` find the aspects and a sentence model scores
  their clauses (the sentence's own sentiment where no cue fires) — with a TF-IDF + LR
  sentence model trained on the same training sentences, and with ``--review-model`` (a
  fine-tuned review sentiment model, e.g. the one `sentiment_quality.py` writes) as the
  product scores aspects without learned aspect models;
- with ``--model``, the aspect heads a review model learned beside its sentiment (one encoder
  pass for both; `nlp.aspect_training`), thresholds as saved (tuned on validation);
- TF-IDF one-vs-rest logistic regressions (detection) and one regression per aspect (polarity),
  trained on the same training sentences, detection thresholds tuned on validation.

Detection: micro precision / recall / F1 over the (sentence, aspect) cells. Polarity: accuracy
and macro-F1 over the gold (sentence, aspect) pairs ("conflict" pairs left out; see
`nlp.aspect_eval`).

    .venv/bin/python benchmarks/aspect_quality.py
    .venv/bin/python benchmarks/aspect_quality.py --review-model var/models/bench-multilingual
    .venv/bin/python benchmarks/aspect_quality.py --model var/models/bench-aspects \
        --review-model var/models/bench-multilingual
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from nlp.aspect_baselines import LexiconAspects, TfidfAspects
from nlp.aspect_data import LEARNED_ASPECTS, aspect_recipe, aspect_splits, mentions
from nlp.aspect_eval import detection_scores, polarity_labels, polarity_scores, tune_thresholds
from nlp.aspect_training import LearnedAspects
from nlp.baselines import TfidfLogisticBaseline
from nlp.corpus import load_corpus
from nlp.labels import LABELS

ASPECT_COLUMNS = list(LEARNED_ASPECTS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path,
                        default=Path(os.environ.get("LOYALTY_SHARED_DATA_DIR", "../shared/data")))
    parser.add_argument("--review-model", type=Path, default=None,
                        help="a fine-tuned review sentiment model folder for the lexicon")
    parser.add_argument("--model", type=Path, default=None,
                        help="a review model with learned aspects (sentiment_quality.py)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    recipe = aspect_recipe(args.data_dir)
    splits = aspect_splits(recipe, seed=args.seed)
    train, validation, test = splits["train"], splits["validation"], splits["test"]
    for name, part in splits.items():
        counts = part["language"].value_counts()
        print(f"{name}: {len(part):,} sentences ("
              + ", ".join(f"{code} {n:,}" for code, n in counts.items()) + ")")

    sentences = load_corpus(recipe, seed=args.seed).data["train"]
    sentence_tfidf = TfidfLogisticBaseline().fit(sentences["text"],
                                                 [LABELS[i] for i in sentences["label"]])
    # Each model with its detection thresholds: a fixed 0.5 (the lexicon says 0 or 1), tuned
    # on validation here, or as the model was saved.
    models = {"lexicon + TF-IDF sentence model": (LexiconAspects(sentence_tfidf), "fixed")}
    if args.review_model is not None:
        from nlp.scorer import SentimentScorer

        models["lexicon + review model (today's product)"] = (
            LexiconAspects(SentimentScorer(args.review_model)), "fixed")
    if args.model is not None:
        learned = LearnedAspects(args.model)
        if learned.aspects_ != LEARNED_ASPECTS:
            parser.error(f"{args.model} learned {learned.aspects_}, not {LEARNED_ASPECTS}")
        models["learned aspect heads (this project)"] = (learned, "saved")
    models["TF-IDF one-vs-rest"] = (
        TfidfAspects().fit(list(train["text"]), mentions(train),
                           train[ASPECT_COLUMNS].to_numpy()), "tune")

    print("\n| language | model | detection P | detection R | detection micro-F1 "
          "| polarity accuracy | polarity macro-F1 | pairs |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, (model, thresholds) in models.items():
        if thresholds == "fixed":
            cuts = np.full(len(ASPECT_COLUMNS), 0.5)
        elif thresholds == "tune":
            cuts = tune_thresholds(mentions(validation),
                                   model.mention_proba(list(validation["text"])))
        else:
            cuts = model.thresholds_
        for language, rows in test.groupby("language"):
            texts = list(rows["text"])
            found = model.mention_proba(texts) >= cuts
            detection = detection_scores(mentions(rows), found, ASPECT_COLUMNS)["micro"]
            polarity = polarity_scores(rows[ASPECT_COLUMNS].to_numpy(),
                                       polarity_labels(model.polarity_proba(texts)),
                                       ASPECT_COLUMNS)
            print(f"| {language} | {name} | {detection['precision']:.3f} "
                  f"| {detection['recall']:.3f} | {detection['f1']:.3f} "
                  f"| {polarity['accuracy']:.3f} | {polarity['macro_f1']:.3f} "
                  f"| {polarity['n']:,} |")


if __name__ == "__main__":
    main()
