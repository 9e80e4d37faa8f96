"""Review sentiment with a fine-tuned BERT classifier: batched, long-text aware, torch or ONNX.

>>> scorer = SentimentScorer("models/sentiment/v3")          # doctest: +SKIP
>>> scorer.backend_                                          # doctest: +SKIP
'onnx-int8'
>>> scorer.score(["Great food!", "", "😡😡"])                # doctest: +SKIP
[Sentiment(label='positive', ...), Sentiment(label='neutral', ..., note='empty'),
 Sentiment(label='negative', ..., note='emoji-only')]

Design:

- **Loading.** Tokenizer, config and model (or ONNX session) are loaded once, in
  ``__init__``. A scorer is built to be used (by a batch job or by the API at start-up), so
  paying the load there makes a missing file, a stale ONNX export or a model with the wrong
  labels fail at construction, not halfway through a job; and there is no lazy-init race when
  one scorer is shared by worker threads.
- **Batching.** Every text is tokenized once; windows (one per short text, several per long
  text) are sorted by token length and cut into batches of at most ``batch_size`` windows *of
  one length*, so nothing is padded, and the results are put back in input order. A window's
  result must not depend on what it is batched with: padding changes the last bits of the
  real tokens' float sums (a softmax over more positions), which int8 rounding can magnify;
  without it the ONNX graphs give a window bit-identical logits in any batch (torch within
  1e-6: its matrix products round a row differently with the number of rows).
- **Long texts** (more than ``max_length`` tokens with [CLS]/[SEP]) are not cut silently.
  With ``long_text="chunks"`` (default) the text is split into sentences (`nlp.text.sentences`)
  and consecutive sentences are packed greedily into windows of at most ``max_length`` tokens;
  a single sentence longer than a window is split into consecutive token windows. Each window
  is scored and the text's probabilities are the mean of its windows' probabilities weighted
  by their token counts. Sentence-aware windows, rather than overlapping token windows,
  because (a) no judgement is cut in half ("not | good"), (b) every token is counted exactly
  once, so the weights are simply the token counts, and (c) it is the unit the aspect module
  works in. Texts with more than ``max_chunks`` windows are scored on the first
  ``ceil(max_chunks / 2)`` and last ``floor(max_chunks / 2)`` windows (openings and verdicts
  carry most of a review's sentiment), and the note says so. ``long_text="truncate"`` keeps
  the first window only (note "long: truncated ...").
- **int8 with a re-check.** int8 (activations rounded per token, `nlp.fast.quantize_per_token`)
  moves the logits a little, which flips the label of borderline windows only. With the int8
  backend every window whose two best logits are within ``recheck_margin`` is scored again by
  the fp32 graph (see nlp.fast). An int8 file exported with one activation scale per batch
  (before per-token scales) is not used: "auto" falls back to fp32 ONNX with a warning, and
  ``backend="onnx-int8"`` asks for a re-export.
- **Defined results.** Blank text (whitespace, invisible characters, punctuation only) is
  neutral with probabilities (0, 1, 0), score 0, ``chunks=0``, note "empty", without a model
  call. Emoji-only text is scored as words (`nlp.text.emoji_to_words`), note "emoji-only".
  Anything but a str is a TypeError naming the position.
"""

from __future__ import annotations

import json
import math
import os
import threading
import warnings
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlp import checkpoint
from nlp.decision import neutral_offset, shifted
from nlp.fast import (
    ACTIVATION_SCALES,
    RECHECK_MARGIN,
    OnnxClassifier,
    activation_scales,
    available_cpus,
    is_stale,
    onnx_paths,
    top_margin,
)
from nlp.labels import LABELS
from nlp.labels import score as sentiment_score
from nlp.text import clean, emoji_to_words, has_emoji, is_blank, is_emoji_only, sentences

_OLD_INT8 = ("was quantized with one activation scale per batch (or without an export.json to "
             "say otherwise): its scores depend on the texts batched together")
_REEXPORT = ("Re-export it (`loyalty nlp export`, or nlp.fast.export_onnx(model_dir)) for int8 "
             "with per-token scales")
BACKENDS = ("auto", "torch", "onnx", "onnx-int8")
LONG_TEXT_MODES = ("chunks", "truncate")
EMOJI_MODES = ("only", "always", "never")
EMPTY_PROBABILITIES = (0.0, 1.0, 0.0)


