"""A text's sentiment does not depend on the texts it is batched with (issue 14, item 4).

Before per-token int8 scales and one-length batches, the int8 graph rounded every MatMul input
with one scale for the whole batch: on the model below a text's int8 score moved by up to 0.33
between batch sizes and orders (12 label changes), and by 0.29 between scored alone and in a
batch; padding moved torch's scores by 1.3e-6 and fp32 ONNX's by 4.8e-7.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from nlp.checkpoint import write_tiny_bert
from nlp.fast import (
    ACTIVATION_SCALES,
    BATCH_TOLERANCE,
    OnnxClassifier,
    activation_scales,
    export_onnx,
    quantize_per_token,
)
from nlp.scorer import SentimentScorer
from tests.nlp.test_fast import TEXTS
from tests.nlp.test_scorer import sharpen

TOLERANCE = 1e-6
BACKENDS = [("torch", None), ("onnx", None), ("onnx-int8", None), ("onnx-int8", 0.0)]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BERT whose outputs differ between texts about as a trained model's do, with a
    head of ordinary size: mixed labels, probabilities away from 0 and 1 (where a change in the
    logits shows), exported to ONNX and int8. (The default tiny BERT's outputs hardly differ
    between texts, so a head that tells them apart needs weights of ~300, which would blow
    torch's last-bit rounding differences up past the tolerance.)"""
    root = tmp_path_factory.mktemp("independent")
    folder = sharpen(write_tiny_bert(root / "tiny", seed=0, initializer_range=0.1),
                     root / "model", gain=1.0)
    export_onnx(folder, quantize=True)
    return folder


def _scored(scorer: SentimentScorer, order: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Labels and (score, P(negative), P(neutral), P(positive)) of TEXTS scored in ``order``,
    put back in TEXTS order."""
    results = scorer.score([TEXTS[i] for i in order])
    back = np.argsort(order)
    labels = [results[i].label for i in back]
    values = np.array([[results[i].score, *results[i].probabilities.values()] for i in back])
    return labels, values


@pytest.mark.parametrize(("backend", "margin"), BACKENDS,
                         ids=["torch", "onnx", "onnx-int8", "onnx-int8-no-recheck"])
def test_scores_do_not_depend_on_batch_size_or_order(model: Path, backend: str,
                                                      margin: float | None) -> None:
    identity = np.arange(len(TEXTS))
    reference = None
    for batch_size in (1, 7, 32):
        scorer = SentimentScorer(model, backend=backend, batch_size=batch_size, max_length=64,
                                 recheck_margin=margin)
        assert scorer.backend_ == backend
        for seed in range(3):
            order = np.random.default_rng(seed).permutation(len(TEXTS)) if seed else identity
            labels, values = _scored(scorer, order)
            if reference is None:
                reference = labels, values
                assert len(set(labels)) > 1  # a head that tells texts apart
                continue
            assert labels == reference[0], (batch_size, seed)
            np.testing.assert_allclose(values, reference[1], rtol=0, atol=TOLERANCE,
                                       err_msg=f"batch_size={batch_size}, order seed {seed}")


@pytest.mark.parametrize(("backend", "margin"), BACKENDS,
                         ids=["torch", "onnx", "onnx-int8", "onnx-int8-no-recheck"])
def test_a_text_scored_alone_gets_its_score_in_a_batch(model: Path, backend: str,
                                                       margin: float | None) -> None:
    scorer = SentimentScorer(model, backend=backend, max_length=64, recheck_margin=margin)
    labels, values = _scored(scorer, np.arange(len(TEXTS)))
    for i, text in enumerate(TEXTS):
        alone = scorer.score([text])[0]
        assert alone.label == labels[i], text
        np.testing.assert_allclose([alone.score, *alone.probabilities.values()], values[i],
                                   rtol=0, atol=TOLERANCE, err_msg=text)


def test_batches_hold_windows_of_one_length(model: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Padding changes the float sums of real tokens in the last bits (softmax over more
    positions), which int8 rounding can turn into visible differences: so no padding."""
    scorer = SentimentScorer(model, backend="onnx", batch_size=4, max_length=64)
    seen: list[dict[str, np.ndarray]] = []
    logits = scorer._logits
    monkeypatch.setattr(scorer, "_logits", lambda batch, *a: seen.append(batch) or logits(
        batch, *a))
    scorer.score(TEXTS)
    assert seen and all(b["attention_mask"].all() and len(b["input_ids"]) <= 4 for b in seen)
    assert sum(len(b["input_ids"]) for b in seen) == sum(s.chunks for s in scorer.score(TEXTS))


def test_int8_graph_rounds_each_token_on_its_own(model: Path) -> None:
    import onnx
    import onnxruntime as ort

    report = json.loads((model / "onnx" / "export.json").read_text())
    assert report["activation_scales"] == ACTIVATION_SCALES == activation_scales(model)
    assert report["int8_batch_dependence"] <= BATCH_TOLERANCE
    # onnxruntime's optimizer must not fold the per-row scales into a per-tensor kernel.
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.optimized_model_filepath = str(model / "optimized.onnx")
    options.log_severity_level = 3
    ort.InferenceSession(str(model / "onnx" / "model-int8.onnx"), options,
                         providers=["CPUExecutionProvider"])
    nodes = onnx.load(str(model / "optimized.onnx")).graph.node
    (model / "optimized.onnx").unlink()
    ops = {node.op_type for node in nodes}
    assert report["int8_matmul"] in ops
    assert not ops & {"DynamicQuantizeLinear", "DynamicQuantizeMatMul"}
    for node in nodes:
        if node.op_type == "MatMulIntegerToFloat":  # its input's scale is the per-token one
            assert node.input[2].endswith("/per_token/scale"), node.input

    # Rows of one length give each row the same logits alone, together, in any order.
    session = OnnxClassifier(model / "onnx" / "model-int8.onnx", threads=2)
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 20000, size=(6, 20))
    ids[:, 0], ids[:, -1] = 101, 102
    ids[3] = ids[2]  # a duplicate row
    ids[4, 1:-1] = 1037  # one word repeated: a narrow range of values

    def run(rows: np.ndarray) -> np.ndarray:
        return session.logits({"input_ids": rows, "attention_mask": np.ones_like(rows),
                               "token_type_ids": np.zeros_like(rows)})

    together = run(ids)
    alone = np.concatenate([run(ids[i:i + 1]) for i in range(len(ids))])
    np.testing.assert_array_equal(together, alone)
    np.testing.assert_array_equal(run(ids[::-1])[::-1], alone)
    np.testing.assert_array_equal(run(np.concatenate([ids, ids]))[:6], alone)


