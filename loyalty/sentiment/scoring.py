"""Scoring review texts: sentiment, aspects and language in one pass, and what a scored review
stores."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nlp.aspects import AspectSentiment, score_aspects
from nlp.language import detect_languages
from nlp.scorer import Sentiment, SentimentScorer


@dataclass(frozen=True)
class ScoredText:
    """What the models said about one text: its sentiment, each aspect's, and its language
    (`nlp.language`: es, en, other, mixed or und)."""

    sentiment: Sentiment
    aspects: dict[str, AspectSentiment]
    language: str


def score_texts(scorer: SentimentScorer, texts: Sequence[str]) -> list[ScoredText]:
    """Sentiment, aspects and language of each text, in input order (the aspects' clauses in
    one batch)."""
    texts = list(texts)
    if not texts:
        return []
    # A missing text (None, or NaN from pandas) has no language; the detector takes only None.
    languages = detect_languages(None if t is None or (isinstance(t, float) and math.isnan(t))
                                 else t for t in texts)
    return [ScoredText(s, a, lang) for s, a, lang in zip(
        scorer.score(texts), score_aspects(scorer, texts), languages, strict=True)]


def review_columns(scored: ScoredText, *, model_version_id: int | None = None,
                   scored_at: datetime | None = None) -> dict[str, Any]:
    """The `reviews` row's scored columns for a scored text, by column name: sentiment,
    aspects and the detected language. The batch job, the CSV output and the API all store,
    write and answer these values. The given ``language`` is not one of them: scoring never
    changes it (see `loyalty.models.review_language`)."""
    s = scored.sentiment
    return {"sentiment_label": s.label, "sentiment_score": s.score,
            "prob_negative": s.probabilities["negative"],
            "prob_neutral": s.probabilities["neutral"],
            "prob_positive": s.probabilities["positive"],
            "aspects": aspects_json(scored.aspects),
            "language_detected": scored.language,
            "sentiment_model_version_id": model_version_id, "scored_at": scored_at}


def aspects_json(aspects: dict[str, AspectSentiment]) -> dict[str, Any]:
    """What the database keeps per aspect: only those the review talks about."""
    return {name: {"label": a.label, "score": None if a.score is None else round(a.score, 4)}
            for name, a in aspects.items() if a.mentioned}
