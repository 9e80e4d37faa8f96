"""Baselines that the churn and tier models are measured against, each in its best honest form
(DESIGN.md, "Baselines are fair"): recency relative to the customer's rhythm, BG/NBD ranking
churn by expected visits in the horizon, RFM logistic regression, gradient boosting on the full
feature frame, and the majority tier."""

from loyalty.baselines._columns import BaselineInputError
from loyalty.baselines.bgnbd import BGNBD, BGNBDParams, features_from_summary, summary_from_features
from loyalty.baselines.recency import RecencyHeuristic
from loyalty.baselines.rfm import FeatureBoosting, FeatureBoostingTier, MajorityTier, RFMLogistic

__all__ = [
    "BGNBD",
    "BGNBDParams",
    "BaselineInputError",
    "FeatureBoosting",
    "FeatureBoostingTier",
    "MajorityTier",
    "RFMLogistic",
    "RecencyHeuristic",
    "features_from_summary",
    "summary_from_features",
]
