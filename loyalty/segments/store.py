"""Segments in the database: build them from the latest prediction run, and read them back.

:func:`build_segments` segments what was explained: the latest run of the production churn model
(its model version and its latest as-of date), with each customer's churn explanation's
``feature_values`` as features, the prediction's churn probability and tier, and the churn SHAP
values. Nothing is recomputed, so a segment's drivers are the SHAP values staff already see.

Stable keys: the new centres are matched (:func:`~loyalty.segments.cluster.match_segments`)
against the centres of the *active* segments stored before. Each segment's profile keeps its
raw centre (behaviour units, by column name); the old raw centres are put through the new
build's scaler, so old and new centres are compared in the same standardised units. A matched
segment keeps its key (and row); an unmatched old one is retired (its members removed); an
unmatched new one gets a key from :func:`~loyalty.segments.cluster.segment_id`. A new key that
equals a retired segment's key (the same rounded centre) brings that row back.

Everything is written in one transaction: segment rows upserted by key, all memberships
replaced, and each segment's favourite dishes (by quantity ordered by its members in non-return
visits up to the end of the as-of day) counted in SQL from the memberships just written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.orm import Session

from loyalty import registry
from loyalty.churn.dates import as_of_datetime
from loyalty.config import Settings
from loyalty.errors import NotFoundError
from loyalty.ids import parse_id
from loyalty.models import (
    Customer,
    Explanation,
    MenuItem,
    ModelVersion,
    OrderItem,
    Prediction,
    Segment,
    SegmentMembership,
    Visit,
)
from loyalty.prediction._base import json_safe
from loyalty.segments.cluster import BEHAVIOUR_COLUMNS, SegmentModel, match_segments
from loyalty.segments.describe import SegmentProfile, describe

FAVOURITE_DISHES = 3
CHUNK = 5_000  # memberships written per insert


@dataclass(frozen=True)
class SegmentSummary:
    key: str
    name: str
    size: int
    customer_share: float
    revenue_share: float
    mean_churn_probability: float
    kept: bool  # the key existed before this build


@dataclass
class SegmentBuild:
    """What :func:`build_segments` did."""

    version: str
    as_of: date
    customers: int
    k: int
    silhouette: float
    segments: list[SegmentSummary]
    retired: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"segmented {self.customers:,} customers as of {self.as_of} (churn model "
               f"{self.version}): k = {self.k}, silhouette {self.silhouette:.3f}"]
        width = max((len(s.key) for s in self.segments), default=0)
        for s in self.segments:
            state = "kept" if s.kept else "new"
            out.append(f"  {s.key:<{width}}  {s.size:>7,} ({s.customer_share:5.1%} of customers,"
                       f" {s.revenue_share:5.1%} of revenue)  churn {s.mean_churn_probability:.3f}"
                       f"  {s.name}  [{state}]")
        if self.retired:
            out.append(f"  retired: {', '.join(self.retired)}")
        return out


@dataclass
class RunData:
    """One prediction run as frames indexed by customer id (sorted)."""

    model_version_id: int
    version: str
    as_of: date
    features: pd.DataFrame
    churn: pd.Series
    tier: pd.Series
    shap: pd.DataFrame


def _production_run(session: Session) -> tuple[ModelVersion, date]:
    model = registry.production(session, registry.CHURN)
    if model is None:
        raise NotFoundError("no churn model in production: run `loyalty train` and "
                            "`loyalty predict` first")
    as_of = session.scalar(select(func.max(Prediction.as_of))
                           .where(Prediction.model_version_id == model.id))
    if as_of is None:
        raise NotFoundError(f"no predictions by churn model {model.version}: "
                            "run `loyalty predict` first")
    return model, as_of


def load_run(engine: Engine, model_version_id: int, as_of: date,
             customer_ids: list[int] | None = None) -> RunData:
    """Features, churn, tier and churn SHAP of one run (optionally only some customers)."""
    query = (select(Prediction.customer_id, Prediction.churn_probability, Prediction.tier,
                    Explanation.shap_values, Explanation.feature_values)
             .join(Explanation, Explanation.prediction_id == Prediction.id)
             .where(Prediction.model_version_id == model_version_id,
                    Prediction.as_of == as_of, Explanation.target == "churn")
             .order_by(Prediction.customer_id))
    if customer_ids is not None:
        query = query.where(Prediction.customer_id.in_(customer_ids))
    with Session(engine) as session:
        version = session.scalar(select(ModelVersion.version)
                                 .where(ModelVersion.id == model_version_id)) or "?"
        rows = session.execute(query).all()
    if not rows:
        raise NotFoundError(f"no churn explanations for model {version} as of {as_of}: "
                            "run `loyalty predict` first")
    index = pd.Index([r.customer_id for r in rows], name="customer_id")
    # JSON has no NaN: a missing value was stored as null; it counts as 0 here.
    features = pd.DataFrame([r.feature_values for r in rows], index=index,
                            dtype=float).fillna(0.0)
    shap = pd.DataFrame([r.shap_values for r in rows], index=index, dtype=float).fillna(0.0)
    churn = pd.Series([float(r.churn_probability) for r in rows], index=index, name="churn")
    tier = pd.Series([str(r.tier) for r in rows], index=index, name="tier")
    return RunData(model_version_id, version, as_of, features, churn, tier, shap)


def _old_centres(session: Session, model: SegmentModel) -> tuple[dict[str, np.ndarray], list[str]]:
    """Active segments' raw centres in the new build's standardised units, and the keys of
    active segments without a usable centre (built by other code: they cannot be matched)."""
    out: dict[str, np.ndarray] = {}
    unusable: list[str] = []
    for seg in session.scalars(select(Segment).where(Segment.status == "active")
                               .order_by(Segment.key)):
        centre = (seg.profile or {}).get("centre")
        if not isinstance(centre, dict) or any(
                not isinstance(centre.get(c), int | float) for c in BEHAVIOUR_COLUMNS):
            unusable.append(seg.key)
            continue
        raw = np.array([[float(centre[c]) for c in BEHAVIOUR_COLUMNS]])
        out[seg.key] = model.scaler_.transform(raw)[0]
    return out, unusable


def _profile_json(p: SegmentProfile, model: SegmentModel, label: int,
                  as_of: date) -> dict[str, Any]:
    raw = model.raw_centers_.iloc[label]
    return json_safe({
        "label": label,
        "drivers": [asdict(d) for d in p.drivers],
        "complaints": list(p.complaints), "praise": list(p.praise),
        "day_part": p.day_part, "tier_mix": dict(p.tier_mix),
        "customer_share": float(p.customer_share),
        "favourite_dishes": [],
        "feature_means": dict(p.feature_means),
        "centre": {c: float(raw[c]) for c in BEHAVIOUR_COLUMNS},
        "centre_scaled": [float(v) for v in model.centers_[label]],
        "k": int(model.k_), "silhouette": float(model.silhouette_[model.k_]),
        "as_of": as_of.isoformat(),
    })


def _favourites(session: Session, segment_ids: list[int], before: datetime
                ) -> dict[int, list[str]]:
    """Per segment: the ``FAVOURITE_DISHES`` dishes its members ordered most (ties by name)."""
    qty = func.sum(OrderItem.quantity).label("qty")
    rows = session.execute(
        select(SegmentMembership.segment_id, MenuItem.name, qty)
        .join(Visit, Visit.customer_id == SegmentMembership.customer_id)
        .join(OrderItem, OrderItem.visit_id == Visit.id)
        .join(MenuItem, MenuItem.id == OrderItem.menu_item_id)
        .where(SegmentMembership.segment_id.in_(segment_ids), Visit.is_return.is_(False),
               Visit.visited_at < before)
        .group_by(SegmentMembership.segment_id, MenuItem.name)
        .having(func.sum(OrderItem.quantity) > 0)
        .order_by(SegmentMembership.segment_id, qty.desc(), MenuItem.name))
    out: dict[int, list[str]] = {sid: [] for sid in segment_ids}
    for sid, name, _ in rows:
        if len(out[sid]) < FAVOURITE_DISHES:
            out[sid].append(name)
    return out


def build_segments(engine: Engine, settings: Settings, *, seed: int = 0,
                   k_range: tuple[int, int] = (3, 8), progress: bool = False) -> SegmentBuild:
    """Segment the latest prediction run of the production churn model and store the result."""
    from tqdm import tqdm

    steps = tqdm(total=4, desc="segments", disable=not progress, leave=False)
    with Session(engine) as session:
        model_row, as_of = _production_run(session)
        model_id = model_row.id
    run = load_run(engine, model_id, as_of)
    steps.update()
    value = run.features.get("monetary_total")
    model = SegmentModel(k_range=k_range, seed=seed).fit(run.features, run.churn, value)
    distance = model.distance(run.features, run.churn)
    steps.update()

    now = datetime.now(UTC)
    before = as_of_datetime(as_of, settings.timezone)
    with Session(engine) as session, session.begin():
        old, unusable = _old_centres(session, model)
        keys = match_segments(old, model.centers_)
        profiles = describe(run.features, run.churn, run.tier, model.labels_, run.shap,
                            keys=dict(enumerate(keys)))
        steps.update()
        existing = {s.key: s for s in session.scalars(select(Segment))}
        retired = sorted(k for k in [*old, *unusable] if k not in set(keys))
        for key in retired:
            existing[key].status = "retired"
        rows: dict[int, Segment] = {}
        for p in profiles:
            assert p.key is not None
            seg = existing.get(p.key)
            if seg is None:
                seg = Segment(key=p.key)
                session.add(seg)
            seg.name, seg.description = p.name, p.description
            seg.profile = _profile_json(p, model, p.label, as_of)
            seg.size = p.size
            seg.revenue_share = float(p.revenue_share)
            seg.mean_churn_probability = float(p.mean_churn_probability)
            seg.status = "active"
            seg.model_version_id = model_id
            seg.built_at = now
            rows[p.label] = seg
        session.flush()
        session.execute(delete(SegmentMembership))
        members = [{"segment_id": rows[int(label)].id, "customer_id": int(cid),
                    "as_of": as_of, "distance": float(distance[cid])}
                   for cid, label in model.labels_.items()]
        for start in range(0, len(members), CHUNK):
            session.execute(insert(SegmentMembership), members[start:start + CHUNK])
        favourites = _favourites(session, [s.id for s in rows.values()], before)
        for seg in rows.values():
            seg.profile = {**(seg.profile or {}), "favourite_dishes": favourites[seg.id]}
        steps.update()
    steps.close()

    summaries = [SegmentSummary(p.key or "", p.name, p.size, float(p.customer_share),
                                float(p.revenue_share), float(p.mean_churn_probability),
                                kept=p.key in old)
                 for p in sorted(profiles, key=lambda q: (-q.size, q.key or ""))]
    return SegmentBuild(version=run.version, as_of=as_of, customers=len(run.features),
                        k=int(model.k_), silhouette=float(model.silhouette_[model.k_]),
                        segments=summaries, retired=retired)


# ---------------------------------------------------------------------------------- readers


def _lookup(key_or_id: str | int) -> Any:
    segment_id = parse_id(key_or_id)
    return Segment.id == segment_id if segment_id is not None else Segment.key == str(key_or_id)


def list_segments(engine: Engine, include_retired: bool = False) -> list[Segment]:
    """Active segments (and retired ones when asked), largest first."""
    query = select(Segment).order_by(Segment.status, Segment.size.desc(), Segment.key)
    if not include_retired:
        query = query.where(Segment.status == "active")
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(query))


def get_segment(engine: Engine, key_or_id: str | int) -> Segment:
    """A segment by key (``seg-...``) or numeric id, active or retired."""
    with Session(engine, expire_on_commit=False) as session:
        seg = session.scalars(select(Segment).where(_lookup(key_or_id))).one_or_none()
    if seg is None:
        raise NotFoundError(f"no segment {str(key_or_id)!r}: see `loyalty segments list`")
    return seg


def segment_of(session: Session, customer_id: int) -> Segment | None:
    """The active segment the customer belongs to, if any."""
    return session.scalars(
        select(Segment).join(SegmentMembership, SegmentMembership.segment_id == Segment.id)
        .where(SegmentMembership.customer_id == customer_id, Segment.status == "active")
        .limit(1)).first()


@dataclass(frozen=True)
class Member:
    customer_id: int
    first_name: str | None
    last_name: str | None
    as_of: date
    distance: float | None  # to the segment's centre, in standard deviations


@dataclass
class MemberPage:
    segment: Segment
    total: int
    limit: int
    offset: int
    members: list[Member]


def segment_members(engine: Engine, key_or_id: str | int, *, limit: int = 50,
                    offset: int = 0) -> MemberPage:
    """A page of the segment's members, the most typical (closest to the centre) first."""
    if limit < 0 or offset < 0:
        raise ValueError("limit and offset must not be negative")
    seg = get_segment(engine, key_or_id)
    with Session(engine) as session:
        total = session.scalar(select(func.count()).select_from(SegmentMembership)
                               .where(SegmentMembership.segment_id == seg.id)) or 0
        rows = session.execute(
            select(SegmentMembership.customer_id, Customer.first_name, Customer.last_name,
                   SegmentMembership.as_of, SegmentMembership.distance)
            .join(Customer, Customer.id == SegmentMembership.customer_id)
            .where(SegmentMembership.segment_id == seg.id)
            .order_by(SegmentMembership.distance, SegmentMembership.customer_id)
            .limit(limit).offset(offset)).all()
    return MemberPage(seg, int(total), limit, offset, [Member(*r) for r in rows])


def segment_document(seg: Segment) -> dict[str, Any]:
    """A segment as plain JSON (for `--json` and the API)."""
    return json_safe({
        "id": seg.id, "key": seg.key, "name": seg.name, "description": seg.description,
        "status": seg.status, "size": seg.size, "revenue_share": seg.revenue_share,
        "mean_churn_probability": seg.mean_churn_probability,
        "model_version_id": seg.model_version_id,
        "built_at": seg.built_at.isoformat() if seg.built_at else None,
        "profile": seg.profile or {},
    })
