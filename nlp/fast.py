"""Fast CPU inference: export a fine-tuned classifier to ONNX (and dynamic int8), and run it.

`export_onnx` writes, inside the model folder::

    onnx/model.onnx        fp32, dynamic batch and sequence axes, output "logits"
    onnx/model-int8.onnx   int8 weights (per channel) and activations (per token)
    onnx/export.json       what was exported from which weights, and how close it is to torch

`SentimentScorer(model_dir)` (nlp.scorer) picks these files up by itself.

The graph is not a plain trace of the model: a BERT or RoBERTa classifier only reads the first
position of the last layer, so that layer is exported for the first position alone
(`first_position_copy`; same logits, about 12% faster in int8 and 16% in fp32 on the MiniLM).
The int8 graph is not onnxruntime's ``quantize_dynamic`` either: that gives every MatMul input
one scale for the whole (batch, tokens, hidden) tensor, so a text's result changed with the
texts and padding batched beside it; `quantize_per_token` gives each token its own scale.

Exporter notes (torch 2.13, transformers 5.23):

- The TorchScript ("legacy") exporter is used (``dynamo=False``): the default dynamo exporter
  needs the ``onnxscript`` package, which is not a dependency. The legacy exporter is
  deprecated; its DeprecationWarning and the tracer's warnings about Python booleans in
  transformers' mask code are silenced here (the exported graph is checked numerically
  against torch instead, on padded batches of several shapes).
- Inputs are passed positionally through a small wrapper module in the order of BERT's
  ``forward`` (input_ids, attention_mask, token_type_ids). Passing the tokenizer's dict as
  ``kwargs`` with ``input_names`` in the tokenizer's order (input_ids, token_type_ids,
  attention_mask) silently swaps two inputs' names: the graph then adds a token-type embedding
  to every real token and every logit is off by ~0.02.
- The exporter restores the *wrapper's* training flag after tracing, and a freshly built
  module is in training mode, so the wrapper is put in eval mode explicitly; otherwise the
  wrapped model is left with dropout switched on.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import warnings
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from nlp.decision import neutral_offset, shifted

ONNX_DIR = "onnx"
FP32_NAME = "model.onnx"
INT8_NAME = "model-int8.onnx"
REPORT_NAME = "export.json"
# Inputs of BERT-family classifiers, in the order of their forward() signature.
INPUT_ORDER = ("input_ids", "attention_mask", "token_type_ids")
FP32_TOLERANCE = 1e-3  # max |logit(onnx) - logit(torch)| accepted for the fp32 export
# How the int8 export scales activations, recorded in export.json. Exports made before it was
# recorded used one scale per tensor: each text's result depended on its batch neighbours.
ACTIVATION_SCALES = "per token"
# int8 levels: activations to +-127 per token (stored as uint8 around 128), weights to +-63 per
# output column. onnxruntime's AVX2 kernel multiplies uint8 by int8 with an instruction that adds
# two neighbouring products in 16 bits, saturating: with weights up to +-127 and activations
# around 128 those pairs overflow (measured: MatMul outputs off by up to 29% of the largest),
# with +-63 they cannot (2 * 255 * 63 < 32768), so the int32 sums are exact.
ACTIVATION_LEVELS = 127
WEIGHT_LEVELS = 63
# Largest change of a logit accepted between a window scored alone and in a batch (same length).
BATCH_TOLERANCE = 1e-6
# MatMuls left in fp32 by the int8 export. Rounding each MatMul's input to 256 levels for the
# whole tensor (onnxruntime's quantize_dynamic, used until 2026-12) hurt the input of the first
# layer's feed-forward output projection (GELU output: a few large values, many near zero)
# most. Measured on 3,000 Zomato reviews with a fine-tuned MiniLM: int8 everywhere agreed with
# torch on 98.6% of labels, with this one MatMul in fp32 on 99.0%, for about 5% of the speed;
# every layer's feed-forward output projection in fp32 gave 99.6% but cost 20%. With per-token
# scales (`quantize_per_token`) the gap is smaller but kept: 99.40% everywhere against 99.43%
# with it in fp32 (no re-check; mean |score - torch| 0.0077 against 0.0055).
# The embedding tables (Gather) are not quantized either: that saved no time.
INT8_KEEP_FP32 = (r"/layer\.0/(layer/)?output/dense/MatMul$",)  # (layer/: a 1-layer model)
# int8 windows whose two best logits are closer than this are re-scored in fp32. Measured with
# the per-tensor int8 graph on the same 3,000 reviews: re-checking under a margin of 0.1 / 0.2 /
# 0.3 lifted agreement from 99.0% to 99.5% / 99.8% / 99.97%, for about 8 / 12 / 17% more
# time. With per-token scales 0.2 lifts it from 99.43% to 99.93%.
RECHECK_MARGIN = 0.2
# A model whose int8 labels need more re-checking to agree (the 12-layer multilingual base:
# 98.1% at 0.2 on the demo's validation reviews) gets the next margin that reaches the
# agreement asked for, up to the last; past MAX_RECHECKED_SHARE of the windows re-scored in
# fp32, int8 would save nothing and is left out.
RECHECK_MARGINS = (0.2, 0.35, 0.5, 0.75, 1.0)
MAX_RECHECKED_SHARE = 0.25
# Model types whose classification head reads the first position ([CLS] / <s>) of the last
# layer only; their export computes that layer for the first position alone (see
# `first_position_copy`).
FIRST_POSITION_HEADS = ("bert", "roberta", "xlm-roberta")

# Varied texts the export is checked on: English, Spanish, emoji, digits, one long text.
CHECK_TEXTS: tuple[str, ...] = (
    "The food was amazing and the staff were lovely.",
    "Terrible service, cold food, never again.",
    "It was okay.",
    "La comida estaba buenísima, pero el servicio fue muy lento.",
    "¡Excelente atención! Volveremos pronto 😍",
    "Paid Rs. 1,200 for two; portions 4/5, ambience 3/5.",
    "meh",
    " ".join(["The biryani was flavourful but the starters were oily and the wait was long."]
             * 6),
)


class OnnxExportError(RuntimeError):
    """The exported graph does not reproduce the torch model."""


def onnx_paths(model_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Where `export_onnx` puts its files for ``model_dir`` (they may not exist)."""
    folder = Path(model_dir) / ONNX_DIR
    return {"onnx": folder / FP32_NAME, "onnx-int8": folder / INT8_NAME,
            "report": folder / REPORT_NAME}


