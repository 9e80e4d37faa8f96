"""Fine-tune a BERT-family checkpoint into the three-class review sentiment model.

A plain PyTorch loop, readable top to bottom::

    from nlp.data import load_reviews, split
    from nlp.train import TrainConfig, fine_tune

    loaded = load_reviews("reviews.csv", text_col="review", rating_col="rating")
    result = fine_tune(split(loaded.dataset), Path("models/sentiment"), TrainConfig(epochs=3),
                       data_description=loaded.describe())
    result.metrics["test"]["macro_f1"]

Each epoch is scored on the validation split (macro-F1, accuracy); the best epoch's weights are
kept, training stops after ``patience`` epochs without improvement, and the best model is saved
(``save_pretrained`` plus the tokenizer, a model card and ``training.json``) and then scored on
the test split. Everything is seeded: the same data, config and machine give the same weights.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)
from tqdm.auto import tqdm
from transformers import (
    DataCollatorWithPadding,
    get_linear_schedule_with_warmup,
    set_seed,
)
from transformers.utils import logging as hf_logging

from nlp import checkpoint
from nlp.aspect_heads import HEAD_LR_SCALE, aspect_loss
from nlp.aspect_training import (
    TARGET_COLUMNS,
    aspect_polarity_weights,
    fit_aspect_thresholds,
    validation_figures,
)
from nlp.card import write_model_card
from nlp.decision import fit_neutral_offset, save_decision, shifted, strict_binary_accuracy
from nlp.labels import ID2LABEL, LABEL2ID, LABELS
from nlp.probe import length_batches, probe_aspect_heads, probe_head

CLASS_WEIGHTING = ("balanced", "none")
HEAD_INIT = ("random", "probe")


@dataclass
class TrainConfig:
    """Hyper-parameters of one fine-tuning run (all of them end up in the model card).

    ``base_model``: a local Hugging Face folder, or None for the packaged default
    (:func:`nlp.checkpoint.default_base_model`). ``patience``: stop after this many epochs
    without a better validation macro-F1 (0 = never stop early). ``class_weighting``:
    "balanced" weighs the cross-entropy by inverse class frequency in the training split,
    "none" does not. ``device``: "auto" (CUDA when available, else CPU), "cpu", "cuda", ...
    ``max_steps``: cut every epoch after this many optimiser steps (tests, timing runs);
    None trains on the whole training split each epoch. ``head_init``: "probe" starts the
    classifier from a logistic regression fitted on the frozen base model's pooled outputs
    (`nlp.probe`), "random" from the usual random weights. ``pooling``: what the head reads,
    "cls" (the [CLS] position through BERT's pooler) or "mean" (the mean of the last hidden
    states, `nlp.mean_pooling`); "auto" is the base's own (mean for the e5 base).
    ``freeze_word_embeddings``: keep the token embedding table as pre-trained. It is most of
    a multilingual model (96M of e5-small's 118M weights: the optimiser's work and memory),
    and words seen only in the other language or not at all in training keep the meaning the
    base gave them rather than drifting from the ones that were trained. ``neutral_band``:
    choose the neutral logit offset on the validation split, per source
    (`nlp.decision`), rather than plain argmax. ``aspects``: aspect names to learn beside
    the sentiment (`nlp.aspect_heads` on the same encoder; mean pooling only), from splits
    carrying the targets of `nlp.aspect_training.with_aspect_targets`; an epoch is then chosen
    by the mean of validation sentiment macro-F1, aspect detection micro-F1 and aspect
    polarity accuracy.
    """

    base_model: str | Path | None = None
    epochs: int = 4
    learning_rate: float = 5e-5
    batch_size: int = 32
    max_length: int = 128
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    seed: int = 0
    patience: int = 2
    class_weighting: str = "balanced"
    device: str = "auto"
    max_steps: int | None = None
    max_grad_norm: float = 1.0
    head_init: str = "random"
    pooling: str = "auto"
    freeze_word_embeddings: bool = True
    neutral_band: bool = True
    aspects: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems = []
        if self.epochs < 1:
            problems.append(f"epochs must be >= 1, got {self.epochs}")
        if self.learning_rate < 0:
            problems.append(f"learning_rate must be >= 0, got {self.learning_rate}")
        if self.batch_size < 1:
            problems.append(f"batch_size must be >= 1, got {self.batch_size}")
        if self.max_length < 2:
            problems.append(f"max_length must be >= 2, got {self.max_length}")
        if self.weight_decay < 0:
            problems.append(f"weight_decay must be >= 0, got {self.weight_decay}")
        if not 0 <= self.warmup_ratio < 1:
            problems.append(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.patience < 0:
            problems.append(f"patience must be >= 0, got {self.patience}")
        if self.class_weighting not in CLASS_WEIGHTING:
            problems.append(f"class_weighting must be one of {CLASS_WEIGHTING}, "
                            f"got {self.class_weighting!r}")
        if self.max_steps is not None and self.max_steps < 1:
            problems.append(f"max_steps must be >= 1 or None, got {self.max_steps}")
        if self.max_grad_norm <= 0:
            problems.append(f"max_grad_norm must be > 0, got {self.max_grad_norm}")
        if self.head_init not in HEAD_INIT:
            problems.append(f"head_init must be one of {HEAD_INIT}, got {self.head_init!r}")
        if self.pooling not in checkpoint.POOLING:
            problems.append(f"pooling must be one of {checkpoint.POOLING}, got {self.pooling!r}")
        if self.aspects and (len(set(self.aspects)) != len(self.aspects)
                             or not all(isinstance(a, str) and a for a in self.aspects)):
            problems.append(f"aspects must be distinct names, got {self.aspects!r}")
        if self.aspects and self.pooling == "cls":
            problems.append("aspects need mean pooling (the aspect heads read every token)")
        if problems:
            raise ValueError("invalid TrainConfig: " + "; ".join(problems))


@dataclass
class TrainResult:
    """Where the best model was saved, its scores, and one record per epoch trained."""

    path: Path
    metrics: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)


def fine_tune(data: datasets.DatasetDict, out_dir: str | Path, config: TrainConfig | None = None,
              progress: bool = True, data_description: str = "") -> TrainResult:
    """Fine-tune ``config.base_model`` on ``data`` and save the best epoch's model to ``out_dir``.

    ``data`` needs "train" and "validation" splits with ``text`` and ``label`` (ids in LABELS
    order) columns, as made by :func:`nlp.data.split`; a "test" split, when present, scores
    the saved model. ``data_description`` goes into the model card.
    """
    config = config or TrainConfig()
    _check_data(data, config.aspects)
    out_dir = Path(out_dir)
    base = checkpoint.resolve(config.base_model)
    pooling = checkpoint.base_pooling(base, config.pooling)
    if config.aspects and pooling != "mean":
        raise ValueError(f"{base}: aspects need mean pooling, and this base reads [CLS]")
    device = resolve_device(config.device)
    set_seed(config.seed)  # python, numpy and torch (CPU and every GPU)

    tokenizer = checkpoint.load_tokenizer(base)
    # A base checkpoint has no classifier head: transformers reports the new head as "missing"
    # weights, which is the point of fine-tuning, so that report is silenced.
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        extra = {"aspect_names": list(config.aspects)} if config.aspects else {}
        model = checkpoint.load_classifier(
            base, pooling=pooling, num_labels=len(LABELS), id2label=ID2LABEL,
            label2id=LABEL2ID, ignore_mismatched_sizes=True, **extra,
        ).to(device)
    finally:
        hf_logging.set_verbosity(verbosity)

    if config.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    train = _tokenize(data["train"], tokenizer, config.max_length)
    weights = class_weights(data["train"]["label"], config.class_weighting)
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(weights, device=device))
    polarity_weights = (torch.tensor(aspect_polarity_weights(data["train"]), device=device)
                        if config.aspects else None)
    collator = DataCollatorWithPadding(tokenizer)
    lengths = [len(ids) for ids in train["input_ids"]]

    steps_per_epoch = math.ceil(len(train) / config.batch_size)
    if config.max_steps is not None:
        steps_per_epoch = min(steps_per_epoch, config.max_steps)
    total_steps = steps_per_epoch * config.epochs
    if config.head_init == "probe":
        probe_head(model, tokenizer, data["train"], weights, config.batch_size,
                   config.max_length, device)
        if config.aspects:
            probe_aspect_heads(model, tokenizer, data["train"], config.batch_size,
                               config.max_length, device, polarity_weights, seed=config.seed,
                               progress=progress)
    optimizer = torch.optim.AdamW(
        _parameter_groups(model, config.weight_decay, config.learning_rate),
        lr=config.learning_rate)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, num_warmup_steps=round(config.warmup_ratio * total_steps),
        num_training_steps=total_steps)
    generator = torch.Generator().manual_seed(config.seed)

    history: list[dict[str, Any]] = []
    best_score, best_epoch, best_state, stale = -1.0, 0, None, 0
    best_validation: dict[str, Any] = {}
    started = time.perf_counter()
    epochs = tqdm(range(1, config.epochs + 1), desc="epochs", unit="epoch", disable=not progress)
    for epoch in epochs:
        epoch_started = time.perf_counter()
        batches = _length_grouped_batches(lengths, config.batch_size, generator)[:steps_per_epoch]
        loader = torch.utils.data.DataLoader(train, batch_sampler=batches, collate_fn=collator)
        model.train()
        losses = []
        steps = tqdm(loader, desc=f"epoch {epoch}", unit="step", leave=False,
                     disable=not progress)
        for batch in steps:
            labels = batch.pop("labels").to(device)
            targets = {name: batch.pop(name).to(device) for name in TARGET_COLUMNS
                       if name in batch}
            out = model(**{name: t.to(device) for name, t in batch.items()})
            loss = loss_fn(out.logits, labels)
            if config.aspects:
                loss = loss + aspect_loss(
                    out.aspect_mention_logits, out.aspect_polarity_logits,
                    targets["aspect_mentions"], targets["aspect_polarity"],
                    targets["aspect_labelled"], polarity_weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            steps.set_postfix(loss=f"{losses[-1]:.4f}")
        train_seconds = time.perf_counter() - epoch_started

        validation = evaluate_split(model, tokenizer, data["validation"], config.batch_size,
                                    config.max_length, device)
        score = validation["macro_f1"]
        if config.aspects:
            aspects = validation_figures(model, tokenizer, data["validation"], config.aspects,
                                         config.batch_size, config.max_length, device)
            validation["aspects"] = aspects
            score = float(np.mean([score, aspects["detection"]["micro"]["f1"],
                                   aspects["polarity"]["accuracy"]]))
        improved = score > best_score
        history.append({
            "epoch": epoch,
            "steps": len(losses),
            "train_loss": float(np.mean(losses)),
            "learning_rate": scheduler.get_last_lr()[0],
            "validation_accuracy": validation["accuracy"],
            "validation_macro_f1": validation["macro_f1"],
            "validation_score": score,
            "train_seconds": round(train_seconds, 3),
            "steps_per_second": round(len(losses) / train_seconds, 4),
            "improved": improved,
        })
        if improved:
            best_score, best_epoch, stale = score, epoch, 0
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            best_validation = validation
        else:
            stale += 1
        epochs.set_postfix(val_f1=f"{validation['macro_f1']:.4f}", val_score=f"{score:.4f}",
                           best_epoch=best_epoch)
        if config.patience and stale >= config.patience:
            break
    train_seconds = time.perf_counter() - started

    assert best_state is not None  # the first epoch always improves on -1
    model.load_state_dict(best_state)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)

    metrics: dict[str, Any] = {
        "validation": best_validation,
        "best_epoch": best_epoch,
        "epochs_run": len(history),
        "stopped_early": len(history) < config.epochs,
        "train_seconds": round(train_seconds, 3),  # all epochs, their validation included
        "train_rows": len(data["train"]),
        "train_steps": sum(h["steps"] for h in history),
        "device": str(device),
        "pooling": pooling,
        "class_weights": dict(zip(LABELS, weights, strict=True)),
    }
    offset = 0.0
    if config.neutral_band:
        offset = _choose_neutral_band(model, tokenizer, data["validation"], config, device,
                                      out_dir)
    metrics["neutral_offset"] = offset
    if "test" in data and len(data["test"]):
        metrics.update(evaluate_split(model, tokenizer, data["test"], config.batch_size,
                                      config.max_length, device, neutral_offset=offset,
                                      by=("language", "source"), name="test"))
    if config.aspects:
        metrics["aspects"] = fit_aspect_thresholds(model, tokenizer, data, config.aspects,
                                                   config.batch_size, config.max_length,
                                                   device, out_dir)
    write_model_card(out_dir, base_model=str(base),
                     data_description=data_description or _describe_splits(data),
                     config=config, metrics=metrics, history=history)
    return TrainResult(path=out_dir, metrics=metrics, history=history)


def resolve_device(device: str = "auto") -> torch.device:
    """ "auto" is CUDA when a GPU is visible, else the CPU; anything else is taken as given."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def class_weights(labels: list[int] | np.ndarray, mode: str = "balanced") -> list[float]:
    """Cross-entropy weight per class, in LABELS order.

    "balanced" is ``n_rows / (n_classes_present * rows_of_class)`` (scikit-learn's rule); a
    class absent from ``labels`` gets 0, which changes nothing as no row carries it.
    "none" weighs every class 1.
    """
    if mode not in CLASS_WEIGHTING:
        raise ValueError(f"class weighting must be one of {CLASS_WEIGHTING}, got {mode!r}")
    if mode == "none":
        return [1.0] * len(LABELS)
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=len(LABELS))
    present = np.count_nonzero(counts)
    return [float(counts.sum() / (present * c)) if c else 0.0 for c in counts]


