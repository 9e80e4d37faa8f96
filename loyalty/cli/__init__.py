"""The `loyalty` command. Every failure is one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import os
import sys

import click
from sqlalchemy.exc import SQLAlchemyError

from loyalty.cli import (  # noqa: F401 - they register their commands
    churn,
    data,
    offers,
    ops,
    rules,
    segments,
    sentiment,
    serve,
)
from loyalty.cli.app import cli
from loyalty.errors import LoyaltyError

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point: click's usage errors as they are, everything else as one line."""
    try:
        code = cli.main(args=argv, prog_name="loyalty", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except LoyaltyError as exc:
        click.echo(f"error: {exc}", err=True)
        return 1
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        click.echo(f"error: database: {detail}", err=True)
        return 1
    except OSError as exc:
        click.echo(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
        return 1
    except Exception as exc:  # noqa: BLE001 - the last line of defence against a traceback
        if os.environ.get("LOYALTY_DEBUG"):
            raise
        click.echo(f"error: unexpected {type(exc).__name__}: {exc} "
                   "(LOYALTY_DEBUG=1 shows the traceback)", err=True)
        return 1
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
