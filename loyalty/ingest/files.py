"""`loyalty ingest KIND FILE`: one file of one kind, in our own column layout."""

from __future__ import annotations

import time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from tqdm import tqdm

from loyalty.ingest.loader import Counts, Loader
from loyalty.ingest.readers import file_sha256, open_text, python_strings, read_chunks
from loyalty.ingest.schemas import kind as get_kind


@python_strings
def ingest_file(engine: Engine, kind_name: str, path: Path | str, *, source: str = "default",
                tz: ZoneInfo, chunk_size: int = 20_000, fmt: str | None = None,
                progress: bool = False) -> tuple[Counts, float]:
    """Load ``path`` as rows of ``kind_name``; return the counts and the seconds it took."""
    kind = get_kind(kind_name)
    path = Path(path)
    open_text(path).close()  # a missing or non-UTF-8 file fails before a job row is written
    started = time.perf_counter()
    loader = Loader(engine, source, tz, str(path), file_sha256(path),
                    params={"kind": kind.name, "file": str(path), "source": source})
    bar = tqdm(desc=f"{kind.name}", unit=" rows", disable=not progress, leave=False)
    try:
        for chunk in read_chunks(path, kind.column_names, kind.required, chunk_size, fmt):
            counts = loader.load(kind.name, chunk)
            bar.update(counts.read)
    except BaseException as exc:
        loader.finish(error=str(exc) or type(exc).__name__)
        raise
    finally:
        bar.close()
    loader.finish()
    return loader.counts.get(kind.name, Counts()), time.perf_counter() - started
