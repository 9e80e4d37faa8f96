"""The rules, offers and points commands, end to end on a small world."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty import migrate
from loyalty.cli import main
from loyalty.db import make_engine
from loyalty.models import Offer
from tests.offers.scenario import make_world, rule_doc


@pytest.fixture
def cli_db(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    world = make_world(engine, customers=8)
    yield ["--database-url", url], engine, world, tmp_path
    engine.dispose()


def run(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_rules_and_offers_commands(cli_db, capsys):
    url, engine, world, tmp = cli_db
    bad = tmp / "bad.json"
    bad.write_text(json.dumps(rule_doc("x", reward={"type": "percent_off", "percent": 300},
                                       message="Hi {first_name.__class__}")))
    code, _, err = run([*url, "rules", "validate", str(bad)], capsys)
    assert code == 1
    assert "reward.percent:" in err and "message[3:" in err and "2 problem(s)" in err
    assert "Traceback" not in err
    broken = tmp / "broken.json"
    broken.write_text("{not json")
    code, _, err = run([*url, "rules", "add", str(broken)], capsys)
    assert code == 1 and "not JSON" in err

    good = tmp / "good.json"
    good.write_text(json.dumps(rule_doc("winback", control_share=0.0)))
    assert run([*url, "rules", "validate", str(good)], capsys)[1].strip().endswith("valid")
    assert "saved as draft" in run([*url, "rules", "add", str(good)], capsys)[1]
    code, out, _ = run([*url, "rules", "list"], capsys)
    assert code == 0 and "draft" in out and "churn_probability >= 0.5" in out
    assert "is active" in run([*url, "rules", "activate", "winback"], capsys)[1]

    code, out, _ = run([*url, "offers", "issue", "--now", "2026-06-15T18:00"], capsys)
    assert code == 0 and "4 offers given" in out
    # Staff type the phone number without the country code.
    code, out, _ = run([*url, "offers", "show", "900000000", "--now", "2026-06-16"], capsys)
    assert code == 0
    assert "OFFER" in out and "15% off" in out and "disfruta 15% de descuento" in out
    assert "reason:  Winback: No visit in 90 days" in out
    code, out, _ = run([*url, "offers", "show", "ana1@example.com", "--now", "2026-06-16"],
                       capsys)
    assert "no offer to give now" in out

    with Session(engine) as s:
        offer = s.scalars(select(Offer).order_by(Offer.id)).first()
    code, out, err = run([*url, "offers", "redeem", offer.code.lower(), "--now",
                          "2026-06-17"], capsys)
    assert code == 0, err
    code, _, err = run([*url, "offers", "redeem", offer.code, "--now", "2026-06-17"], capsys)
    assert code == 1 and "already redeemed" in err
    code, out, _ = run([*url, "offers", "report", "--now", "2026-07-01", "--plot",
                        str(tmp / "uplift.png")], capsys)
    assert code == 0 and "Winback" in out
    assert (tmp / "uplift.png").read_bytes()[:4] == b"\x89PNG"
    assert run([*url, "offers", "expire", "--now", "2026-07-01"], capsys)[1].startswith("3 ")
    code, _, err = run([*url, "offers", "show", "nobody@example.com"], capsys)
    assert code == 1 and "no customer matches" in err
    assert "is retired" in run([*url, "rules", "retire", "winback"], capsys)[1]


@pytest.mark.parametrize("ref", ["\u00b9", "\u2460", "\u00b2\u00b3", "\u0663", "9" * 25])
def test_digits_that_are_not_ascii_or_too_long_are_no_id(cli_db, capsys, ref):
    url, *_ = cli_db
    for args in (["offers", "show", ref], ["offers", "redeem", ref], ["rules", "show", ref],
                 ["segments", "show", ref]):
        code, _, err = run([*url, *args], capsys)
        assert code == 1 and err.startswith("error: ") and "unexpected" not in err, (args, err)
