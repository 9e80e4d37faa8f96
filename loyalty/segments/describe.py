"""Profiles of segments: size, value, churn, tier mix, SHAP drivers, aspects, a name.

Everything is relative to the population, i.e. the customers in ``labels``:

- ``customer_share`` = size / population; ``revenue_share`` = the segment's monetary_total
  (each customer floored at 0, so net refunds count as no revenue) / the population's.
- ``drivers``: for every SHAP column (feature names plus ``visit_history``), segment mean minus
  population mean of the churn SHAP values; the ``TOP_DRIVERS`` largest by absolute difference.
- ``complaints`` / ``praise``: ``aspect_*`` columns with a segment mean below ``COMPLAINT_BELOW``
  / above ``PRAISE_ABOVE``, most extreme first.
- ``day_part``: the argmax of the segment means of share_breakfast/lunch/dinner/late.
- Name rules use ``z`` = (segment mean - population mean) / population std of a feature, "high"
  meaning z > ``HIGH_Z`` (see :func:`_name`). Names are unique within one call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from loyalty.prediction.inputs import TIERS
from loyalty.segments.cluster import SegmentationError

TOP_DRIVERS = 3
COMPLAINT_BELOW = -0.1
PRAISE_ABOVE = 0.3
HIGH_Z = 0.5
HIGH_RATIO, LOW_RATIO = 1.3, 0.6
DAY_PARTS: tuple[str, ...] = ("breakfast", "lunch", "dinner", "late")
DAY_PART_WORDS = {"breakfast": "breakfast", "lunch": "lunch", "dinner": "dinner",
                  "late": "late night"}
COMPLAINT_WORDS = {
    "service": "unhappy with service", "wait": "tired of waiting",
    "food": "disappointed by the food", "price": "put off by prices",
    "ambience": "unhappy with the ambience",
}
NAME_FEATURES = ("recency_days", "gap_ratio", "frequency_365d", "monetary_total",
                 "has_repeat_visits", "share_weekend", "party_size_avg")


@dataclass(frozen=True)
class Driver:
    """One SHAP driver: how much more (or less) the feature pushes churn in the segment."""

    feature: str
    segment_mean: float
    population_mean: float
    difference: float  # segment_mean - population_mean


@dataclass
class SegmentProfile:
    label: int
    size: int
    customer_share: float
    revenue_share: float
    mean_churn_probability: float
    tier_mix: dict[str, float]
    drivers: list[Driver]
    complaints: list[str]  # aspect names (without "aspect_"), most negative first
    praise: list[str]
    day_part: str
    name: str = ""
    description: str = ""
    key: str | None = None
    feature_means: dict[str, float] = field(default_factory=dict)


def _aspects(means: pd.Series) -> tuple[list[str], list[str]]:
    cols = [c for c in means.index if c.startswith("aspect_")]
    vals = means[cols]
    complaints = [c.removeprefix("aspect_") for c in vals.sort_values().index
                  if vals[c] < COMPLAINT_BELOW]
    praise = [c.removeprefix("aspect_") for c in vals.sort_values(ascending=False).index
              if vals[c] > PRAISE_ABOVE]
    return complaints, praise


def _z(means: pd.Series, pop_mean: pd.Series, pop_std: pd.Series, col: str) -> float:
    if col not in means.index:
        return 0.0
    std = float(pop_std[col])
    if not np.isfinite(std) or std < 1e-12:
        return 0.0
    return float((means[col] - pop_mean[col]) / std)


def _name(means: pd.Series, pop_mean: pd.Series, pop_std: pd.Series, churn_z: float,
          complaints: list[str], day_part: str) -> str:
    """Plain-language name from the rules.

    "High" is z > ``HIGH_Z`` or, for the heavy-tailed visit and spend totals (where a few big
    spenders inflate the standard deviation), a segment mean at least ``HIGH_RATIO`` times the
    population's; "low" is at most ``LOW_RATIO`` times.

    - mean has_repeat_visits < 0.5 and below the population -> "One-time guests"
    - recency_days or gap_ratio high -> prefix "Lapsing"
    - frequency_365d high -> "regulars"; monetary_total high -> "big spenders" (both:
      "big-spending regulars"); else weekend share and party size high -> "weekend families",
      weekend share high -> "weekend guests"; visits and spend both low -> "occasional
      guests"; else "<day part> guests"
    - not lapsing, with regulars/big spenders and churn not above the population -> "Loyal";
      not lapsing with churn high -> "At-risk"
    - the most negative complained-about aspect -> "unhappy with service", "tired of waiting"...
    """
    def z(col: str) -> float:
        return _z(means, pop_mean, pop_std, col)

    def ratio(col: str) -> float:
        if col not in means.index or not pop_mean.get(col, 0) > 0:
            return 1.0
        return float(means[col] / pop_mean[col])

    lapsing = z("recency_days") > HIGH_Z or z("gap_ratio") > HIGH_Z
    one_time = ("has_repeat_visits" in means.index and means["has_repeat_visits"] < 0.5
                and z("has_repeat_visits") < -HIGH_Z)
    frequent = z("frequency_365d") > HIGH_Z or ratio("frequency_365d") >= HIGH_RATIO
    spender = z("monetary_total") > HIGH_Z or ratio("monetary_total") >= HIGH_RATIO
    occasional = (ratio("frequency_365d") <= LOW_RATIO and ratio("monetary_total") <= LOW_RATIO)
    if one_time:
        noun = "one-time guests"
    elif frequent and spender:
        noun = "big-spending regulars"
    elif frequent:
        noun = "regulars"
    elif spender:
        noun = "big spenders"
    elif z("share_weekend") > HIGH_Z and z("party_size_avg") > HIGH_Z:
        noun = "weekend families"
    elif z("share_weekend") > HIGH_Z:
        noun = "weekend guests"
    elif occasional:
        noun = "occasional guests"
    else:
        noun = f"{DAY_PART_WORDS[day_part]} guests"
    words = [noun]
    if lapsing:
        words.insert(0, "lapsing")
    elif (frequent or spender) and churn_z <= 0:
        words.insert(0, "loyal")
    elif churn_z > HIGH_Z:
        words.insert(0, "at-risk")
    if complaints:
        words.append(COMPLAINT_WORDS.get(complaints[0], f"unhappy with {complaints[0]}"))
    text = " ".join(words)
    return text[0].upper() + text[1:]


def _describe_sentence(p: SegmentProfile) -> str:
    parts = [f"{p.size} customers ({p.customer_share:.0%} of customers, "
             f"{p.revenue_share:.0%} of revenue) with a mean churn risk of "
             f"{p.mean_churn_probability:.0%}, mostly visiting at {DAY_PART_WORDS[p.day_part]}"]
    if p.complaints:
        parts.append("complaining about " + " and ".join(p.complaints))
    if p.praise:
        parts.append("praising " + " and ".join(p.praise))
    text = ", ".join(parts)
    if p.drivers:
        ups = [d.feature for d in p.drivers if d.difference > 0]
        downs = [d.feature for d in p.drivers if d.difference < 0]
        clauses = []
        if ups:
            clauses.append("raised most by " + ", ".join(ups))
        if downs:
            clauses.append("lowered most by " + ", ".join(downs))
        text += "; compared with everyone, churn risk is " + " and ".join(clauses)
    return text + "."


def _unique_names(profiles: list[SegmentProfile]) -> None:
    """Make names unique: add the day part ("... at lunch"), then a number, in size order."""
    seen: dict[str, int] = {}
    for p in profiles:
        seen[p.name] = seen.get(p.name, 0) + 1
    dup = {n for n, c in seen.items() if c > 1}
    used: set[str] = set()
    for p in sorted(profiles, key=lambda q: (-q.size, q.label)):
        name = p.name
        words = DAY_PART_WORDS[p.day_part]
        if name in dup and words not in name.lower():
            name = f"{name} at {words}"
        base, n = name, 1
        while name in used:
            n += 1
            name = f"{base} {n}"
        used.add(name)
        p.name = name


def describe(features: pd.DataFrame, churn: pd.Series, tier: pd.Series, labels: pd.Series,
             shap: pd.DataFrame, keys: Mapping[int, str] | None = None) -> list[SegmentProfile]:
    """One profile per segment label (sorted by label); the population is ``labels.index``.

    ``features``, ``churn``, ``tier`` and ``shap`` are aligned on customer id and must cover
    every customer in ``labels``. ``keys`` (label -> stable id) fills ``SegmentProfile.key``.
    """
    idx = labels.index
    if len(idx) == 0:
        return []
    feats = features.reindex(idx)
    ch = churn.reindex(idx).astype(float)
    tr = tier.reindex(idx)
    sh = shap.reindex(idx)
    for what, frame in (("features", feats), ("churn", ch), ("tier", tr), ("shap", sh)):
        if frame.isna().to_numpy().any():
            raise SegmentationError(f"{what} lack values for some segmented customers")
    revenue = feats["monetary_total"].clip(lower=0) if "monetary_total" in feats else None
    total_revenue = float(revenue.sum()) if revenue is not None else 0.0
    pop_mean, pop_std = feats.mean(), feats.std(ddof=0)
    shap_pop = sh.mean()
    churn_pop_mean, churn_pop_std = float(ch.mean()), float(ch.std(ddof=0))
    known = [t for t in TIERS if t in set(tr)]
    tier_names = known + sorted(set(map(str, tr)) - set(known))
    day_cols = [f"share_{d}" for d in DAY_PARTS if f"share_{d}" in feats.columns]

    profiles: list[SegmentProfile] = []
    for label in sorted(pd.unique(labels)):
        mask = (labels == label).to_numpy()
        seg = feats[mask]
        means = seg.mean()
        diff = sh[mask].mean() - shap_pop
        order = sorted(diff.index, key=lambda c: (-abs(float(diff[c])), c))[:TOP_DRIVERS]
        drivers = [Driver(c, float(sh[mask][c].mean()), float(shap_pop[c]), float(diff[c]))
                   for c in order]
        complaints, praise = _aspects(means)
        day_part = (day_cols and DAY_PARTS[int(np.argmax(means[day_cols].to_numpy()))]) or "dinner"
        counts = tr[mask].astype(str).value_counts()
        size = int(mask.sum())
        seg_churn = float(ch[mask].mean())
        churn_z = ((seg_churn - churn_pop_mean) / churn_pop_std) if churn_pop_std > 1e-12 else 0.0
        p = SegmentProfile(
            label=int(label), size=size, customer_share=size / len(idx),
            revenue_share=(float(revenue[mask].sum()) / total_revenue) if total_revenue > 0
            else 0.0,
            mean_churn_probability=seg_churn,
            tier_mix={t: float(counts.get(t, 0)) / size for t in tier_names},
            drivers=drivers, complaints=complaints, praise=praise, day_part=day_part,
            key=None if keys is None else keys.get(int(label)),
            feature_means={c: float(means[c]) for c in NAME_FEATURES if c in means.index},
        )
        p.name = _name(means, pop_mean, pop_std, churn_z, complaints, day_part)
        profiles.append(p)
    _unique_names(profiles)
    for p in profiles:
        p.description = _describe_sentence(p)
    return profiles
