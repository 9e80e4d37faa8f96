"""Review language: es / en / other / mixed / und on real-looking reviews and edge cases."""

from __future__ import annotations

import time

import pytest

from nlp import language
from nlp.language import (
    EN,
    ES,
    LABELS,
    MIXED,
    OTHER,
    UNDETERMINED,
    detect_language,
    detect_languages,
)

SPANISH = [
    "La comida estuvo deliciosa y el servicio fue muy atento.",
    "El ceviche estaba fresquísimo, volveremos con la familia.",
    "Pésima atención, esperamos una hora y la carne llegó fría.",
    "Buenazo el lomo saltado, full recomendado",
    "Muy rico todo.",
]
# Peruvian guests often type without accents.
ACCENT_STRIPPED = [
    "esta muy rico pero el servicio fue lento",
    "la atencion fue pesima y el aji de gallina estaba frio",
    "Excelente ubicacion, la musica un poco alta",
]
ENGLISH = [
    "The food was delicious and the staff were very friendly.",
    "We waited forty minutes for a table, never again.",
    "Best pisco sour in Lima!",
    "Great food.",
]
FOREIGN = [
    "A comida estava deliciosa e o atendimento foi excelente.",  # pt
    "Nous avons très bien mangé, le service était impeccable.",  # fr
    "Il cibo era ottimo e il servizio molto cordiale.",  # it
    "Das Essen war sehr lecker und der Service freundlich.",  # de
    "Очень вкусно, обязательно вернёмся.",  # ru: not Latin script
    "とても美味しかったです。また来ます。",  # ja
]
CODE_SWITCHED = [
    "La comida estuvo buenísima. But the service was really slow and the waiter forgot us.",
    "The ceviche was amazing and super fresh, pero el pisco sour estaba muy dulce y caro.",
    "Excelente lugar, la atención es muy buena. We will definitely come back next time.",
]
NOTHING = ["", "   ", "\n\t ", "👍👍🔥", "123 !!!", "...", "10/10", "ok", "😍 :)",
           "https://example.com/review?id=1", None]


@pytest.mark.parametrize("text", SPANISH + ACCENT_STRIPPED)
def test_spanish(text: str) -> None:
    assert detect_language(text) == ES


@pytest.mark.parametrize("text", ENGLISH)
def test_english(text: str) -> None:
    assert detect_language(text) == EN


@pytest.mark.parametrize("text", FOREIGN)
def test_another_language_is_other(text: str) -> None:
    assert detect_language(text) == OTHER


@pytest.mark.parametrize("text", CODE_SWITCHED)
def test_spanish_and_english_together_are_mixed(text: str) -> None:
    assert detect_language(text) == MIXED


def test_a_little_english_in_spanish_is_not_mixed() -> None:
    # 17 English letters against 94 Spanish ones: under a fifth of the letters.
    text = ("Fuimos a cenar con mis padres y pedimos ceviche y arroz con mariscos. "
            "El mozo fue muy amable y nos explicó cada plato. Highly recommended")
    assert detect_language(text) == ES


@pytest.mark.parametrize("text", NOTHING)
def test_too_little_text_is_undetermined(text: str | None) -> None:
    assert detect_language(text) == UNDETERMINED


def test_short_foreign_looking_spanish_stays_spanish() -> None:
    # Alone, the model leans Portuguese; not confidently enough to be "other".
    assert detect_language("Para olvidar.") == ES


def test_very_long_text_is_fast_and_looks_at_the_start_only() -> None:
    text = "La comida estuvo deliciosa y el servicio muy atento. " * 1900  # ~100,000 chars
    text = text[:100_000 - 40] + " But the rest of this review is English."
    assert len(text) == 100_000
    detect_language("warm up the model")
    started = time.perf_counter()
    assert detect_language(text) == ES
    assert time.perf_counter() - started < 0.5


def test_long_text_without_spaces_does_not_crash() -> None:
    assert detect_language("a" * 100_000) in LABELS
    assert detect_language("🍕" * 100_000) == UNDETERMINED


def test_batch_equals_one_by_one() -> None:
    texts = SPANISH + ACCENT_STRIPPED + ENGLISH + FOREIGN + CODE_SWITCHED + NOTHING
    batch = detect_languages(texts)
    assert batch == [detect_language(text) for text in texts]
    assert batch == list(reversed(detect_languages(reversed(texts))))
    assert detect_languages(iter(texts)) == batch
    assert set(batch) == set(LABELS)


def test_empty_batch() -> None:
    assert detect_languages([]) == []


def test_not_a_string_is_an_error() -> None:
    with pytest.raises(TypeError):
        detect_language(3)  # type: ignore[arg-type]


def test_model_is_loaded_once() -> None:
    assert language._model() is language._model()
    assert set(language._model().labels) == set(language.CANDIDATES)
