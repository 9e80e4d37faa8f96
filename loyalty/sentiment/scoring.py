"""Scoring review texts: sentiment and aspects in one pass, and what a scored review stores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nlp.aspects import AspectSentiment, score_aspects
from nlp.scorer import Sentiment, SentimentScorer


@dataclass(frozen=True)
class ScoredText:
    """What the model said about one text: its sentiment and each aspect's."""

    sentiment: Sentiment
    aspects: dict[str, AspectSentiment]


def score_texts(scorer: SentimentScorer, texts: Sequence[str]) -> list[ScoredText]:
    """Sentiment and aspects of each text, in input order (the aspects' clauses in one batch)."""
    texts = list(texts)
    if not texts:
        return []
    return [ScoredText(s, a) for s, a in zip(scorer.score(texts), score_aspects(scorer, texts),
                                             strict=True)]


def review_columns(scored: ScoredText, *, model_version_id: int | None = None,
                   scored_at: datetime | None = None) -> dict[str, Any]:
    """The `reviews` row's sentiment columns for a scored text, by column name. The batch job,
    the CSV output and the API all store, write and answer these values."""
    s = scored.sentiment
    return {"sentiment_label": s.label, "sentiment_score": s.score,
            "prob_negative": s.probabilities["negative"],
            "prob_neutral": s.probabilities["neutral"],
            "prob_positive": s.probabilities["positive"],
            "aspects": aspects_json(scored.aspects),
            "sentiment_model_version_id": model_version_id, "scored_at": scored_at}


def aspects_json(aspects: dict[str, AspectSentiment]) -> dict[str, Any]:
    """What the database keeps per aspect: only those the review talks about."""
    return {name: {"label": a.label, "score": None if a.score is None else round(a.score, 4)}
            for name, a in aspects.items() if a.mentioned}