def evaluate_split(model: torch.nn.Module, tokenizer: Any, dataset: datasets.Dataset,
                   batch_size: int = 64, max_length: int = 128,
                   device: str | torch.device = "cpu", neutral_offset: float = 0.0,
                   by: Sequence[str] = (), name: str = "") -> dict[str, Any]:
    """Accuracy, macro-F1, strict binary accuracy, per-class scores and confusion matrix.

    Without ``by``, the scores themselves. With ``by`` (columns such as "language" and
    "source"), ``{name: scores, f"{name}_by_{column}": {value: scores, ...}, ...}``.
    """
    probabilities = _predict_proba(model, tokenizer, dataset["text"], batch_size, max_length,
                                   device)
    predicted = shifted(np.log(np.clip(probabilities, 1e-12, None)),
                        neutral_offset).argmax(axis=1)
    truth = np.asarray(dataset["label"])
    if not by:
        return _scores(truth, predicted)
    out: dict[str, Any] = {name: _scores(truth, predicted)}
    for column in (c for c in by if c in dataset.column_names):
        values = np.asarray(dataset[column])
        out[f"{name}_by_{column}"] = {str(v): _scores(truth[values == v], predicted[values == v])
                                      for v in sorted(set(values.tolist()))}
    return out


def _choose_neutral_band(model: torch.nn.Module, tokenizer: Any, validation: datasets.Dataset,
                         config: TrainConfig, device: torch.device, out_dir: Path) -> float:
    """The neutral offset with the best mean macro-F1 over the validation split's sources."""
    groups = (list(validation["source"]) if "source" in validation.column_names
              else ["all"] * len(validation))
    probabilities = _predict_proba(model, tokenizer, validation["text"], config.batch_size,
                                   config.max_length, device)
    offset, table = fit_neutral_offset(np.log(np.clip(probabilities, 1e-12, None)),
                                       validation["label"], groups)
    sources = ", ".join(sorted(set(groups)))
    save_decision(out_dir, offset, f"validation split ({len(validation)} rows; sources: "
                  f"{sources}); best mean macro-F1 over sources", table)
    return offset


