"""How synthetic customers respond to offers: the visits they make while an offer is open.

The demo issues offers at the end of the synthetic history and then "plays" each offer window
forward with `simulate_responses`, so the uplift report has real treated-against-control
differences to find. The model, per offer (window ``w`` days long):

1. **Baseline** (what the guest would do anyway, the control group's fate): the chance of at
   least one visit in the window follows the guest's rhythm and churn risk,
   ``p0 = (1 - churn_probability) * (1 - exp(-w / max(gap_mean_days, 1)))``, clipped to
   [0.01, 0.95]. A missing churn probability counts as 0.5, a missing gap as 30 days.
2. **Treatment** adds to the log-odds of ``p0`` (control guests get nothing)::

       lift = persuadable(churn) * (0.15 + 0.85 * (1 - exp(-value / 0.12)))
              + 0.4 * addresses_complaint

   ``value`` is the reward against the guest's typical bill: percent_off ``percent / 100``,
   amount_off and free_item ``amount / monetary_avg``, points_multiplier
   ``0.05 * (multiplier - 1)`` (points feel worth about 5 % of the bill per extra multiple,
   more than their 2 % cash value), anything else 0; capped at 1. Returns diminish: 10 % off
   earns 0.57 of the 0.85 maximum, 25 % off 0.88, 50 % off 0.98. The 0.15 is the reminder any
   offer is. ``persuadable(c) = 0.3 + 0.7 * exp(-((c - 0.6) / 0.3) ** 2)`` peaks at 1 for a
   churn risk of 0.6 and falls to about 0.3 for guests who come anyway (``c`` near 0) and 0.4
   for the lost causes (``c`` near 1, whose tiny ``p0`` also leaves little to lift). An apology
   for what the guest complained about adds 0.4.
   On a mixed base (churn ~ Beta(2, 2.5), gaps around three weeks, spend around 60, 14-day
   windows; baseline revisit about 28 %) the mean absolute uplift is 8.6 points for 10 % off,
   10.5 for 15 %, 11.5 for 20 %, 5.8 for double points, 1.9 for an offer worth nothing and
   19 for 15 % off with an apology; at 15 % off it is 14 points at churn 0.6, 5 at churn 0.05
   and 1 at churn 0.95.
3. **Visits**: a guest who comes may come a second time with probability
   ``0.4 * (1 - exp(-w / gap))``. Visit days are uniform over the window's Lima dates, at
   lunch (12:30-15:30 local, 45 %) or dinner (19:00-22:30 local, 55 %), stored as UTC; a slot
   outside the window is redrawn (up to 8 times, then a uniform instant in the window).
   Amounts are lognormal with mean ``monetary_avg`` (sigma 0.35; 50 when missing), 6 % higher
   for treated guests (the reward pulls in a dessert or a friend), and are the bill before the
   reward (its cost is booked on the offer). A treated guest's first visit redeems the offer.

Deterministic and stable per offer: each offer draws from its own generator seeded with
``(seed, offer_id)`` in a fixed order, so adding, removing or reordering offers never changes
another offer's outcome.
"""

from __future__ import annotations

import hashlib
import numbers

import numpy as np
import pandas as pd

INPUT_COLUMNS = ("offer_id", "customer_id", "is_control", "issued_at", "expires_at",
                 "churn_probability", "monetary_avg", "gap_mean_days", "reward_type",
                 "reward_value", "addresses_complaint")
OUTPUT_COLUMNS = ("offer_id", "customer_id", "visited_at", "total_amount", "redeemed")

TIMEZONE = "America/Lima"
P_MIN, P_MAX = 0.01, 0.95
DEFAULT_CHURN = 0.5
DEFAULT_GAP_DAYS = 30.0
DEFAULT_SPEND = 50.0
REMINDER_LIFT = 0.15
VALUE_LIFT = 0.85
VALUE_SCALE = 0.12
POINTS_PERCEIVED_SHARE = 0.05
PERSUADABLE_PEAK, PERSUADABLE_WIDTH, PERSUADABLE_FLOOR = 0.6, 0.3, 0.3
COMPLAINT_LIFT = 0.4
SECOND_VISIT_SHARE = 0.4
SPEND_SIGMA = 0.35
TREATED_PULL = 0.06
LUNCH_SHARE = 0.45
LUNCH_HOURS = (12.5, 15.5)
DINNER_HOURS = (19.0, 22.5)
TRIES = 8
# Per offer, in this order: visit, second visit, 2 fallback instants, then per visit and try a
# day, a meal and a minute of the meal (TRIES x 3 each); then two normals for the amounts.
_U_FIXED = 4
N_UNIFORMS = _U_FIXED + 2 * TRIES * 3


