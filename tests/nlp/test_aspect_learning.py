"""Aspect-labelled sentences, the aspect figures and the aspect baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nlp.aspect_baselines import LexiconAspects, TfidfAspects
from nlp.aspect_data import (
    LEARNED_ASPECTS,
    aspect_recipe,
    aspect_splits,
    fold_polarities,
    load_aspect_sentences,
    mentions,
)
from nlp.aspect_eval import detection_scores, polarity_labels, polarity_scores, tune_thresholds
from nlp.corpus import Source, load_corpus
from nlp.data import DataError
from nlp.labels import LABELS


def test_fold_polarities():
    assert fold_polarities(["positive"]) == "positive"
    assert fold_polarities(["neutral", "negative", "neutral"]) == "negative"
    assert fold_polarities(["positive", "negative"]) == "conflict"
    assert fold_polarities(["conflict", "positive"]) == "conflict"
    assert fold_polarities(["neutral"]) == "neutral"
    with pytest.raises(DataError, match="great"):
        fold_polarities(["great"])


def _aspect_file(tmp_path, rows: list[tuple[str, str, str, str]]) -> Source:
    path = tmp_path / "aspects.csv"
    pd.DataFrame(rows, columns=["sentence_id", "text", "category", "polarity"]).to_csv(
        path, index=False)
    return Source(str(path), label_col="polarity", sentence_col="sentence_id", language="es",
                  name="tiny_es")


def test_one_row_per_sentence_with_mapped_categories(tmp_path):
    source = _aspect_file(tmp_path, [
        ("1", "La comida rica y el pisco sour también.", "food", "positive"),
        ("1", "La comida rica y el pisco sour también.", "drinks", "negative"),
        ("2", " Buen local. ", "restaurant", "positive"),
        ("3", "Caro y lento.", "price", "negative"),
        ("3", "Caro y lento.", "service", "negative"),
        ("4", "", "food", "positive"),
    ])
    table = load_aspect_sentences(source).set_index("text")
    assert list(table.index) == ["La comida rica y el pisco sour también.", "Buen local.",
                                 "Caro y lento."]
    # drinks count as food: praise and blame together are a conflict
    assert table.loc["La comida rica y el pisco sour también.", "food"] == "conflict"
    # the place as a whole is no aspect
    assert (table.loc["Buen local.", list(LEARNED_ASPECTS)] == "").all()
    assert table.loc["Caro y lento.", "price"] == "negative"
    assert table.loc["Caro y lento.", "service"] == "negative"
    assert table.loc["Caro y lento.", "ambience"] == ""


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"sentence_id": [1], "text": ["x"], "polarity": ["positive"]}).to_csv(path)
    source = Source(str(path), label_col="polarity", sentence_col="sentence_id")
    with pytest.raises(DataError, match="category"):
        load_aspect_sentences(source)


def test_splits_are_the_sentiment_corpus_splits(tmp_path):
    rows = []
    for i in range(60):
        polarity = ("positive", "negative", "neutral")[i % 3]
        aspect = ("food", "service", "price", "ambience")[i % 4]
        rows.append((str(i), f"frase numero {i} sobre {aspect}", aspect, polarity))
    source = _aspect_file(tmp_path, rows)
    splits = aspect_splits([source], seed=3)
    corpus = load_corpus([source], seed=3).data
    for which in ("train", "validation", "test"):
        assert sorted(splits[which]["text"]) == sorted(corpus[which]["text"])
        assert set(splits[which]["language"]) == {"es"}
    assert mentions(splits["train"]).shape == (len(splits["train"]), len(LEARNED_ASPECTS))


def test_detection_and_polarity_scores():
    aspects = ("food", "service")
    gold = np.array([[True, False], [True, True], [False, False]])
    predicted = np.array([[True, True], [False, True], [False, False]])
    scores = detection_scores(gold, predicted, aspects)
    # tp 2, fp 1, fn 1
    assert scores["micro"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3})
    assert scores["per_aspect"]["food"]["recall"] == 0.5
    assert scores["per_aspect"]["service"]["precision"] == 0.5

    gold_pol = np.array([["positive", ""], ["conflict", "negative"], ["neutral", ""]], object)
    pred_pol = np.array([["positive", "positive"], ["negative", "positive"],
                         ["neutral", "neutral"]], object)
    pol = polarity_scores(gold_pol, pred_pol, aspects)
    assert pol["n"] == 3 and pol["n_conflict"] == 1
    assert pol["accuracy"] == pytest.approx(2 / 3)
    assert pol["per_aspect"]["service"]["accuracy"] == 0.0


def test_thresholds_are_tuned_per_aspect():
    gold = np.array([[True, False], [True, False], [False, True], [False, False]])
    proba = np.array([[0.3, 0.1], [0.25, 0.2], [0.1, 0.9], [0.05, 0.6]])
    cuts = tune_thresholds(gold, proba)
    assert 0.1 < cuts[0] <= 0.25          # only a low cut finds both food sentences
    assert 0.6 < cuts[1] <= 0.9           # service: above the false 0.6
    assert tune_thresholds(np.zeros((2, 1), bool), np.array([[0.2], [0.9]]))[0] == 0.5


def test_polarity_labels_take_the_most_likely_class():
    proba = np.zeros((1, 2, 3))
    proba[0, 0, LABELS.index("negative")] = 1
    proba[0, 1, LABELS.index("positive")] = 1
    assert polarity_labels(proba).tolist() == [["negative", "positive"]]


class _Keywords:
    """A sentence model that says negative when it reads "slow" or "lento", else positive."""

    def predict_proba(self, texts):
        bad = np.array([("slow" in t.lower() or "lento" in t.lower()) for t in texts])
        return np.where(bad[:, None], [[0.9, 0.05, 0.05]], [[0.05, 0.05, 0.9]])


def test_lexicon_aspects_use_cues_and_fall_back_to_the_sentence():
    model = LexiconAspects(_Keywords()).fit()
    texts = ["Great ceviche but slow service.", "Top notch, all of it.", ""]
    found = model.mention_proba(texts)
    assert found.tolist() == [[1.0, 1.0, 0.0, 0.0], [0.0] * 4, [0.0] * 4]
    labels = polarity_labels(model.polarity_proba(texts))
    assert labels[0].tolist()[:2] == ["positive", "negative"]  # each clause on its own
    assert labels[1].tolist() == ["positive"] * 4               # the sentence stands in


def test_tfidf_aspects_learn_detection_and_polarity():
    food_good = [f"the food was delicious {i}" for i in range(12)]
    food_bad = [f"the food was awful {i}" for i in range(12)]
    service_bad = [f"the waiter was rude {i}" for i in range(12)]
    texts = food_good + food_bad + service_bad
    mention = np.zeros((len(texts), 4), bool)
    polarity = np.full((len(texts), 4), "", dtype=object)
    mention[:24, 0], polarity[:12, 0], polarity[12:24, 0] = True, "positive", "negative"
    mention[24:, 1], polarity[24:, 1] = True, "negative"
    model = TfidfAspects(min_df=1).fit(texts, mention, polarity)
    proba = model.mention_proba(["the food was delicious", "the waiter was rude"])
    assert proba[0, 0] > 0.5 > proba[0, 1] and proba[1, 1] > 0.5 > proba[1, 0]
    labels = polarity_labels(model.polarity_proba(["the food was awful", "rude waiter"]))
    assert labels[0, 0] == "negative"
    assert labels[1, 1] == "negative"   # one class seen for service: that class
    with pytest.raises(ValueError, match="mentions"):
        TfidfAspects().fit(texts, mention[:, :2], polarity)


def test_the_shared_semeval_files_give_both_languages(shared_data):
    splits = aspect_splits(aspect_recipe(shared_data))
    test = splits["test"]
    assert set(test["language"]) == {"en", "es"}
    assert mentions(test).any(axis=0).all()


def _tiny_corpus(tmp_path):
    """A corpus of one aspect file (sentences with aspects) and one rating-only file."""
    rows = []
    for i in range(40):
        good = i % 2 == 0
        rows.append((str(i), f"{'great' if good else 'awful'} food number {i}", "food",
                     "positive" if good else "negative"))
        if i % 4 == 0:
            rows.append((str(i), f"{'great' if good else 'awful'} food number {i}", "service",
                         "neutral"))
    aspect_source = _aspect_file(tmp_path, rows)
    reviews = tmp_path / "reviews.csv"
    pd.DataFrame({"text": [f"review {i} {'nice' if i % 2 else 'bad'}" for i in range(30)],
                  "rating": [5 if i % 2 else 1 for i in range(30)]}).to_csv(reviews, index=False)
    sources = [aspect_source, Source(str(reviews), rating_col="rating", language="en",
                                     name="reviews")]
    corpus = load_corpus(sources, seed=0).data
    return corpus, {"tiny_es": load_aspect_sentences(aspect_source)}


def test_aspect_targets_mark_the_rows_that_carry_them(tmp_path):
    from nlp.aspect_training import with_aspect_targets

    corpus, tables = _tiny_corpus(tmp_path)
    data = with_aspect_targets(corpus, tables, LEARNED_ASPECTS)
    train = data["train"].to_pandas()
    reviews = train[train["source"] == "reviews"]
    assert (reviews["aspect_labelled"] == 0).all()
    assert all(list(p) == [-100] * 4 for p in reviews["aspect_polarity"])
    sentences = train[train["source"] == "tiny_es"]
    assert (sentences["aspect_labelled"] == 1).all()
    row = sentences[sentences["text"] == "great food number 0"].iloc[0]
    assert list(row["aspect_mentions"]) == [1.0, 1.0, 0.0, 0.0]
    assert list(row["aspect_polarity"]) == [LABELS.index("positive"), LABELS.index("neutral"),
                                            -100, -100]


def test_the_review_model_learns_aspects_on_the_same_pass(tiny_model, tmp_path):
    from nlp.aspect_training import (
        ASPECTS_FILE,
        LearnedAspects,
        load_aspects,
        with_aspect_targets,
    )
    from nlp.checkpoint import load_classifier
    from nlp.train import TrainConfig, fine_tune

    corpus, tables = _tiny_corpus(tmp_path)
    data = with_aspect_targets(corpus, tables, LEARNED_ASPECTS)
    config = TrainConfig(base_model=tiny_model, epochs=2, batch_size=8, learning_rate=1e-3,
                         pooling="mean", aspects=LEARNED_ASPECTS, device="cpu",
                         head_init="probe")
    result = fine_tune(data, tmp_path / "model", config, progress=False)
    saved = load_aspects(result.path)
    assert (result.path / ASPECTS_FILE).is_file()
    assert saved["aspects"] == list(LEARNED_ASPECTS)
    assert all(0 < t < 1 for t in saved["thresholds"])
    test_figures = result.metrics["aspects"]["test"]["all"]
    assert test_figures["sentences"] == sum(data["test"]["aspect_labelled"])
    assert 0 <= test_figures["detection"]["micro"]["f1"] <= 1
    assert "validation_score" in result.history[0]

    model = load_classifier(result.path)
    assert model.config.aspect_names == list(LEARNED_ASPECTS)
    assert model.aspects is not None  # the heads are saved and loaded with the model

    learned = LearnedAspects(result.path)
    texts = ["great food number 2", "review 3 nice", ""]
    assert learned.mention_proba(texts).shape == (3, 4)
    polarity = learned.polarity_proba(texts)
    assert polarity.shape == (3, 4, 3) and np.allclose(polarity.sum(axis=-1), 1)
    with pytest.raises(ValueError, match="learned no aspects"):
        LearnedAspects(tiny_model)


def test_aspects_need_mean_pooling():
    from nlp.train import TrainConfig

    with pytest.raises(ValueError, match="mean pooling"):
        TrainConfig(pooling="cls", aspects=("food",))
    with pytest.raises(ValueError, match="distinct"):
        TrainConfig(aspects=("food", "food"))
