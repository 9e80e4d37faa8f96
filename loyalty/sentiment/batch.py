"""Batch scoring of reviews: sentiment, aspects and language, in the database or CSV in -> CSV
out.

Both paths work in chunks that are committed (or flushed) whole, and both pick up where a
killed run stopped: the database by scoring only reviews no model has scored, the CSV by a
progress file that records how many rows of the output are complete.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, bindparam, func, not_, select, update
from tqdm import tqdm

from loyalty.errors import InputFileError, NotFoundError
from loyalty.models import Job, Review, review_language
from loyalty.owners import Owner
from loyalty.sentiment.scoring import ScoredText, review_columns, score_texts
from nlp.aspects import ASPECTS
from nlp.language import detect_languages
from nlp.scorer import SentimentScorer


@dataclass
class ScoreCounts:
    scored: int = 0
    empty: int = 0
    skipped: int = 0  # already done by an earlier run
    languages: int = 0  # scored earlier without a language: only their language detected now


def score_database(engine: Engine, scorer: SentimentScorer, model_version_id: int, *,
                   chunk_size: int = 256, rescore: bool = False, progress: bool = False,
                   job_id: int | None = None,
                   on_progress: Callable[[int, int], None] | None = None) -> ScoreCounts:
    """Score every review without a sentiment (or, with ``rescore``, from another model).

    Progress goes to a `jobs` row after every committed chunk. Without ``job_id`` the row is
    created here and finished here (succeeded, or failed with the error). With ``job_id`` (a
    queued job a worker claimed, see `loyalty.jobs`) that row is updated instead and its owner
    finishes it; a job resumed after a dead worker carries on its progress and counts, and the
    returned ``skipped`` says how many reviews its earlier runs scored. ``on_progress(done,
    total)`` is called after each committed chunk.

    Reviews that stay scored but have no detected language (scored before languages were)
    get one first, without the sentiment model (``languages`` in the counts).
    """
    table = Review.__table__
    jobs = Job.__table__
    pending = table.c.sentiment_model_version_id.is_(None)
    if rescore:
        pending = pending | (table.c.sentiment_model_version_id != model_version_id)
    languages = detect_missing_languages(engine, not_(pending), chunk_size=chunk_size)
    now = datetime.now(UTC)
    base_done, base_empty = 0, 0
    base_checkpoint: dict[str, Any] = {}
    with engine.begin() as conn:
        total = conn.scalar(select(func.count()).select_from(table).where(pending)) or 0
        if job_id is None:
            job_id = conn.execute(
                jobs.insert().returning(jobs.c.id),
                {"kind": "score-reviews", "status": "running", "progress_done": 0,
                 "progress_total": total, "params": {"model_version_id": model_version_id,
                                                     "rescore": rescore},
                 "created_at": now, "started_at": now, "heartbeat_at": now,
                 **Owner.current().columns()},
            ).scalar_one()
            owned = True
        else:
            owned = False
            row = conn.execute(select(jobs.c.counts, jobs.c.checkpoint)
                               .where(jobs.c.id == job_id)).first()
            if row is None:
                raise NotFoundError(f"no job with id {job_id}")
            earlier = row.counts or {}
            base_done, base_empty = int(earlier.get("scored", 0)), int(earlier.get("empty", 0))
            base_checkpoint = dict(row.checkpoint or {})
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(
                progress_done=base_done, progress_total=base_done + total, heartbeat_at=now,
                counts={"scored": base_done, "empty": base_empty}))
    counts = ScoreCounts(skipped=base_done, languages=languages)
    if on_progress is not None:
        on_progress(base_done, base_done + total)
    # The columns set are the keys of each row's parameters: `review_columns` and updated_at.
    stmt = update(table).where(table.c.id == bindparam("_id"))
    last_id = 0
    try:
        with tqdm(total=total, desc="scoring reviews", unit=" reviews",
                  disable=not progress) as bar:
            while True:
                with engine.connect() as conn:
                    rows = conn.execute(
                        select(table.c.id, table.c.text).where(pending, table.c.id > last_id)
                        .order_by(table.c.id).limit(chunk_size)
                    ).all()
                if not rows:
                    break
                scored = score_texts(scorer, [r.text for r in rows])
                at = datetime.now(UTC)
                params = [{"_id": r.id, **review_columns(t, model_version_id=model_version_id,
                                                         scored_at=at), "updated_at": at}
                          for r, t in zip(rows, scored, strict=True)]
                counts.scored += len(rows)
                counts.empty += _empty(scored)
                with engine.begin() as conn:
                    conn.execute(stmt, params)
                    conn.execute(update(jobs).where(jobs.c.id == job_id).values(
                        progress_done=base_done + counts.scored, heartbeat_at=at,
                        counts={"scored": base_done + counts.scored,
                                "empty": base_empty + counts.empty},
                        checkpoint={**base_checkpoint, "last_review_id": rows[-1].id}))
                last_id = rows[-1].id
                bar.update(len(rows))
                if on_progress is not None:
                    on_progress(base_done + counts.scored, base_done + total)
    except BaseException as exc:
        if owned:
            _finish(engine, job_id, error=str(exc) or type(exc).__name__)
        raise
    if owned:
        _finish(engine, job_id)
    return counts


def detect_missing_languages(engine: Engine, where: Any, *, chunk_size: int = 256) -> int:
    """Store the detected language of the reviews (matching ``where``) that have none; return
    how many. Each chunk is committed: a killed run keeps what it did."""
    table = Review.__table__
    missing = table.c.language_detected.is_(None)
    stmt = update(table).where(table.c.id == bindparam("_id"))
    done, last_id = 0, 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(select(table.c.id, table.c.text)
                                .where(missing, where, table.c.id > last_id)
                                .order_by(table.c.id).limit(chunk_size)).all()
        if not rows:
            return done
        with engine.begin() as conn:
            conn.execute(stmt, [{"_id": r.id, "language_detected": language}
                                for r, language in zip(rows, detect_languages(
                                    r.text for r in rows), strict=True)])
        done += len(rows)
        last_id = rows[-1].id


def _finish(engine: Engine, job_id: int, error: str | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(update(Job.__table__).where(Job.__table__.c.id == job_id).values(
            status="failed" if error else "succeeded", error=error,
            finished_at=datetime.now(UTC)))


def _empty(scored: list[ScoredText]) -> int:
    return sum(t.sentiment.note == "empty" for t in scored)


def output_columns(scored: list[ScoredText], given: list[Any] | None = None) -> pd.DataFrame:
    """The scored columns of the CSV output: a review's columns (`review_columns`), the
    probabilities and score to 6 places, the aspects as one pair (mentioned, sentiment) each,
    then ``language`` (the ``given`` language of each row when it is en or es, else the
    detected one: `review_language`) and ``language_detected``."""
    columns = [review_columns(t) for t in scored]
    out = pd.DataFrame({"sentiment_label": [c["sentiment_label"] for c in columns]})
    for name in ("prob_negative", "prob_neutral", "prob_positive", "sentiment_score"):
        out[name] = [round(c[name], 6) for c in columns]
    for name in ASPECTS:
        out[f"{name}_mentioned"] = [name in c["aspects"] for c in columns]
        out[f"{name}_sentiment"] = [c["aspects"].get(name, {}).get("label") for c in columns]
    detected = [c["language_detected"] for c in columns]
    out["language"] = [review_language(g, d) for g, d in zip(
        given if given is not None else [None] * len(detected), detected, strict=True)]
    out["language_detected"] = detected
    return out


def score_csv(in_path: Path, out_path: Path, scorer: SentimentScorer, *, text_col: str = "text",
              chunk_size: int = 256, progress: bool = False) -> ScoreCounts:
    """Score the ``text_col`` of a CSV into a new CSV with the input columns and the scores.

    The scored columns (`output_columns`) follow the input's; an input column of the same name
    is replaced (an input ``language`` column is the given language of its row, and is kept
    where it is en or es). A progress file beside the output (``<out>.progress``) records the
    rows and bytes that are complete; a re-run truncates anything after that point and carries
    on from there.
    """
    if not in_path.is_file():
        raise InputFileError(f"{in_path}: no such file")
    marker = out_path.with_name(out_path.name + ".progress")
    done_rows, done_bytes = _read_marker(marker) if out_path.exists() else (0, 0)
    counts = ScoreCounts(skipped=done_rows)
    try:
        reader = pd.read_csv(in_path, dtype=str, keep_default_na=False, chunksize=chunk_size)
        with open(out_path, "ab") as out, tqdm(desc="scoring", unit=" reviews",
                                               disable=not progress, initial=done_rows) as bar:
            out.truncate(done_bytes)
            out.seek(done_bytes)
            to_skip = done_rows
            for chunk in reader:
                if text_col not in chunk.columns:
                    raise InputFileError(f"{in_path}: no column {text_col!r}")
                if to_skip >= len(chunk):
                    to_skip -= len(chunk)
                    continue
                chunk, to_skip = chunk.iloc[to_skip:], 0
                results = score_texts(scorer, chunk[text_col].tolist())
                given = chunk["language"].tolist() if "language" in chunk.columns else None
                columns = output_columns(results, given)
                scored = pd.concat([chunk.reset_index(drop=True).drop(
                    columns=[c for c in columns.columns if c in chunk.columns]), columns],
                    axis=1)
                header = out.tell() == 0
                out.write(scored.to_csv(index=False, header=header).encode("utf-8"))
                out.flush()
                os.fsync(out.fileno())
                done_rows += len(chunk)
                counts.scored += len(chunk)
                counts.empty += _empty(results)
                _write_marker(marker, done_rows, out.tell())
                bar.update(len(chunk))
    except pd.errors.EmptyDataError:
        raise InputFileError(f"{in_path}: the file is empty") from None
    return counts


def _read_marker(marker: Path) -> tuple[int, int]:
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        return int(data["rows"]), int(data["bytes"])
    except (OSError, ValueError, KeyError):
        return 0, 0


def _write_marker(marker: Path, rows: int, size: int) -> None:
    tmp = marker.with_name(marker.name + ".tmp")
    tmp.write_text(json.dumps({"rows": rows, "bytes": size}), encoding="utf-8")
    tmp.replace(marker)
