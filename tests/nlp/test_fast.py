"""ONNX export of the tiny BERT, agreement with torch, int8, and backend auto-selection."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from nlp.fast import OnnxClassifier, export_onnx, is_stale
from nlp.scorer import SentimentScorer
from tests.nlp.test_scorer import sharpen

TEXTS = [
    "The food was amazing and the staff were lovely.",
    "Terrible service, cold food, never again.",
    "It was okay, nothing special.",
    "La comida estaba buenísima, pero el servicio fue muy lento.",
    "¡Excelente atención! Volveremos pronto 😍",
    "El ceviche, espectacular. El pisco sour, aguado.",
    "Paid Rs. 1,200 for two; portions 4/5, ambience 3/5.",
    "meh",
    "Worst biryani I have had in Hyderabad.",
    "Great place for a Saturday brunch with friends and family.",
    "The waiter ignored us for 20 minutes.",
    "Muy caro para lo que ofrecen.",
    "Loved it!!!",
    "Not bad, not great.",
    "The pasta was overcooked and the sauce bland, but dessert saved the evening.",
    "Ambience is too good for a pleasant evening. Service is very prompt. Food is good.",
    "Pedimos lomo saltado y ají de gallina; todo llegó frío.",
    "5 stars",
    "Would not recommend.",
    "Staff were courteous and helpful. Thanks to Pradeep!",
    "Quiet, clean, good coffee.",
    "Hmm.",
    "The music was too loud to talk.",
    "Best paneer tikka in town, hands down.",
    "Delivery took 90 minutes and the food was cold.",
    "Atención rápida y amable, volveré.",
    "Decent food at a fair price.",
    "Dirty tables and rude staff.",
    "I can't wait to come back!",
    "A must try. " * 40,  # long enough to be chunked at max_length=64
]


@pytest.fixture(scope="module")
def exported(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tiny model with a sharpened head (clear labels), exported to ONNX."""
    folder = sharpen(tiny_model, tmp_path_factory.mktemp("exported") / "model")
    export_onnx(folder, quantize=True)
    return folder

def test_export_writes_checked_files(exported: Path) -> None:
    onnx_dir = exported / "onnx"
    assert (onnx_dir / "model.onnx").is_file() and (onnx_dir / "model-int8.onnx").is_file()
    assert not (onnx_dir / ".export-tmp").exists()
    report = json.loads((onnx_dir / "export.json").read_text())
    assert report["max_abs_logit_diff"]["onnx"] < 1e-3
    assert report["inputs"] == ["input_ids", "attention_mask", "token_type_ids"]
    assert report["last_layer"] == "first position only"
    assert is_stale(exported) is False
    assert (onnx_dir / "model-int8.onnx").stat().st_size < (onnx_dir / "model.onnx").stat().st_size


def test_onnx_graph_has_dynamic_axes(exported: Path) -> None:
    classifier = OnnxClassifier(exported / "onnx" / "model.onnx", threads=1)
    assert classifier.input_names == ("input_ids", "attention_mask", "token_type_ids")
    for batch, seq in [(1, 3), (5, 17), (2, 64)]:
        ids = np.full((batch, seq), 1037)
        out = classifier.logits({"input_ids": ids, "attention_mask": np.ones_like(ids),
                                 "token_type_ids": np.zeros_like(ids), "extra": ids})
        assert out.shape == (batch, 3) and out.dtype == np.float32
    with pytest.raises(KeyError, match="attention_mask"):
        classifier.logits({"input_ids": np.ones((1, 3)), "token_type_ids": np.zeros((1, 3))})


def test_onnx_fp32_agrees_with_torch(exported: Path) -> None:
    torch_scorer = SentimentScorer(exported, backend="torch", batch_size=8, max_length=64)
    onnx_scorer = SentimentScorer(exported, backend="onnx", batch_size=8, max_length=64)
    assert onnx_scorer.backend_ == "onnx"
    p_torch, p_onnx = torch_scorer.predict_proba(TEXTS), onnx_scorer.predict_proba(TEXTS)
    np.testing.assert_allclose(p_onnx, p_torch, atol=1e-4)
    assert onnx_scorer.predict(TEXTS) == torch_scorer.predict(TEXTS)
    assert len(set(torch_scorer.predict(TEXTS))) > 1  # the labels are not all the same
    assert onnx_scorer.score(TEXTS)[-1].chunks > 1


def test_int8_loads_and_gives_valid_probabilities(exported: Path) -> None:
    scorer = SentimentScorer(exported, backend="onnx-int8", batch_size=8, max_length=64)
    proba = scorer.predict_proba(TEXTS)
    assert proba.shape == (len(TEXTS), 3)
    assert np.all(np.isfinite(proba)) and np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)


