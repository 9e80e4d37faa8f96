"""The command line: help everywhere, one-line errors, schema management."""

import pytest

from loyalty import migrate
from loyalty.cli import cli, main


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))


@pytest.mark.parametrize("path", [(), *_commands(cli)], ids=lambda p: " ".join(p) or "loyalty")
def test_every_command_has_help(path, capsys):
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: loyalty")
    assert len(out.splitlines()) > 3


def test_db_upgrade_downgrade_current(tmp_path, capsys):
    url = ["--database-url", f"sqlite:///{tmp_path / 'x.db'}"]
    assert main([*url, "db", "upgrade"]) == 0
    head = migrate.head_revision()
    assert f"database at revision {head}" in capsys.readouterr().out
    assert main([*url, "db", "current"]) == 0
    assert f"database: {head}" in capsys.readouterr().out
    assert main([*url, "db", "downgrade", "base"]) == 0
    assert "database at revision base" in capsys.readouterr().out


def test_errors_are_one_line_without_traceback(tmp_path, capsys):
    url = ["--database-url", f"sqlite:///{tmp_path / 'x.db'}"]
    assert main([*url, "db", "downgrade", "nonsense"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error:")
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_bad_database_url_is_a_clear_error(capsys):
    assert main(["--database-url", "not a url", "db", "current"]) == 1
    assert "not a database URL" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    assert main(["ingest", "dishes", "x.csv"]) == 2
    assert "Invalid value for 'KIND'" in capsys.readouterr().err