def weights_fingerprint(model_dir: str | os.PathLike[str]) -> str:
    """SHA-256 over the model folder's weight files (safetensors or .bin), in name order.

    Stored in ``export.json`` so a scorer can tell an ONNX file exported from *other* weights
    (a model re-trained into the same folder) and refuse to use it.
    """
    folder = Path(model_dir)
    files = sorted([*folder.glob("*.safetensors"), *folder.glob("pytorch_model*.bin")])
    if not files:
        raise FileNotFoundError(f"{folder}: no weight files (*.safetensors or *.bin)")
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode())
        with file.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def is_stale(model_dir: str | os.PathLike[str]) -> bool | None:
    """True when ``model_dir``'s ONNX files were exported from different weights.

    None when there is no ``export.json`` to tell (e.g. ONNX files copied in by hand).
    """
    report = onnx_paths(model_dir)["report"]
    if not report.is_file():
        return None
    try:
        recorded = json.loads(report.read_text(encoding="utf-8"))["weights_sha256"]
    except (ValueError, KeyError):
        return None
    return recorded != weights_fingerprint(model_dir)


def activation_scales(model_dir: str | os.PathLike[str]) -> str | None:
    """How ``model_dir``'s int8 export scales activations, from its ``export.json``.

    `ACTIVATION_SCALES` ("per token") for an export made by this module; "per tensor" for one
    whose report does not say (made before per-token scales; its scores depend on the batch);
    None when there is no report to tell.
    """
    report = onnx_paths(model_dir)["report"]
    if not report.is_file():
        return None
    try:
        recorded = json.loads(report.read_text(encoding="utf-8"))
    except ValueError:
        return None
    return str(recorded.get("activation_scales", "per tensor"))