def _scores(truth: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    ids = list(range(len(LABELS)))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=ids, zero_division=0)
    return {
        "rows": len(truth),
        "accuracy": float(accuracy_score(truth, predicted)),
        "strict_binary_accuracy": strict_binary_accuracy(truth, predicted),
        "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        "per_class": {
            LABELS[i]: {"precision": float(precision[i]), "recall": float(recall[i]),
                        "f1": float(f1[i]), "support": int(support[i])}
            for i in ids
        },
        "confusion_matrix": confusion_matrix(truth, predicted, labels=ids).tolist(),
    }


@torch.inference_mode()
def _predict_proba(model: torch.nn.Module, tokenizer: Any, texts: list[str],
                   batch_size: int = 64, max_length: int = 128,
                   device: str | torch.device = "cpu") -> np.ndarray:
    """Class probabilities, one row per text in input order, columns in LABELS order."""
    model.eval()
    probabilities = np.zeros((len(texts), len(LABELS)), dtype=np.float64)
    for chunk, encoded in length_batches(tokenizer, texts, batch_size, max_length, device):
        logits = model(**encoded).logits
        probabilities[chunk] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    return probabilities


def _tokenize(dataset: datasets.Dataset, tokenizer: Any, max_length: int) -> datasets.Dataset:
    """``input_ids`` etc. plus ``label``; no padding here, the collator pads each batch."""
    def encode(batch: dict[str, list]) -> dict[str, list]:
        return tokenizer(batch["text"], truncation=True, max_length=max_length)

    keep = {"label", *TARGET_COLUMNS}
    return dataset.map(encode, batched=True, keep_in_memory=True, load_from_cache_file=False,
                       remove_columns=[c for c in dataset.column_names if c not in keep],
                       desc="Tokenizing")


