"""Schema migrations: Alembic, driven from Python so the CLI and the tests share one path."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from loyalty.config import Settings
from loyalty.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent


def migrations_dir() -> Path:
    # The folder sits at the top of the repository (the layout is fixed); an install that does
    # not carry it (a wheel) names it with LOYALTY_MIGRATIONS_DIR.
    path = Path(os.environ.get("LOYALTY_MIGRATIONS_DIR") or REPO_ROOT / "migrations")
    if not (path / "env.py").is_file():
        raise ConfigError(f"no Alembic migrations at {path}: set LOYALTY_MIGRATIONS_DIR")
    return path


def alembic_config(engine: Engine, settings: Settings | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    # env.py reuses this engine rather than parsing a URL again (passwords, SQLite pragmas).
    cfg.attributes["engine"] = engine
    # Data migrations that depend on where things live (model folders) read these settings;
    # without them, the environment's.
    if settings is not None:
        cfg.attributes["settings"] = settings
    return cfg


def upgrade(engine: Engine, revision: str = "head", *, settings: Settings | None = None) -> None:
    command.upgrade(alembic_config(engine, settings), revision)


def downgrade(engine: Engine, revision: str, *, settings: Settings | None = None) -> None:
    command.downgrade(alembic_config(engine, settings), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    return ScriptDirectory.from_config(cfg).get_current_head()
