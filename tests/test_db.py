"""Engines: SQLite writers queue on a lock that hands over at once, across threads and
processes."""

from __future__ import annotations

import fcntl
import multiprocessing as mp
import threading
import time

from loyalty.db import make_engine, serialised_writes


def _try_lock(path: str, queue: mp.Queue) -> None:
    fd = open(path, "a")  # noqa: SIM115 - closed by the process ending
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        queue.put("got it")
    except BlockingIOError:
        queue.put("blocked")


def test_sqlite_writers_queue_across_threads_and_processes(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    lock_file = str(tmp_path / "a.db-writers.lock")
    order: list[str] = []
    with serialised_writes(engine):
        queue: mp.Queue = mp.get_context("spawn").Queue()
        other = mp.get_context("spawn").Process(target=_try_lock, args=(lock_file, queue))
        other.start()
        assert queue.get(timeout=60) == "blocked"  # another process must wait
        other.join()

        def second() -> None:
            with serialised_writes(engine):
                order.append("second")

        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.2)
        order.append("first")  # the other thread of this process is still waiting
    thread.join(timeout=10)
    assert order == ["first", "second"]
    engine.dispose()


def test_nothing_to_queue_for_in_memory_sqlite():
    engine = make_engine("sqlite://")
    with serialised_writes(engine), serialised_writes(engine):  # would deadlock if it locked
        pass
