"""Simulated responses to offers: deterministic, stable per offer, and the offer works."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalty.synth.response import (
    OUTPUT_COLUMNS,
    persuadable,
    reward_value_share,
    simulate_responses,
    visit_probabilities,
)

T0 = pd.Timestamp("2026-06-01 17:00", tz="UTC")


def population(n: int = 3000, seed: int = 1, **overrides) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "offer_id": np.arange(1, n + 1), "customer_id": np.arange(1, n + 1) + 10_000,
        "is_control": np.arange(n) % 2 == 0,
        "issued_at": T0 + pd.to_timedelta(rng.integers(0, 5 * 86400, n), unit="s"),
        "expires_at": pd.NaT,
        "churn_probability": rng.beta(2, 2.5, n),
        "monetary_avg": rng.lognormal(np.log(60), 0.4, n),
        "gap_mean_days": rng.lognormal(np.log(21), 0.6, n),
        "reward_type": "percent_off", "reward_value": 15.0, "addresses_complaint": False,
    })
    frame["expires_at"] = frame["issued_at"] + pd.Timedelta(days=14)
    for name, value in overrides.items():
        frame[name] = value
    return frame


@pytest.fixture(scope="module")
def offers() -> pd.DataFrame:
    return population()


@pytest.fixture(scope="module")
def visits(offers) -> pd.DataFrame:
    return simulate_responses(offers, seed=7)


def test_output_shape_and_types(offers, visits):
    assert list(visits.columns) == list(OUTPUT_COLUMNS)
    assert len(visits) > 0
    assert str(visits["visited_at"].dt.tz) == "UTC"
    assert visits["redeemed"].dtype == bool
    assert (visits["total_amount"] >= 1.0).all()
    owner = offers.set_index("offer_id")["customer_id"]
    assert (visits["customer_id"].to_numpy() == owner.loc[visits["offer_id"]].to_numpy()).all()


def test_deterministic_and_seed_dependent(offers, visits):
    pd.testing.assert_frame_equal(simulate_responses(offers, seed=7), visits)
    assert not simulate_responses(offers, seed=8).equals(visits)


def test_each_offer_keeps_its_outcome_when_others_change(offers, visits):
    part = offers.iloc[::3].iloc[::-1]  # fewer offers, other order, another index
    extra = population(50, seed=9).assign(offer_id=np.arange(50) + 90_000)
    alone = simulate_responses(pd.concat([extra, part]), seed=7)
    alone = alone[alone["offer_id"].isin(part["offer_id"])]
    expected = visits[visits["offer_id"].isin(part["offer_id"])]
    key = ["offer_id", "visited_at"]
    pd.testing.assert_frame_equal(alone.sort_values(key).reset_index(drop=True),
                                  expected.sort_values(key).reset_index(drop=True))


def test_visits_fall_in_the_window_at_lunch_or_dinner_in_lima(offers, visits):
    window = offers.set_index("offer_id").loc[visits["offer_id"]]
    at = visits["visited_at"].to_numpy()
    assert (at >= window["issued_at"].to_numpy()).all()
    assert (at <= window["expires_at"].to_numpy()).all()
    local = visits["visited_at"].dt.tz_convert("America/Lima")
    hours = local.dt.hour + local.dt.minute / 60
    meal = ((hours >= 12.5) & (hours < 15.5)) | ((hours >= 19.0) & (hours < 22.5))
    assert meal.mean() > 0.99  # the rare fallback is a uniform instant in a tight window


def test_redemptions_only_for_treated_and_only_on_the_first_visit(offers, visits):
    control = offers.set_index("offer_id")["is_control"]
    is_control = control.loc[visits["offer_id"]].to_numpy()
    assert not visits.loc[is_control, "redeemed"].any()
    ordered = visits.sort_values(["offer_id", "visited_at"], kind="stable")
    first = ~ordered["offer_id"].duplicated()
    treated = ~control.loc[ordered["offer_id"]].to_numpy()
    assert (ordered["redeemed"].to_numpy() == (first.to_numpy() & treated)).all()
    assert ordered["offer_id"].duplicated().any()  # second visits do happen
    assert ordered.groupby("offer_id").size().max() <= 2


def test_treated_guests_come_back_more_and_spend_a_little_more(offers, visits):
    came = offers["offer_id"].isin(visits["offer_id"])
    treated_rate = came[~offers["is_control"]].mean()
    control_rate = came[offers["is_control"]].mean()
    assert 0.05 < treated_rate - control_rate < 0.2
    p = visit_probabilities(offers)
    assert 0.05 < (p["p_treated"] - p["p_control"]).mean() < 0.15
    assert (p["p_treated"] >= p["p_control"]).all()
    control = offers.set_index("offer_id")["is_control"].loc[visits["offer_id"]].to_numpy()
    ratio = visits["total_amount"].to_numpy() / offers.set_index("offer_id")[
        "monetary_avg"].loc[visits["offer_id"]].to_numpy()
    assert ratio[~control].mean() > ratio[control].mean()


def test_effect_grows_with_value_with_diminishing_returns():
    spend = np.full(4, 60.0)
    share = reward_value_share(np.array(["percent_off", "amount_off", "free_item",
                                         "points_multiplier"]),
                               np.array([15.0, 12.0, 18.0, 2.0]), spend)
    assert share == pytest.approx([0.15, 0.2, 0.3, 0.05])
    base = population(400, seed=3, churn_probability=0.5, gap_mean_days=20.0,
                      is_control=False)
    uplift = []
    for percent in (0, 10, 20, 40, 80):
        p = visit_probabilities(base.assign(reward_value=float(percent)))
        uplift.append(float((p["p_treated"] - p["p_control"]).mean()))
    steps = np.diff(uplift)
    assert (steps > 0).all()
    assert steps[-1] < steps[0]  # doubling from 40 % to 80 % adds less than the first 10 %
    with_apology = visit_probabilities(base.assign(addresses_complaint=True))
    without = visit_probabilities(base)
    assert (with_apology["p_treated"] > without["p_treated"]).all()


def test_persuadable_middle_and_lost_causes():
    c = np.array([0.05, 0.35, 0.6, 0.85, 0.98])
    m = persuadable(c)
    assert m.argmax() == 2 and m[2] == pytest.approx(1.0)
    assert m[0] < m[1] and m[4] < m[3] < m[2]
    base = population(300, seed=4, gap_mean_days=14.0, is_control=False)
    lift = {churn: float((lambda p: (p["p_treated"] - p["p_control"]).mean())(
        visit_probabilities(base.assign(churn_probability=churn)))) for churn in (0.1, 0.6, 0.95)}
    assert lift[0.6] > lift[0.1] and lift[0.6] > lift[0.95]


def test_control_guests_get_no_lift_and_baseline_follows_rhythm():
    base = population(4, seed=5, is_control=True, churn_probability=0.2,
                      gap_mean_days=[7.0, 14.0, 60.0, np.nan])
    p = visit_probabilities(base)
    assert (p["p"] == p["p_control"]).all()
    w = 14.0
    expected = np.clip(0.8 * (1 - np.exp(-w / np.array([7.0, 14.0, 60.0, 30.0]))), 0.01, 0.95)
    assert p["p_control"].to_numpy() == pytest.approx(expected)


def test_empty_input_and_missing_columns():
    empty = population(0)
    out = simulate_responses(empty)
    assert list(out.columns) == list(OUTPUT_COLUMNS) and len(out) == 0
    with pytest.raises(ValueError, match="lacks columns"):
        simulate_responses(population(3).drop(columns="gap_mean_days"))
    naive = population(3)
    naive["issued_at"] = naive["issued_at"].dt.tz_localize(None)
    with pytest.raises(ValueError, match="naive"):
        simulate_responses(naive)


def test_string_offer_ids_are_fine():
    frame = population(200, seed=6).assign(offer_id=lambda f: "OFF-" + f["offer_id"].astype(str))
    a = simulate_responses(frame, seed=1)
    pd.testing.assert_frame_equal(a, simulate_responses(frame, seed=1))
    assert a["offer_id"].str.startswith("OFF-").all()
