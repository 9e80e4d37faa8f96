"""Train, predict, explain and evaluate churn end to end on a small synthetic database.

Marked slow (about a minute each with both databases): they fit real Keras models.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty import registry
from loyalty.churn.evaluate import evaluate_churn
from loyalty.churn.serve import predict_all
from loyalty.churn.stored import latest, run_explanations
from loyalty.churn.train import train_churn
from loyalty.cli import main
from loyalty.errors import LoyaltyError
from loyalty.models import Explanation, Offer, Prediction, Segment
from loyalty.pipeline import design_programme
from loyalty.prediction.boosting import BoostingModel
from loyalty.prediction.sequence import SequenceModel
from loyalty.prediction.tabular import TabularModel
from tests.features.helpers import frames_of, insert_tables, synth_tables

END = dt.date(2026, 6, 30)


def quick() -> dict:
    """Base models small enough for a test: the wiring is under test, not the accuracy."""
    return {"base_models": {
        "tabular": TabularModel(hidden=(16,), epochs=3, validation_fraction=0.0),
        "sequence": SequenceModel(units=8, static_units=8, hidden=(8,), epochs=2,
                                  validation_fraction=0.0),
        "boosting": BoostingModel(max_iter=20, n_threads=1)}}


@pytest.fixture(scope="module")
def tables():
    return synth_tables(customers=200, seed=5, years=1.5, end=END)


@pytest.mark.slow
def test_train_predict_explain_and_rerun(engine, settings, tables, tmp_path, monkeypatch):
    insert_tables(engine, tables)
    outcome = train_churn(engine, settings, n_folds=2, ensemble_params=quick())
    assert outcome.promoted and outcome.reason == "first model of its kind"
    assert outcome.as_of == END - dt.timedelta(days=settings.horizon_days)
    assert (outcome.path / "spec.json").is_file() and (outcome.path / "background.npz").is_file()
    assert 0.0 <= outcome.metrics["validation"]["roc_auc"] <= 1.0

    result = predict_all(engine, settings)
    assert result.as_of == END and result.additivity_error < 1e-6
    with Session(engine) as session:
        n_pred = session.scalar(select(func.count()).select_from(Prediction))
        n_expl = session.scalar(select(func.count()).select_from(Explanation))
        assert n_pred == result.customers > 100 and n_expl == 2 * n_pred
        for pred in session.scalars(select(Prediction).limit(20)):
            for expl in session.scalars(select(Explanation)
                                        .where(Explanation.prediction_id == pred.id)):
                # SHAP values add up to the stored prediction they explain.
                total = expl.base_value + sum(expl.shap_values.values())
                assert total == pytest.approx(expl.output_value, abs=1e-3)
                if expl.target == "churn":
                    assert expl.output_value == pytest.approx(pred.churn_probability, abs=1e-4)
                    assert expl.reason_codes["en"]["line"] and expl.reason_codes["es"]["line"]
                else:
                    assert expl.target == f"tier:{pred.tier}"
                    assert expl.output_value == pytest.approx(
                        pred.tier_probabilities[pred.tier], abs=1e-4)

    predict_all(engine, settings)  # the same run again replaces, never duplicates
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Prediction)) == n_pred
        customer = session.scalar(select(Prediction.customer_id).limit(1))
    found = latest(engine, customer)
    assert found.churn.reason_codes["codes"]
    run = run_explanations(engine, found.prediction.model_version_id, found.prediction.as_of)
    assert run.additivity_error() < 1e-9 and len(run) == n_pred

    monkeypatch.setenv("LOYALTY_HOME", str(settings.home))
    monkeypatch.setenv("LOYALTY_DATABASE_URL", settings.database_url)
    assert main(["explain", str(customer), "--plot", str(tmp_path / "plots")]) == 0
    assert (tmp_path / "plots" / "importance.png").stat().st_size > 1000
    assert (tmp_path / "plots" / f"waterfall-{customer}.png").stat().st_size > 1000
    assert main(["explain", "999999"]) == 1

    # The programme on real predictions: segments, rules, offers, the window played, uplift.
    lines = list(design_programme(engine, settings))
    assert any("activated the" in line for line in lines)
    assert any("Offer uplift as of" in line for line in lines)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Segment)) >= 3
        offers = session.scalars(select(Offer)).all()
        assert offers and {o.status for o in offers} <= {"redeemed", "expired"}
        assert any(o.is_control for o in offers) and any(not o.is_control for o in offers)
        given = next(o for o in offers if not o.is_control)
        assert given.message and given.reason and given.explanation_id is not None
    assert list(design_programme(engine, settings))  # a second run builds on the first


@pytest.mark.slow
def test_promotion_gate_force_and_rollback(engine, settings, tables):
    insert_tables(engine, tables)
    first = train_churn(engine, settings, n_folds=2, ensemble_params=quick())
    second = train_churn(engine, settings, n_folds=2, seed=1, ensemble_params=quick())
    # Compared with production on the second model's own validation customers.
    assert first.version in second.reason
    third = train_churn(engine, settings, n_folds=2, seed=2, force=True,
                        ensemble_params=quick())
    assert third.promoted and "forced" in third.reason
    with Session(engine) as session:
        restored, retired = registry.rollback(session, registry.CHURN)
        session.commit()
        assert retired.version == third.version
        assert registry.production(session, registry.CHURN).version == restored.version
    with pytest.raises(LoyaltyError, match="labels need"):
        train_churn(engine, settings, as_of=END, ensemble_params=quick())


@pytest.mark.slow
def test_evaluate_puts_the_ensemble_beside_every_baseline(settings, tables):
    result = evaluate_churn(None, settings, frames=frames_of(tables), n_folds=2,
                            ensemble_params=quick())
    names = [row["model"] for row in result.rows]
    assert names[0] == "ensemble" and {"tabular only", "sequence only", "boosting only"} <= set(
        names)
    assert {"recency heuristic", "BG/NBD expected visits", "logistic regression on RFM",
            "gradient boosting, all features"} <= set(names)
    assert result.train_as_of == result.test_as_of - dt.timedelta(days=settings.horizon_days)
    for row in result.rows:
        assert 0.0 <= row["roc_auc"] <= 1.0 and np.isfinite(row["brier"])
    assert "ensemble" in result.table() and "goal" in result.verdict()


def test_commands_exist():
    for command in (["train", "--help"], ["predict", "--help"], ["evaluate", "churn", "--help"],
                    ["explain", "--help"], ["models", "list", "--help"],
                    ["models", "rollback", "--help"]):
        assert main(command) == 0, command
