"""The `loyalty` command group and what every command shares."""

from __future__ import annotations

from functools import cached_property

import click
from sqlalchemy import Engine

from loyalty import migrate
from loyalty.config import Settings
from loyalty.db import make_engine
from loyalty.errors import LoyaltyError


class App:
    """What every command needs, built on first use (so `--help` never touches the database)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    def migrated_engine(self) -> Engine:
        """The engine, after checking the schema is current: a stale one fails in odd ways."""
        current, head = migrate.current_revision(self.engine), migrate.head_revision()
        if current != head:
            raise LoyaltyError(
                f"the database is at schema revision {current or 'none'}, the code needs {head}: "
                "run `loyalty db upgrade`"
            )
        return self.engine


pass_app = click.make_pass_decorator(App)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--database-url", envvar="LOYALTY_DATABASE_URL", show_envvar=True,
              help="SQLAlchemy URL; default: SQLite file under LOYALTY_HOME (./var).")
@click.version_option(package_name="loyalty-designer")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None) -> None:
    """Loyalty program designer for restaurants.

    Run `loyalty demo` for the whole pipeline on synthetic data, or `loyalty COMMAND --help`.
    """
    ctx.obj = App(Settings.from_env(database_url=database_url))


