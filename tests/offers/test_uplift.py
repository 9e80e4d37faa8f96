"""The uplift report: counts, rates, intervals, windows cut at as_of, and the database wrapper."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sqlalchemy.orm import Session

from loyalty.models import Customer, Location, Offer, RewardRule, Visit
from loyalty.offers.uplift import (
    NO_CONTROL,
    UPLIFT_COLUMNS,
    newcombe_interval,
    uplift_plot,
    uplift_report,
    uplift_table,
    welch_interval,
    wilson_interval,
)

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
END = T0 + timedelta(days=14)
LATER = T0 + timedelta(days=60)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def offer(oid, rule, customer, control=False, status="issued", issued=T0, expires=END,
          name=None):
    return {"offer_id": oid, "rule_id": rule, "rule_name": name or f"rule {rule}",
            "customer_id": customer, "is_control": control, "status": status,
            "issued_at": issued, "expires_at": expires}


def visit(customer, when, amount, is_return=False):
    return {"customer_id": customer, "visited_at": when, "total_amount": amount,
            "is_return": is_return}


def frames(offers, visits):
    o = pd.DataFrame(offers)
    v = pd.DataFrame(visits, columns=["customer_id", "visited_at", "total_amount", "is_return"])
    return o, v


# ----------------------------------------------------------------------------- the intervals

@pytest.mark.parametrize(("x1", "n1", "x2", "n2", "low", "high"), [
    # Newcombe (1998), Table II, method 10 (score interval, no continuity correction).
    (56, 70, 48, 80, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.1705, 0.8090),
    (6, 7, 2, 7, 0.0582, 0.8062),
    (5, 56, 0, 29, -0.0381, 0.1926),
    (0, 10, 0, 20, -0.1611, 0.2775),
    (10, 10, 0, 20, 0.6791, 1.0000),
])
def test_newcombe_matches_the_published_examples(x1, n1, x2, n2, low, high):
    d, lo, hi = newcombe_interval(x1, n1, x2, n2)
    assert d == pytest.approx(x1 / n1 - x2 / n2)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)


def test_wilson_by_hand_and_empty_groups():
    # 56/70: p = 0.8, z = 1.96: centre (0.8 + z²/140) / (1 + z²/70) and half-width by hand.
    z = stats.norm.ppf(0.975)
    centre = (0.8 + z * z / 140) / (1 + z * z / 70)
    half = z * math.sqrt(0.8 * 0.2 / 70 + z * z / (4 * 70 * 70)) / (1 + z * z / 70)
    assert wilson_interval(56, 70) == pytest.approx((centre - half, centre + half))
    assert all(math.isnan(v) for v in newcombe_interval(3, 10, 0, 0))
    d, lo, hi = welch_interval([1.0], [2.0, 3.0])
    assert d == pytest.approx(-1.5) and math.isnan(lo) and math.isnan(hi)


def test_welch_matches_scipy():
    a = [30.0, -10.0, 0.0, 100.0, 12.5]
    b = [40.0, 0.0, 7.0]
    d, lo, hi = welch_interval(a, b, confidence=0.9)
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.9)
    assert d == pytest.approx(np.mean(a) - np.mean(b))
    assert (lo, hi) == pytest.approx((ci.low, ci.high))


# ------------------------------------------------------------------------------- the table

def test_counts_rates_spend_and_intervals():
    o, v = frames(
        [offer(1, 1, 1), offer(2, 1, 2), offer(3, 1, 3), offer(4, 1, 4, status="redeemed"),
         offer(5, 1, 5, control=True), offer(6, 1, 6, control=True)],
        [visit(1, day(2), 50.0), visit(1, day(3), -20.0, is_return=True),
         visit(2, day(4), 10.0, is_return=True),              # a return alone is no revisit
         visit(3, day(-2), 80.0), visit(3, day(15), 80.0),    # outside the window
         visit(4, day(13), 100.0),
         visit(5, day(9), 40.0),
         visit(6, day(1), None)])                             # an unknown amount is 0
    t = uplift_table(o, v, as_of=LATER)
    assert list(t.columns) == list(UPLIFT_COLUMNS)
    r = t.iloc[0]
    assert (r.rule_id, r.rule_name, r.treated, r.control, r.redeemed) == (1, "rule 1", 4, 2, 1)
    assert r.redemption_rate == pytest.approx(0.25)
    assert r.revisit_treated == pytest.approx(0.5) and r.revisit_control == pytest.approx(1.0)
    d, lo, hi = newcombe_interval(2, 4, 2, 2)
    assert (r.revisit_uplift, r.ci_low, r.ci_high) == pytest.approx((d, lo, hi))
    treated_spend, control_spend = [30.0, -10.0, 0.0, 100.0], [40.0, 0.0]
    assert r.spend_treated == pytest.approx(30.0) and r.spend_control == pytest.approx(20.0)
    ci = stats.ttest_ind(treated_spend, control_spend, equal_var=False).confidence_interval()
    assert (r.spend_uplift, r.spend_ci_low, r.spend_ci_high) == pytest.approx(
        (10.0, ci.low, ci.high))
    assert not r.significant and r.note == ""


def test_a_clear_effect_is_significant_and_confidence_widens_it():
    offers = [offer(i, 7, i, control=i >= 40) for i in range(60)]
    visits = [visit(i, day(3), 50.0) for i in range(36)] + [visit(45, day(3), 50.0)]
    o, v = frames(offers, visits)
    r95 = uplift_table(o, v, as_of=LATER).iloc[0]
    assert r95.treated == 40 and r95.control == 20
    assert r95.revisit_treated == pytest.approx(0.9) and r95.revisit_control == pytest.approx(0.05)
    assert r95.significant and r95.ci_low > 0
    r99 = uplift_table(o, v, as_of=LATER, confidence=0.99).iloc[0]
    assert r99.ci_low < r95.ci_low and r99.ci_high > r95.ci_high


def test_rule_without_control_or_treated_gets_nan_and_a_note():
    o, v = frames([offer(1, 1, 1), offer(2, 1, 2), offer(3, 2, 3, control=True)],
                  [visit(1, day(1), 20.0), visit(3, day(1), 20.0)])
    t = uplift_table(o, v, as_of=LATER).set_index("rule_id")
    assert t.loc[1, "note"] == NO_CONTROL and t.loc[2, "note"].startswith("no treated")
    assert t.loc[1, "revisit_treated"] == pytest.approx(0.5)
    assert math.isnan(t.loc[1, "revisit_control"])
    for rule in (1, 2):
        for c in ("revisit_uplift", "ci_low", "ci_high", "spend_uplift", "spend_ci_low",
                  "spend_ci_high"):
            assert math.isnan(t.loc[rule, c])
        assert not t.loc[rule, "significant"]
    assert math.isnan(t.loc[2, "redemption_rate"])


def test_windows_are_cut_at_as_of():
    as_of = day(5)
    o, v = frames(
        [offer(1, 1, 1), offer(2, 1, 2), offer(3, 1, 3, control=True),
         offer(4, 1, 4, issued=day(6), expires=day(20))],     # not issued yet at as_of
        [visit(1, day(4), 30.0),                              # inside
         visit(2, day(6), 30.0),                              # after as_of: not seen yet
         visit(3, as_of, 25.0),                               # at as_of: inside (closed)
         visit(4, day(7), 99.0)])
    r = uplift_table(o, v, as_of=as_of).iloc[0]
    assert (r.treated, r.control) == (2, 1)
    assert r.revisit_treated == pytest.approx(0.5) and r.revisit_control == pytest.approx(1.0)
    assert r.spend_treated == pytest.approx(15.0)
    later = uplift_table(o, v, as_of=LATER).iloc[0]
    assert later.treated == 3 and later.revisit_treated == pytest.approx(1.0)


def test_a_rule_with_every_offer_after_as_of_shows_zero_guests():
    o, v = frames([offer(1, 1, 1, issued=day(10), expires=day(20))], [])
    r = uplift_table(o, v, as_of=day(5)).iloc[0]
    assert (r.treated, r.control) == (0, 0) and r.note.startswith("no offers")


def test_returns_count_negative_whatever_their_stored_sign():
    o, v = frames([offer(1, 1, 1), offer(2, 1, 2, control=True)],
                  [visit(1, day(1), 60.0), visit(1, day(2), 15.0, is_return=True),
                   visit(2, day(1), 60.0), visit(2, day(2), -15.0, is_return=True)])
    r = uplift_table(o, v, as_of=LATER).iloc[0]
    assert r.spend_treated == pytest.approx(45.0) and r.spend_control == pytest.approx(45.0)


def test_a_guest_with_two_offers_of_a_rule_counts_once():
    o, v = frames([offer(1, 1, 1), offer(2, 1, 1, issued=day(7), expires=day(21),
                                         status="redeemed"),
                   offer(3, 1, 2, control=True)],
                  [visit(1, day(10), 40.0), visit(1, day(20), 10.0)])  # day 10 in both windows
    r = uplift_table(o, v, as_of=LATER).iloc[0]
    assert (r.treated, r.control, r.redeemed) == (1, 1, 1)
    assert r.spend_treated == pytest.approx(50.0)


def test_redemptions_after_as_of_are_not_counted_yet():
    o, v = frames([offer(1, 1, 1, status="redeemed"), offer(2, 1, 2, status="redeemed")], [])
    o["redeemed_at"] = [day(2), day(9)]
    assert uplift_table(o, v, as_of=day(5)).iloc[0].redeemed == 1
    assert uplift_table(o, v, as_of=LATER).iloc[0].redeemed == 2


def test_bad_input_is_refused():
    o, v = frames([offer(1, 1, 1)], [])
    with pytest.raises(ValueError, match="confidence"):
        uplift_table(o, v, confidence=1.0)
    with pytest.raises(ValueError, match="lacks columns"):
        uplift_table(o.drop(columns="status"), v)
    with pytest.raises(ValueError, match="time zone"):
        uplift_table(o, v, as_of=datetime(2026, 6, 1))
    naive = o.assign(issued_at=[datetime(2026, 6, 1)])
    with pytest.raises(ValueError, match="naive"):
        uplift_table(naive, v, as_of=LATER)


def test_empty_input_gives_an_empty_table():
    o = pd.DataFrame(columns=["offer_id", "rule_id", "rule_name", "customer_id", "is_control",
                              "status", "issued_at", "expires_at"])
    v = pd.DataFrame(columns=["customer_id", "visited_at", "total_amount", "is_return"])
    t = uplift_table(o, v, as_of=LATER)
    assert len(t) == 0 and list(t.columns) == list(UPLIFT_COLUMNS)


# -------------------------------------------------------------------------- the database side

def _seed(engine):
    """Two rules: "Winback" (4 treated, 2 control) and "Birthday" (treated only)."""
    with Session(engine, expire_on_commit=False) as s, s.begin():
        loc = Location(source="t", external_id="L1", name="Miraflores")
        s.add(loc)
        customers = [Customer(source="t", external_id=f"C{i}", signup_date=date(2025, 1, 1))
                     for i in range(7)]
        s.add_all(customers)
        rules = [RewardRule(key=k, name=n, conditions={"all": []},
                            reward={"type": "percent_off", "percent": 15},
                            message_template="Hi", status="active")
                 for k, n in (("winback", "Winback"), ("birthday", "Birthday"))]
        s.add_all(rules)
        s.flush()
        c = [x.id for x in customers]
        plan = [(rules[0], c[0], False, "redeemed"), (rules[0], c[1], False, "issued"),
                (rules[0], c[2], False, "expired"), (rules[0], c[3], False, "issued"),
                (rules[0], c[4], True, "issued"), (rules[0], c[5], True, "issued"),
                (rules[1], c[6], False, "issued")]
        for i, (rule, cid, control, status) in enumerate(plan):
            s.add(Offer(code=f"CODE{i}", customer_id=cid, rule_id=rule.id, is_control=control,
                        status=status, reward={"type": "percent_off", "percent": 15},
                        message="Hi", issued_at=T0, expires_at=END))
        for n, (cid, when, amount, ret) in enumerate([
                (c[0], day(2), 80.0, False), (c[0], day(3), 20.0, True),
                (c[1], day(6), 50.0, False), (c[2], day(-5), 70.0, False),
                (c[4], day(8), 40.0, False), (c[6], day(1), 30.0, False),
                (c[3], day(30), 90.0, False)]):
            s.add(Visit(source="t", external_id=f"V{n}", customer_id=cid,
                        location_id=loc.id, visited_at=when, total_amount=amount,
                        is_return=ret))
    return {r.name: r.id for r in rules}


def test_report_from_the_database(engine, tmp_path):
    ids = _seed(engine)
    report = uplift_report(engine, as_of=LATER)
    t = report.frame.set_index("rule_name")
    w = t.loc["Winback"]
    assert (w.rule_id, w.treated, w.control, w.redeemed) == (ids["Winback"], 4, 2, 1)
    assert w.revisit_treated == pytest.approx(0.5) and w.revisit_control == pytest.approx(0.5)
    assert w.spend_treated == pytest.approx((60.0 + 50.0) / 4)
    assert w.spend_control == pytest.approx(20.0)
    assert t.loc["Birthday", "note"] == NO_CONTROL

    text = report.table()
    assert "Winback" in text and "| rule |" in text
    assert "[-" in text and "%]" in text and "25.0%" in text

    only = uplift_report(engine, rule_ids=[ids["Birthday"]], as_of=LATER)
    assert list(only.frame["rule_name"]) == ["Birthday"]
    # Halfway through the window the guest who came on day 6 has not come yet.
    early = uplift_report(engine, rule_ids=[ids["Winback"]], as_of=day(5)).frame.iloc[0]
    assert early.revisit_treated == pytest.approx(0.25)

    png = uplift_plot(report, tmp_path / "plots" / "uplift.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_refuses_an_empty_report(engine, tmp_path):
    report = uplift_report(engine, as_of=LATER)
    assert len(report.frame) == 0
    with pytest.raises(ValueError, match="no rules"):
        uplift_plot(report, tmp_path / "x.png")