def available_cpus() -> int:
    """CPUs this process may run on (the affinity mask, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class OnnxClassifier:
    """An onnxruntime CPU session for an exported classifier: token arrays in, logits out.

    ``threads`` is the number of intra-op threads (default: the CPUs this process may use).
    """

    def __init__(self, path: str | os.PathLike[str], threads: int | None = None) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such ONNX model")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or available_cpus()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only
        self.threads = options.intra_op_num_threads
        self.session = ort.InferenceSession(str(self.path), sess_options=options,
                                            providers=["CPUExecutionProvider"])
        self.input_names: tuple[str, ...] = tuple(i.name for i in self.session.get_inputs())
        outputs = [o.name for o in self.session.get_outputs()]
        self.output_name = "logits" if "logits" in outputs else outputs[0]

    def logits(self, encoded_batch: Mapping[str, Any]) -> np.ndarray:
        """Logits (batch, labels) as float32 for a tokenized, padded batch.

        ``encoded_batch`` maps input names to (batch, seq) integer arrays (numpy arrays, torch
        CPU tensors or lists): a tokenizer's output works as is. Keys the graph does not take
        are ignored; a missing one is an error.
        """
        missing = [name for name in self.input_names if name not in encoded_batch]
        if missing:
            raise KeyError(f"{self.path.name} needs inputs {list(self.input_names)}; "
                           f"missing {missing}")
        feed = {name: np.asarray(encoded_batch[name], dtype=np.int64)
                for name in self.input_names}
        (out,) = self.session.run([self.output_name], feed)
        return np.asarray(out, dtype=np.float32)

    def __repr__(self) -> str:
        return f"OnnxClassifier({str(self.path)!r}, threads={self.threads})"


@contextmanager
def _quiet_export():
    """Silence the deprecation notice and tracer chatter of the TorchScript exporter."""
    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*",
                                category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*aten::index.*", category=UserWarning)
        warnings.filterwarnings("ignore", message="The feature will be removed",
                                category=DeprecationWarning)
        yield


def _load_torch(model_dir: Path):
    from transformers.utils import logging as hf_logging

    from nlp import checkpoint

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        tokenizer = checkpoint.load_tokenizer(model_dir)
        # Eager attention traces to the plain MatMul/Softmax pattern that onnxruntime's
        # attention fusion recognises; it computes the same function as SDPA.
        model = checkpoint.load_classifier(model_dir, attn_implementation="eager")
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    return tokenizer, model.eval()


def first_position_copy(model: Any) -> Any | None:
    """A copy of ``model`` whose last encoder layer computes the first position only, or None.

    A BERT or RoBERTa sequence classifier reads nothing of the last layer's output but its
    first position, so in that layer only the first position needs a query, an attention
    output and the feed-forward block; keys and values still come from every position. The
    copy computes the same logits (the export checks them against torch like any other) with
    about five sixths of one layer's work left out: on the 6-layer MiniLM, 1/7 of the whole.
    None when ``model`` is not such a classifier (its export then computes every position).
    """
    import copy

    import torch

    base = getattr(model, "base_model", None)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if (getattr(model.config, "model_type", None) not in FIRST_POSITION_HEADS
            or getattr(model.config, "is_decoder", False) or not layers):
        return None
    last = layers[-1]
    attention = getattr(getattr(last, "attention", None), "self", None)
    needed = ("query", "key", "value", "num_attention_heads", "attention_head_size", "scaling")
    if (attention is None or not all(hasattr(attention, a) for a in needed)
            or not hasattr(last, "feed_forward_chunk")):
        return None

    class FirstPositionLayer(torch.nn.Module):
        def __init__(self, layer: torch.nn.Module) -> None:
            super().__init__()
            self.layer = layer

        def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor | None = None,
                    *args: Any, **kwargs: Any) -> torch.Tensor:
            heads = self.layer.attention.self
            batch = hidden.shape[0]

            def split(x: torch.Tensor) -> torch.Tensor:  # (batch, heads, positions, size)
                return x.view(batch, -1, heads.num_attention_heads,
                              heads.attention_head_size).transpose(1, 2)

            first = hidden[:, :1]
            scores = torch.matmul(split(heads.query(first)),
                                  split(heads.key(hidden)).transpose(2, 3)) * heads.scaling
            if attention_mask is not None:  # additive, (batch, 1, queries, keys)
                scores = scores + attention_mask[:, :, :1, :]
            context = torch.matmul(scores.softmax(dim=-1), split(heads.value(hidden)))
            context = context.transpose(1, 2).reshape(batch, 1, -1)
            return self.layer.feed_forward_chunk(self.layer.attention.output(context, first))

    fast = copy.deepcopy(model).eval()
    fast.base_model.encoder.layer[-1] = FirstPositionLayer(fast.base_model.encoder.layer[-1])
    return fast


def _input_names(tokenizer: Any) -> list[str]:
    names = [n for n in INPUT_ORDER if n in tokenizer.model_input_names]
    if "input_ids" not in names:
        raise OnnxExportError(f"tokenizer gives {tokenizer.model_input_names}, no input_ids")
    return names


def _encode(tokenizer: Any, texts: list[str], names: list[str]) -> dict[str, np.ndarray]:
    enc = tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="np")
    return {n: enc[n].astype(np.int64) for n in names}


def _check_batches(tokenizer: Any, names: list[str], texts: Sequence[str] | None
                   ) -> list[dict[str, np.ndarray]]:
    """CHECK_TEXTS in three batch shapes, then ``texts`` in batches of 32 similar lengths."""
    batches = [_encode(tokenizer, list(CHECK_TEXTS), names),        # long padding
               _encode(tokenizer, list(CHECK_TEXTS[2:5]), names),   # other length
               _encode(tokenizer, [CHECK_TEXTS[6]], names)]         # batch of one
    extra = sorted((t for t in texts or [] if isinstance(t, str) and t.strip()), key=len)
    batches += [_encode(tokenizer, extra[k:k + 32], names) for k in range(0, len(extra), 32)]
    return batches


def _torch_logits(model: Any, batch: dict[str, np.ndarray]) -> np.ndarray:
    import torch

    with torch.inference_mode():
        out = model(**{k: torch.from_numpy(v) for k, v in batch.items()})
    return out.logits.float().numpy()


def top_margin(logits: np.ndarray) -> np.ndarray:
    """Per row, how far the best logit is above the second best (0 for a tie)."""
    top2 = np.sort(np.asarray(logits), axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def _compare(classifier: OnnxClassifier, batches: list[dict[str, np.ndarray]],
             refs: list[np.ndarray], recheck_margin: float = 0.0, band: float = 0.0
             ) -> tuple[float, float, float, float]:
    """(max |logit difference|, label agreement, agreement with re-checking, share re-checked).

    With re-checking, rows whose top-two margin is under ``recheck_margin`` take the
    reference's label, as the scorer takes fp32's. ``band`` is the neutral offset the scorer
    adds to what ``classifier`` gives (``refs`` already have it). Agreement counts each text
    once: batches 1 and 2 repeat texts of batch 0 in other shapes.
    """
    worst, same, same_checked, rechecked, total = 0.0, 0, 0, 0, 0
    for i, (batch, ref) in enumerate(zip(batches, refs, strict=True)):
        got = shifted(classifier.logits(batch), band)
        if not np.all(np.isfinite(got)):
            raise OnnxExportError(f"{classifier.path.name}: non-finite logits")
        worst = max(worst, float(np.max(np.abs(ref - got))))
        if i not in (1, 2):
            equal = ref.argmax(axis=1) == got.argmax(axis=1)
            low = top_margin(got) < recheck_margin
            same += int(np.sum(equal))
            same_checked += int(np.sum(equal | low))
            rechecked += int(np.sum(low))
            total += len(ref)
    return worst, same / total, same_checked / total, rechecked / total


def quantize_per_token(source: str | os.PathLike[str], target: str | os.PathLike[str],
                       keep_fp32: Sequence[str] = (), fused: bool = True) -> list[str]:
    """Write ``source``'s graph to ``target`` with its weight MatMuls in int8; their names.

    Every MatMul whose second input is a 2-D initializer (not those named in ``keep_fp32``)
    becomes: a scale per row of its input (max|x| over the last axis, so per token), the row
    rounded to `ACTIVATION_LEVELS` around it (as uint8 with zero point 128: onnxruntime's
    uint8 x int8 kernel is 6x faster here than int8 x int8), MatMulInteger with the weights
    rounded to `WEIGHT_LEVELS` per output column, and the exact int32 sums scaled back by the
    column's and the row's scales. A token's result so depends on its own values only, never
    on the other texts or the padding in its batch (with onnxruntime's ``quantize_dynamic``,
    one scale per input tensor, it did); and each token is rounded on its own range, not on the
    batch's largest value.

    With ``fused`` the product and both scalings are one onnxruntime MatMulIntegerToFloat node
    (contrib op; its documentation names per-tensor and per-column scales only, but its CPU
    kernel multiplies the output by any input scale that broadcasts to it, here per row):
    5-7% faster on 2 cores than the standard ops (MatMulInteger, Cast, two Muls) written
    without it; `export_onnx` keeps it only when it gives their logits. Either way the bias
    stays a separate Add: onnxruntime fuses MatMulInteger, Cast, a Mul by a product of scales
    and a bias Add into MatMulIntegerToFloat, which with a per-row scale multiplies the bias by
    it too.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    weights = {init.name: init for init in graph.initializer}
    added: list[Any] = []

    def constant(name: str, value: np.ndarray) -> str:
        added.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    prefix = "per_token"
    levels = constant(f"{prefix}/levels", np.float32(ACTIVATION_LEVELS))
    tiny = constant(f"{prefix}/tiny", np.float32(np.finfo(np.float32).tiny))  # all-zero rows
    one = constant(f"{prefix}/one", np.float32(1))
    zero_point = constant(f"{prefix}/zero_point", np.uint8(ACTIVATION_LEVELS + 1))
    axes = constant(f"{prefix}/axes", np.array([-1], dtype=np.int64)) if opset >= 18 else None

    nodes: list[Any] = []
    quantized_inputs: dict[str, tuple[str, str]] = {}  # Q, K and V share their input's rounding
    quantized_weights: dict[str, tuple[str, str]] = {}
    names: list[str] = []
    for node in graph.node:
        weight = node.input[1] if node.op_type == "MatMul" and len(node.input) == 2 else None
        if (weight not in weights or len(weights[weight].dims) != 2
                or node.name in keep_fp32):
            nodes.append(node)
            continue
        x = node.input[0]
        if x not in quantized_inputs:
            at = f"{x}/{prefix}"
            reduce_max = (helper.make_node("ReduceMax", [f"{at}/abs", axes], [f"{at}/max"],
                                           name=f"{at}/ReduceMax", keepdims=1)
                          if axes else
                          helper.make_node("ReduceMax", [f"{at}/abs"], [f"{at}/max"],
                                           name=f"{at}/ReduceMax", axes=[-1], keepdims=1))
            nodes += [
                helper.make_node("Abs", [x], [f"{at}/abs"], name=f"{at}/Abs"),
                reduce_max,
                helper.make_node("Max", [f"{at}/max", tiny], [f"{at}/max_pos"],
                                 name=f"{at}/Max"),
                helper.make_node("Div", [f"{at}/max_pos", levels], [f"{at}/scale"],
                                 name=f"{at}/Scale"),
                helper.make_node("Div", [x, f"{at}/scale"], [f"{at}/scaled"],
                                 name=f"{at}/Div"),
                helper.make_node("QuantizeLinear", [f"{at}/scaled", one, zero_point],
                                 [f"{at}/quantized"], name=f"{at}/QuantizeLinear"),
            ]
            quantized_inputs[x] = (f"{at}/quantized", f"{at}/scale")
        if weight not in quantized_weights:
            w = numpy_helper.to_array(weights[weight]).astype(np.float32)
            column_scale = np.abs(w).max(axis=0) / WEIGHT_LEVELS
            column_scale[column_scale == 0] = 1
            w_int8 = np.clip(np.rint(w / column_scale), -WEIGHT_LEVELS,
                             WEIGHT_LEVELS).astype(np.int8)
            quantized_weights[weight] = (constant(f"{weight}_int8", w_int8),
                                         constant(f"{weight}_scale",
                                                  column_scale.astype(np.float32)))
        x_int8, row_scale = quantized_inputs[x]
        w_int8_name, column_scale_name = quantized_weights[weight]
        out, at = node.output[0], node.name or node.output[0]
        names.append(node.name)
        if fused:
            nodes.append(helper.make_node(
                "MatMulIntegerToFloat",
                [x_int8, w_int8_name, row_scale, column_scale_name, zero_point], [out],
                name=f"{at}_int8", domain="com.microsoft"))
            continue
        nodes += [
            helper.make_node("MatMulInteger", [x_int8, w_int8_name, zero_point],
                             [f"{out}/int32"], name=f"{at}_int8"),
            helper.make_node("Cast", [f"{out}/int32"], [f"{out}/float"], name=f"{at}/Cast",
                             to=TensorProto.FLOAT),
            helper.make_node("Mul", [f"{out}/float", column_scale_name], [f"{out}/columns"],
                             name=f"{at}/ColumnScale"),
            helper.make_node("Mul", [f"{out}/columns", row_scale], [out],
                             name=f"{at}/RowScale"),
        ]

    used = {name for node in nodes for name in node.input}
    initializers = [init for init in [*graph.initializer, *added] if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    del graph.node[:]
    graph.node.extend(nodes)
    if fused and names and not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, str(target))
    return names


