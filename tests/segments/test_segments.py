"""Segments: k selection, determinism, stable ids, profiles and names (inputs built by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from loyalty.features.tabular import FEATURE_NAMES
from loyalty.segments import (
    SegmentationError,
    SegmentModel,
    describe,
    match_segments,
    segment_id,
)
from loyalty.segments import cluster as cluster_mod

GROUPS = {
    # name: (size, overrides)
    "lapsing_unhappy": (150, dict(recency_days=120, frequency_365d=12, monetary_avg=30,
                                  gap_ratio=5.0, sentiment_mean=-0.6, has_reviews=1,
                                  churn=0.8, aspect_service=-0.7, aspect_wait=-0.3,
                                  share_dinner=0.8, has_repeat_visits=1, party_size_avg=2)),
    "loyal_spenders": (100, dict(recency_days=5, frequency_365d=40, monetary_avg=120,
                                 gap_ratio=0.6, sentiment_mean=0.6, has_reviews=1, churn=0.1,
                                 aspect_food=0.6, share_lunch=0.7, has_repeat_visits=1,
                                 party_size_avg=2)),
    "one_time": (200, dict(recency_days=200, frequency_365d=1, monetary_avg=20, gap_ratio=1.0,
                           sentiment_mean=0.0, has_reviews=0, churn=0.7, share_dinner=0.6,
                           has_repeat_visits=0, party_size_avg=2)),
    "weekend_families": (120, dict(recency_days=20, frequency_365d=6, monetary_avg=60,
                                   gap_ratio=1.0, sentiment_mean=0.2, has_reviews=0, churn=0.3,
                                   share_weekend=0.9, party_size_avg=4.5, share_dinner=0.7,
                                   has_repeat_visits=1)),
}
TIER_BY_GROUP = {"lapsing_unhappy": "silver", "loyal_spenders": "platinum",
                 "one_time": "bronze", "weekend_families": "gold"}


def make_data(seed: int = 0, groups=GROUPS):
    rng = np.random.default_rng(seed)
    rows, churn, tiers, truth = [], [], [], []
    for g, (size, over) in groups.items():
        for _ in range(size):
            row = dict.fromkeys(FEATURE_NAMES, 0.0)
            for key, val in over.items():
                if key == "churn":
                    continue
                noisy = key in ("recency_days", "frequency_365d", "monetary_avg", "gap_ratio")
                row[key] = float(val) * (rng.lognormal(0, 0.08) if noisy else 1.0)
            row["sentiment_mean"] += rng.normal(0, 0.03) if row["has_reviews"] else 0.0
            row["monetary_total"] = row["monetary_avg"] * max(row["frequency_365d"], 1.0)
            rows.append(row)
            churn.append(float(np.clip(over["churn"] + rng.normal(0, 0.02), 0, 1)))
            tiers.append(TIER_BY_GROUP.get(g, "bronze"))
            truth.append(g)
    index = pd.Index(np.arange(1000, 1000 + len(rows)), name="customer_id")
    features = pd.DataFrame(rows, index=index)[list(FEATURE_NAMES)]
    return (features, pd.Series(churn, index=index), pd.Series(tiers, index=index),
            pd.Series(truth, index=index))


@pytest.fixture(scope="module")
def data():
    return make_data()


@pytest.fixture(scope="module")
def fitted(data):
    features, churn, _, _ = data
    return SegmentModel(seed=0).fit(features, churn, features["monetary_total"])


def test_picks_true_k_and_recovers_groups(data, fitted):
    _, _, _, truth = data
    assert fitted.k_ == 4
    assert set(fitted.silhouette_) == set(range(3, 9))
    assert max(fitted.silhouette_, key=fitted.silhouette_.get) == 4
    assert adjusted_rand_score(truth, fitted.labels_) == 1.0
    assert fitted.centers_.shape == (4, 7)
    assert list(fitted.labels_.index) == list(data[0].index)


def test_deterministic_with_seed_and_canonical_labels(data, fitted):
    features, churn, _, _ = data
    again = SegmentModel(seed=0).fit(features, churn, features["monetary_total"])
    assert again.silhouette_ == fitted.silhouette_
    pd.testing.assert_series_equal(again.labels_, fitted.labels_)
    other = SegmentModel(seed=7).fit(features, churn, features["monetary_total"])
    pd.testing.assert_series_equal(other.labels_, fitted.labels_)  # canonical numbering


def test_predict_matches_fit_and_distances(data, fitted):
    features, churn, _, _ = data
    pd.testing.assert_series_equal(fitted.predict(features, churn), fitted.labels_)
    d = fitted.distance(features, churn)
    assert (d >= 0).all() and d.index.equals(features.index)


def test_silhouette_sample_cap(data, monkeypatch):
    features, churn, _, _ = data
    monkeypatch.setattr(cluster_mod, "SILHOUETTE_SAMPLE", 60)
    model = SegmentModel(k_range=(3, 5), seed=0).fit(features, churn)
    assert model.k_ == 4


def test_stable_ids_on_refit_with_another_seed(data, fitted):
    features, churn, _, _ = data
    ids0 = match_segments({}, fitted.centers_)
    assert len(set(ids0)) == 4 and all(i.startswith("seg-") for i in ids0)
    assert ids0 == [segment_id(c) for c in fitted.centers_]
    # Shuffle the rows too, so the refit differs in more than the seed.
    perm = np.random.default_rng(3).permutation(len(features))
    refit = SegmentModel(seed=11).fit(features.iloc[perm], churn)
    ids1 = match_segments(dict(zip(ids0, fitted.centers_, strict=True)), refit.centers_)
    by_customer0 = fitted.labels_.map(dict(enumerate(ids0)))
    by_customer1 = refit.labels_.map(dict(enumerate(ids1))).reindex(by_customer0.index)
    pd.testing.assert_series_equal(by_customer0, by_customer1)


def test_match_mints_new_id_beyond_threshold():
    old = {"seg-a": np.array([0.0, 0.0]), "seg-b": np.array([5.0, 5.0])}
    new = np.array([[5.1, 4.9], [20.0, 20.0], [0.2, -0.1]])
    ids = match_segments(old, new, threshold=1.0)
    assert ids[0] == "seg-b" and ids[2] == "seg-a"
    assert ids[1] == segment_id(new[1]) and ids[1] not in old
    # More new centres than old: the extra ones are minted, and ids stay unique.
    same = match_segments({"x": np.zeros(2)}, np.array([[0.0, 0.0], [0.001, 0.0]]))
    assert same[0] == "x" and same[1].startswith("seg-") and len(set(same)) == 2
    assert match_segments(old, np.empty((0, 2))) == []


def test_errors(data):
    features, churn, _, _ = data
    with pytest.raises(SegmentationError):
        SegmentModel().fit(features, churn.iloc[:-1])
    with pytest.raises(SegmentationError):
        SegmentModel().fit(features.drop(columns="gap_ratio"), churn)
    with pytest.raises(SegmentationError):
        SegmentModel(k_range=(1, 3))
    with pytest.raises(SegmentationError):
        SegmentModel().predict(features, churn)


def make_shap(features: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols = list(FEATURE_NAMES) + ["visit_history"]
    return pd.DataFrame(rng.normal(0, 0.01, (len(features), len(cols))), index=features.index,
                        columns=cols)


def test_describe_sizes_shares_names(data, fitted):
    features, churn, tier, truth = data
    shap = make_shap(features)
    lapsing = (truth == "lapsing_unhappy").to_numpy()
    shap.loc[lapsing, "gap_ratio"] += 0.3
    shap.loc[lapsing, "aspect_service"] += 0.2
    profiles = describe(features, churn, tier, fitted.labels_, shap, keys={0: "seg-x"})
    assert [p.label for p in profiles] == [0, 1, 2, 3]
    assert profiles[0].key == "seg-x" and profiles[1].key is None
    assert sum(p.size for p in profiles) == len(features)
    assert sum(p.customer_share for p in profiles) == pytest.approx(1.0)
    assert sum(p.revenue_share for p in profiles) == pytest.approx(1.0)
    for p in profiles:
        assert sum(p.tier_mix.values()) == pytest.approx(1.0)
        assert p.description.endswith(".") and str(p.size) in p.description
    names = [p.name for p in profiles]
    assert len(set(names)) == len(names)
    by_group = {truth[fitted.labels_ == p.label].iloc[0]: p for p in profiles}
    lap = by_group["lapsing_unhappy"]
    assert "Lapsing" in lap.name and "unhappy with service" in lap.name
    assert lap.complaints == ["service", "wait"] and lap.day_part == "dinner"
    assert [d.feature for d in lap.drivers][:2] == ["gap_ratio", "aspect_service"]
    assert lap.mean_churn_probability == pytest.approx(0.8, abs=0.01)
    assert lap.tier_mix["silver"] == 1.0 and lap.tier_mix["bronze"] == 0.0
    assert lap.size == 150 and lap.customer_share == pytest.approx(150 / 570)
    assert by_group["one_time"].name.endswith("one-time guests")
    assert by_group["loyal_spenders"].name.startswith("Loyal")
    assert by_group["loyal_spenders"].praise == ["food"]
    assert by_group["loyal_spenders"].day_part == "lunch"
    assert "weekend families" in by_group["weekend_families"].name.lower()
    revenue = features["monetary_total"]
    assert lap.revenue_share == pytest.approx(revenue[lapsing].sum() / revenue.sum())


def test_driver_differences_by_hand():
    idx = pd.Index([1, 2, 3, 4], name="customer_id")
    features = pd.DataFrame(0.0, index=idx, columns=list(FEATURE_NAMES))
    features["monetary_total"] = [10.0, 30.0, 60.0, -5.0]
    features["share_lunch"] = [1.0, 1.0, 0.0, 0.0]
    features["share_late"] = [0.0, 0.0, 1.0, 1.0]
    churn = pd.Series([0.2, 0.4, 0.9, 0.7], index=idx)
    tier = pd.Series(["gold", "silver", "bronze", "bronze"], index=idx)
    labels = pd.Series([0, 0, 1, 1], index=idx)
    shap = pd.DataFrame({
        "a": [1.0, 3.0, 0.0, 0.0],          # seg0 mean 2, pop 1 -> +1 / -1
        "b": [0.0, 0.0, 0.5, 0.5],          # seg0 0, pop .25 -> -.25 / +.25
        "visit_history": [-2.0, -2.0, 2.0, 2.0],  # seg0 -2, pop 0 -> -2 / +2
        "c": [0.1, 0.1, 0.1, 0.1],          # no difference
    }, index=idx)
    p0, p1 = describe(features, churn, tier, labels, shap)
    assert [(d.feature, d.difference) for d in p0.drivers] == [
        ("visit_history", -2.0), ("a", 1.0), ("b", -0.25)]
    assert p0.drivers[1].segment_mean == 2.0 and p0.drivers[1].population_mean == 1.0
    assert [(d.feature, d.difference) for d in p1.drivers] == [
        ("visit_history", 2.0), ("a", -1.0), ("b", 0.25)]
    # Revenue floors customer 4's net refund at 0: 40 / 100 and 60 / 100.
    assert (p0.revenue_share, p1.revenue_share) == (pytest.approx(0.4), pytest.approx(0.6))
    assert p0.mean_churn_probability == pytest.approx(0.3)
    assert p0.tier_mix == {"silver": 0.5, "gold": 0.5, "bronze": 0.0}
    assert p0.day_part == "lunch" and p1.day_part == "late"
    assert p0.name != p1.name
    with pytest.raises(SegmentationError):
        describe(features, churn, tier, labels, shap.iloc[:3])


def test_duplicate_names_get_distinguished():
    groups = {"a": (60, GROUPS["one_time"][1]),
              "b": (40, {**GROUPS["one_time"][1], "share_dinner": 0.0, "share_lunch": 0.9}),
              "c": (50, {**GROUPS["one_time"][1], "share_dinner": 0.0, "share_lunch": 0.95,
                         "monetary_avg": 21}),
              "d": (80, GROUPS["loyal_spenders"][1])}
    features, churn, tier, truth = make_data(1, groups)
    labels = truth.map({"a": 0, "b": 1, "c": 2, "d": 3})
    profiles = describe(features, churn, tier, labels, make_shap(features))
    names = [p.name for p in profiles]
    assert len(set(names)) == 4
    assert names[0] == "Lapsing one-time guests at dinner"
    assert names[1] == "Lapsing one-time guests at lunch 2"  # smaller of the two lunch ones
    assert names[2] == "Lapsing one-time guests at lunch"
