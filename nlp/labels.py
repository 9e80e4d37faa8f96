"""The three sentiment classes and how star ratings map onto them."""

from __future__ import annotations

import math

LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
LABEL2ID = {label: i for i, label in enumerate(LABELS)}
ID2LABEL = dict(enumerate(LABELS))


def rating_to_label(rating: float | None) -> str | None:
    """1-2 stars negative, 3 neutral, 4-5 positive.

    Half stars go to the nearer side of the scale's middle: 2.5 is still a complaint
    (negative), 3.5 is not yet praise (neutral). Missing or out-of-range ratings give None.
    """
    if rating is None or (isinstance(rating, float) and math.isnan(rating)):
        return None
    if not 1 <= rating <= 5:
        return None
    if rating < 3:
        return "negative"
    if rating < 4:
        return "neutral"
    return "positive"


def normalise_label(value: object) -> str | None:
    """A label column's value as one of LABELS: names (any case), 0/1/2, or binary 0/1 text.

    Binary data sets (0 = negative, 1 = positive) are read with ``binary=True`` by callers;
    here 0, 1 and 2 are the class ids of LABELS.
    """
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in LABEL2ID:
        return text
    aliases = {"neg": "negative", "pos": "positive", "neu": "neutral"}
    if text in aliases:
        return aliases[text]
    if text in {"0", "1", "2"}:
        return ID2LABEL[int(text)]
    return None


def score(probabilities: tuple[float, float, float]) -> float:
    """P(positive) - P(negative): a score in [-1, 1]."""
    return float(probabilities[2] - probabilities[0])
