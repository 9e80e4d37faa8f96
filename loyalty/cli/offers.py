"""Commands for offers and points: issue, show, redeem, cancel, expire, uplift report, returns."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.cli.app import App, cli, pass_app
from loyalty.cli.rules import NOW, moment
from loyalty.ids import parse_id


@cli.group()
def offers() -> None:
    """Personalised offers from the active rules, and their life cycle."""


@offers.command("issue")
@click.option("--customer", "customers", multiple=True,
              help="Only these guests (id, loyalty number, email or phone); repeatable. "
                   "Default: every guest with a prediction.")
@click.option("--now", type=NOW, default=None, help="Issue as of this moment (default: now).")
@pass_app
def issue_cmd(app: App, customers: tuple[str, ...], now: datetime | None) -> None:
    """Give each guest the offer of the first matching active rule, within caps."""
    from loyalty.customers import find_customer
    from loyalty.offers.issue import issue_offers

    engine = app.migrated_engine()
    ids = None
    if customers:
        with Session(engine) as session:
            ids = [find_customer(session, ref).id for ref in customers]
    summary = issue_offers(engine, app.settings, now=moment(now), customer_ids=ids,
                           progress=sys.stderr.isatty())
    for line in summary.lines():
        click.echo(line)


@offers.command("show")
@click.argument("customer")
@click.option("--language", type=click.Choice(["en", "es"]), default=None,
              help="Language of the reasons (default: LOYALTY_STAFF_LANGUAGE).")
@click.option("--now", type=NOW, default=None)
@click.option("--history", default=5, show_default=True, type=click.IntRange(0, 100),
              help="How many earlier offers to list.")
@pass_app
def show_cmd(app: App, customer: str, language: str | None, now: datetime | None,
             history: int) -> None:
    """The offer to give CUSTOMER now (id, loyalty number, email or phone), and why."""
    from loyalty.customers import find_customer
    from loyalty.models import Explanation, LoyaltyAccount, Prediction, RewardRule
    from loyalty.offers.issue import current_offer, offers_of

    lang = language or app.settings.staff_language
    at = moment(now)
    with Session(app.migrated_engine()) as session:
        guest = find_customer(session, customer)
        account = session.scalars(select(LoyaltyAccount).where(
            LoyaltyAccount.customer_id == guest.id)).first()
        click.echo(f"{guest.first_name or ''} {guest.last_name or ''}".strip()
                   + f" (customer {guest.id}"
                   + (f", card {account.loyalty_number}, {account.tier}, "
                      f"{account.points:,} points" if account else "") + ")")
        pred = session.scalars(select(Prediction).where(Prediction.customer_id == guest.id)
                               .order_by(Prediction.as_of.desc(), Prediction.id.desc())
                               .limit(1)).first()
        if pred is not None:
            click.echo(f"churn risk {pred.churn_probability:.0%}, heading for {pred.tier} "
                       f"(as of {pred.as_of})")
            expl = session.scalars(select(Explanation).where(
                Explanation.prediction_id == pred.id, Explanation.target == "churn")).first()
            codes = (expl.reason_codes or {}).get(lang, {}) if expl is not None else {}
            for r in codes.get("risk", []):
                click.echo(f"  - {r['text']}")
            for r in codes.get("protective", []):
                click.echo(f"  + {r['text']}")
        offer = current_offer(session, guest.id, at)
        if offer is None:
            click.echo("no offer to give now (run `loyalty offers issue --customer "
                       f"{guest.id}`)")
        else:
            rule = session.get(RewardRule, offer.rule_id)
            description = (offer.reward.get("description") or {}).get(lang, "")
            click.echo(f"OFFER {offer.code}: {description} (valid until "
                       f"{offer.expires_at:%Y-%m-%d}, rule {rule.key if rule else '?'})")
            click.echo(f"  message: {offer.message}")
            click.echo(f"  reason:  {offer.reason}")
        if history:
            past = [o for o in offers_of(session, guest.id, limit=history + 1)
                    if offer is None or o.id != offer.id][:history]
            for o in past:
                kind = "control" if o.is_control else o.status
                click.echo(f"  earlier: {o.code} {kind:9s} issued {o.issued_at:%Y-%m-%d}, "
                           f"rule {o.rule_id}")


@offers.command("redeem")
@click.argument("offer")
@click.option("--visit", "visit_id", type=int, default=None,
              help="The visit (order) it was redeemed on: points and the real cost follow it.")
@click.option("--now", type=NOW, default=None)
@pass_app
def redeem_cmd(app: App, offer: str, visit_id: int | None, now: datetime | None) -> None:
    """Record that the guest used OFFER (its code or id)."""
    from loyalty.offers.lifecycle import redeem

    with Session(app.migrated_engine(), expire_on_commit=False) as session, session.begin():
        done = redeem(session, _ref(offer), visit_id=visit_id, now=moment(now))
    click.echo(f"offer {done.code} redeemed" + (f" on visit {visit_id}" if visit_id else ""))


@offers.command("cancel")
@click.argument("offer")
@click.option("--reason", required=True, help="Why, for the record.")
@click.option("--now", type=NOW, default=None)
@pass_app
def cancel_cmd(app: App, offer: str, reason: str, now: datetime | None) -> None:
    """Cancel OFFER; a redeemed one gives back the points and tier it brought."""
    from loyalty.offers.lifecycle import cancel

    with Session(app.migrated_engine(), expire_on_commit=False) as session, session.begin():
        done = cancel(session, _ref(offer), reason=reason, now=moment(now))
    click.echo(f"offer {done.code} cancelled")


@offers.command("expire")
@click.option("--now", type=NOW, default=None)
@pass_app
def expire_cmd(app: App, now: datetime | None) -> None:
    """Mark issued offers past their expiry as expired."""
    from loyalty.offers.lifecycle import expire_offers

    with Session(app.migrated_engine()) as session, session.begin():
        n = expire_offers(session, now=moment(now))
    click.echo(f"{n:,} offers expired")


@offers.command("report")
@click.option("--now", type=NOW, default=None,
              help="Count visits up to this moment (default: now).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also draw revisit rates with intervals (PNG).")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def report_cmd(app: App, now: datetime | None, plot_path: Path | None, as_json: bool) -> None:
    """Uplift per rule: given vs control revisit rate and spend, with 95% intervals."""
    from loyalty.offers.uplift import uplift_plot, uplift_report

    report = uplift_report(app.migrated_engine(), as_of=moment(now), pooled=True)
    if as_json:
        click.echo(report.frame.to_json(orient="records", date_format="iso"))
    else:
        click.echo(report.table())
    if plot_path is not None:
        uplift_plot(report, plot_path)
        click.echo(f"plot written to {plot_path}")


@cli.group()
def points() -> None:
    """Loyalty points: history, and returns that take back what a visit earned."""


@points.command("history")
@click.argument("customer")
@pass_app
def points_history(app: App, customer: str) -> None:
    """CUSTOMER's points movements recorded by the service, newest first."""
    from loyalty.customers import find_customer
    from loyalty.offers.points import balance, history

    with Session(app.migrated_engine()) as session:
        guest = find_customer(session, customer)
        click.echo(f"balance {balance(session, guest.id):,} points")
        for e in history(session, guest.id):
            click.echo(f"  {e.created_at:%Y-%m-%d %H:%M} {e.kind:10s} {e.points:+6d}"
                       + (f" visit {e.visit_id}" if e.visit_id else "")
                       + (f" offer {e.offer_id}" if e.offer_id else "")
                       + (f"  {e.note}" if e.note else ""))


@points.command("return")
@click.argument("visit_id", type=int)
@click.option("--reason", default="returned", show_default=True)
@click.option("--now", type=NOW, default=None)
@pass_app
def points_return(app: App, visit_id: int, reason: str, now: datetime | None) -> None:
    """The order VISIT_ID was refunded: reverse its points and cancel an offer used on it."""
    from loyalty.offers.lifecycle import return_visit

    with Session(app.migrated_engine()) as session, session.begin():
        result = return_visit(session, visit_id, reason=reason, now=moment(now))
    click.echo(json.dumps(result, default=str) if not isinstance(result, type(None))
               else f"visit {visit_id} returned")


def _ref(text: str) -> str | int:
    offer_id = parse_id(text.strip())
    return offer_id if offer_id is not None else text.strip().upper()
