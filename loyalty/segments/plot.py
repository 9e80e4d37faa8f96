"""A PNG map of the segments: members projected to 2-D, coloured by segment, centres marked.

The projection is a PCA of the standardised behaviour columns (the space the segments were
clustered in); each axis is labelled by the columns it loads on most, with their signs. Drawn
with matplotlib's object API on an Agg canvas, like ``loyalty.explain.plots``: no pyplot state,
no display needed.

:func:`segment_map` reads the active segments back from the database (memberships plus the
prediction run they were built from); :func:`draw_segment_map` draws any behaviour frame and
labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loyalty.errors import NotFoundError
from loyalty.models import Segment, SegmentMembership
from loyalty.segments.cluster import BEHAVIOUR_COLUMNS, behaviour_frame

COLUMN_WORDS = {
    "log_recency": "days since last visit",
    "log_frequency_365d": "visits in the last year",
    "log_monetary_avg": "spend per visit",
    "gap_ratio": "gap vs usual gap",
    "sentiment_mean": "review sentiment",
    "has_reviews": "writes reviews",
    "churn_probability": "churn risk",
}
MAX_POINTS = 5_000  # members drawn (a seeded sample); centres and sizes use everyone
LOADING_SHOWN = 0.3  # a column names an axis when |loading| is at least this (top 3)


def _save(fig: Figure, path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(out, format="png", dpi=110, bbox_inches="tight")
    return out


def axis_label(component: int, loadings: np.ndarray, explained: float,
               columns: tuple[str, ...] = BEHAVIOUR_COLUMNS) -> str:
    """"PC1 (41% of variance): + churn risk, - visits in the last year"."""
    order = np.argsort(-np.abs(loadings), kind="stable")
    picked = [j for j in order[:3] if abs(loadings[j]) >= LOADING_SHOWN] or [int(order[0])]
    words = ", ".join(("+ " if loadings[j] >= 0 else "− ") + COLUMN_WORDS.get(columns[j],
                                                                             columns[j])
                      for j in picked)
    return f"PC{component + 1} ({explained:.0%} of variance): {words}"


def draw_segment_map(frame: pd.DataFrame, labels: pd.Series, names: Mapping[str, str], *,
                     path: str | Path, title: str | None = None, max_points: int = MAX_POINTS,
                     seed: int = 0) -> Path:
    """Draw ``frame`` (behaviour columns, by customer) coloured by ``labels`` (segment key by
    customer); ``names`` maps keys to the names shown in the legend."""
    labels = labels.reindex(frame.index)
    if len(frame) < 3 or labels.isna().any():
        raise ValueError("need at least 3 customers, each with a segment, to draw a map")
    x = StandardScaler().fit_transform(frame[list(BEHAVIOUR_COLUMNS)].to_numpy(dtype=float))
    pca = PCA(n_components=2, random_state=seed).fit(x)
    xy = pca.transform(x)
    keys = sorted(pd.unique(labels), key=lambda k: (-int((labels == k).sum()), str(k)))
    rng = np.random.default_rng(seed)
    shown = np.ones(len(xy), dtype=bool)
    if len(xy) > max_points:
        shown[:] = False
        shown[rng.choice(len(xy), size=max_points, replace=False)] = True

    fig = Figure(figsize=(9, 6.5))
    ax = fig.add_subplot()
    colours = [f"C{i % 10}" for i in range(len(keys))]
    for key, colour in zip(keys, colours, strict=True):
        mask = (labels == key).to_numpy()
        size = int(mask.sum())
        pts = xy[mask & shown]
        ax.scatter(pts[:, 0], pts[:, 1], s=12, alpha=0.45, color=colour, linewidths=0,
                   label=f"{names.get(key, key)} ({size:,})")
        centre = xy[mask].mean(axis=0)
        ax.scatter([centre[0]], [centre[1]], marker="X", s=180, color=colour,
                   edgecolors="black", linewidths=1.2, zorder=3)
    ratio = pca.explained_variance_ratio_
    ax.set_xlabel(axis_label(0, pca.components_[0], float(ratio[0])))
    ax.set_ylabel(axis_label(1, pca.components_[1], float(ratio[1])))
    ax.set_title(title or f"Customer segments: {len(frame):,} customers, {len(keys)} segments"
                          " (X = centre)")
    ax.legend(loc="best", fontsize=8, framealpha=0.85, markerscale=1.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _save(fig, path)


def segment_map(engine: Engine, path: str | Path, *, max_points: int = MAX_POINTS,
                seed: int = 0) -> Path:
    """The map of the active segments as stored (members and the run they were built from)."""
    from loyalty.segments.store import load_run

    with Session(engine) as session:
        segs = {s.id: s for s in session.scalars(select(Segment)
                                                 .where(Segment.status == "active"))}
        rows = session.execute(select(SegmentMembership.customer_id,
                                      SegmentMembership.segment_id, SegmentMembership.as_of)
                               .where(SegmentMembership.segment_id.in_(list(segs)))
                               .order_by(SegmentMembership.customer_id)).all()
    if not rows:
        raise NotFoundError("no segments with members: run `loyalty segments build` first")
    runs = {(segs[r.segment_id].model_version_id, r.as_of) for r in rows}
    if len(runs) != 1 or None in {m for m, _ in runs}:
        raise NotFoundError("the segments do not come from one prediction run: run "
                            "`loyalty segments build` again")
    ((model_version_id, as_of),) = runs
    assert model_version_id is not None
    run = load_run(engine, model_version_id, as_of)
    labels = pd.Series({r.customer_id: segs[r.segment_id].key for r in rows})
    labels = labels[labels.index.isin(run.features.index)]
    features = run.features.loc[labels.index]
    frame = behaviour_frame(features, run.churn)
    names = {s.key: s.name for s in segs.values()}
    return draw_segment_map(frame, labels, names, path=path, max_points=max_points, seed=seed,
                            title=f"Customer segments as of {as_of}: {len(frame):,} customers, "
                                  f"{labels.nunique()} segments (X = centre)")