def _offer_key(offer_id: object) -> int:
    if isinstance(offer_id, numbers.Integral) and int(offer_id) >= 0:
        return int(offer_id)
    digest = hashlib.sha256(str(offer_id).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _draws(offer_ids: pd.Series, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, N_UNIFORMS) uniforms and (n, 2) normals, each row from the offer's own generator."""
    n = len(offer_ids)
    u = np.empty((n, N_UNIFORMS))
    z = np.empty((n, 2))
    for i, oid in enumerate(offer_ids):
        rng = np.random.default_rng([int(seed), _offer_key(oid)])
        u[i] = rng.random(N_UNIFORMS)
        z[i] = rng.standard_normal(2)
    return u, z


def _utc(values: pd.Series, name: str) -> pd.Series:
    series = pd.to_datetime(values) if len(values) else pd.Series(
        pd.DatetimeIndex([], tz="UTC"), index=values.index)
    if getattr(series.dtype, "tz", None) is None:
        raise ValueError(f"{name} holds naive timestamps: give tz-aware values (UTC)")
    if series.isna().any():
        raise ValueError(f"{name} has missing timestamps")
    return series.dt.tz_convert("UTC").dt.as_unit("ns")


def _floats(frame: pd.DataFrame, column: str, default: float) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    return np.where(np.isfinite(values), values, default)


def _bools(values: pd.Series) -> np.ndarray:
    return values.astype(object).where(values.notna(), False).astype(bool).to_numpy()


def reward_value_share(reward_type: np.ndarray, reward_value: np.ndarray,
                       spend: np.ndarray) -> np.ndarray:
    """What the reward is worth against the guest's typical bill, in [0, 1]."""
    kind = np.asarray(reward_type, dtype=object).astype(str)
    value = np.where(np.isfinite(reward_value), reward_value, 0.0)
    share = np.select(
        [kind == "percent_off", np.isin(kind, ["amount_off", "free_item"]),
         kind == "points_multiplier"],
        [value / 100.0, value / spend, POINTS_PERCEIVED_SHARE * (value - 1.0)], 0.0)
    return np.clip(share, 0.0, 1.0)


def persuadable(churn: np.ndarray) -> np.ndarray:
    """How much an offer moves a guest at this churn risk: 1 at 0.6, ~0.3-0.4 at the ends."""
    c = np.asarray(churn, dtype=np.float64)
    return PERSUADABLE_FLOOR + (1 - PERSUADABLE_FLOOR) * np.exp(
        -(((c - PERSUADABLE_PEAK) / PERSUADABLE_WIDTH) ** 2))


def _require(offers: pd.DataFrame) -> None:
    missing = [c for c in INPUT_COLUMNS if c not in offers.columns]
    if missing:
        raise ValueError(f"offers lacks columns: {', '.join(missing)}")


def visit_probabilities(offers: pd.DataFrame) -> pd.DataFrame:
    """Per offer (same index): ``p_control`` (baseline), ``p_treated`` (with the offer's lift),
    and ``p`` (the one that applies, by ``is_control``) of at least one visit in the window."""
    _require(offers)
    start = _utc(offers["issued_at"], "issued_at")
    end = _utc(offers["expires_at"], "expires_at")
    days = ((end - start).dt.total_seconds() / 86400.0).to_numpy(dtype=np.float64)
    days = np.maximum(days, 0.0)
    churn = np.clip(_floats(offers, "churn_probability", DEFAULT_CHURN), 0.0, 1.0)
    gap = np.maximum(_floats(offers, "gap_mean_days", DEFAULT_GAP_DAYS), 1.0)
    spend = _floats(offers, "monetary_avg", DEFAULT_SPEND)
    spend = np.where(spend > 0, spend, DEFAULT_SPEND)
    p0 = np.clip((1 - churn) * (1 - np.exp(-days / gap)), P_MIN, P_MAX)
    share = reward_value_share(offers["reward_type"].to_numpy(),
                               _floats(offers, "reward_value", 0.0), spend)
    lift = (persuadable(churn) * (REMINDER_LIFT + VALUE_LIFT * (1 - np.exp(-share / VALUE_SCALE)))
            + COMPLAINT_LIFT * _bools(offers["addresses_complaint"]))
    p1 = 1.0 / (1.0 + np.exp(-(np.log(p0 / (1 - p0)) + lift)))
    control = _bools(offers["is_control"])
    empty = days <= 0
    p0, p1 = np.where(empty, 0.0, p0), np.where(empty, 0.0, p1)
    return pd.DataFrame({"p_control": p0, "p_treated": p1, "p": np.where(control, p0, p1)},
                        index=offers.index)


def _visit_times(start: pd.Series, end: pd.Series, u: np.ndarray) -> np.ndarray:
    """(n, 2) UTC instants (int64 ns) for a first and a second visit in each window."""
    n = len(start)
    s_ns = start.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    e_ns = end.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    local_start = start.dt.tz_convert(TIMEZONE).dt.tz_localize(None).dt.normalize()
    local_end = end.dt.tz_convert(TIMEZONE).dt.tz_localize(None).dt.normalize()
    n_days = ((local_end - local_start).dt.days.to_numpy() + 1).astype(np.int64)
    midnight = local_start.to_numpy(dtype="datetime64[ns]")
    slots = u[:, _U_FIXED:].reshape(n, 2, TRIES, 3)
    day = np.minimum((slots[..., 0] * n_days[:, None, None]).astype(np.int64),
                     n_days[:, None, None] - 1)
    lunch = slots[..., 1] < LUNCH_SHARE
    lo = np.where(lunch, LUNCH_HOURS[0], DINNER_HOURS[0])
    hi = np.where(lunch, LUNCH_HOURS[1], DINNER_HOURS[1])
    seconds = np.floor((lo + (hi - lo) * slots[..., 2]) * 3600.0).astype(np.int64)
    wall = (midnight[:, None, None] + day.astype("timedelta64[D]")
            + seconds.astype("timedelta64[s]"))
    utc = (pd.DatetimeIndex(wall.ravel()).tz_localize(TIMEZONE, ambiguous="NaT",
                                                      nonexistent="NaT")
           .tz_convert("UTC").as_unit("ns"))
    inst = np.where(utc.isna(), np.iinfo(np.int64).min, utc.asi8).reshape(n, 2, TRIES)
    ok = (inst >= s_ns[:, None, None]) & (inst <= e_ns[:, None, None])
    first_ok = ok.argmax(axis=2)
    chosen = np.take_along_axis(inst, first_ok[..., None], axis=2)[..., 0]
    fallback = s_ns[:, None] + (u[:, 2:4] * (e_ns - s_ns)[:, None]).astype(np.int64)
    return np.where(ok.any(axis=2), chosen, fallback)


def simulate_responses(offers: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """The visits guests make in their offer windows (see the module doc for the model).

    One row per simulated visit: offer_id, customer_id, visited_at (UTC), total_amount,
    redeemed (a treated guest's first visit in the window); ordered by offer then time.
    """
    _require(offers)
    frame = offers.reset_index(drop=True)
    if len(frame) == 0:
        return pd.DataFrame({
            "offer_id": frame["offer_id"], "customer_id": frame["customer_id"],
            "visited_at": pd.Series(pd.DatetimeIndex([], tz="UTC").as_unit("ns")),
            "total_amount": pd.Series([], dtype=np.float64),
            "redeemed": pd.Series([], dtype=bool)})
    probs = visit_probabilities(frame)
    start = _utc(frame["issued_at"], "issued_at")
    end = _utc(frame["expires_at"], "expires_at")
    u, z = _draws(frame["offer_id"], seed)
    days = ((end - start).dt.total_seconds() / 86400.0).to_numpy(dtype=np.float64)
    gap = np.maximum(_floats(frame, "gap_mean_days", DEFAULT_GAP_DAYS), 1.0)
    treated = ~_bools(frame["is_control"])

    first = u[:, 0] < probs["p"].to_numpy()
    second = first & (u[:, 1] < SECOND_VISIT_SHARE * (1 - np.exp(-np.maximum(days, 0) / gap)))
    times = _visit_times(start, end, u)
    # The earlier of the two draws is the first visit (it is the one that redeems).
    swap = second & (times[:, 1] < times[:, 0])
    times = np.where(swap[:, None], times[:, ::-1], times)

    spend = _floats(frame, "monetary_avg", DEFAULT_SPEND)
    spend = np.where(spend > 0, spend, DEFAULT_SPEND) * np.where(treated, 1 + TREATED_PULL, 1.0)
    amounts = spend[:, None] * np.exp(SPEND_SIGMA * z - SPEND_SIGMA ** 2 / 2)
    amounts = np.maximum(np.round(amounts, 2), 1.0)

    happened = np.stack([first, second], axis=1)
    rows, visit_no = np.nonzero(happened)  # row-major: by offer, then first before second
    out = pd.DataFrame({
        "offer_id": frame["offer_id"].to_numpy()[rows],
        "customer_id": frame["customer_id"].to_numpy()[rows],
        "visited_at": pd.to_datetime(times[rows, visit_no], unit="ns", utc=True).as_unit("ns"),
        "total_amount": amounts[rows, visit_no],
        "redeemed": treated[rows] & (visit_no == 0),
    })
    return out.reset_index(drop=True)


__all__ = ["INPUT_COLUMNS", "OUTPUT_COLUMNS", "persuadable", "reward_value_share",
           "simulate_responses", "visit_probabilities"]
