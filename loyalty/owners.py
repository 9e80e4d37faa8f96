"""Which process runs a job, and whether it still does.

A `jobs` row names its owner: the host, the pid and, on Linux, ``<boot id>/<pid namespace>/
<start time>``, because a pid is only comparable within one boot and one pid namespace, and a
pid freed by a killed process is soon handed to another. `owner_gone` reads that back: a
process on this host is looked up in /proc; one elsewhere counts as gone once its heartbeat is
older than a threshold (`Settings.job_stale_minutes`).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from loyalty.models import utcnow


@dataclass(frozen=True)
class Owner:
    """The process running a job. ``process`` (Linux) is ``<boot id>/<pid namespace>/<start
    time in clock ticks>``: pids are only comparable within one boot and one pid namespace, and
    the start time tells the owner from a later process that was given the same pid."""

    host: str
    pid: int
    process: str | None

    @classmethod
    def current(cls) -> Owner:
        pid = os.getpid()  # asked each time: a forked worker is another owner
        scope, stat = _pid_scope(), _proc_stat(pid)
        process = None if scope is None or stat is None else f"{scope}/{stat[1]}"
        return cls(_host(), pid, process)

    def columns(self) -> dict[str, Any]:
        """The owner's values for the `jobs` columns."""
        return {"owner_host": self.host, "owner_pid": self.pid, "owner_process": self.process}


def _host() -> str:
    return socket.gethostname()[:255]


def _pid_scope() -> str | None:
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        return f"{boot}/{os.readlink('/proc/self/ns/pid')}"
    except OSError:
        return None


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """State and start time of ``pid`` from /proc, or None when there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ")".
    fields = text.rpartition(")")[2].split()
    return (fields[0], fields[19]) if len(fields) > 19 else None


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, run by another user
        return True
    return True


def owner_gone(job: Any, *, stale_after: timedelta, now: datetime | None = None) -> str | None:
    """Why the process that runs ``job`` (a `Job` or a row with its columns) is known to be
    gone, in words; None while it may still be running.

    A process on this host is looked up (its heartbeat does not matter: a live owner may be in
    a long step); a process elsewhere, or one whose pid cannot be compared here (another pid
    namespace or boot with the same host name), counts as gone once its heartbeat (or its start,
    if it never beat) is older than ``stale_after``.
    """
    now = now or utcnow()
    pid = job.owner_pid
    if pid is not None and job.owner_host == _host():
        here = _pid_scope()
        scope, _, started = (job.owner_process or "").rpartition("/")
        if here is not None and scope == here:
            stat = _proc_stat(pid)
            # A zombie (Z) or dying (X) process has stopped working but keeps its start time.
            if stat is None or stat[0] in ("Z", "X") or stat[1] != started:
                return f"its process {pid} on {job.owner_host} is gone"
            return None
        if here is None and job.owner_process is None:  # no /proc: the pid is all there is
            return None if _pid_exists(pid) else f"its process {pid} on {job.owner_host} is gone"
    last = job.heartbeat_at or job.started_at or job.created_at
    if last is not None and now - last > stale_after:
        where = f"process {pid} on {job.owner_host}" if pid is not None else "its process"
        minutes = int((now - last).total_seconds() // 60)
        return f"{where}: no heartbeat for {minutes} minutes (since {last:%Y-%m-%d %H:%M} UTC)"
    return None


__all__ = ["Owner", "owner_gone"]
