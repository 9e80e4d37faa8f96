"""Segments in the database: built from stored predictions, stable keys, readers, the map.

No model is trained: `make_world` inserts a production churn `ModelVersion` and, per customer,
a prediction with a churn explanation whose feature values put the customer in one of three
clearly separated behaviour groups, plus visits and order items for the favourite dishes.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from loyalty import registry
from loyalty.errors import NotFoundError
from loyalty.features.tabular import FEATURE_NAMES
from loyalty.models import (
    Customer,
    Explanation,
    Location,
    MenuItem,
    ModelVersion,
    OrderItem,
    Prediction,
    Segment,
    SegmentMembership,
    Visit,
)
from loyalty.segments import (
    BEHAVIOUR_COLUMNS,
    build_segments,
    get_segment,
    list_segments,
    segment_members,
    segment_of,
)
from loyalty.segments.plot import axis_label, draw_segment_map, segment_map

AS_OF = date(2026, 6, 15)
PER_GROUP = 30
SRC = "t"
MENU = [("Lomo saltado", "main", 54.0), ("Ceviche clásico", "main", 45.0),
        ("Pollo a la brasa", "main", 38.0), ("Suspiro limeño", "dessert", 16.0),
        ("Picarones", "dessert", 14.0), ("Chicha morada", "drink", 9.0),
        ("Pisco sour", "drink", 22.0), ("Tiramisú", "dessert", 18.0)]

GROUPS: dict[str, dict[str, Any]] = {
    "regulars": dict(
        churn=0.08, tier="platinum",
        features=dict(recency_days=4, frequency_365d=40, frequency_90d=10, visits_total=60,
                      monetary_avg=60, gap_ratio=0.6, sentiment_mean=0.6, has_reviews=1,
                      review_count=4, aspect_food=0.6, share_lunch=0.7, share_dinner=0.3,
                      has_repeat_visits=1, party_size_avg=2, tenure_days=700),
        shap=dict(recency_days=-0.12, frequency_365d=-0.2, visit_history=-0.05),
        # (dish, quantity) ordered at each visit
        dishes=[("Lomo saltado", 3), ("Chicha morada", 2), ("Picarones", 1)]),
    "lapsing": dict(
        churn=0.85, tier="bronze",
        features=dict(recency_days=150, frequency_365d=3, frequency_90d=0, visits_total=5,
                      monetary_avg=40, gap_ratio=6.0, sentiment_mean=-0.6, has_reviews=1,
                      review_count=2, aspect_service=-0.7, aspect_wait=-0.3, share_dinner=0.8,
                      share_late=0.2, has_repeat_visits=1, party_size_avg=2, tenure_days=500),
        shap=dict(recency_days=0.3, aspect_service=0.1, gap_ratio=0.08),
        dishes=[("Ceviche clásico", 2), ("Pisco sour", 3), ("Suspiro limeño", 1)]),
    "one_time": dict(
        churn=0.5, tier="bronze",
        features=dict(recency_days=60, frequency_365d=1, visits_total=1, monetary_avg=25,
                      gap_ratio=1.0, sentiment_mean=0.0, has_reviews=0, share_weekend=1,
                      share_breakfast=0.1, share_dinner=0.9, has_repeat_visits=0,
                      party_size_avg=3, tenure_days=60),
        shap=dict(has_repeat_visits=0.15, visits_total=0.05),
        dishes=[("Pollo a la brasa", 2), ("Chicha morada", 1), ("Picarones", 1)]),
    # Not in the first world: what "one_time" turns into when a group changes.
    "big_spenders": dict(
        churn=0.2, tier="gold",
        features=dict(recency_days=12, frequency_365d=12, visits_total=20, monetary_avg=250,
                      gap_ratio=0.9, sentiment_mean=0.2, has_reviews=1, review_count=1,
                      share_dinner=1.0, has_repeat_visits=1, party_size_avg=6,
                      tenure_days=300),
        shap=dict(monetary_total=-0.1),
        dishes=[("Pisco sour", 4)]),
}
EXPECTED_FAVOURITES = {
    "regulars": ["Lomo saltado", "Chicha morada", "Picarones"],
    "lapsing": ["Pisco sour", "Ceviche clásico", "Suspiro limeño"],
    "one_time": ["Pollo a la brasa", "Chicha morada", "Picarones"],
}


def _values(group: str, rng: np.random.Generator, jitter: float) -> tuple[dict, dict, float]:
    spec = GROUPS[group]
    features = dict.fromkeys(FEATURE_NAMES, 0.0)
    for key, value in spec["features"].items():
        noisy = key in ("recency_days", "frequency_365d", "monetary_avg", "gap_ratio")
        features[key] = float(value) * (float(rng.lognormal(0, jitter)) if noisy else 1.0)
    features["monetary_total"] = features["monetary_avg"] * max(features["frequency_365d"], 1)
    features["visit_history"] = min(features["visits_total"], 50.0)
    shap = {name: float(rng.normal(0, 0.002)) for name in (*FEATURE_NAMES, "visit_history")}
    for key, value in spec["shap"].items():
        shap[key] += value
    churn = float(np.clip(spec["churn"] + rng.normal(0, 0.02), 0, 1))
    return features, shap, churn


def add_run(engine: Engine, model_id: int, as_of: date, groups: dict[int, str],
            seed: int = 0, jitter: float = 0.08) -> None:
    """A prediction + churn explanation (+ a tier explanation) per customer id -> group."""
    rng = np.random.default_rng(seed)
    with Session(engine) as s, s.begin():
        for cid, group in groups.items():
            features, shap, churn = _values(group, rng, jitter)
            tier = GROUPS[group]["tier"]
            p = Prediction(customer_id=cid, model_version_id=model_id, as_of=as_of,
                           churn_probability=churn, tier=tier,
                           tier_probabilities={tier: 0.7, "bronze": 0.3})
            s.add(p)
            s.flush()
            s.add(Explanation(prediction_id=p.id, target="churn", base_value=0.45,
                              output_value=churn, shap_values=shap, feature_values=features,
                              reason_codes={"codes": []}))
            s.add(Explanation(prediction_id=p.id, target=f"tier:{tier}", base_value=0.25,
                              output_value=0.7, shap_values={k: -v for k, v in shap.items()},
                              feature_values=features, reason_codes={}))


def make_world(engine: Engine, per_group: int = PER_GROUP) -> dict[str, Any]:
    """Customers of the three first groups with visits, a production model and one run."""
    now = datetime.combine(AS_OF, datetime.min.time(), tzinfo=UTC) + timedelta(hours=18)
    with Session(engine, expire_on_commit=False) as s, s.begin():
        loc = Location(source=SRC, external_id="L1", name="Miraflores", city="Lima")
        items = {n: MenuItem(source=SRC, external_id=f"M{i}", name=n, category=c, price=p)
                 for i, (n, c, p) in enumerate(MENU)}
        model = ModelVersion(kind=registry.CHURN, version="test-1", status="production",
                             path="/nowhere")
        s.add_all([loc, *items.values(), model])
        s.flush()
        people = [(Customer(source=SRC, external_id=f"C{group}{i}", first_name=f"Guest{i}",
                            last_name=group, signup_date=date(2024, 1, 1), language="es"), group)
                  for group in ("regulars", "lapsing", "one_time") for i in range(per_group)]
        s.add_all([c for c, _ in people])
        s.flush()
        groups = {c.id: group for c, group in people}
        visits: list[tuple[Visit, list[tuple[str, int]]]] = []
        for cid, group in groups.items():
            for k in range(2):
                v = Visit(source=SRC, external_id=f"V{cid}-{k}", customer_id=cid,
                          location_id=loc.id, visited_at=now - timedelta(days=10 + 20 * k),
                          total_amount=80.0)
                visits.append((v, GROUPS[group]["dishes"]))
        first_regular = next(c for c, g in groups.items() if g == "regulars")
        # Neither a return nor a visit after the as-of day counts towards favourites.
        visits.append((Visit(source=SRC, external_id="V-return", customer_id=first_regular,
                             location_id=loc.id, visited_at=now - timedelta(days=9),
                             total_amount=-50.0, is_return=True), [("Tiramisú", 100)]))
        visits.append((Visit(source=SRC, external_id="V-later", customer_id=first_regular,
                             location_id=loc.id, visited_at=now + timedelta(days=3),
                             total_amount=50.0), [("Tiramisú", 100)]))
        s.add_all([v for v, _ in visits])
        s.flush()
        s.add_all([OrderItem(visit_id=v.id, line_no=i + 1, menu_item_id=items[dish].id,
                             quantity=q, unit_price=items[dish].price)
                   for v, dishes in visits for i, (dish, q) in enumerate(dishes)])
    add_run(engine, model.id, AS_OF, groups)
    return {"model_id": model.id, "groups": groups}


@pytest.fixture
def world(engine: Engine) -> dict[str, Any]:
    return make_world(engine)


def _keys_by_group(engine: Engine, groups: dict[int, str]) -> dict[str, str]:
    """group -> the key of the (only) segment its customers are in."""
    with Session(engine) as s:
        rows = s.execute(select(SegmentMembership.customer_id, Segment.key)
                         .join(Segment, Segment.id == SegmentMembership.segment_id)).all()
    seen: dict[str, set[str]] = {}
    for cid, key in rows:
        seen.setdefault(groups[cid], set()).add(key)
    assert all(len(keys) == 1 for keys in seen.values()), seen
    return {g: keys.pop() for g, keys in seen.items()}


def _counts(engine: Engine) -> tuple[int, int]:
    with Session(engine) as s:
        return (s.scalar(select(func.count()).select_from(Segment)),
                s.scalar(select(func.count()).select_from(SegmentMembership)))


def test_build_persists_segments_and_memberships(engine, settings, world):
    # A non-production model's later run is not what gets segmented.
    with Session(engine) as s, s.begin():
        other = ModelVersion(kind=registry.CHURN, version="old", status="retired", path="/x")
        s.add(other)
        s.flush()
        other_id = other.id
    add_run(engine, other_id, AS_OF + timedelta(days=30),
            dict.fromkeys(list(world["groups"])[:5], "big_spenders"))

    result = build_segments(engine, settings)
    assert result.k == 3 and result.customers == 3 * PER_GROUP
    assert result.as_of == AS_OF and result.version == "test-1"
    assert not result.retired and not any(s.kept for s in result.segments)
    lines = result.lines()
    assert "k = 3" in lines[0] and "90 customers" in lines[0]
    assert all(s.key in "\n".join(lines) for s in result.segments)

    assert _counts(engine) == (3, 3 * PER_GROUP)
    keys = _keys_by_group(engine, world["groups"])
    assert len(set(keys.values())) == 3
    segs = {s.key: s for s in list_segments(engine)}
    for group, key in keys.items():
        seg = segs[key]
        assert seg.status == "active" and seg.size == PER_GROUP
        assert seg.name and seg.description and seg.model_version_id == world["model_id"]
        assert seg.built_at is not None
        assert seg.mean_churn_probability == pytest.approx(GROUPS[group]["churn"], abs=0.02)
        p = seg.profile
        for field in ("drivers", "complaints", "praise", "day_part", "tier_mix",
                      "customer_share", "favourite_dishes", "feature_means", "centre", "k",
                      "silhouette"):
            assert field in p, field
        assert p["k"] == 3 and p["customer_share"] == pytest.approx(1 / 3)
        assert set(p["centre"]) == set(BEHAVIOUR_COLUMNS)
        assert p["tier_mix"][GROUPS[group]["tier"]] == pytest.approx(1.0)
        assert json.loads(json.dumps(p, allow_nan=False)) == p  # plain JSON
    assert sum(s.revenue_share for s in segs.values()) == pytest.approx(1.0)
    assert len({s.name for s in segs.values()}) == 3
    lapsing = segs[keys["lapsing"]].profile
    assert lapsing["complaints"][0] == "service"
    assert lapsing["drivers"][0]["feature"] == "recency_days"
    assert lapsing["drivers"][0]["difference"] > 0
    assert segs[keys["regulars"]].profile["praise"] == ["food"]
    with Session(engine) as s:
        assert set(s.scalars(select(SegmentMembership.as_of))) == {AS_OF}


def test_favourite_dishes(engine, settings, world):
    build_segments(engine, settings)
    keys = _keys_by_group(engine, world["groups"])
    for group, key in keys.items():
        assert get_segment(engine, key).profile["favourite_dishes"] == EXPECTED_FAVOURITES[group]


def test_rebuild_keeps_keys_and_rows_without_duplicates(engine, settings, world):
    first = build_segments(engine, settings, seed=0)
    before = {s.key: s.id for s in list_segments(engine)}
    keys = _keys_by_group(engine, world["groups"])
    again = build_segments(engine, settings, seed=7)
    assert {s.key for s in again.segments} == set(before)
    assert all(s.kept for s in again.segments) and not again.retired
    assert {s.key: s.id for s in list_segments(engine, include_retired=True)} == before
    assert _keys_by_group(engine, world["groups"]) == keys
    assert _counts(engine) == (3, 3 * PER_GROUP)
    assert [s.name for s in again.segments] == [s.name for s in first.segments]


def test_slightly_changed_data_keeps_keys(engine, settings, world):
    build_segments(engine, settings)
    keys = _keys_by_group(engine, world["groups"])
    later = AS_OF + timedelta(days=7)
    add_run(engine, world["model_id"], later, world["groups"], seed=1, jitter=0.12)
    result = build_segments(engine, settings)
    assert result.as_of == later and not result.retired
    assert _keys_by_group(engine, world["groups"]) == keys
    assert _counts(engine) == (3, 3 * PER_GROUP)
    with Session(engine) as s:
        assert set(s.scalars(select(SegmentMembership.as_of))) == {later}


def test_changed_group_gets_a_new_key_and_the_vanished_one_is_retired(engine, settings, world):
    build_segments(engine, settings)
    keys = _keys_by_group(engine, world["groups"])
    changed = {cid: ("big_spenders" if g == "one_time" else g)
               for cid, g in world["groups"].items()}
    add_run(engine, world["model_id"], AS_OF + timedelta(days=7), changed, seed=2)
    result = build_segments(engine, settings)
    assert result.retired == [keys["one_time"]]
    new_keys = _keys_by_group(engine, changed)
    assert new_keys["regulars"] == keys["regulars"] and new_keys["lapsing"] == keys["lapsing"]
    assert new_keys["big_spenders"] not in keys.values()
    assert _counts(engine) == (4, 3 * PER_GROUP)

    gone = get_segment(engine, keys["one_time"])
    assert gone.status == "retired"
    assert segment_members(engine, gone.key, limit=10).total == 0
    assert {s.key for s in list_segments(engine)} == set(new_keys.values())
    assert len(list_segments(engine, include_retired=True)) == 4
    kept = {s.key: s.kept for s in result.segments}
    assert kept == {keys["regulars"]: True, keys["lapsing"]: True,
                    new_keys["big_spenders"]: False}
    assert "retired: " + keys["one_time"] in "\n".join(result.lines())


def test_readers(engine, settings, world):
    build_segments(engine, settings)
    keys = _keys_by_group(engine, world["groups"])
    seg = get_segment(engine, keys["lapsing"])
    assert get_segment(engine, seg.id).key == seg.key
    assert get_segment(engine, str(seg.id)).key == seg.key
    with pytest.raises(NotFoundError, match="seg-nope"):
        get_segment(engine, "seg-nope")
    with pytest.raises(NotFoundError, match="9999"):
        get_segment(engine, 9999)

    page = segment_members(engine, seg.key, limit=10, offset=0)
    assert page.total == PER_GROUP and len(page.members) == 10
    assert page.segment.key == seg.key
    distances = [m.distance for m in page.members]
    assert distances == sorted(distances)
    rest = segment_members(engine, seg.id, limit=100, offset=10)
    assert len(rest.members) == PER_GROUP - 10
    ids = {m.customer_id for m in page.members} | {m.customer_id for m in rest.members}
    assert ids == {c for c, g in world["groups"].items() if g == "lapsing"}
    assert all(m.last_name == "lapsing" and m.as_of == AS_OF for m in page.members)

    cid = next(iter(world["groups"]))
    with Session(engine) as s:
        found = segment_of(s, cid)
        assert found is not None and found.key == keys[world["groups"][cid]]
        assert segment_of(s, 999_999) is None


def test_no_predictions_is_not_found(engine, settings):
    with pytest.raises(NotFoundError, match="loyalty predict"):
        build_segments(engine, settings)
    with Session(engine) as s, s.begin():
        s.add(ModelVersion(kind=registry.CHURN, version="v0", status="production", path="/x"))
    with pytest.raises(NotFoundError, match="loyalty predict"):
        build_segments(engine, settings)
    assert _counts(engine) == (0, 0)


def test_segment_map_png(engine, settings, world, tmp_path):
    with pytest.raises(NotFoundError, match="segments build"):
        segment_map(engine, tmp_path / "none.png")
    build_segments(engine, settings)
    out = segment_map(engine, tmp_path / "maps" / "segments.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_draw_segment_map_samples_and_labels(tmp_path):
    rng = np.random.default_rng(0)
    import pandas as pd

    frame = pd.DataFrame(rng.normal(size=(300, len(BEHAVIOUR_COLUMNS))),
                         columns=list(BEHAVIOUR_COLUMNS))
    labels = pd.Series(np.where(frame["churn_probability"] > 0, "seg-a", "seg-b"),
                       index=frame.index)
    out = draw_segment_map(frame, labels, {"seg-a": "A", "seg-b": "B"},
                           path=tmp_path / "m.png", max_points=50)
    assert out.read_bytes()[:4] == b"\x89PNG"
    label = axis_label(0, np.array([0.1, -0.8, 0, 0, 0, 0, 0.5]), 0.42)
    assert label == "PC1 (42% of variance): − visits in the last year, + churn risk"
