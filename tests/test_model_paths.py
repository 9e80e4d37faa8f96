"""Model folders are found through the settings, whatever directory a command runs from."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty import registry
from loyalty.config import Settings
from loyalty.models import ModelVersion, Review
from loyalty.sentiment.training import train_sentiment
from nlp.corpus import Source
from tests.test_jobs import _reviews


def test_stored_relative_to_the_model_dir_or_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings(home=Path("var"), database_url="sqlite://")
    inside = registry.artifact_dir(settings.model_dir, registry.CHURN, "v1")
    assert registry.stored_path(inside, settings.model_dir) == "churn/v1"
    assert registry.stored_path(tmp_path / inside, settings.model_dir) == "churn/v1"
    outside = tmp_path / "elsewhere" / "model"
    assert registry.stored_path(outside, settings.model_dir) == str(outside)
    assert registry.stored_path(Path("elsewhere/model"), None) == str(outside)
    assert registry.resolve_path(settings, "churn/v1") == Path("var/models/churn/v1")
    assert registry.resolve_path(settings, str(outside)) == outside


def test_a_model_registered_from_one_directory_loads_from_another(engine, db_url, tiny_model,
                                                                   tmp_path, monkeypatch,
                                                                   capsys):
    from api import create_app
    from api.config import Config
    from loyalty.cli import main

    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    _reviews(engine, tmp_path, n=6)
    data = tmp_path / "train.csv"
    texts = ["Delicious ceviche, lovely staff", "Cold food and a rude waiter", "It was okay"]
    pd.DataFrame({"text": [f"{t} (visit {i})" for i in range(8) for t in texts],
                  "rating": [5, 1, 3] * 8}).to_csv(data, index=False)
    # Trained with the default home, `var`, relative to the directory it ran in.
    monkeypatch.chdir(first)
    outcome = train_sentiment(engine, Settings(home=Path("var"), database_url=db_url),
                              [Source(str(data), rating_col="rating")],
                              base_model=tiny_model, epochs=1, batch_size=8, onnx=False)
    assert outcome.promoted

    # The same home named absolutely, from another directory.
    monkeypatch.chdir(second)
    monkeypatch.setenv("LOYALTY_HOME", str(first / "var"))
    monkeypatch.setenv("LOYALTY_DATABASE_URL", db_url)
    folder = first / "var" / "models" / "sentiment" / outcome.version
    assert main(["models", "list"]) == 0
    assert str(folder) in capsys.readouterr().out
    assert main(["reviews", "score"]) == 0, capsys.readouterr().err
    assert f"scored 6 reviews with sentiment model {outcome.version}" in capsys.readouterr().out
    with Session(engine) as session:
        assert all(r.sentiment_label for r in session.scalars(select(Review)))
    app = create_app(Config(settings=Settings.from_env(), testing=True))
    try:
        app.extensions["loyalty.models"].sentiment()
        assert app.extensions["loyalty.models"].sentiment_version == outcome.version
    finally:
        app.extensions["loyalty.db"].engine.dispose()

    # The whole home moved elsewhere: still found, since the row names it under the model dir.
    moved = tmp_path / "moved"
    shutil.move(first / "var", moved)
    monkeypatch.setenv("LOYALTY_HOME", str(moved))
    assert main(["reviews", "score", "--rescore"]) == 0, capsys.readouterr().err
    with Session(engine) as session:
        row = session.scalars(select(ModelVersion)).one()
        assert row.path == f"sentiment/{outcome.version}"
        found = registry.by_path(session, Settings.from_env(), registry.SENTIMENT,
                                 moved / "models" / "sentiment" / outcome.version)
        assert found.id == row.id