@dataclass(frozen=True)
class Sentiment:
    """The sentiment of one text.

    ``probabilities`` maps each of LABELS to its probability (they sum to 1); ``label`` is the
    most likely; ``score`` is P(positive) - P(negative) in [-1, 1]; ``chunks`` is how many
    windows the model scored (0: no model call, 1: a normal text, more: a long text);
    ``note`` says when the text was handled specially ("empty", "emoji-only",
    "long: 3 chunks", ...), else None.
    """

    label: str
    probabilities: dict[str, float]
    score: float
    chunks: int
    note: str | None = None


class ModelLabelsError(ValueError):
    """The model's classes are not exactly LABELS in LABELS order."""


@contextmanager
def _no_progress_bars():
    """transformers 5 draws a "Loading weights" bar on every load; not in a service's logs."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def _checked_texts(texts: Iterable[str]) -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be a sequence of str, not a single "
                        f"{type(texts).__name__}: wrap one text in a list, e.g. score([text])")
    try:
        items = list(texts)
    except TypeError:
        raise TypeError(f"texts must be a sequence of str, not {type(texts).__name__}") from None
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] is {type(text).__name__}, not str (replace missing "
                            "values with '' first: they are scored as empty)")
    return items


class SentimentScorer:
    """Scores reviews as negative / neutral / positive with a fine-tuned classifier folder.

    Parameters
    ----------
    model_dir:
        A Hugging Face sequence-classification folder whose config's id2label is LABELS.
    backend:
        "auto" (on CPU: ``onnx/model-int8.onnx`` if present, else ``onnx/model.onnx``, else
        torch; ONNX files exported from other weights, and int8 files whose ``export.json``
        does not record per-token activation scales, are skipped with a warning), "torch",
        "onnx" or "onnx-int8".
    batch_size:
        Windows per forward pass; default 8 on ONNX (fastest on 2 CPU cores: 115 reviews/s
        against 85 at 32), 32 on torch.
    max_length:
        Tokens per window, [CLS] and [SEP] included (at most the model's position limit).
    long_text:
        "chunks" (score sentence-aware windows and average them) or "truncate".
    device:
        "cpu", or a torch device such as "cuda" (torch backend only).
    max_chunks:
        At most this many windows per text (first half and last half are kept).
    threads:
        CPU threads for inference; default: the CPUs this process may use. For torch this is
        the process-wide ``torch.set_num_threads`` (only ever lowered when not given).
    emoji:
        "only": emoji-only texts are scored as words (default); "always": emoji in every text
        are turned into words; "never": texts go to the tokenizer as they are.
    recheck_margin:
        int8 backend only: windows whose top-two logit margin is under this are re-scored in
        fp32 (needs ``onnx/model.onnx``). Default: the margin the export was checked with
        (``export.json``), else `nlp.fast.RECHECK_MARGIN`; 0 switches the re-check off.
    """

    def __init__(self, model_dir: str | os.PathLike[str], backend: str = "auto",
                 batch_size: int | None = None, max_length: int = 256,
                 long_text: str = "chunks", device: str = "cpu", *, max_chunks: int = 16,
                 threads: int | None = None, emoji: str = "only",
                 recheck_margin: float | None = None) -> None:

        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
        if long_text not in LONG_TEXT_MODES:
            raise ValueError(f"long_text must be one of {LONG_TEXT_MODES}, not {long_text!r}")
        if emoji not in EMOJI_MODES:
            raise ValueError(f"emoji must be one of {EMOJI_MODES}, not {emoji!r}")
        if (batch_size is not None and int(batch_size) < 1) or int(max_chunks) < 1:
            raise ValueError("batch_size and max_chunks must be at least 1")
        if recheck_margin is not None and not float(recheck_margin) >= 0:
            raise ValueError("recheck_margin must be 0 or more")
        if threads is not None and int(threads) < 1:
            raise ValueError("threads must be at least 1")
        self.model_dir = Path(model_dir)
        if not (self.model_dir / "config.json").is_file():
            raise FileNotFoundError(f"{self.model_dir}: not a model folder (no config.json)")
        self.long_text = long_text
        self.device = str(device)
        self.max_chunks = int(max_chunks)
        self.emoji = emoji
        # Hugging Face fast tokenizers are not safe to call from several threads at once
        # ("Already borrowed"); the sessions and the torch model are.
        self._tokenizer_lock = threading.Lock()

        config = checkpoint.load_config(self.model_dir)
        labels = tuple(str(config.id2label[i]) for i in range(config.num_labels))
        if tuple(label.lower() for label in labels) != LABELS:
            raise ModelLabelsError(
                f"{self.model_dir}: the model's classes are {list(labels)} (config.json "
                f"id2label), but this scorer needs exactly {list(LABELS)} in that order; "
                "fine-tune with id2label=nlp.labels.ID2LABEL")
        self.labels_: tuple[str, ...] = LABELS
        self.neutral_offset_ = neutral_offset(self.model_dir)
        limit = int(getattr(config, "max_position_embeddings", 512) or 512)
        if not 8 <= int(max_length) <= limit:
            raise ValueError(f"max_length must be between 8 and the model's {limit} positions, "
                             f"not {max_length}")
        self.max_length = int(max_length)

        with _no_progress_bars():
            self.tokenizer_ = checkpoint.load_tokenizer(self.model_dir)
        tok = self.tokenizer_
        with_specials = tok("a")["input_ids"]
        body = tok("a", add_special_tokens=False)["input_ids"]
        at = next(i for i in range(len(with_specials)) if with_specials[i:i + len(body)] == body)
        self._prefix: list[int] = list(with_specials[:at])
        self._suffix: list[int] = list(with_specials[at + len(body):])
        self._budget = self.max_length - len(self._prefix) - len(self._suffix)
        self._pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0
        self._inputs = ["input_ids", "attention_mask"]  # what _batch_arrays builds
        if "token_type_ids" in tok.model_input_names:
            self._inputs.append("token_type_ids")

        self.threads_ = int(threads) if threads else available_cpus()
        self.backend_, self.model_path_ = self._pick_backend(backend)
        self.batch_size = int(batch_size) if batch_size else (
            32 if self.backend_ == "torch" else 8)
        self._model: Any = None
        self._onnx: OnnxClassifier | None = None
        self._recheck: OnnxClassifier | None = None
        self.recheck_margin_ = 0.0
        if self.backend_ == "torch":
            self._load_torch(threads)
        else:
            self._onnx = self._load_onnx(self.model_path_)
            if self.backend_ == "onnx-int8":
                self.recheck_margin_ = self._pick_recheck_margin(recheck_margin)
            if self.recheck_margin_ > 0:
                self._recheck = self._load_onnx(onnx_paths(self.model_dir)["onnx"])

    # --- loading ----------------------------------------------------------------------------

    def _pick_backend(self, backend: str) -> tuple[str, Path]:
        paths = onnx_paths(self.model_dir)
        if backend == "torch":
            return "torch", self.model_dir
        if self.device != "cpu":
            if backend == "auto":
                return "torch", self.model_dir
            raise ValueError(f"backend {backend!r} runs on the CPU only; use backend='torch' "
                             f"for device {self.device!r}")
        stale = None
        if backend == "auto":
            for name in ("onnx-int8", "onnx"):
                if paths[name].is_file():
                    if stale is None:
                        stale = is_stale(self.model_dir)
                    if stale:
                        warnings.warn(f"{paths[name]} was exported from other weights than "
                                      f"{self.model_dir}'s; using torch (re-run export_onnx)",
                                      stacklevel=3)
                        break
                    if name == "onnx-int8" and not self._int8_is_per_token():
                        warnings.warn(f"{paths[name]} {_OLD_INT8}; using {paths['onnx'].name} "
                                      f"instead. {_REEXPORT}", stacklevel=3)
                        continue
                    return name, paths[name]
            return "torch", self.model_dir
        if not paths[backend].is_file():
            raise FileNotFoundError(f"{paths[backend]}: no ONNX export; run "
                                    "nlp.fast.export_onnx(model_dir) (`loyalty nlp export`)")
        if is_stale(self.model_dir):
            raise ValueError(f"{paths[backend]} was exported from other weights than "
                             f"{self.model_dir}'s; re-run export_onnx")
        if backend == "onnx-int8" and not self._int8_is_per_token():
            raise ValueError(f"{paths[backend]} {_OLD_INT8}. {_REEXPORT}")
        return backend, paths[backend]

    def _int8_is_per_token(self) -> bool:
        return activation_scales(self.model_dir) == ACTIVATION_SCALES

    def _load_onnx(self, path: Path) -> OnnxClassifier:
        session = OnnxClassifier(path, threads=self.threads_)
        missing = [n for n in session.input_names if n not in self._inputs]
        if missing:
            raise ValueError(f"{path} takes {missing}, which the tokenizer does not give")
        return session

    def _pick_recheck_margin(self, asked: float | None) -> float:
        paths = onnx_paths(self.model_dir)
        if asked is None:
            try:
                report = json.loads(paths["report"].read_text(encoding="utf-8"))
                asked = float(report.get("int8_recheck_margin", RECHECK_MARGIN))
            except (OSError, ValueError, TypeError):
                asked = RECHECK_MARGIN
        if asked > 0 and not paths["onnx"].is_file():
            warnings.warn(f"{paths['onnx']} is missing: int8 labels are not re-checked in "
                          "fp32", stacklevel=4)
            return 0.0
        return float(asked)

    def _load_torch(self, threads: int | None) -> None:
        import torch

        # torch's pool is process-wide: set it when asked, otherwise only keep it from
        # oversubscribing a container that sees more cores than it may use.
        if threads:
            torch.set_num_threads(int(threads))
        elif torch.get_num_threads() > self.threads_:
            torch.set_num_threads(self.threads_)
        with _no_progress_bars():
            model = checkpoint.load_classifier(self.model_dir)
        self._model = model.eval().to(self.device)

    # --- public API --------------------------------------------------------------------------

    def predict_proba(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Class probabilities, shape (len(texts), 3), columns in LABELS order."""
        return self._run(texts, progress)[0]

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most likely label of each text."""
        return [LABELS[i] for i in np.argmax(self.predict_proba(texts), axis=1)]

    def score(self, texts: Sequence[str], progress: bool = False) -> list[Sentiment]:
        """One `Sentiment` per text, in input order (``progress`` draws a tqdm bar)."""
        proba, chunks, notes = self._run(texts, progress)
        out = []
        for row, n, note in zip(proba, chunks, notes, strict=True):
            p = (float(row[0]), float(row[1]), float(row[2]))
            out.append(Sentiment(label=LABELS[int(np.argmax(row))],
                                 probabilities=dict(zip(LABELS, p, strict=True)),
                                 score=sentiment_score(p), chunks=int(n), note=note))
        return out

    def __repr__(self) -> str:
        return (f"SentimentScorer({str(self.model_dir)!r}, backend={self.backend_!r}, "
                f"max_length={self.max_length}, long_text={self.long_text!r})")

    # --- internals ---------------------------------------------------------------------------

    def _prepare(self, text: str) -> tuple[str | None, str | None]:
        """(text for the model or None when blank, note)."""
        text = clean(text, newlines=True)
        if self.emoji != "never" and is_emoji_only(text):
            words = emoji_to_words(text)
            return (None if is_blank(words) else words), "emoji-only"
        if is_blank(text):
            return None, "empty"
        if self.emoji == "always" and has_emoji(text):
            text = emoji_to_words(text)
        return text, None

    def _tokenize(self, texts: list[str]) -> list[list[int]]:
        """Token ids without special tokens, untruncated (windows are made from them)."""
        with self._tokenizer_lock:
            return self.tokenizer_(texts, add_special_tokens=False, truncation=False,
                                   verbose=False)["input_ids"]

    def _windows(self, text: str, ids: list[int]) -> tuple[list[list[int]], str | None]:
        """Token windows (without special tokens) for one text, and a note when long."""
        budget = self._budget
        if len(ids) <= budget:
            return [ids], None
        if self.long_text == "truncate":
            return [ids[:budget]], f"long: truncated to {budget} of {len(ids)} tokens"
        parts = sentences(text) or [text]
        pieces: list[list[int]] = []
        for sent_ids in self._tokenize(parts):
            if len(sent_ids) <= budget:
                pieces.append(list(sent_ids))
            else:  # one run-on "sentence" longer than a window
                pieces.extend(list(sent_ids[k:k + budget])
                              for k in range(0, len(sent_ids), budget))
        windows: list[list[int]] = []
        current: list[int] = []
        for piece in pieces:
            if current and len(current) + len(piece) > budget:
                windows.append(current)
                current = []
            current = current + piece
        if current:
            windows.append(current)
        total = len(windows)
        if total > self.max_chunks:
            head = math.ceil(self.max_chunks / 2)
            tail = self.max_chunks - head
            windows = windows[:head] + (windows[-tail:] if tail else [])
            return windows, f"long: {total} chunks, scored the first {head} and last {tail}"
        return windows, f"long: {total} chunks"

    def _batch_arrays(self, windows: list[list[int]]) -> dict[str, np.ndarray]:
        rows = [self._prefix + w + self._suffix for w in windows]
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, :len(row)] = row
            mask[i, :len(row)] = 1
        batch = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            batch["token_type_ids"] = np.zeros_like(ids)
        return batch

    def _batches(self, windows: list[list[int]], indices: list[int]) -> Iterable[list[int]]:
        """``indices`` (in length order) cut into batches of at most ``batch_size`` windows of
        one length each."""
        batch: list[int] = []
        for k in indices:
            if batch and (len(batch) == self.batch_size
                          or len(windows[k]) != len(windows[batch[0]])):
                yield batch
                batch = []
            batch.append(k)
        if batch:
            yield batch

    def _logits(self, batch: dict[str, np.ndarray],
                session: OnnxClassifier | None = None) -> np.ndarray:
        """The model's logits with the folder's neutral band applied (`nlp.decision`)."""
        session = session or self._onnx
        if session is not None:
            return shifted(session.logits(batch), self.neutral_offset_)
        import torch

        with torch.inference_mode():
            inputs = {k: torch.from_numpy(v).to(self.device) for k, v in batch.items()}
            logits = self._model(**inputs).logits.float().cpu().numpy()
        return shifted(logits, self.neutral_offset_)

    def _run(self, texts: Sequence[str], progress: bool
             ) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
        items = _checked_texts(texts)
        n = len(items)
        proba = np.tile(np.asarray(EMPTY_PROBABILITIES), (n, 1))
        chunks = np.zeros(n, dtype=np.int64)
        notes: list[str | None] = [None] * n
        todo: list[tuple[int, str]] = []
        # Reviews repeat ("Good food", "Nice"): 4% of a sample of 1,000 Zomato reviews are
        # copies of another. Each distinct text is scored once and its result copied.
        first: dict[str, int] = {}
        copies: list[tuple[int, int]] = []
        for i, raw in enumerate(items):
            text, notes[i] = self._prepare(raw)
            if text is None:
                continue
            if text in first:
                copies.append((i, first[text]))
            else:
                first[text] = i
                todo.append((i, text))
        if not todo:
            return proba, chunks, notes

        encoded = self._tokenize([t for _, t in todo])
        owner: list[int] = []          # text index of each window
        windows: list[list[int]] = []
        for (i, text), ids in zip(todo, encoded, strict=True):
            text_windows, long_note = self._windows(text, list(ids))
            if long_note:
                notes[i] = long_note if notes[i] is None else f"{notes[i]}; {long_note}"
            owner.extend([i] * len(text_windows))
            windows.extend(text_windows)
            chunks[i] = len(text_windows)

        window_logits = np.empty((len(windows), len(LABELS)), dtype=np.float64)
        order = sorted(range(len(windows)), key=lambda k: len(windows[k]))
        from tqdm import tqdm

        with tqdm(total=len(windows), desc="sentiment", unit=" windows",
                  disable=not progress) as bar:
            for idx in self._batches(windows, order):
                window_logits[idx] = self._logits(self._batch_arrays([windows[k] for k in idx]))
                bar.update(len(idx))
        if self._recheck is not None:
            # A function of each window's own int8 logits, so which windows are re-checked
            # does not depend on the batches either.
            margins = top_margin(window_logits)
            low = [k for k in order if margins[k] < self.recheck_margin_]
            for idx in self._batches(windows, low):
                window_logits[idx] = self._logits(self._batch_arrays([windows[k] for k in idx]),
                                                  self._recheck)
        window_logits -= window_logits.max(axis=1, keepdims=True)
        e = np.exp(window_logits)
        window_proba = e / e.sum(axis=1, keepdims=True)

        # Average each text's windows, weighted by their token counts.
        weights = np.array([max(len(w), 1) for w in windows], dtype=np.float64)
        owner_arr = np.asarray(owner)
        sums = np.zeros((n, len(LABELS)))
        np.add.at(sums, owner_arr, window_proba * weights[:, None])
        totals = np.bincount(owner_arr, weights=weights, minlength=n)
        scored = totals > 0
        proba[scored] = sums[scored] / totals[scored, None]
        proba[scored] /= proba[scored].sum(axis=1, keepdims=True)
        for i, j in copies:
            proba[i], chunks[i], notes[i] = proba[j], chunks[j], notes[j]
        return proba, chunks, notes