def _quantize_checked(fp32: Path, target: Path, keep: list[str],
                      checks: list[dict[str, np.ndarray]]) -> str:
    """`quantize_per_token` into ``target``, fused when the fused graph gives the standard
    ops' logits on ``checks`` (it relies on how onnxruntime's kernel treats a per-row scale,
    which its documentation does not promise); the MatMul op type used."""
    standard = target.with_name(target.stem + "-standard.onnx")
    quantize_per_token(fp32, standard, keep_fp32=keep, fused=False)
    try:
        quantize_per_token(fp32, target, keep_fp32=keep, fused=True)
        fused, plain = OnnxClassifier(target), OnnxClassifier(standard)
        if all(np.allclose(fused.logits(b), plain.logits(b), rtol=0, atol=1e-5)
               for b in checks[:3]):
            return "MatMulIntegerToFloat"
    except Exception:  # whatever a future onnxruntime makes of it: the standard graph is safe
        pass
    os.replace(standard, target)
    return "MatMulInteger"


def _batch_dependence(classifier: OnnxClassifier, tokenizer: Any, names: list[str],
                      length: int = 12) -> float:
    """Largest logit change of a window between scored alone and in a batch (same length).

    The scorer batches windows of one length only (no padding), so what must not move a
    window's logits is the other rows of its batch and their number and order.
    """
    rows = [ids[:length - 1] + ids[-1:] for ids in tokenizer(list(CHECK_TEXTS),
                                                             truncation=True)["input_ids"]
            if len(ids) >= length]

    def arrays(ids: list[list[int]]) -> dict[str, np.ndarray]:
        batch = {"input_ids": np.asarray(ids, dtype=np.int64)}
        batch["attention_mask"] = np.ones_like(batch["input_ids"])
        batch["token_type_ids"] = np.zeros_like(batch["input_ids"])
        return {n: batch[n] for n in names}

    alone = np.concatenate([classifier.logits(arrays([row])) for row in rows])
    together = classifier.logits(arrays(rows))
    backwards = classifier.logits(arrays(rows[::-1]))[::-1]
    return float(max(np.max(np.abs(together - alone)), np.max(np.abs(backwards - alone))))


