"""The fast path of a trained model: ONNX, and int8 ONNX when it gives the model's labels."""

from __future__ import annotations

from pathlib import Path

from loyalty.sentiment.data import DATA_SPEC, DataSpec

# The fast path must give the labels the model gives: int8 is kept only when it agrees with
# torch on at least this share of the validation texts (fp32 ONNX always agrees).
MIN_INT8_AGREEMENT = 0.99


def export_fast(model_dir: Path, texts: list[str] | None = None) -> dict[str, Path]:
    """ONNX, and int8 ONNX when it agrees with the model on real texts (default: validation)."""
    from nlp.fast import export_onnx

    if texts is None and (Path(model_dir) / DATA_SPEC).is_file():
        texts = list(DataSpec.beside(model_dir).load().data["validation"]["text"])
    return export_onnx(model_dir, quantize=True, texts=(texts or [])[:500] or None,
                       min_int8_agreement=MIN_INT8_AGREEMENT)
