"""Explained segments for marketing: who is in each, how big and valuable it is, what drives its
churn risk (SHAP, against the whole population), and which reward rules target it.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from flask import Response, request
from flask_openapi3 import APIBlueprint, Tag
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import API_PREFIX
from api.auth import SECURITY, require
from api.errors import problem_responses
from api.extensions import database, db_session
from api.schemas.marketing import (
    MEMBER_CSV_COLUMNS,
    RuleRef,
    SegmentDriver,
    SegmentList,
    SegmentListQuery,
    SegmentMember,
    SegmentMemberPage,
    SegmentMembersQuery,
    SegmentOut,
    SegmentPath,
)
from loyalty.models import Prediction, RewardRule, Segment
from loyalty.segments.store import (
    MemberPage,
    get_segment,
    list_segments,
    segment_document,
    segment_members,
)

bp = APIBlueprint("segments", __name__, url_prefix=API_PREFIX,
                  abp_tags=[Tag(name="segments", description="Explained customer segments")])

CSV = "text/csv"
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9_.-]+")
# A spreadsheet runs a cell that starts like a formula; guest names come from outside.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _rules_by_segment(session: Session, segment_ids: list[int]) -> dict[int, list[RuleRef]]:
    out: dict[int, list[RuleRef]] = {sid: [] for sid in segment_ids}
    if not segment_ids:
        return out
    rows = session.execute(
        select(RewardRule.segment_id, RewardRule.key, RewardRule.name, RewardRule.status)
        .where(RewardRule.segment_id.in_(segment_ids))
        .order_by(RewardRule.status, RewardRule.priority, RewardRule.id))
    for segment_id, key, name, status in rows:
        out[segment_id].append(RuleRef(key=key, name=name, status=status))
    return out


def _drivers(raw: Any) -> list[SegmentDriver]:
    return [SegmentDriver.model_validate(d) for d in raw or []
            if isinstance(d, dict) and "feature" in d and d.get("difference") is not None]


def segment_out(seg: Segment, rules: list[RuleRef]) -> SegmentOut:
    doc = segment_document(seg)
    profile: dict[str, Any] = doc.get("profile") or {}
    return SegmentOut(
        id=doc["id"], key=doc["key"], name=doc["name"], description=doc["description"],
        status=doc["status"], size=doc["size"] or 0,
        customer_share=profile.get("customer_share"), revenue_share=doc["revenue_share"],
        mean_churn_probability=doc["mean_churn_probability"],
        tier_mix=profile.get("tier_mix") or {}, drivers=_drivers(profile.get("drivers")),
        complaints=profile.get("complaints") or [], praise=profile.get("praise") or [],
        day_part=profile.get("day_part"),
        favourite_dishes=profile.get("favourite_dishes") or [],
        as_of=profile.get("as_of"), model_version_id=doc["model_version_id"],
        built_at=doc["built_at"], rules=rules)


@bp.get("/segments", security=SECURITY, summary="The explained segments",
        description="Active segments (largest first), each with its size, customer and "
                    "revenue share, mean churn probability, tier mix, top SHAP drivers "
                    "against the population, complaints and praise, usual day part, "
                    "favourite dishes, and the reward rules that target it.",
        responses={200: SegmentList, **problem_responses(401, 403, 422)})
@require("marketing")
def list_all(query: SegmentListQuery):
    segments = list_segments(database().engine, include_retired=query.include_retired)
    rules = _rules_by_segment(db_session(), [s.id for s in segments])
    return SegmentList(items=[segment_out(s, rules[s.id]) for s in segments]
                       ).model_dump(mode="json")


@bp.get("/segments/<key>", security=SECURITY, summary="One explained segment",
        responses={200: SegmentOut, **problem_responses(401, 403, 404, 422)})
@require("marketing")
def show(path: SegmentPath):
    seg = get_segment(database().engine, path.key)
    rules = _rules_by_segment(db_session(), [seg.id])
    return segment_out(seg, rules[seg.id]).model_dump(mode="json")


def _scores(session: Session, page: MemberPage) -> dict[int, tuple[float, str]]:
    """Per member: churn probability and tier of the prediction the segment was built from
    (the segment's model, the membership's as-of date), else of the member's latest one."""
    wanted = {m.customer_id: m.as_of for m in page.members}
    if not wanted:
        return {}
    base = select(Prediction.customer_id, Prediction.as_of, Prediction.churn_probability,
                  Prediction.tier)
    if page.segment.model_version_id is not None:
        base = base.where(Prediction.model_version_id == page.segment.model_version_id)
    out: dict[int, tuple[float, str]] = {}
    exact = (base.where(Prediction.customer_id.in_(list(wanted)),
                        Prediction.as_of.in_(set(wanted.values())))
             .order_by(Prediction.id.desc()))
    for customer_id, as_of, churn, tier in session.execute(exact):
        if as_of == wanted[customer_id] and customer_id not in out:
            out[customer_id] = (float(churn), tier)
    missing = [cid for cid in wanted if cid not in out]
    if missing:
        latest = (base.where(Prediction.customer_id.in_(missing))
                  .order_by(Prediction.as_of.desc(), Prediction.id.desc()))
        for customer_id, _as_of, churn, tier in session.execute(latest):
            out.setdefault(customer_id, (float(churn), tier))
    return out


def _wants_csv(fmt: str | None) -> bool:
    if fmt is not None:
        return fmt == "csv"
    best = request.accept_mimetypes.best_match(["application/json", CSV])
    return best == CSV


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_response(key: str, page: SegmentMemberPage) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(MEMBER_CSV_COLUMNS)
    for m in page.items:
        writer.writerow([m.id, _cell(m.name), "" if m.distance is None else m.distance,
                         "" if m.churn_probability is None else m.churn_probability,
                         m.tier or "", m.as_of.isoformat()])
    safe = _UNSAFE_FILENAME.sub("_", key).strip("._") or "segment"
    name = f"{safe}-customers.csv" if page.offset == 0 else \
        f"{safe}-customers-from-{page.offset}.csv"
    response = Response(buffer.getvalue(), mimetype=CSV)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Total-Count"] = str(page.total)
    return response


@bp.get("/segments/<key>/customers", security=SECURITY, summary="A segment's members",
        description="A page of the segment's members, the most typical (closest to the "
                    "centre) first, with their churn probability and predicted tier. "
                    "`Accept: text/csv` or `?format=csv` gives the same page as CSV.",
        responses={200: SegmentMemberPage, **problem_responses(401, 403, 404, 422)})
@require("marketing")
def members(path: SegmentPath, query: SegmentMembersQuery):
    found = segment_members(database().engine, path.key, limit=query.limit,
                            offset=query.offset)
    scores = _scores(db_session(), found)
    items = []
    for m in found.members:
        churn, tier = scores.get(m.customer_id, (None, None))
        name = " ".join(p for p in (m.first_name, m.last_name) if p)
        items.append(SegmentMember(id=m.customer_id, name=name, distance=m.distance,
                                   churn_probability=churn, tier=tier, as_of=m.as_of))
    page = SegmentMemberPage(total=found.total, limit=found.limit, offset=found.offset,
                             items=items)
    if _wants_csv(query.format):
        response = _csv_response(found.segment.key, page)
    else:
        response = Response(page.model_dump_json(), mimetype="application/json")
    response.vary.add("Accept")
    return response
