"""Running the service: API keys, quarantined input rows, and batch jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.models.base import Base, utcnow

ROLES = ("staff", "marketing", "admin")
# "interrupted": it was running, and the process running it is gone (killed, host lost)
# without saying how it ended. A worker puts an interrupted job of a kind it runs back in the
# queue; other kinds (imports) stay interrupted for a person to run again.
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")


class ApiKey(Base):
    """Only a hash of the key is stored; the prefix finds the row without scanning hashes."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(f"role IN {ROLES}", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Job(Base):
    """A batch job: what it was asked, how far it got, what it did, and where to resume."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(f"status IN {JOB_STATUSES}", name="status_known"),
        Index(None, "status", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    params: Mapped[dict[str, Any] | None]
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    counts: Mapped[dict[str, Any] | None]
    checkpoint: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    # Who runs (or last ran) it: a process on this host can be checked directly, a process on
    # another host only through its heartbeat. ``owner_process`` is the boot id, pid namespace
    # and start time of the process, so a pid the system handed to another process since does
    # not pass for the owner (see loyalty.owners.Owner).
    owner_host: Mapped[str | None] = mapped_column(String(255))
    owner_pid: Mapped[int | None] = mapped_column(Integer)
    owner_process: Mapped[str | None] = mapped_column(String(100))


class IngestError(Base):
    """An input row that was not loaded, kept whole with the reason, so nothing is lost.

    Keyed by the file's content hash and row number: importing the same file again records
    the same problems once.
    """

    __tablename__ = "ingest_errors"
    __table_args__ = (
        UniqueConstraint("file_sha256", "source", "kind", "row_number"),
        Index(None, "source", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    file_name: Mapped[str] = mapped_column(String(500))
    file_sha256: Mapped[str] = mapped_column(String(64))
    row_number: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
