"""Commands for churn and tier: train, predict, evaluate, explain; the model registry."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click
import numpy as np
from sqlalchemy.orm import Session

from loyalty import registry
from loyalty.cli.app import App, cli, pass_app

AS_OF = click.DateTime(formats=["%Y-%m-%d"])


def _day(value) -> date | None:  # noqa: ANN001 - click gives a datetime or None
    return value.date() if value is not None else None


def _progress() -> bool:
    return sys.stderr.isatty()


@cli.command()
@click.option("--as-of", type=AS_OF, default=None,
              help="Features up to this day, labels from the next --horizon-days "
                   "(default: the data's last day minus the horizon).")
@click.option("--horizon-days", type=click.IntRange(1, 3650), default=None,
              help="Churn horizon H (default: LOYALTY_HORIZON_DAYS, 60).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2, 20),
              help="Folds for the out-of-fold predictions the meta-learner learns from.")
@click.option("--promote/--no-promote", default=True, show_default=True,
              help="Make it the production model unless it does worse than the current one.")
@click.option("--force", is_flag=True,
              help="Promote even if it does worse than the production model.")
@pass_app
def train(app: App, as_of, horizon_days: int | None, seed: int, folds: int,  # noqa: ANN001
          promote: bool, force: bool) -> None:
    """Train the churn + tier ensemble: features, base models, ensemble, evaluation, registry."""
    from loyalty.churn.train import train_churn

    result = train_churn(app.migrated_engine(), app.settings, as_of=_day(as_of),
                         horizon_days=horizon_days, seed=seed, n_folds=folds,
                         promote=promote or force, force=force, progress=_progress())
    for line in result.lines():
        click.echo(line)


@cli.command()
@click.option("--as-of", type=AS_OF, default=None,
              help="Predict as of this day (default: the data's last day).")
@click.option("--version", default=None, help="A registered churn model (default: production).")
@pass_app
def predict(app: App, as_of, version: str | None) -> None:  # noqa: ANN001
    """Predict churn and tier for every customer, with SHAP values and reason codes."""
    from loyalty.churn.serve import predict_all

    result = predict_all(app.migrated_engine(), app.settings, as_of=_day(as_of),
                         version=version, progress=_progress())
    for line in result.lines():
        click.echo(line)


@cli.command()
@click.argument("customer_id", type=int)
@click.option("--language", type=click.Choice(["en", "es"]), default="en", show_default=True)
@click.option("--top", default=8, show_default=True, type=click.IntRange(1, 50),
              help="How many SHAP values to print.")
@click.option("--plot", "plot_dir", type=click.Path(path_type=Path, file_okay=False),
              default=None, help="Write this customer's waterfall and the run's global "
                                 "importance plot (PNG) into this folder.")
@pass_app
def explain(app: App, customer_id: int, language: str, top: int,
            plot_dir: Path | None) -> None:
    """Why the latest prediction for CUSTOMER_ID is what it is: reasons and SHAP values."""
    from loyalty.churn.stored import latest, run_explanations

    engine = app.migrated_engine()
    found = latest(engine, customer_id)
    pred, churn = found.prediction, found.churn
    click.echo(f"customer {customer_id} as of {pred.as_of}: churn probability "
               f"{pred.churn_probability:.3f}, heading for {pred.tier}")
    codes = churn.reason_codes.get(language, {})
    for reason in codes.get("risk", []):
        click.echo(f"  risk: {reason['text']} ({reason['shap']:+.3f})")
    for reason in codes.get("protective", []):
        click.echo(f"  keeps them: {reason['text']} ({reason['shap']:+.3f})")
    click.echo(f"SHAP values for churn probability (base value {churn.base_value:.3f}, "
               f"prediction {churn.output_value:.3f}):")
    ranked = sorted(churn.shap_values.items(), key=lambda kv: -abs(kv[1]))[:top]
    for name, value in ranked:
        click.echo(f"  {name:<22} {value:+.4f}   (value {churn.feature_values.get(name)})")
    if plot_dir is not None:
        from loyalty.explain.plots import importance_plot, waterfall_plot

        run = run_explanations(engine, pred.model_version_id, pred.as_of)
        index = int(np.flatnonzero(run.customer_ids == customer_id)[0])
        plot_dir.mkdir(parents=True, exist_ok=True)
        waterfall = plot_dir / f"waterfall-{customer_id}.png"
        click.echo(f"wrote {waterfall_plot(run, index, path=waterfall)}")
        click.echo(f"wrote {importance_plot(run, path=plot_dir / 'importance.png')}")


@cli.group()
def evaluate() -> None:
    """Measure models beside their baselines."""


@evaluate.command("churn")
@click.option("--as-of", type=AS_OF, default=None,
              help="Test as of this day; models learn as of one horizon earlier "
                   "(default: the data's last day minus the horizon).")
@click.option("--horizon-days", type=click.IntRange(1, 3650), default=None)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2, 20))
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@pass_app
def evaluate_churn_cmd(app: App, as_of, horizon_days: int | None, seed: int,  # noqa: ANN001
                       folds: int, as_json: bool) -> None:
    """Churn ROC-AUC, PR-AUC, Brier, log-loss and tier F1: the ensemble, its parts, baselines."""
    from loyalty.churn.evaluate import evaluate_churn

    result = evaluate_churn(app.migrated_engine(), app.settings, as_of=_day(as_of),
                            horizon_days=horizon_days, seed=seed, n_folds=folds,
                            progress=_progress())
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    click.echo(f"learn as of {result.train_as_of} ({result.train_customers:,} customers), "
               f"test as of {result.test_as_of} ({result.test_customers:,} customers, "
               f"churn rate {result.churn_rate:.1%}), horizon {result.horizon_days} days")
    click.echo(result.table())
    click.echo(result.verdict())


@cli.group()
def models() -> None:
    """The model registry: versions, promotion, rollback."""


@models.command("list")
@click.option("--kind", type=click.Choice([registry.SENTIMENT, registry.CHURN]), default=None)
@pass_app
def list_models(app: App, kind: str | None) -> None:
    """Registered model versions, newest first."""
    with Session(app.migrated_engine()) as session:
        rows = registry.versions(session, kind)
        if not rows:
            click.echo("no models registered")
        for row in rows:
            metric = (row.metrics or {}).get("roc_auc", (row.metrics or {}).get("test_macro_f1"))
            shown = f"{metric:.3f}" if isinstance(metric, float) else "-"
            click.echo(f"{row.kind:<10} {row.version:<24} {row.status:<10} {shown:>6}  "
                       f"data to {row.data_end or '-'}  {registry.resolve_path(app.settings, row)}")


@models.command()
@click.argument("kind", type=click.Choice([registry.SENTIMENT, registry.CHURN]))
@pass_app
def rollback(app: App, kind: str) -> None:
    """Put the previously promoted version of KIND back in production."""
    with Session(app.migrated_engine()) as session:
        restored, retired = registry.rollback(session, kind)
        session.commit()
        click.echo(f"{kind}: {restored.version} is in production again; "
                   f"{retired.version} retired")


@models.command()
@click.argument("kind", type=click.Choice([registry.SENTIMENT, registry.CHURN]))
@click.argument("version")
@pass_app
def promote(app: App, kind: str, version: str) -> None:
    """Promote KIND VERSION to production (no gate: a person decided)."""
    with Session(app.migrated_engine()) as session:
        row = registry.get(session, kind, version)
        registry.promote(session, row, note="promoted by hand (loyalty models promote)")
        session.commit()
        click.echo(f"{kind}: {version} is in production")
