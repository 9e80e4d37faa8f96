"""Churn and loyalty tier in the service: train and register the ensemble, predict and explain
every customer into the database, and evaluate it beside the baselines.

`loyalty.features` computes what the models read, `loyalty.prediction` holds the models,
`loyalty.explain` the SHAP values and reasons; this package wires them to the database, the
model registry and the dates.
"""

from loyalty.churn.artifact import ChurnModel
from loyalty.churn.dates import as_of_datetime, data_end

__all__ = ["ChurnModel", "as_of_datetime", "data_end"]
