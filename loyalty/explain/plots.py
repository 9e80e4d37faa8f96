"""PNG charts of `Explanations`: global importance bars and one customer's waterfall.

Drawn with matplotlib's object API on an Agg canvas: nothing touches pyplot's global state or
needs a display, so the functions are safe in a server, a worker thread or a notebook (whose own
backend is left alone). The charts follow shap's conventions (red raises the output, blue lowers
it, the rest grouped as "N other features"); for shap's own plots use
``explanations.for_output(...)`` with ``shap.plots.bar`` / ``shap.plots.waterfall``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from loyalty.explain.shapley import Explanations

RAISES = "#ff0051"   # shap's red
LOWERS = "#008bfb"   # shap's blue
NEUTRAL = "#7f7f7f"


def _save(fig: Figure, path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(out, format="png", dpi=110, bbox_inches="tight")
    return out


def _fmt(value: float) -> str:
    if not np.isfinite(value):
        return "n/a"
    if float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.3g}"


def importance_plot(explanations: Explanations, output: str | int = "churn", *,
                    path: str | Path, max_features: int = 15) -> Path:
    """Mean |SHAP| per feature over all customers for ``output``, as a bar chart PNG."""
    if len(explanations) == 0:
        raise ValueError("no customers to plot")
    o = explanations.output_index(output)
    name = explanations.output_names[o]
    importance = np.abs(explanations.values[:, :, o]).mean(axis=0)
    order = np.argsort(-importance, kind="stable")
    shown = order[:max_features] if len(order) <= max_features else order[:max_features - 1]
    labels = [explanations.feature_names[j] for j in shown]
    heights = list(importance[shown])
    colors = [LOWERS] * len(shown)
    if len(shown) < len(order):
        rest = order[len(shown):]
        labels.append(f"{len(rest)} other features")
        heights.append(float(importance[rest].sum()))
        colors.append(NEUTRAL)

    fig = Figure(figsize=(8, 0.42 * len(labels) + 1.4))
    ax = fig.add_subplot()
    y = np.arange(len(labels))[::-1]
    ax.barh(y, heights, color=colors, height=0.7)
    for yi, h in zip(y, heights, strict=True):
        ax.text(h, yi, f" {h:.3f}", va="center", ha="left", fontsize=9)
    ax.set_yticks(y, labels)
    ax.set_xlabel(f"mean |SHAP value| (effect on {name} probability)")
    ax.set_title(f"What drives {name}: {len(explanations)} customers")
    ax.set_xlim(0, max(heights) * 1.18 if max(heights) > 0 else 1)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _save(fig, path)


def waterfall_plot(explanations: Explanations, index: int, output: str | int = "churn", *,
                   path: str | Path, max_features: int = 10) -> Path:
    """How customer ``index``'s ``output`` goes from the base value to its prediction, as PNG."""
    o = explanations.output_index(output)
    name = explanations.output_names[o]
    values = explanations.values[index, :, o]
    data = explanations.feature_values[index]
    base = float(explanations.base_values[o])
    prediction = float(explanations.predictions[index, o])

    order = np.argsort(-np.abs(values), kind="stable")
    shown = order[:max_features] if len(order) <= max_features else order[:max_features - 1]
    rows = [(f"{explanations.feature_names[j]} = {_fmt(data[j])}", float(values[j]))
            for j in shown]
    if len(shown) < len(order):
        rest = order[len(shown):]
        rows.append((f"{len(rest)} other features", float(values[rest].sum())))

    # Drawn bottom-up: the smallest contribution starts at the base value, the largest (top)
    # ends at the prediction.
    rows = rows[::-1]
    fig = Figure(figsize=(8.5, 0.45 * len(rows) + 1.8))
    ax = fig.add_subplot()
    start = base
    span = [base, prediction]
    for y, (_label, v) in enumerate(rows):
        color = RAISES if v >= 0 else LOWERS
        ax.barh(y, v, left=start, color=color, height=0.7)
        end = start + v
        ax.text(max(start, end), y, f" {v:+.3f}", va="center", ha="left", fontsize=9)
        if y + 1 < len(rows):
            ax.plot([end, end], [y + 0.35, y + 0.65], color="#555555", lw=0.8)
        span += [start, end]
        start = end
    ax.set_yticks(range(len(rows)), [label for label, _ in rows])
    ax.axvline(base, color="#999999", ls="--", lw=0.8)
    ax.axvline(prediction, color="#333333", ls="--", lw=0.8)
    lo, hi = min(span), max(span)
    pad = (hi - lo) * 0.2 or 0.05
    ax.set_xlim(lo - pad * 0.3, hi + pad)
    ax.set_xlabel(f"{name} probability:  base E[f(X)] = {base:.3f}  →  f(x) = {prediction:.3f}")
    who = explanations.customer_ids[index]
    ax.set_title(f"Customer {who}: why {name} is {prediction:.1%}")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _save(fig, path)
