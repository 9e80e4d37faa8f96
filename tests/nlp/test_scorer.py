"""SentimentScorer on the tiny test BERT (torch backend), plus text helpers it relies on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from nlp.labels import LABELS
from nlp.scorer import ModelLabelsError, Sentiment, SentimentScorer
from nlp.text import clean, emoji_to_words, is_blank, is_emoji_only, sentences

MIXED = [
    "Great food!",
    "The biryani was cold, the waiter ignored us for twenty minutes and the bill was wrong. "
    "Never coming back to this place, what a disappointment.",
    "ok",
    "La comida estaba buenísima, pero el servicio fue muy lento.",
    "Nice ambience, decent starters, overpriced drinks.",
    "¡Excelente! Volveremos.",
    "meh " * 30,
    "Service was slow.",
]


def sharpen(source: Path, folder: Path, gain: float = 4.0) -> Path:
    """A copy of ``source`` whose classifier reads the main directions in which the random
    tiny BERT's pooled outputs vary: different texts then get clearly different probabilities
    and labels (the random head gives nearly uniform ones), so mix-ups become visible.
    ``gain``: logits per standard deviation of the pooled outputs along the main direction."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    shutil.copytree(source, folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    enc = tokenizer(MIXED + [t.upper() for t in MIXED], padding=True, return_tensors="pt")
    with torch.no_grad():
        pooled = model.eval().bert(**enc).pooler_output
        mean = pooled.mean(dim=0)
        _, _, v = torch.linalg.svd(pooled - mean, full_matrices=False)
        spread = ((pooled - mean) @ v[0]).std()
        weight = torch.stack([-v[0], v[1], v[0]]) * (gain / spread)
        model.classifier.weight.copy_(weight)
        model.classifier.bias.copy_(-weight @ mean)
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def sharp_model(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sharpen(tiny_model, tmp_path_factory.mktemp("sharp") / "model")


@pytest.fixture(scope="module")
def scorer(sharp_model: Path) -> SentimentScorer:
    return SentimentScorer(sharp_model, backend="torch", batch_size=3, max_length=64)


def _check_valid(s: Sentiment) -> None:
    p = s.probabilities
    assert tuple(p) == LABELS
    assert sum(p.values()) == pytest.approx(1.0, abs=1e-9)
    assert all(0.0 <= v <= 1.0 for v in p.values())
    assert s.score == pytest.approx(p["positive"] - p["negative"], abs=1e-12)
    assert -1.0 <= s.score <= 1.0
    assert s.label == max(p, key=p.get)


def test_probabilities_and_score(scorer: SentimentScorer) -> None:
    assert scorer.backend_ == "torch"
    assert scorer.labels_ == LABELS
    proba = scorer.predict_proba(MIXED)
    assert proba.shape == (len(MIXED), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    results = scorer.score(MIXED)
    for s, row in zip(results, proba, strict=True):
        _check_valid(s)
        np.testing.assert_allclose([s.probabilities[k] for k in LABELS], row, atol=1e-9)
        assert s.chunks == 1 and s.note is None
    assert scorer.predict(MIXED) == [s.label for s in results]


def test_batched_equals_one_by_one_in_input_order(scorer: SentimentScorer) -> None:
    texts = MIXED * 2 + ["Short.", "A bit longer text about the pasta."]
    batched = scorer.predict_proba(texts)
    single = np.vstack([scorer.predict_proba([t]) for t in texts])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    # The sharpened model tells these texts apart, so a permutation would show.
    assert np.ptp(single[:, 0]) > 0.05
    reversed_ = scorer.predict_proba(texts[::-1])
    np.testing.assert_allclose(reversed_[::-1], batched, atol=1e-5)


def test_empty_and_whitespace_are_neutral_without_model(scorer: SentimentScorer) -> None:
    results = scorer.score(["", "   ", "\n\t \u200b", "...", "Fine."])
    for s in results[:4]:
        assert s.label == "neutral"
        assert s.probabilities == {"negative": 0.0, "neutral": 1.0, "positive": 0.0}
        assert s.score == 0.0 and s.chunks == 0 and s.note == "empty"
    assert results[4].note is None and results[4].chunks == 1
    assert scorer.predict_proba([]).shape == (0, 3)
    assert scorer.score([]) == []


def test_emoji_only_is_scored_as_words(scorer: SentimentScorer) -> None:
    results = scorer.score(["😍😍😍", "👎🏽 😡", ":)", "great 😍"])
    for s in results[:3]:
        _check_valid(s)
        assert s.note == "emoji-only" and s.chunks == 1
    assert results[3].note is None
    # Scored exactly as the words would be.
    np.testing.assert_allclose(scorer.predict_proba(["😍😍😍"]),
                               scorer.predict_proba([emoji_to_words("😍😍😍")]), atol=1e-9)


def test_long_text_is_chunked_not_cut(sharp_model: Path, scorer: SentimentScorer) -> None:
    sentence_a = "The starters were cold and the waiter was rude to us all evening. "
    sentence_b = "Dessert, though, was wonderful and the manager apologised kindly. "
    text = sentence_a * 6 + sentence_b * 6
    (s,) = scorer.score([text])
    _check_valid(s)
    assert s.chunks > 1
    assert s.note == f"long: {s.chunks} chunks"
    truncating = SentimentScorer(sharp_model, backend="torch", max_length=64,
                                 long_text="truncate")
    (t,) = truncating.score([text])
    assert t.chunks == 1 and t.note.startswith("long: truncated")
    assert not np.allclose(list(s.probabilities.values()), list(t.probabilities.values()))


def test_very_long_text_caps_the_chunks(scorer: SentimentScorer) -> None:
    text = ("Nice place with friendly staff. " * 1700)[:50_000]
    assert len(text) == 50_000
    (s,) = scorer.score([text])
    _check_valid(s)
    assert s.chunks == scorer.max_chunks == 16
    assert s.note.startswith("long: ") and "scored the first 8 and last 8" in s.note
    # A run-on text without sentence ends is cut into token windows.
    (r,) = scorer.score(["word " * 5000])
    assert r.chunks == 16


def test_non_str_input_is_a_type_error(scorer: SentimentScorer) -> None:
    with pytest.raises(TypeError, match=r"texts\[1\] is float"):
        scorer.score(["fine", float("nan")])
    with pytest.raises(TypeError, match=r"texts\[0\] is NoneType"):
        scorer.predict_proba([None])
    with pytest.raises(TypeError, match="single str"):
        scorer.score("a review")
    with pytest.raises(TypeError, match="sequence of str"):
        scorer.score(42)


def test_model_with_other_labels_is_refused(tiny_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "other"
    shutil.copytree(tiny_model, folder)
    config = json.loads((folder / "config.json").read_text())
    config["id2label"] = {"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"}
    config["label2id"] = {"LABEL_0": 0, "LABEL_1": 1, "LABEL_2": 2}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLabelsError, match="LABEL_0"):
        SentimentScorer(folder)
    config["id2label"] = {"0": "positive", "1": "neutral", "2": "negative"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLabelsError, match="in that order"):
        SentimentScorer(folder)


def test_bad_arguments(tiny_model: Path) -> None:
    with pytest.raises(ValueError, match="backend"):
        SentimentScorer(tiny_model, backend="tensorflow")
    with pytest.raises(ValueError, match="max_length"):
        SentimentScorer(tiny_model, max_length=4096)
    with pytest.raises(ValueError, match="long_text"):
        SentimentScorer(tiny_model, long_text="cut")
    with pytest.raises(FileNotFoundError, match="no ONNX export"):
        SentimentScorer(tiny_model, backend="onnx")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_packaged_base_checkpoint_with_fresh_head(tmp_path: Path) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from nlp.checkpoint import default_base_model
    from nlp.labels import ID2LABEL, LABEL2ID

    base = default_base_model()
    model = AutoModelForSequenceClassification.from_pretrained(
        base, local_files_only=True, num_labels=3, id2label=ID2LABEL, label2id=LABEL2ID)
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    model.save_pretrained(tmp_path / "base")
    tokenizer.save_pretrained(tmp_path / "base")
    scorer = SentimentScorer(tmp_path / "base")
    assert scorer.backend_ == "torch"
    results = scorer.score(["Loved the ceviche!", "El servicio fue pésimo.", "It was fine."])
    assert len(results) == 3
    for s in results:
        _check_valid(s)
        assert s.chunks == 1


# --- nlp.text ---------------------------------------------------------------------------------


def test_clean_and_blank() -> None:
    assert clean("  Hola\u200b  mundo\t\tx\r\n\r\n  second\x00line \ufeff ") == \
        "Hola mundo x\nsecond line"
    assert clean("a\nb", newlines=False) == "a b"
    assert [is_blank(t) for t in ["", " \n", "\u200b", "...", "ok", "😍", "5"]] == \
        [True, True, True, True, False, False, False]


def test_emoji_to_words() -> None:
    assert emoji_to_words("😍😍😍") == "love it"
    assert emoji_to_words("👎🏽") == "bad"
    assert emoji_to_words("great😋food") == "great delicious food"
    assert emoji_to_words("⭐⭐⭐⭐⭐") == "5 stars"
    assert emoji_to_words("★★☆☆☆") == "2 out of 5 stars"
    assert emoji_to_words("🍕") == "slice of pizza"
    assert emoji_to_words("at 10:30, see http://x.com") == "at 10:30, see http://x.com"
    assert emoji_to_words("Pasta:)") == "Pasta happy"
    assert is_emoji_only("😡 👎!!") and is_emoji_only(":(")
    assert not is_emoji_only("bad 😡") and not is_emoji_only("")


def test_sentences_english_and_spanish() -> None:
    assert sentences("¡Qué rico! ¿Volveremos? Sí... seguro. Great food 😍 Will return") == \
        ["¡Qué rico!", "¿Volveremos?", "Sí... seguro.", "Great food 😍", "Will return"]
    assert sentences("The food was... okay. Mr. Smith served us. Paid Rs. 500 for 4.5 stars, "
                     "e.g. good.") == \
        ["The food was... okay.", "Mr. Smith served us.",
         "Paid Rs. 500 for 4.5 stars, e.g. good."]
    assert sentences("bueno.¡Genial! Great!! 😍😍 Will come\nVolveré\n😍😍") == \
        ["bueno.", "¡Genial!", "Great!! 😍😍", "Will come", "Volveré\n😍😍"]
    assert sentences('He said "great food." Then left.') == ['He said "great food."',
                                                              "Then left."]
    assert sentences("") == [] and sentences("  \n ") == []


def test_repeated_texts_are_scored_once(scorer: SentimentScorer, monkeypatch) -> None:
    long = "The biryani was flavourful. " * 200  # several windows, and a note
    texts = ["Good food", "Nice", "Good food", long, "  Good   food ", long, "😍😍", "😍😍"]
    seen: list[int] = []
    batch_arrays = scorer._batch_arrays

    def counting(windows):
        seen.append(len(windows))
        return batch_arrays(windows)

    monkeypatch.setattr(scorer, "_batch_arrays", counting)
    results = scorer.score(texts)
    distinct = scorer.score(["Good food", "Nice", long, "😍😍"])
    assert sum(seen) == 2 * sum(s.chunks for s in distinct)  # each distinct text once a call
    for i, j in [(0, 0), (1, 1), (2, 0), (3, 2), (4, 0), (5, 2), (6, 3), (7, 3)]:
        assert results[i] == distinct[j]
    assert results[5].note.startswith("long:") and results[7].note == "emoji-only"
