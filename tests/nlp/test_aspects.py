"""Aspect finding and clause-level aggregation, with a word-list model standing in for BERT."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np
import pytest

from nlp.aspects import (
    ASPECTS,
    AspectSentiment,
    ProbabilityModel,
    find_aspects,
    mentioned_aspects,
    score_aspects,
    split_clauses,
)

POSITIVE = {"great", "riquisimo", "delicious", "rico", "amable", "lovely", "cheap"}
NEGATIVE = {"slow", "lentisima", "rude", "terrible", "expensive", "cold", "frio"}


class WordListModel:
    """A test double: counts positive and negative words (accent-insensitive), records calls."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        rows = []
        for text in texts:
            plain = "".join(c for c in unicodedata.normalize("NFKD", text.lower())
                            if not unicodedata.combining(c))
            words = set("".join(c if c.isalnum() else " " for c in plain).split())
            pos, neg = len(words & POSITIVE), len(words & NEGATIVE)
            if pos > neg:
                rows.append([0.1, 0.1, 0.8])
            elif neg > pos:
                rows.append([0.8, 0.1, 0.1])
            else:
                rows.append([0.2, 0.6, 0.2])
        return np.array(rows)


def _check_protocol(model: ProbabilityModel) -> ProbabilityModel:
    return model


@pytest.fixture
def model() -> WordListModel:
    return _check_protocol(WordListModel())  # type: ignore[return-value]


def test_english_contrast_splits_food_from_service_and_wait(model: WordListModel) -> None:
    [result] = score_aspects(model, ["Great ceviche but the service was painfully slow"])
    assert result["food"].mentioned and result["food"].label == "positive"
    assert result["service"].label == "negative"
    assert result["wait"].label == "negative"
    assert result["food"].score == pytest.approx(0.7)
    assert result["service"].score == pytest.approx(-0.7)
    for aspect in ("ambience", "price"):
        assert result[aspect] == AspectSentiment(False, None, None, ())


def test_spanish_contrast(model: WordListModel) -> None:
    text = "El lomo saltado estuvo riquísimo, pero la atención fue lentísima"
    assert split_clauses(text) == ["El lomo saltado estuvo riquísimo",
                                   "pero la atención fue lentísima"]
    [result] = score_aspects(model, [text])
    assert result["food"].label == "positive"
    assert result["food"].clauses == ("El lomo saltado estuvo riquísimo",)
    assert result["service"].label == "negative"
    assert result["wait"].label == "negative"
    assert not result["ambience"].mentioned and not result["price"].mentioned


@pytest.mark.parametrize("text", [
    "La ATENCIÓN fue buena", "la atencion fue buena", "LA AtEnCiOn FUE BUENA",
])
def test_cues_ignore_case_and_accents(text: str) -> None:
    assert mentioned_aspects(text) == ["service"]


def test_more_cues_and_contrast_connectors() -> None:
    found = find_aspects("Nice music, although the bill was high. Sin embargo, volveremos "
                         "por el sazón. La cuenta: S/ 120.50, eso sí demoraron.")
    assert found["ambience"] == ["Nice music"]
    assert found["price"] == ["although the bill was high.", "La cuenta: S/ 120.50"]
    assert found["food"] == ["Sin embargo, volveremos por el sazón."]
    assert found["wait"] == ["eso sí demoraron."]
    assert "service" not in found


def test_whole_words_only_and_cant_wait() -> None:
    assert mentioned_aspects("I can't wait to come back") == []
    assert mentioned_aspects("chocolate") == []  # contains "late"
    assert mentioned_aspects("the waiter") == ["service"]  # not "wait"
    assert mentioned_aspects("slow service") == ["service", "wait"]
    assert mentioned_aspects("very pocket friendly") == ["price"]  # not the staff
    assert mentioned_aspects("friendly staff") == ["service"]


def test_no_cue_mentions_nothing(model: WordListModel) -> None:
    assert find_aspects("We went on Tuesday with my cousins.") == {}
    assert find_aspects("") == {}
    [result] = score_aspects(model, ["We went on Tuesday with my cousins."])
    assert set(result) == set(ASPECTS)
    assert not any(a.mentioned for a in result.values())
    assert model.calls == []  # nothing to score, so the model is not called


def test_one_model_call_per_batch_and_all_keys(model: WordListModel) -> None:
    texts = ["Great ceviche but the service was painfully slow",
             "Muy caro para lo que es.",
             "Nothing to say here",
             "Great ceviche but the service was painfully slow",
             "Lovely decor, terrible food, rude staff"]
    results = score_aspects(model, texts)
    assert len(model.calls) == 1
    # Distinct clauses only, each scored once.
    assert len(model.calls[0]) == len(set(model.calls[0]))
    assert len(results) == len(texts)
    for result in results:
        assert tuple(result) == ASPECTS
    assert results[1]["price"].label == "neutral"  # "caro" alone is not in the word list
    assert results[0] == results[3]
    assert not any(a.mentioned for a in results[2].values())


def test_aspect_averages_its_clauses(model: WordListModel) -> None:
    [result] = score_aspects(model, ["The food was great. But the dessert was cold."])
    food = result["food"]
    assert food.clauses == ("The food was great.", "But the dessert was cold.")
    assert food.score == pytest.approx(0.0)  # (+0.7 - 0.7) / 2
    assert food.label in {"negative", "positive"}  # a tie between the two


def test_bad_model_shape_is_an_error() -> None:
    class Broken:
        def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
            return np.zeros((len(texts), 2))

    with pytest.raises(ValueError, match="shape"):
        score_aspects(Broken(), ["great food"])
