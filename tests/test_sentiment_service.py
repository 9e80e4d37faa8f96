"""The sentiment model inside the service: registry, evaluation, resumable batch scoring."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty import registry
from loyalty.ingest import ingest_file
from loyalty.models import Review
from loyalty.sentiment.batch import score_csv, score_database
from loyalty.sentiment.evaluation import evaluate_sentiment
from loyalty.sentiment.training import train_sentiment
from nlp.corpus import Source
from nlp.scorer import SentimentScorer

GOOD = ["Delicious ceviche and friendly staff", "Great food, lovely place",
        "El lomo saltado estuvo riquísimo", "Amazing pisco sour, fast service"]
BAD = ["The food was cold and the waiter was rude", "Slow service, we waited an hour",
       "La atención fue pésima y lentísima", "Overpriced and bland"]
MEH = ["It was okay, nothing special", "Average food, average prices"]


def _reviews_csv(path, n=48):
    rows = []
    for i in range(n):
        group, rating = [(GOOD, 5), (BAD, 1), (MEH, 3)][i % 3]
        rows.append({"text": f"{group[i % len(group)]} ({i})", "rating": rating})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


class Dies:
    """A scorer that stops the process after ``after`` chunks, as a kill would."""

    def __init__(self, scorer: SentimentScorer, after: int) -> None:
        self.scorer, self.left = scorer, after

    def score(self, texts, progress=False):
        if self.left == 0:
            raise KeyboardInterrupt
        self.left -= 1
        return self.scorer.score(texts)

    def predict_proba(self, texts):
        return self.scorer.predict_proba(texts)


@pytest.fixture
def scorer(tiny_model):
    return SentimentScorer(tiny_model, backend="torch")


def test_train_registers_and_promotes_and_evaluate_uses_the_same_rows(engine, settings,
                                                                      tiny_model, tmp_path):
    data = _reviews_csv(tmp_path / "reviews.csv")
    outcome = train_sentiment(engine, settings, [Source(str(data), rating_col="rating")],
                              base_model=tiny_model, epochs=1, batch_size=8,
                              head_init="probe", onnx=False)
    assert outcome.promoted and (outcome.path / "model_card.md").is_file()
    with Session(engine) as session:
        row = registry.production(session, registry.SENTIMENT)
        assert row.version == outcome.version
        # Stored relative to the model directory, found through the settings.
        assert row.path == f"sentiment/{outcome.version}"
        assert registry.resolve_path(settings, row) == outcome.path
        assert row.params["head_init"] == "probe"
        assert row.metrics["test_macro_f1"] == outcome.metrics["test"]["macro_f1"]

    report = evaluate_sentiment(outcome.path, data, text_col="text", rating_col="rating",
                                label_col=None)
    assert report.source == "the model's held-out test split"
    assert set(report.results) == {"this model", "VADER", "TF-IDF + LR"}
    digests = {r["rows"] for r in report.results.values()}
    assert len(digests) == 1 and report.rows > 0
    assert "macro-F1" in report.table()


def _stored_reviews(engine, tmp_path, n=30):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "locations.csv").write_text("location_id,name\nL1,Miraflores\n", encoding="utf-8")
    (folder / "customers.csv").write_text("customer_id,signup_date\nC1,2024-01-01\n",
                                          encoding="utf-8")
    with open(folder / "reviews.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["review_id", "customer_id", "location_id", "text", "created_at"])
        for i in range(n):
            text = (GOOD + BAD)[i % 8] + ". " + ("The wait was long." if i % 2 else "")
            writer.writerow([f"R{i}", "C1", "L1", text, "2025-01-01T12:00:00"])
    for kind in ("locations", "customers", "reviews"):
        ingest_file(engine, kind, folder / f"{kind}.csv", tz=ZoneInfo("America/Lima"))


def _version(engine, path) -> int:
    with Session(engine) as session:
        row = registry.register(session, kind=registry.SENTIMENT, version="t1", path=path,
                                metrics={}, seed=0)
        session.commit()
        return row.id


def test_database_scoring_survives_a_kill_and_scores_nothing_twice(engine, scorer, tmp_path,
                                                                   tiny_model):
    _stored_reviews(engine, tmp_path)
    version_id = _version(engine, tiny_model)
    with pytest.raises(KeyboardInterrupt):
        score_database(engine, Dies(scorer, after=2), version_id, chunk_size=7)
    with Session(engine) as session:
        first = {r.id: r.scored_at for r in session.scalars(select(Review))
                 if r.scored_at is not None}
    assert len(first) == 14  # two whole chunks, nothing half-written

    counts = score_database(engine, scorer, version_id, chunk_size=7)
    assert counts.scored == 16
    with Session(engine) as session:
        reviews = session.scalars(select(Review)).all()
        assert all(r.sentiment_model_version_id == version_id for r in reviews)
        assert all(r.scored_at == first[r.id] for r in reviews if r.id in first)
        for r in reviews:
            assert r.prob_negative + r.prob_neutral + r.prob_positive == pytest.approx(1)
            assert r.sentiment_score == pytest.approx(r.prob_positive - r.prob_negative)
            assert r.sentiment_label in ("negative", "neutral", "positive")
        waited = [r for r in reviews if "The wait was long" in r.text]
        assert waited and all("wait" in r.aspects for r in waited)
        # The detected language is stored with the sentiment, in the same chunk.
        assert {(r.text.startswith(("El lomo", "La atención")), r.language_detected)
                for r in reviews} == {(True, "es"), (False, "en")}
        assert all(r.language is None and r.effective_language == r.language_detected
                   for r in reviews)
    assert score_database(engine, scorer, version_id).scored == 0


def test_csv_scoring_resumes_after_a_kill(tmp_path, scorer):
    source = tmp_path / "in.csv"
    texts = [(GOOD + BAD + MEH)[i % 10] + f" #{i}" for i in range(23)] + ["", "   "]
    pd.DataFrame({"id": range(len(texts)), "text": texts}).to_csv(source, index=False)
    out = tmp_path / "out.csv"
    with pytest.raises(KeyboardInterrupt):
        score_csv(source, out, Dies(scorer, after=2), chunk_size=5)
    with open(out, "ab") as fh:
        fh.write(b"half a line that a kill left beh")  # what a kill mid-write leaves
    counts = score_csv(source, out, scorer, chunk_size=5)
    assert counts.skipped == 10 and counts.scored == 15 and counts.empty == 2
    scored = pd.read_csv(out, keep_default_na=False)
    assert scored["id"].tolist() == list(range(25))
    assert {"sentiment_label", "prob_negative", "prob_neutral", "prob_positive",
            "sentiment_score", "service_mentioned", "wait_sentiment"} <= set(scored.columns)
    assert list(scored.columns[-2:]) == ["language", "language_detected"]
    assert scored.loc[23, "sentiment_label"] == "neutral"
    assert scored.loc[:1, "language"].tolist() == ["en", "en"]  # Delicious..., Great food...
    assert scored.loc[2, "language"] == "es"  # El lomo saltado estuvo riquísimo
    assert scored.loc[23:, "language"].tolist() == ["und", "und"]  # blank texts
    assert (scored["language"] == scored["language_detected"]).all()  # no language given
    fresh = tmp_path / "fresh.csv"
    score_csv(source, fresh, scorer, chunk_size=50)
    pd.testing.assert_frame_equal(scored, pd.read_csv(fresh, keep_default_na=False),
                                  check_exact=False, atol=1e-5)


def test_a_given_language_is_kept_and_the_detected_one_stored_beside_it(engine, scorer,
                                                                        tmp_path, tiny_model):
    """Scoring never overwrites the language an import gave; a review scored before languages
    were detected gets one from the next run without being scored again."""
    _stored_reviews(engine, tmp_path, n=8)
    version_id = _version(engine, tiny_model)
    with Session(engine) as session, session.begin():
        rows = session.scalars(select(Review).order_by(Review.id)).all()
        rows[2].language = "en"  # "El lomo saltado estuvo riquísimo": the import says English
        rows[0].language = "en"
        at = pd.Timestamp("2025-06-01", tz="UTC").to_pydatetime()
        rows[7].sentiment_model_version_id, rows[7].scored_at = version_id, at
        rows[7].sentiment_label, rows[7].sentiment_score = "negative", -0.5
        ids = [r.id for r in rows]
    counts = score_database(engine, scorer, version_id)
    assert (counts.scored, counts.languages) == (7, 1)
    with Session(engine) as session:
        got = {r.id: r for r in session.scalars(select(Review))}
    lomo, first, old = got[ids[2]], got[ids[0]], got[ids[7]]
    assert (lomo.language, lomo.language_detected, lomo.effective_language) == ("en", "es", "en")
    assert (first.language, first.language_detected) == ("en", "en")
    # Only its language was added: its sentiment is the one it had.
    assert (old.language_detected, old.sentiment_score, old.scored_at) == ("en", -0.5, at)
    assert all(r.language_detected in ("es", "en") for r in got.values())
    assert score_database(engine, scorer, version_id).languages == 0


def test_a_csv_language_column_is_the_given_language(tmp_path, scorer):
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    texts = ["El lomo saltado estuvo riquísimo", "Great food, lovely place",
             "La atención fue pésima y lentísima", "Delicious ceviche", "👍"]
    pd.DataFrame({"language": [" EN ", "es", "fr", "", "es"], "text": texts}).to_csv(
        source, index=False)
    score_csv(source, out, scorer)
    scored = pd.read_csv(out, keep_default_na=False)
    assert list(scored.columns).count("language") == 1  # replaced, not written twice
    assert scored.columns[0] == "text" and list(scored.columns[-2:]) == ["language",
                                                                         "language_detected"]
    assert scored["language"].tolist() == ["en", "es", "es", "en", "es"]
    assert scored["language_detected"].tolist() == ["es", "en", "es", "en", "und"]


def test_cli_scores_a_csv_and_refuses_without_a_model(tmp_path, tiny_model, capsys):
    from loyalty.cli import main

    url = ["--database-url", f"sqlite:///{tmp_path / 'x.db'}"]
    assert main([*url, "db", "upgrade"]) == 0
    source = tmp_path / "in.csv"
    pd.DataFrame({"review": GOOD + BAD}).to_csv(source, index=False)
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    assert main([*url, "reviews", "score", "--csv", str(source), "--out",
                 str(tmp_path / "out.csv"), "--text-col", "review", "--model", str(model)]) == 0
    assert "scored 8 reviews" in capsys.readouterr().out
    assert main([*url, "reviews", "score"]) == 1
    assert "no sentiment model in production" in capsys.readouterr().err
    assert main([*url, "nlp", "evaluate", "--data", str(source), "--text-col", "review",
                 "--rating-col", "x", "--label-col", "y"]) == 2


def test_the_api_the_batch_job_and_the_csv_path_agree_on_every_text(engine, settings, tmp_path):
    """The same text and model give the same label, language and score (within 1e-6) through
    `POST /reviews/score` (one request), the database job (chunks of 7) and a CSV (one chunk
    of 256), on the int8 backend the service picks by itself."""
    from api import create_app
    from api.config import Config
    from loyalty.keys import create_key
    from nlp.checkpoint import write_tiny_bert
    from nlp.fast import export_onnx
    from tests.nlp.test_scorer import sharpen

    # Outputs that differ between texts as a trained model's do (see test_batch_independence).
    folder = sharpen(write_tiny_bert(tmp_path / "tiny", seed=0, initializer_range=0.1),
                     tmp_path / "model", gain=1.0)
    export_onnx(folder, quantize=True)
    scorer = SentimentScorer(folder)
    assert scorer.backend_ == "onnx-int8"
    _stored_reviews(engine, tmp_path)
    with Session(engine) as session, session.begin():
        row = registry.register(session, kind=registry.SENTIMENT, version="t1", path=folder,
                                metrics={}, seed=0)
        registry.promote(session, row)
        version_id = row.id
    score_database(engine, scorer, version_id, chunk_size=7)
    with Session(engine) as session:
        job = {r.text: (r.sentiment_label, r.sentiment_score, r.language_detected)
               for r in session.scalars(select(Review))}
    texts = sorted(job)

    source, out = tmp_path / "texts.csv", tmp_path / "scored.csv"
    pd.DataFrame({"text": texts}).to_csv(source, index=False)
    score_csv(source, out, scorer, chunk_size=256)
    scored = pd.read_csv(out, keep_default_na=False)
    from_csv = dict(zip(scored["text"], zip(scored["sentiment_label"],
                                            scored["sentiment_score"],
                                            scored["language_detected"], strict=True),
                        strict=True))

    app = create_app(Config(settings=settings, testing=True))
    try:
        with Session(engine) as session, session.begin():
            _, key = create_key(session, role="staff", name="agreement test")
        answer = app.test_client().post("/api/v1/reviews/score", json={"texts": texts},
                                        headers={"Authorization": f"Bearer {key}"})
    finally:
        app.extensions["loyalty.db"].engine.dispose()
    assert answer.status_code == 200, answer.get_data(as_text=True)
    from_api = {t: (item["label"], item["score"], item["language"])
                for t, item in zip(texts, answer.json["items"], strict=True)}
    for text in texts:
        labels = {(job[text][0], job[text][2]), (from_csv[text][0], from_csv[text][2]),
                  (from_api[text][0], from_api[text][2])}
        scores = [job[text][1], from_csv[text][1], from_api[text][1]]
        assert len(labels) == 1 and max(scores) - min(scores) <= 1e-6, (text, job[text],
                                                                       from_csv[text],
                                                                       from_api[text])


def test_awkward_reviews_each_get_a_defined_result(tiny_model: Path) -> None:
    """A third language, code-switching, accent-stripped Spanish, emoji, empty and very long
    text: every one gets a label, probabilities that sum to 1, and a language value."""
    from loyalty.sentiment.scoring import review_columns, score_texts
    from nlp.language import LABELS as LANGUAGES
    from nlp.scorer import SentimentScorer

    texts = ["Très bon restaurant, le service était parfait.",
             "La comida estuvo buenísima. But the service was really slow and rude.",
             "esta muy rico pero el servicio fue lento",
             "👍👍🔥", "", "   ",
             "El lomo saltado estaba delicioso. " * 3000]
    scored = score_texts(SentimentScorer(tiny_model, backend="torch"), texts)
    assert [s.language for s in scored[:4]] == ["other", "mixed", "es", "und"]
    assert scored[4].language == scored[5].language == "und"
    assert scored[6].language == "es"
    for item in scored:
        assert item.sentiment.label in ("negative", "neutral", "positive")
        assert abs(sum(item.sentiment.probabilities.values()) - 1) < 1e-6
        assert item.language in LANGUAGES
        assert review_columns(item)["language_detected"] == item.language
    assert scored[4].sentiment.note == "empty" and scored[4].sentiment.label == "neutral"
    assert scored[6].sentiment.chunks > 1  # read whole, in windows, not cut