def test_an_int8_export_with_batch_wide_scales_is_not_used(model: Path,
                                                           tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(model, folder)
    report_path = folder / "onnx" / "export.json"
    report = json.loads(report_path.read_text())
    del report["activation_scales"]  # as exports before per-token scales wrote it
    report_path.write_text(json.dumps(report))
    assert activation_scales(folder) == "per tensor"
    with pytest.warns(UserWarning, match="one activation scale per batch"):
        assert SentimentScorer(folder, max_length=64).backend_ == "onnx"
    with pytest.raises(ValueError, match="loyalty nlp export"):
        SentimentScorer(folder, backend="onnx-int8", max_length=64)
    report_path.unlink()  # without a report nothing tells how the file was quantized
    assert activation_scales(folder) is None
    with pytest.warns(UserWarning, match="one activation scale per batch"):
        assert SentimentScorer(folder, max_length=64).backend_ == "onnx"


def test_fused_and_standard_int8_graphs_give_the_same_logits(model: Path, tmp_path: Path) -> None:
    """The fused graph leans on onnxruntime scaling MatMulIntegerToFloat's output per row; the
    standard ops (MatMulInteger, Cast, Mul) say the same in plain ONNX."""
    import onnx

    source = model / "onnx" / "model.onnx"
    fused, standard = tmp_path / "fused.onnx", tmp_path / "standard.onnx"
    names = quantize_per_token(source, fused, fused=True)
    assert quantize_per_token(source, standard, fused=False) == names and names
    ops = [{n.op_type for n in onnx.load(str(path)).graph.node} for path in (fused, standard)]
    assert "MatMulIntegerToFloat" in ops[0] and "MatMulInteger" not in ops[0]
    assert "MatMulInteger" in ops[1] and "MatMulIntegerToFloat" not in ops[1]
    rng = np.random.default_rng(1)
    for shape in [(1, 5), (3, 17), (8, 40)]:
        ids = rng.integers(1000, 20000, size=shape)
        batch = {"input_ids": ids, "attention_mask": np.ones_like(ids),
                 "token_type_ids": np.zeros_like(ids)}
        np.testing.assert_allclose(OnnxClassifier(fused, threads=1).logits(batch),
                                   OnnxClassifier(standard, threads=1).logits(batch),
                                   rtol=0, atol=1e-5)
