"""nlp.train and nlp.card: fine-tuning the tiny test BERT end to end, in seconds."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from nlp.card import read_training_info
from nlp.data import load_reviews, split
from nlp.labels import ID2LABEL, LABEL2ID, LABELS
from nlp.train import (
    TrainConfig,
    TrainResult,
    _length_grouped_batches,
    _predict_proba,
    class_weights,
    evaluate_split,
    fine_tune,
)

REVIEWS = {
    "1": ["Terrible service, cold food", "Horrible, nunca más", "The waiter ignored us",
          "La sopa estaba salada y fría", "Overpriced and bland", "Muy sucio el baño"],
    "2.5": ["Not bad but slow", "Podría mejorar mucho"],
    "3": ["It was okay", "Normal, nada especial", "Average ceviche", "Regular la atención"],
    "3.5": ["Decent, a bit pricey", "Aceptable"],
    "4": ["Good food, friendly staff", "Muy rico el lomo saltado", "Nice terrace", "Buen precio"],
    "4.5": ["Lovely dinner", "Excelente pisco sour"],
    "5": ["Best restaurant in Lima!", "Todo perfecto, volveremos", "Amazing desserts",
          "La mejor cebichería", "Superb wine list", "Atención de primera"],
}


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads, and on small VMs OpenMP spinning costs 100x."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> datasets.DatasetDict:
    """30 usable English/Spanish reviews (12 negative-ish, 6 neutral, 12 positive) + 2 bad rows."""
    folder = tmp_path_factory.mktemp("reviews")
    rows = [(text, rating) for rating, texts in REVIEWS.items() for text in texts]
    rows += [("", "5"), ("Sin nota", "excelente")]
    path = folder / "reviews.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("review", "rating"), *rows])
    loaded = load_reviews(path, text_col="review", rating_col="rating",
                          cache_dir=folder / "hf-cache")
    assert loaded.dropped == 2
    return split(loaded.dataset, val_size=0.2, test_size=0.2, seed=0)


def config(tiny_model: Path, **overrides) -> TrainConfig:
    settings = {"base_model": tiny_model, "epochs": 2, "batch_size": 8, "max_steps": 2,
                "learning_rate": 1e-3, "max_length": 32, "device": "cpu"} | overrides
    return TrainConfig(**settings)


@pytest.fixture(scope="module")
def trained(small_data: datasets.DatasetDict, tiny_model: Path,
            tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    out = tmp_path_factory.mktemp("trained") / "model"
    return fine_tune(small_data, out, config(tiny_model), progress=False,
                     data_description="32 hand-written reviews, EN/ES")


def test_saves_a_loadable_model_with_the_label_map(trained: TrainResult) -> None:
    model = AutoModelForSequenceClassification.from_pretrained(trained.path, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(trained.path, local_files_only=True)

    assert model.config.id2label == ID2LABEL
    assert model.config.label2id == LABEL2ID
    encoded = tokenizer(["Muy rico", "Awful"], padding=True, return_tensors="pt")
    assert model(**encoded).logits.shape == (2, len(LABELS))


def test_saved_model_is_the_best_epoch(trained: TrainResult,
                                       small_data: datasets.DatasetDict) -> None:
    model = AutoModelForSequenceClassification.from_pretrained(trained.path, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(trained.path, local_files_only=True)

    best = trained.history[trained.metrics["best_epoch"] - 1]
    rescored = evaluate_split(model, tokenizer, small_data["validation"], 8, 32)
    assert rescored == trained.metrics["validation"]
    assert rescored["macro_f1"] == best["validation_macro_f1"]
    assert rescored["macro_f1"] == max(h["validation_macro_f1"] for h in trained.history)
    # The test split is scored with the neutral band chosen on the validation split.
    assert evaluate_split(model, tokenizer, small_data["test"], 8, 32,
                          neutral_offset=trained.metrics["neutral_offset"]) == \
        trained.metrics["test"]


def test_metrics_and_history(trained: TrainResult, small_data: datasets.DatasetDict) -> None:
    metrics = trained.metrics
    for name in ("validation", "test"):
        scores = metrics[name]
        assert scores["rows"] == len(small_data[name])
        assert 0 <= scores["macro_f1"] <= 1 and 0 <= scores["accuracy"] <= 1
        assert list(scores["per_class"]) == list(LABELS)
        assert sum(c["support"] for c in scores["per_class"].values()) == scores["rows"]
        assert np.sum(scores["confusion_matrix"]) == scores["rows"]
    assert metrics["epochs_run"] == len(trained.history) == 2
    assert metrics["best_epoch"] in (1, 2)
    assert metrics["train_rows"] == len(small_data["train"])
    assert metrics["train_steps"] == 4  # 2 epochs cut at max_steps=2
    assert metrics["device"] == "cpu"
    assert metrics["train_seconds"] > 0
    assert [h["epoch"] for h in trained.history] == [1, 2]
    assert all(h["steps"] == 2 and np.isfinite(h["train_loss"]) for h in trained.history)


def test_model_card_and_training_json(trained: TrainResult, tiny_model: Path) -> None:
    info = read_training_info(trained.path)

    assert info["metrics"] == trained.metrics
    assert info["history"] == trained.history
    assert info["base_model"] == str(tiny_model)
    assert info["data"] == "32 hand-written reviews, EN/ES"
    assert info["labels"] == list(LABELS)
    assert info["label2id"] == LABEL2ID
    assert info["rating_to_label"]["2.5"] == "negative"
    assert info["rating_to_label"]["3.5"] == "neutral"
    assert info["seed"] == 0
    assert info["hyperparameters"]["learning_rate"] == 1e-3
    assert info["hyperparameters"]["base_model"] == str(tiny_model)
    assert datetime.fromisoformat(info["created"]).tzinfo is not None

    card = (trained.path / "model_card.md").read_text(encoding="utf-8")
    assert str(tiny_model) in card
    assert "32 hand-written reviews, EN/ES" in card
    assert "| 2 | positive |" in card
    assert f"| test | {trained.metrics['test']['rows']} |" in card
    assert f"{trained.metrics['test']['macro_f1']:.4f}" in card
    assert "| seed | `0` |" in card


def test_same_seed_same_model(small_data: datasets.DatasetDict, tiny_model: Path,
                              tmp_path: Path) -> None:
    runs = [fine_tune(small_data, tmp_path / name, config(tiny_model, epochs=1, seed=seed),
                      progress=False) for name, seed in (("a", 7), ("b", 7), ("c", 8))]
    weights = [load_file(run.path / "model.safetensors") for run in runs]

    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert not all(torch.equal(weights[0][k], weights[2][k]) for k in weights[0])

    def scores(run: TrainResult) -> tuple:
        return (run.metrics["validation"], run.metrics["test"],
                [h["train_loss"] for h in run.history])

    assert scores(runs[0]) == scores(runs[1])


def test_early_stopping_when_nothing_improves(small_data: datasets.DatasetDict,
                                              tiny_model: Path, tmp_path: Path) -> None:
    result = fine_tune(small_data, tmp_path / "model",
                       config(tiny_model, epochs=5, patience=1, learning_rate=0.0, max_steps=1),
                       progress=False)

    assert result.metrics["epochs_run"] == 2
    assert result.metrics["best_epoch"] == 1
    assert result.metrics["stopped_early"] is True
    assert [h["improved"] for h in result.history] == [True, False]
    assert result.history[0]["validation_macro_f1"] == result.history[1]["validation_macro_f1"]


def test_class_weights_are_inverse_frequency() -> None:
    assert class_weights([0, 0, 0, 2]) == [4 / (2 * 3), 0.0, 4 / (2 * 1)]
    assert class_weights([0, 1, 2, 2]) == [4 / 3, 4 / 3, 4 / 6]
    assert class_weights([0, 0, 2], "none") == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="class weighting"):
        class_weights([0], "inverse")


def test_class_weights_come_from_the_train_split(trained: TrainResult,
                                                 small_data: datasets.DatasetDict) -> None:
    train = np.bincount(small_data["train"]["label"], minlength=3)
    expected = [train.sum() / (3 * n) for n in train]
    assert list(trained.metrics["class_weights"].values()) == pytest.approx(expected)
    assert list(trained.metrics["class_weights"]) == list(LABELS)


def test_predict_proba_keeps_input_order(trained: TrainResult) -> None:
    model = AutoModelForSequenceClassification.from_pretrained(trained.path, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(trained.path, local_files_only=True)
    texts = ["A very long review about the ceviche, the pisco and the slow service " * 3,
             "ok", "Muy rico todo", "Bad"]

    together = _predict_proba(model, tokenizer, texts, batch_size=3, max_length=64)
    one_by_one = np.vstack([_predict_proba(model, tokenizer, [t], 1, 64) for t in texts])

    assert together.shape == (4, len(LABELS))
    np.testing.assert_allclose(together.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)


def test_length_grouped_batches_cover_every_row_once_and_pad_little() -> None:
    lengths = np.random.default_rng(0).integers(5, 128, size=1000).tolist()
    batches = _length_grouped_batches(lengths, 32, torch.Generator().manual_seed(0))

    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    assert [len(b) for b in batches].count(32) == len(batches) - 1

    def padded(batches: list[list[int]]) -> int:
        return sum(max(lengths[i] for i in b) * len(b) for b in batches)

    shuffled = np.random.default_rng(1).permutation(len(lengths)).tolist()
    random_batches = [shuffled[i:i + 32] for i in range(0, len(lengths), 32)]
    assert padded(batches) < 0.8 * padded(random_batches)
    assert batches == _length_grouped_batches(lengths, 32, torch.Generator().manual_seed(0))


def test_bad_config_and_data_are_refused(small_data: datasets.DatasetDict, tiny_model: Path,
                                         tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="class_weighting"):
        TrainConfig(class_weighting="inverse")
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        TrainConfig(epochs=0)
    no_validation = datasets.DatasetDict({"train": small_data["train"]})
    with pytest.raises(ValueError, match="'validation' split"):
        fine_tune(no_validation, tmp_path / "m", config(tiny_model), progress=False)
    assert not (tmp_path / "m").exists()


def test_probe_head_starts_from_a_fitted_linear_probe(small_data: datasets.DatasetDict,
                                                      tiny_model: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    from nlp.probe import pooled_features, probe_head

    cfg = config(tiny_model, head_init="probe")
    tokenizer = AutoTokenizer.from_pretrained(tiny_model, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model, local_files_only=True)
    train = small_data["train"]
    weights = class_weights(train["label"])
    probe_head(model, tokenizer, train, weights, cfg.batch_size, cfg.max_length,
               torch.device("cpu"))

    features = pooled_features(model, tokenizer, list(train["text"]), 8, 32,
                               torch.device("cpu"))
    reference = LogisticRegression(C=1.0, max_iter=2000, class_weight=dict(enumerate(weights)))
    reference.fit(features, np.asarray(train["label"]))
    with torch.no_grad():
        logits = model.classifier(torch.from_numpy(features)).numpy()
    # The head now is the probe: same decision function on the frozen features.
    np.testing.assert_allclose(logits, reference.decision_function(features), atol=1e-4)
    assert list(logits.argmax(axis=1)) == list(reference.predict(features))


def test_fine_tune_with_a_probed_head(small_data: datasets.DatasetDict, tiny_model: Path,
                                      tmp_path: Path) -> None:
    result = fine_tune(small_data, tmp_path / "probed", config(tiny_model, head_init="probe"),
                       progress=False)
    assert result.metrics["epochs_run"] == 2
    assert read_training_info(result.path)["hyperparameters"]["head_init"] == "probe"
    with pytest.raises(ValueError, match="head_init"):
        TrainConfig(head_init="zeros")
