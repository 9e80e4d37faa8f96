"""Commands for review sentiment: train, evaluate and export the model; score reviews."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from loyalty.cli.app import App, cli, pass_app
from loyalty.sentiment.production import (
    load_scorer,
    production_model,
    production_scorer,
    registered_model,
)


@cli.group()
def nlp() -> None:
    """Fine-tune, evaluate and export the BERT review-sentiment model."""


def _data_options(func):  # noqa: ANN001, ANN202 - a click decorator stack
    func = click.option("--label-col", default=None,
                        help="Column of labels (negative/neutral/positive or 0/1/2).")(func)
    func = click.option("--rating-col", default=None,
                        help="Column of star ratings: 1-2 negative, 3 neutral, 4-5 positive.")(func)
    func = click.option("--binary", is_flag=True,
                        help="The label column is 0 = negative, 1 = positive.")(func)
    func = click.option("--text-col", default="text", show_default=True)(func)
    func = click.option("--data", "data_path", required=True,
                        type=click.Path(path_type=Path, exists=True, dir_okay=False),
                        help="CSV or JSON Lines of reviews (.gz too).")(func)
    return func


def _check_columns(rating_col: str | None, label_col: str | None) -> None:
    if (rating_col is None) == (label_col is None):
        raise click.UsageError("give exactly one of --rating-col and --label-col")


@nlp.command()
@_data_options
@click.option("--base", "base_model", type=click.Path(path_type=Path, file_okay=False),
              default=None, help="A local BERT-family checkpoint (default: the packaged MiniLM).")
@click.option("--epochs", default=4, show_default=True, type=click.IntRange(1, 50))
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(1, 1024))
@click.option("--max-length", default=128, show_default=True, type=click.IntRange(16, 512))
@click.option("--learning-rate", default=5e-5, show_default=True, type=float)
@click.option("--head-init", type=click.Choice(["random", "probe"]), default="random",
              show_default=True,
              help="Start the classifier from a linear probe of the base model (keeps more "
                   "of what it knows, scores better on other domains) or at random.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--max-rows", default=None, type=click.IntRange(10),
              help="Train on a stratified sample of this many rows (quick runs).")
@click.option("--promote/--no-promote", default=True, show_default=True,
              help="Make it the production model unless it is worse than the current one.")
@click.option("--onnx/--no-onnx", "onnx", default=True, show_default=True,
              help="Export ONNX and int8 ONNX for fast scoring.")
@pass_app
def train(app: App, data_path: Path, text_col: str, rating_col: str | None,
          label_col: str | None, binary: bool, base_model: Path | None, epochs: int,
          batch_size: int, max_length: int, learning_rate: float, head_init: str, seed: int,
          max_rows: int | None, promote: bool, onnx: bool) -> None:
    """Fine-tune a 3-class sentiment classifier and register it as a model version."""
    from loyalty.sentiment.training import train_sentiment

    _check_columns(rating_col, label_col)
    result = train_sentiment(
        app.migrated_engine(), app.settings, data_path, text_col=text_col,
        rating_col=rating_col, label_col=label_col, binary=binary, base_model=base_model,
        epochs=epochs, batch_size=batch_size, max_length=max_length,
        learning_rate=learning_rate, head_init=head_init, seed=seed, max_rows=max_rows,
        promote=promote, onnx=onnx, progress=sys.stderr.isatty(),
    )
    for line in result.lines():
        click.echo(line)


@nlp.command()
@_data_options
@click.option("--model", "model_dir", type=click.Path(path_type=Path, file_okay=False),
              default=None, help="A trained model folder (default: the production model).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@pass_app
def evaluate(app: App, data_path: Path, text_col: str, rating_col: str | None,
             label_col: str | None, binary: bool, model_dir: Path | None, as_json: bool) -> None:
    """Score the model and two baselines (VADER, TF-IDF + logistic regression) on the same rows.

    The TF-IDF baseline is trained on the rows the model was trained on. When --data is the
    model's own training file, only its held-out test rows are evaluated.
    """
    from loyalty.sentiment.evaluation import evaluate_sentiment

    _check_columns(rating_col, label_col)
    model_dir = model_dir or _production_model(app)
    report = evaluate_sentiment(model_dir, data_path, text_col=text_col, rating_col=rating_col,
                                label_col=label_col, binary=binary)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        click.echo(report.table())


@nlp.command()
@click.option("--model", "model_dir", type=click.Path(path_type=Path, file_okay=False),
              default=None, help="A trained model folder (default: the production model).")
@pass_app
def export(app: App, model_dir: Path | None) -> None:
    """Export a trained model to ONNX for fast CPU scoring.

    Also int8 ONNX, kept only when its labels (borderline windows re-checked in fp32) agree with
    the model's on at least 99% of the validation texts.
    """
    from loyalty.sentiment.export import export_fast

    paths = export_fast(model_dir or _production_model(app))
    for name, path in paths.items():
        click.echo(f"{name}: {path}")


def _production_model(app: App) -> Path:
    return production_model(app.migrated_engine(), app.settings,
                            hint=" or pass --model DIR").folder


@cli.group()
def reviews() -> None:
    """Work with stored reviews."""


@reviews.command("score")
@click.option("--model", "model_dir", type=click.Path(path_type=Path, file_okay=False),
              default=None, help="A trained model folder (default: the production model).")
@click.option("--csv", "csv_in", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Score this CSV instead of the database (needs --out).")
@click.option("--out", "csv_out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where the scored CSV goes; re-running continues a killed run.")
@click.option("--text-col", default="text", show_default=True, help="With --csv.")
@click.option("--rescore", is_flag=True, help="Also re-score reviews scored by other models.")
@click.option("--chunk-size", default=256, show_default=True, type=click.IntRange(1, 100_000))
@pass_app
def score(app: App, model_dir: Path | None, csv_in: Path | None, csv_out: Path | None,
          text_col: str, rescore: bool, chunk_size: int) -> None:
    """Score sentiment, aspects and language of every unscored review (or of a CSV, into a
    CSV)."""
    from loyalty.sentiment.batch import score_csv, score_database

    if (csv_in is None) != (csv_out is None):
        raise click.UsageError("--csv and --out go together")
    show = sys.stderr.isatty()
    if csv_in is not None and csv_out is not None:
        if model_dir is None:
            model_dir = _production_model(app)
        counts = score_csv(csv_in, csv_out, load_scorer(model_dir), text_col=text_col,
                           chunk_size=chunk_size, progress=show)
        click.echo(f"scored {counts.scored:,} reviews into {csv_out} "
                   f"({counts.skipped:,} done by an earlier run, {counts.empty:,} empty)")
        return
    engine = app.migrated_engine()
    if model_dir is None:
        model, scorer = production_scorer(engine, app.settings)
    else:
        model = registered_model(engine, app.settings, folder=model_dir)
        scorer = load_scorer(model.folder)
    counts = score_database(engine, scorer, model.id, chunk_size=chunk_size, rescore=rescore,
                            progress=show)
    more = (f"; the language of {counts.languages:,} reviews scored earlier"
            if counts.languages else "")
    click.echo(f"scored {counts.scored:,} reviews with sentiment model {model.version} "
               f"({counts.empty:,} empty){more}")
