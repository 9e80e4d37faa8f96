"""Commands for reward rules: propose drafts from the data, add, validate, activate, retire."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy.orm import Session

from loyalty.cli.app import App, cli, pass_app
from loyalty.errors import InputFileError, LoyaltyError

NOW = click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"])


def moment(value: datetime | None) -> datetime:
    """A --now option (UTC when no zone is given), or the current time."""
    if value is None:
        return datetime.now(UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@cli.group()
def rules() -> None:
    """Reward rules: conditions, reward, message, priority, caps; draft → active → retired."""


@rules.command("propose")
@click.option("--now", type=NOW, default=None, help="The moment to evaluate (default: now).")
@click.option("--dry-run", is_flag=True, help="Print the drafts without saving them.")
@click.option("--json", "as_json", is_flag=True, help="Print the draft documents as JSON.")
@pass_app
def propose_cmd(app: App, now: datetime | None, dry_run: bool, as_json: bool) -> None:
    """Draft rules per segment (win-back, service recovery, favourites) and programme-wide
    (birthday, anniversary, tier nudge, off-peak), each with rationale and expected value."""
    from loyalty.rules.propose import propose

    proposals = propose(app.migrated_engine(), app.settings, now=moment(now),
                        save=not dry_run, progress=sys.stderr.isatty())
    if as_json:
        click.echo(json.dumps([p.doc for p in proposals], indent=2, ensure_ascii=False))
        return
    for p in proposals:
        state = f"rule {p.rule_id}" if p.rule_id else "not saved"
        click.echo(f"{p.key:28s} {p.doc['name'][:48]:48s} matches {p.matched:5,d} guests, "
                   f"expected value {p.expected_value:>10,.2f}  ({state}"
                   f"{'; ' + '; '.join(p.notes) if p.notes else ''})")
    if not dry_run:
        click.echo("activate with `loyalty rules activate KEY` (or --all-drafts)")


@rules.command("list")
@click.option("--status", type=click.Choice(["draft", "active", "retired"]), default=None)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_cmd(app: App, status: str | None, as_json: bool) -> None:
    """The rules, by status and priority."""
    from loyalty.rules.conditions import describe
    from loyalty.rules.store import list_rules, rule_document

    with Session(app.migrated_engine()) as session:
        found = list_rules(session, status)
        if as_json:
            click.echo(json.dumps([{"id": r.id, "status": r.status,
                                    **rule_document(session, r)} for r in found],
                                  indent=2, ensure_ascii=False, default=str))
            return
        if not found:
            click.echo("no rules yet: `loyalty rules propose` drafts some")
        for r in found:
            ev = f"{r.expected_value:,.2f}" if r.expected_value is not None else "-"
            click.echo(f"{r.id:4d} {r.status:8s} p{r.priority:<4d} {r.key:28s} EV {ev:>10s}  "
                       f"{r.name}")
            click.echo(f"{'':20s}when {describe(r.conditions)}")


@rules.command("show")
@click.argument("rule")
@pass_app
def show_cmd(app: App, rule: str) -> None:
    """One rule (id or key) as its JSON document, with its status."""
    from loyalty.rules.store import get_rule, rule_document

    with Session(app.migrated_engine()) as session:
        r = get_rule(session, rule)
        click.echo(json.dumps({"id": r.id, "status": r.status, **rule_document(session, r)},
                              indent=2, ensure_ascii=False, default=str))


def _read_doc(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path}: not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{path}: not JSON: {exc.msg} at line {exc.lineno} "
                             f"column {exc.colno}") from exc


@rules.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_app
def validate_cmd(app: App, file: Path) -> None:
    """Check a rule document (JSON) without saving it; every problem is listed."""
    from loyalty.errors import RuleValidationError
    from loyalty.offers.issue import load_menu
    from loyalty.rules.store import segment_keys, validate_rule

    doc = _read_doc(file)
    with Session(app.migrated_engine()) as session:
        try:
            validate_rule(doc, menu=load_menu(session), segments=segment_keys(session))
        except RuleValidationError as exc:
            for path, message in exc.issues:
                click.echo(f"{path}: {message}", err=True)
            raise LoyaltyError(f"{file}: {len(exc.issues)} problem(s)") from exc
    click.echo(f"{file}: valid")


@rules.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_app
def add_cmd(app: App, file: Path) -> None:
    """Save a rule document (JSON) as a draft, or update the draft with the same key."""
    from loyalty.offers.issue import load_menu
    from loyalty.rules.store import save_rule

    doc = _read_doc(file)
    with Session(app.migrated_engine()) as session, session.begin():
        rule = save_rule(session, doc, menu=load_menu(session))
        click.echo(f"rule {rule.id} {rule.key!r} saved as {rule.status}")


@rules.command("activate")
@click.argument("rule", required=False)
@click.option("--all-drafts", is_flag=True, help="Activate every draft with a positive "
                                                 "expected value.")
@pass_app
def activate_cmd(app: App, rule: str | None, all_drafts: bool) -> None:
    """Make a draft rule (id or key) active: it starts issuing offers."""
    from loyalty.offers.issue import load_menu
    from loyalty.rules.store import activate, list_rules

    if not rule and not all_drafts:
        raise click.UsageError("name a RULE or pass --all-drafts")
    now = moment(None)
    with Session(app.migrated_engine()) as session, session.begin():
        menu = load_menu(session)
        targets = ([r.id for r in list_rules(session, "draft")
                    if (r.expected_value or 0) > 0] if all_drafts else [rule])
        for ref in targets:
            r = activate(session, ref, now=now, menu=menu)
            click.echo(f"rule {r.id} {r.key!r} is active")
        if not targets:
            click.echo("no drafts with a positive expected value")


@rules.command("retire")
@click.argument("rule")
@pass_app
def retire_cmd(app: App, rule: str) -> None:
    """Retire a rule (id or key): it issues no more offers; issued ones run their course."""
    from loyalty.rules.store import retire

    with Session(app.migrated_engine()) as session, session.begin():
        r = retire(session, rule, now=moment(None))
        click.echo(f"rule {r.id} {r.key!r} is retired")