def export_onnx(model_dir: str | os.PathLike[str], quantize: bool = True, *,
                texts: Sequence[str] | None = None, min_int8_agreement: float | None = None,
                recheck_margin: float = RECHECK_MARGIN, opset: int = 17,
                tolerance: float = FP32_TOLERANCE, first_position: bool = True
                ) -> dict[str, Path]:
    """Export ``model_dir``'s sequence classifier to ONNX, check it, optionally quantize it.

    Writes ``model_dir/onnx/model.onnx`` (inputs as the tokenizer gives them, dynamic batch
    and sequence axes, output ``logits``), validates it with ``onnx.checker`` and compares it
    with torch on `CHECK_TEXTS` in three batch shapes: if any logit differs by more than
    ``tolerance`` the export fails with `OnnxExportError` and nothing is left behind. With
    ``quantize``, also writes ``model-int8.onnx`` (`quantize_per_token`: int8 weights per
    output channel, activations rounded to int8 per token at run time) and checks that it
    loads, gives finite logits, and gives a window the same logits alone as in a batch (within
    `BATCH_TOLERANCE`; else the int8 file is left out); its larger difference and its label
    agreement with torch are reported. Quantization moves the labels of borderline
    texts, so the scorer re-scores in fp32 every window whose int8 top-two logit margin is
    under ``recheck_margin`` (0 switches that off), and the agreement reported and gated is
    that of int8 with this re-check (the plain int8 figure is reported beside it). Pass
    ``texts`` (e.g. the validation split, a few hundred are enough) to measure agreement on
    real data rather than on the 8 built-in `CHECK_TEXTS`, and ``min_int8_agreement`` (e.g.
    0.99) to leave the int8 file out when it agrees less: `SentimentScorer`'s "auto" then
    uses the fp32 file.

    With ``first_position`` (default), a BERT or RoBERTa classifier's last layer is exported
    for the first position only (`first_position_copy`): the same logits, less work.

    Returns ``{"onnx": path, "onnx-int8": path (with quantize), "report": path}``; the report
    (``export.json``) holds the max logit differences, int8 label agreement, the activation
    scales (``"activation_scales": "per token"``; `SentimentScorer` does not pick an int8 file
    without it), versions and the fingerprint of the weights exported.
    """
    import onnx
    import onnxruntime
    import torch

    model_dir = Path(model_dir)
    tokenizer, model = _load_torch(model_dir)
    names = _input_names(tokenizer)
    paths = onnx_paths(model_dir)
    out_dir = paths["onnx"].parent
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp_dir = out_dir / ".export-tmp"
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir()
    try:
        class _Positional(torch.nn.Module):
            def __init__(self, inner: torch.nn.Module) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, *args: torch.Tensor) -> torch.Tensor:
                return self.inner(**dict(zip(names, args, strict=True))).logits

        traced = first_position_copy(model) if first_position else None
        wrapper = _Positional(model if traced is None else traced).eval()
        sample = _encode(tokenizer, list(CHECK_TEXTS[:2]), names)  # padded: the mask matters
        axes = {n: {0: "batch", 1: "sequence"} for n in names} | {"logits": {0: "batch"}}
        fp32_tmp = tmp_dir / FP32_NAME
        with _quiet_export(), torch.no_grad():
            torch.onnx.export(wrapper, tuple(torch.from_numpy(sample[n]) for n in names),
                              str(fp32_tmp), input_names=names, output_names=["logits"],
                              dynamic_axes=axes, opset_version=opset, dynamo=False)
        model.eval()
        onnx.checker.check_model(str(fp32_tmp), full_check=True)

        checks = _check_batches(tokenizer, names, texts)
        refs = [_torch_logits(model, batch) for batch in checks]
        fp32_diff, *_ = _compare(OnnxClassifier(fp32_tmp), checks, refs)
        if not fp32_diff <= tolerance:
            raise OnnxExportError(f"{model_dir}: ONNX export differs from torch by "
                                  f"{fp32_diff:.3g} in the logits (tolerance {tolerance:g})")
        report: dict[str, Any] = {
            "weights_sha256": weights_fingerprint(model_dir),
            "inputs": names, "opset": opset, "exporter": "torchscript (dynamo=False)",
            "last_layer": "first position only" if traced is not None else "every position",
            "torch": torch.__version__, "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
            "max_abs_logit_diff": {"onnx": fp32_diff},
            "check_texts": len(CHECK_TEXTS) + sum(len(b["input_ids"]) for b in checks[3:]),
        }
        done = {"onnx": fp32_tmp}
        if quantize:
            int8_tmp = tmp_dir / INT8_NAME
            keep = [node.name for node in onnx.load(str(fp32_tmp)).graph.node
                    if any(re.search(rx, node.name) for rx in INT8_KEEP_FP32)]
            report["int8_matmul"] = _quantize_checked(fp32_tmp, int8_tmp, keep, checks)
            report["activation_scales"] = ACTIVATION_SCALES
            report["weight_scales"] = "per output channel"
            report["int8_levels"] = {"activations": ACTIVATION_LEVELS, "weights": WEIGHT_LEVELS}
            report["int8_fp32_nodes"] = keep
            onnx.checker.check_model(str(int8_tmp))
            int8 = OnnxClassifier(int8_tmp)
            # Labels as the scorer gives them: with the folder's neutral band.
            band = neutral_offset(model_dir)
            banded = [shifted(ref, band) for ref in refs]
            asked = recheck_margin
            for recheck_margin in [asked, *(m for m in RECHECK_MARGINS if m > asked)]:  # noqa: B007
                int8_diff, plain, agreement, share = _compare(int8, checks, banded,
                                                              recheck_margin, band)
                if min_int8_agreement is None or agreement >= min_int8_agreement:
                    break
            moved = _batch_dependence(int8, tokenizer, names)
            report["max_abs_logit_diff"]["onnx-int8"] = int8_diff
            report["int8_batch_dependence"] = moved
            report["int8_recheck_margin"] = recheck_margin
            report["int8_label_agreement_unchecked"] = plain
            report["int8_rechecked_share"] = share
            report["int8_label_agreement"] = agreement
            if not moved <= BATCH_TOLERANCE:
                report["int8_left_out"] = (f"a window's logits move by {moved:.3g} with the "
                                           f"windows batched beside it (> {BATCH_TOLERANCE:g})")
            elif min_int8_agreement is not None and agreement < min_int8_agreement:
                report["int8_left_out"] = (f"label agreement {agreement:.3f} < "
                                           f"{min_int8_agreement:g}")
            elif share > MAX_RECHECKED_SHARE:
                report["int8_left_out"] = (f"{share:.0%} of the windows need an fp32 re-check "
                                           f"(> {MAX_RECHECKED_SHARE:.0%}): no faster than fp32")
            else:
                done["onnx-int8"] = int8_tmp

        # Everything checked: move into place (an older int8 file would now be stale).
        if "onnx-int8" not in done:
            paths["onnx-int8"].unlink(missing_ok=True)
        result: dict[str, Path] = {}
        for key, tmp in done.items():
            os.replace(tmp, paths[key])
            result[key] = paths[key]
        paths["report"].write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        result["report"] = paths["report"]
        return result
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
