"""Several labelled files in one corpus: per-source splits, aspect files, languages."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from nlp.corpus import Source, default_recipe, load_corpus, sentence_label
from nlp.data import DataError


@pytest.mark.parametrize(("polarities", "label"), [
    (["positive"], "positive"), (["positive", "positive"], "positive"),
    (["negative", "neutral"], "negative"), (["neutral"], "neutral"),
    (["positive", "negative"], "neutral"), (["conflict"], "neutral"),
    (["conflict", "positive"], "neutral"), ([], None), (["great"], None)])
def test_a_sentence_gets_one_label_from_its_aspects(polarities: list[str],
                                                   label: str | None) -> None:
    assert sentence_label(polarities) == label


def _files(tmp_path: Path) -> tuple[Path, Path]:
    reviews = tmp_path / "reviews.csv"
    pd.DataFrame({"review": [f"review number {i}" for i in range(40)] + ["review number 0", ""],
                  "stars": [1, 3, 5, 4] * 10 + [5, 5]}).to_csv(reviews, index=False)
    aspects = tmp_path / "aspects.csv"
    rows = []
    for i in range(30):
        polarity = ["positive", "negative", "neutral"][i % 3]
        rows.append({"sentence_id": f"s{i}", "text": f"frase {i}", "polarity": polarity})
        if i % 5 == 0:  # a second aspect of the same sentence
            rows.append({"sentence_id": f"s{i}", "text": f"frase {i}", "polarity": "negative"})
    pd.DataFrame(rows).to_csv(aspects, index=False)
    return reviews, aspects


def test_each_source_is_split_on_its_own_and_keeps_its_language(tmp_path: Path) -> None:
    reviews, aspects = _files(tmp_path)
    corpus = load_corpus([
        Source.parse(f"{reviews}::text=review,rating=stars,language=en"),
        Source.parse(f"{aspects}::label=polarity,sentence=sentence_id,language=es,name=es")])
    data = corpus.data
    assert set(data) == {"train", "validation", "test"}
    for part in data.values():
        assert set(part["language"]) == {"en", "es"}  # both languages in every split
        assert {"text", "label", "language", "source"} <= set(part.column_names)
    total = {src: sum(part["source"].count(src) for part in data.values())
             for src in ("reviews", "es")}
    assert total == {"reviews": 40, "es": 30}  # one empty and one repeated review dropped
    assert corpus.loaded["reviews"].dropped_reasons == {"empty text": 1, "duplicate text": 1}
    texts = [t for part in data.values() for t in part["text"]]
    assert len(texts) == len(set(texts))
    es = {t: label for part in data.values()
          for t, label, s in zip(part["text"], part["label"], part["source"], strict=True)
          if s == "es"}
    assert es["frase 5"] == 0  # neutral + negative aspects -> negative
    assert es["frase 0"] == 1  # positive + negative -> neutral (mixed)


def test_a_source_spec_names_what_is_wrong(tmp_path: Path) -> None:
    reviews, _ = _files(tmp_path)
    with pytest.raises(DataError, match="colour=red"):
        Source.parse(f"{reviews}::colour=red,language=en")
    with pytest.raises(DataError, match="max_rows"):
        Source.parse(f"{reviews}::rating=stars,language=en,max_rows=lots")
    with pytest.raises(DataError, match="share a name"):
        load_corpus([Source.parse(f"{reviews}::text=review,rating=stars,language=en")] * 2)


def test_a_source_without_a_language_is_detected_row_by_row(tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.csv"
    pd.DataFrame({"text": ["La comida estuvo deliciosa y el servicio fue excelente.",
                           "The food was cold and the waiter ignored us completely.",
                           "esta muy rico pero el servicio fue lento"] * 4,
                  "label": ["positive", "negative", "neutral"] * 4}).to_csv(mixed, index=False)
    corpus = load_corpus([Source.parse(f"{mixed}::label=label,dedupe=false")], val_size=0.25,
                         test_size=0.25)
    rows = {t: lang for part in corpus.data.values()
            for t, lang in zip(part["text"], part["language"], strict=True)}
    assert set(rows.values()) == {"es", "en"}
    assert rows["esta muy rico pero el servicio fue lento"] == "es"
    assert "mixed [es 8/en 4]" in corpus.describe()


def test_the_default_recipe_reads_the_real_files_in_both_languages(shared_data: Path) -> None:
    corpus = load_corpus(default_recipe(shared_data, zomato_rows=300))
    languages = {name: set(part.dataset["language"]) for name, part in corpus.loaded.items()}
    assert languages == {"zomato": {"en"}, "semeval2014_en": {"en"}, "semeval2016_es": {"es"}}
    assert len(corpus.loaded["semeval2016_es"].dataset) > 1500
    assert "semeval2016_es [es]" in corpus.describe()


def test_a_spec_takes_the_commands_options_where_it_says_nothing(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    plain = Source.parse(str(path), text_col="review", label_col="polarity", language="es")
    assert (plain.text_col, plain.label_col, plain.rating_col) == ("review", "polarity", None)
    own = Source.parse(f"{path}::rating=stars", text_col="review", label_col="polarity")
    assert (own.text_col, own.rating_col, own.label_col) == ("review", "stars", None)
    both = Source.parse(f"{path}::rating=stars,label=polarity")
    assert (both.rating_col, both.label_col) == ("stars", "polarity")  # refused by the caller