def _length_grouped_batches(lengths: list[int], batch_size: int,
                            generator: torch.Generator) -> list[list[int]]:
    """Shuffled batches of rows of similar length, so dynamic padding pads little.

    Rows are shuffled, cut into mega-batches of up to 50 batches, sorted by length inside
    each, cut into batches; then the batch order is shuffled too, so any prefix of an epoch
    is a fair sample of it.
    """
    n = len(lengths)
    mega = batch_size * max(1, min(50, n // (batch_size * 4)))
    permutation = torch.randperm(n, generator=generator).tolist()
    batches = []
    for start in range(0, n, mega):
        group = sorted(permutation[start:start + mega], key=lambda i: lengths[i], reverse=True)
        batches.extend(group[i:i + batch_size] for i in range(0, len(group), batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def _parameter_groups(model: torch.nn.Module, weight_decay: float,
                      learning_rate: float) -> list[dict[str, Any]]:
    """Weight decay on weight matrices only, not on biases and LayerNorm parameters; the
    aspect heads, new and random beside a pre-trained encoder, learn HEAD_LR_SCALE times
    faster."""
    groups: dict[tuple[bool, bool], list[torch.nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        is_norm_or_bias = parameter.ndim < 2 or "LayerNorm" in name or name.endswith(".bias")
        groups.setdefault((name.startswith("aspects."), is_norm_or_bias), []).append(parameter)
    return [{"params": params, "weight_decay": 0.0 if no_decay else weight_decay,
             "lr": learning_rate * (HEAD_LR_SCALE if head else 1.0)}
            for (head, no_decay), params in sorted(groups.items())]


def _check_data(data: datasets.DatasetDict, aspects: Sequence[str] = ()) -> None:
    for name in ("train", "validation"):
        if name not in data:
            raise ValueError(f"data needs a {name!r} split (has: {', '.join(data)})")
        if len(data[name]) == 0:
            raise ValueError(f"the {name!r} split is empty")
    for name, part in data.items():
        missing = {"text", "label", *(TARGET_COLUMNS if aspects else ())} - set(
            part.column_names)
        if missing:
            raise ValueError(f"split {name!r} lacks column(s) {sorted(missing)}")
        labels = set(part["label"])
        if not labels <= set(range(len(LABELS))):
            raise ValueError(f"split {name!r} has label ids {sorted(labels)}; "
                             f"expected ids of {LABELS}")


def _describe_splits(data: datasets.DatasetDict) -> str:
    parts = []
    for name, part in data.items():
        counts = np.bincount(np.asarray(part["label"], dtype=int), minlength=len(LABELS))
        classes = ", ".join(f"{label} {n}" for label, n in zip(LABELS, counts, strict=True))
        parts.append(f"{name} {len(part)} rows ({classes})")
    return "; ".join(parts)