def test_int8_recheck_rescores_borderline_windows_in_fp32(exported: Path) -> None:
    fp32 = SentimentScorer(exported, backend="onnx", max_length=64)
    plain = SentimentScorer(exported, backend="onnx-int8", max_length=64, recheck_margin=0)
    # A margin no logit gap reaches: every window is re-scored, so int8 gives fp32's output.
    everything = SentimentScorer(exported, backend="onnx-int8", max_length=64,
                                 recheck_margin=1e9)
    assert plain._recheck is None and everything.recheck_margin_ == 1e9
    np.testing.assert_allclose(everything.predict_proba(TEXTS), fp32.predict_proba(TEXTS),
                               atol=1e-6)
    assert not np.allclose(plain.predict_proba(TEXTS), fp32.predict_proba(TEXTS), atol=1e-6)

    default = SentimentScorer(exported, backend="onnx-int8", max_length=64)
    report = json.loads((exported / "onnx" / "export.json").read_text())
    assert default.recheck_margin_ == report["int8_recheck_margin"] > 0
    assert report["int8_label_agreement"] >= report["int8_label_agreement_unchecked"]
    with pytest.raises(ValueError, match="recheck_margin"):
        SentimentScorer(exported, backend="onnx-int8", recheck_margin=-1)


def test_int8_without_fp32_file_warns_and_skips_the_recheck(exported: Path,
                                                            tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(exported, folder)
    (folder / "onnx" / "model.onnx").unlink()
    with pytest.warns(UserWarning, match="not re-checked"):
        scorer = SentimentScorer(folder, backend="onnx-int8", max_length=64)
    assert scorer.recheck_margin_ == 0 and scorer.predict(TEXTS[:3])


def test_auto_backend_prefers_int8_then_fp32_then_torch(exported: Path, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(exported, folder)
    assert SentimentScorer(folder).backend_ == "onnx-int8"
    (folder / "onnx" / "model-int8.onnx").unlink()
    assert SentimentScorer(folder).backend_ == "onnx"
    shutil.rmtree(folder / "onnx")
    assert SentimentScorer(folder).backend_ == "torch"


def test_stale_export_is_not_used(exported: Path, tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification

    folder = tmp_path / "model"
    shutil.copytree(exported, folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True)
    with torch.no_grad():
        model.classifier.bias.add_(1.0)
    model.save_pretrained(folder)  # "re-trained" into the same folder after the export
    assert is_stale(folder) is True
    with pytest.warns(UserWarning, match="other weights"):
        assert SentimentScorer(folder).backend_ == "torch"
    with pytest.raises(ValueError, match="re-run export_onnx"):
        SentimentScorer(folder, backend="onnx")


def test_export_options_and_failure(tiny_model: Path, tmp_path: Path) -> None:
    from nlp.fast import OnnxExportError

    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    paths = export_onnx(folder, quantize=True, texts=TEXTS[:10] + ["", None],
                        min_int8_agreement=1.01, first_position=False)
    assert set(paths) == {"onnx", "report"}  # int8 measured, then left out
    report = json.loads(paths["report"].read_text())
    assert report["last_layer"] == "every position"
    assert report["check_texts"] == 8 + 10
    assert "int8_left_out" in report and not (folder / "onnx" / "model-int8.onnx").exists()
    assert SentimentScorer(folder).backend_ == "onnx"

    shutil.rmtree(folder / "onnx")
    with pytest.raises(OnnxExportError, match="differs from torch"):
        export_onnx(folder, quantize=False, tolerance=-1.0)  # no export can pass this
    assert list((folder / "onnx").iterdir()) == []  # nothing half-written left behind


def test_int8_keeps_the_first_feed_forward_output_in_fp32(exported: Path) -> None:
    import onnx

    report = json.loads((exported / "onnx" / "export.json").read_text())
    kept = report["int8_fp32_nodes"]
    assert kept and all("layer.0/output/dense" in name for name in kept)
    graph = onnx.load(str(exported / "onnx" / "model-int8.onnx")).graph
    ops = {node.name: node.op_type for node in graph.node}
    assert all(ops[name] == "MatMul" for name in kept)  # untouched float MatMuls
    assert any(op in ("MatMulInteger", "MatMulIntegerToFloat") for op in ops.values())
    # The embedding tables stay float: quantizing them saved no time.
    assert not any(op == "DequantizeLinear" for op in ops.values())



def test_first_position_copy_gives_the_same_logits(tiny_model: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from nlp.fast import first_position_copy

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForSequenceClassification.from_pretrained(
        tiny_model, attn_implementation="eager").eval()
    fast = first_position_copy(model)
    assert fast is not None and fast is not model
    assert type(model.bert.encoder.layer[-1]).__name__ == "BertLayer"  # the original is intact
    batch = tokenizer(TEXTS[:12], padding=True, return_tensors="pt")  # padded: the mask matters
    assert (batch["attention_mask"] == 0).any()
    with torch.inference_mode():
        torch.testing.assert_close(fast(**batch).logits, model(**batch).logits,
                                   atol=1e-5, rtol=1e-4)
        inner = {}
        fast.bert.encoder.layer[-1].register_forward_hook(
            lambda module, args, out: inner.update(shape=tuple(out.shape)))
        fast(**batch)
    assert inner["shape"] == (12, 1, model.config.hidden_size)  # one position computed


def test_first_position_copy_declines_other_heads() -> None:
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    from nlp.fast import first_position_copy

    config = DistilBertConfig(vocab_size=50, dim=16, hidden_dim=32, n_layers=1, n_heads=2)
    assert first_position_copy(DistilBertForSequenceClassification(config)) is None
