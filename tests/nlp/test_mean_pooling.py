"""The mean-pooling classifier: trains, saves, loads through the Auto classes, exports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nlp import checkpoint
from nlp.fast import OnnxClassifier, export_onnx
from nlp.mean_pooling import MODEL_TYPE, BertMeanPoolingForSequenceClassification
from nlp.scorer import SentimentScorer


@pytest.fixture(scope="module")
def mean_model(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mean") / "model"
    model = checkpoint.load_classifier(tiny_model, pooling="mean")
    assert isinstance(model, BertMeanPoolingForSequenceClassification)
    model.save_pretrained(folder)
    checkpoint.load_tokenizer(tiny_model).save_pretrained(folder)
    return folder


def test_it_reads_the_mean_of_the_real_tokens_only(mean_model: Path) -> None:
    model = checkpoint.load_classifier(mean_model).eval()
    assert json.loads((mean_model / "config.json").read_text())["model_type"] == MODEL_TYPE
    tokenizer = checkpoint.load_tokenizer(mean_model)
    texts = ["Great ceviche", "The waiter forgot our order twice and the soup was cold"]
    with torch.inference_mode():
        together = model(**tokenizer(texts, padding=True, return_tensors="pt")).logits
        alone = torch.cat([model(**tokenizer([t], return_tensors="pt")).logits for t in texts])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=0)  # padding changes nothing


def test_the_base_decides_the_pooling(tiny_model: Path, tmp_path: Path) -> None:
    assert checkpoint.base_pooling(tiny_model) == "cls"
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (tmp_path / "conversion.json").write_text(json.dumps({"pooling": "mean"}))
    assert checkpoint.base_pooling(tmp_path) == "mean"
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "xlm-roberta"}))
    with pytest.raises(checkpoint.CheckpointError, match="mean pooling is built for BERT"):
        checkpoint.base_pooling(tmp_path, "mean")


def test_the_fast_path_exports_every_position_and_agrees(mean_model: Path) -> None:
    texts = ["Great food", "Terrible service", "It was fine", "Comida rica", "Muy lento"] * 4
    export_onnx(mean_model, quantize=True, texts=texts, min_int8_agreement=0.99)
    report = json.loads((mean_model / "onnx" / "export.json").read_text())
    assert report["last_layer"] == "every position"  # no [CLS]-only shortcut for a mean
    assert report["max_abs_logit_diff"]["onnx"] < 1e-3
    torch_scores = SentimentScorer(mean_model, backend="torch").predict_proba(texts)
    onnx_scores = SentimentScorer(mean_model, backend="onnx").predict_proba(texts)
    np.testing.assert_allclose(onnx_scores, torch_scores, atol=1e-4)
    assert OnnxClassifier(mean_model / "onnx" / "model.onnx").input_names
