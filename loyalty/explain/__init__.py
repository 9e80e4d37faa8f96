"""Explaining the churn / tier ensemble: SHAP values of the whole deployed model
(`EnsembleExplainer`), reason codes a waiter can read, and PNG charts."""

from loyalty.explain.plots import importance_plot, waterfall_plot
from loyalty.explain.reasons import Reason, one_line, protective_reasons, reason_codes
from loyalty.explain.shapley import (
    OUTPUT_NAMES,
    VISIT_HISTORY,
    Contribution,
    EnsembleExplainer,
    Explanations,
    ProbabilisticModel,
    explain,
)

__all__ = [
    "OUTPUT_NAMES", "VISIT_HISTORY", "Contribution", "EnsembleExplainer", "Explanations",
    "ProbabilisticModel", "Reason", "explain", "importance_plot", "one_line",
    "protective_reasons", "reason_codes", "waterfall_plot",
]
