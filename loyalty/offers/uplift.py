"""Did the offers work? Treated guests against the control group, rule by rule.

Every rule holds back a deterministic share of the guests it picks (``Offer.is_control``: the
offer is recorded but never given). Comparing the two groups over the offer window measures what
the reward itself caused, net of the guests who would have come back anyway.

The unit is a guest per rule. A guest's window for a rule is ``[issued_at, min(expires_at,
as_of)]`` of each of their offers of that rule (several offers: the union of their windows, each
visit counted once); their group is that of their first offer of the rule (a deterministic
control group keeps a guest on one side). Offers issued after ``as_of`` are not observed yet and
are left out. Offers still open at ``as_of`` count only up to ``as_of``: an open offer has had
less time to work than a closed one, so a report on a running campaign is a lower bound on its
revisit rates, but treated and control guests are cut at the same instant and stay comparable.
Every issued offer counts, cancelled ones included (intention to treat): dropping guests after
the assignment would break the comparison.

Measured per rule:

- ``revisit_*``: share of guests with at least one visit that is not a return in their window;
  ``revisit_uplift`` = treated - control with the Newcombe hybrid score interval
  (``ci_low``/``ci_high``, see `newcombe_interval`); ``significant`` when it excludes 0.
- ``spend_*``: mean net spend per guest in the window (0 for a guest with no visit; returns
  count negative whatever sign they were stored with); ``spend_uplift`` with a Welch t interval
  (``spend_ci_low``/``spend_ci_high``).
- ``redeemed`` / ``redemption_rate``: treated guests holding a redeemed offer of the rule
  (with an optional ``redeemed_at`` column, only redemptions by ``as_of``).

A rule without control (or without treated) guests gets NaN differences and intervals and says
why in ``note``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy.stats import norm
from scipy.stats import t as student_t
from sqlalchemy import Connection, Engine, and_, select
from sqlalchemy.orm import Session

from loyalty.db import connection_of
from loyalty.metrics import format_table
from loyalty.models import Offer, RewardRule, Visit

OFFER_COLUMNS = ("offer_id", "rule_id", "rule_name", "customer_id", "is_control", "status",
                 "issued_at", "expires_at")
VISIT_COLUMNS = ("customer_id", "visited_at", "total_amount", "is_return")
UPLIFT_COLUMNS = ("rule_id", "rule_name", "treated", "control", "redeemed", "redemption_rate",
                  "revisit_treated", "revisit_control", "revisit_uplift", "ci_low", "ci_high",
                  "spend_treated", "spend_control", "spend_uplift", "spend_ci_low",
                  "spend_ci_high", "significant", "note")
NO_CONTROL = "no control group: uplift cannot be measured"
NO_TREATED = "no treated guests: uplift cannot be measured"
NO_OFFERS = "no offers issued by as_of"

TREATED_COLOR = "#008bfb"  # the house blue (loyalty.explain.plots)
CONTROL_COLOR = "#7f7f7f"


# ---------------------------------------------------------------------------------- intervals

def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (no continuity correction); NaN when ``n`` is 0."""
    if n <= 0:
        return math.nan, math.nan
    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_interval(x1: int, n1: int, x2: int, n2: int,
                      confidence: float = 0.95) -> tuple[float, float, float]:
    """Difference ``x1/n1 - x2/n2`` with Newcombe's hybrid score interval.

    Newcombe (1998), "Interval estimation for the difference between independent proportions",
    Statistics in Medicine 17:873-890, method 10: with Wilson intervals ``(l1, u1)`` and
    ``(l2, u2)`` for the two proportions and ``d = p1 - p2``::

        low  = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)
        high = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)

    Unlike the Wald interval it stays inside [-1, 1], is not degenerate at rates of 0 or 1 and
    keeps close to its nominal coverage with small groups (56/70 vs 48/80 gives 0.2000 with
    [0.0524, 0.3339], Newcombe's Table II). Returns ``(d, low, high)``, all NaN when a group
    is empty.
    """
    if n1 <= 0 or n2 <= 0:
        return math.nan, math.nan, math.nan
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, confidence)
    l2, u2 = wilson_interval(x2, n2, confidence)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, max(-1.0, low), min(1.0, high)


def welch_interval(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
                   confidence: float = 0.95) -> tuple[float, float, float]:
    """``mean(a) - mean(b)`` with a Welch t interval (unequal variances, Welch-Satterthwaite
    degrees of freedom). The difference is NaN when a group is empty; the interval needs two
    values per group. Two groups without any spread give the difference as both ends."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if len(x) == 0 or len(y) == 0:
        return math.nan, math.nan, math.nan
    d = float(x.mean() - y.mean())
    if len(x) < 2 or len(y) < 2:
        return d, math.nan, math.nan
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se = math.sqrt(vx + vy)
    if se == 0:
        return d, d, d
    df = (vx + vy) ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1))
    half = float(student_t.ppf(0.5 + confidence / 2, df)) * se
    return d, d - half, d + half


# ------------------------------------------------------------------------------- the pure core

def _utc(value: datetime | pd.Timestamp | str | None) -> pd.Timestamp:
    ts = pd.Timestamp.now(tz=UTC) if value is None else pd.Timestamp(value)
    if ts.tzinfo is None:
        raise ValueError(f"as_of {value!r} has no time zone: give an aware datetime (UTC)")
    return ts.tz_convert("UTC").as_unit("ns")


def _utc_column(frame: pd.DataFrame, column: str, name: str, missing_ok: bool = False
                ) -> pd.Series:
    values = frame[column]
    if len(values) == 0:
        return pd.Series(pd.DatetimeIndex([], tz="UTC").as_unit("ns"), index=frame.index)
    try:
        series = pd.to_datetime(values)
    except (ValueError, TypeError):  # mixed offsets: every value carries one
        series = pd.to_datetime(values, utc=True)
    if series.isna().all() and missing_ok:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    if getattr(series.dtype, "tz", None) is None:
        raise ValueError(f"{name}.{column} holds naive timestamps: give tz-aware values (UTC)")
    if series.isna().any() and not missing_ok:
        raise ValueError(f"{name}.{column} has missing timestamps")
    return series.dt.tz_convert("UTC").dt.as_unit("ns")


def _require(frame: pd.DataFrame, name: str, columns: Iterable[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks columns: {', '.join(missing)}")


def _bools(values: pd.Series) -> np.ndarray:
    return values.astype(object).where(values.notna(), False).astype(bool).to_numpy()


def _guests(offers: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """One row per (rule, guest) observed by ``as_of``: group, redeemed flag."""
    seen = offers[offers["issued_at"] <= as_of]
    first = (seen.sort_values(["issued_at", "offer_id"], kind="stable")
             .groupby(["rule_id", "customer_id"], sort=False).head(1)
             .set_index(["rule_id", "customer_id"])["is_control"])
    hit = (seen["status"] == "redeemed") & ~seen["is_control"]
    if "redeemed_at" in seen.columns:  # a redemption after as_of had not happened yet
        hit &= seen["redeemed_at"].isna() | (seen["redeemed_at"] <= as_of)
    redeemed = (seen.assign(r=hit)
                .groupby(["rule_id", "customer_id"])["r"].any())
    out = pd.DataFrame({"is_control": first}).join(redeemed.rename("redeemed"))
    return out.reset_index()


def _window_activity(offers: pd.DataFrame, visits: pd.DataFrame,
                     as_of: pd.Timestamp) -> pd.DataFrame:
    """Per (rule, guest) with any visit in their windows: revisited flag and net spend."""
    seen = offers[offers["issued_at"] <= as_of]
    v = visits.reset_index(drop=True).rename_axis("visit_key").reset_index()
    pairs = seen[["rule_id", "customer_id", "issued_at", "window_end"]].merge(
        v, on="customer_id", how="inner")
    inside = pairs[(pairs["visited_at"] >= pairs["issued_at"])
                   & (pairs["visited_at"] <= pairs["window_end"])]
    # A visit inside two overlapping windows of the same rule counts once.
    inside = inside.drop_duplicates(["rule_id", "customer_id", "visit_key"])
    inside = inside.assign(revisit=~inside["is_return"])
    return (inside.groupby(["rule_id", "customer_id"])
            .agg(revisited=("revisit", "any"), spend=("net", "sum")).reset_index())


def _rule_row(rule_id: Any, name: Any, guests: pd.DataFrame, confidence: float
              ) -> dict[str, Any]:
    treated = guests[~guests["is_control"]]
    control = guests[guests["is_control"]]
    nt, nc = len(treated), len(control)
    xt, xc = int(treated["revisited"].sum()), int(control["revisited"].sum())
    redeemed = int(treated["redeemed"].sum())
    row: dict[str, Any] = {
        "rule_id": rule_id, "rule_name": name, "treated": nt, "control": nc,
        "redeemed": redeemed, "redemption_rate": redeemed / nt if nt else math.nan,
        "revisit_treated": xt / nt if nt else math.nan,
        "revisit_control": xc / nc if nc else math.nan,
        "spend_treated": float(treated["spend"].mean()) if nt else math.nan,
        "spend_control": float(control["spend"].mean()) if nc else math.nan,
    }
    d, lo, hi = newcombe_interval(xt, nt, xc, nc, confidence)
    sd, slo, shi = welch_interval(treated["spend"].to_numpy(), control["spend"].to_numpy(),
                                  confidence)
    row.update(revisit_uplift=d, ci_low=lo, ci_high=hi, spend_uplift=sd, spend_ci_low=slo,
               spend_ci_high=shi, significant=bool(lo > 0 or hi < 0))
    row["note"] = (NO_OFFERS if nt + nc == 0 else NO_TREATED if nt == 0
                   else NO_CONTROL if nc == 0 else "")
    return row


def uplift_table(offers: pd.DataFrame, visits: pd.DataFrame, *, confidence: float = 0.95,
                 as_of: datetime | pd.Timestamp | None = None,
                 pooled: bool = False) -> pd.DataFrame:
    """One row per rule (sorted by ``rule_id``): treated against control, see the module doc.

    ``offers``: offer_id, rule_id, rule_name, customer_id, is_control, status, issued_at,
    expires_at. ``visits``: customer_id, visited_at, total_amount, is_return. Timestamps must be
    tz-aware. ``as_of`` (default now) cuts every window: ``[issued_at, min(expires_at, as_of)]``;
    offers issued after it are ignored (a rule left with none shows zero guests).
    ``pooled`` adds a last row over every rule's guests (``rule_id`` None): each rule's control
    group is drawn by the same hash and share rule by rule, so pooling compares like with like
    while the per-rule groups are often too small for an interval that excludes zero.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    _require(offers, "offers", OFFER_COLUMNS)
    _require(visits, "visits", VISIT_COLUMNS)
    cut = _utc(as_of)
    o = offers.loc[:, [*OFFER_COLUMNS, *(["redeemed_at"] if "redeemed_at" in offers else [])]]
    o = o.copy()
    o["issued_at"] = _utc_column(o, "issued_at", "offers")
    if "redeemed_at" in o.columns:
        o["redeemed_at"] = _utc_column(o, "redeemed_at", "offers", missing_ok=True)
    o["expires_at"] = _utc_column(o, "expires_at", "offers")
    o["is_control"] = _bools(o["is_control"])
    o["window_end"] = o["expires_at"].where(o["expires_at"] <= cut, cut)
    v = visits.loc[:, list(VISIT_COLUMNS)].copy()
    v["visited_at"] = _utc_column(v, "visited_at", "visits")
    v["is_return"] = _bools(v["is_return"])
    amount = pd.to_numeric(v["total_amount"], errors="coerce").fillna(0.0).astype(np.float64)
    v["net"] = np.where(v["is_return"], -amount.abs(), amount)

    guests = _guests(o, cut)
    activity = _window_activity(o, v, cut)
    guests = guests.merge(activity, on=["rule_id", "customer_id"], how="left")
    guests["revisited"] = _bools(guests["revisited"])
    guests["spend"] = guests["spend"].astype(np.float64).fillna(0.0)
    guests["redeemed"] = _bools(guests["redeemed"])

    names = o.groupby("rule_id", sort=True)["rule_name"].first()
    by_rule = dict(iter(guests.groupby("rule_id", sort=False)))
    empty = guests.iloc[0:0]
    rows = [_rule_row(rule_id, name, by_rule.get(rule_id, empty), confidence)
            for rule_id, name in names.items()]
    if pooled and len(names) > 1:
        rows.append(_rule_row(None, "all rules", guests, confidence))
    frame = pd.DataFrame(rows, columns=list(UPLIFT_COLUMNS))
    for c in ("treated", "control", "redeemed"):
        frame[c] = frame[c].astype(np.int64)
    frame["significant"] = frame["significant"].astype(bool)
    return frame


# ---------------------------------------------------------------------------- the DB wrapper

def _pct(value: float, signed: bool = False) -> str | None:
    if value is None or not math.isfinite(value):
        return None
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def _money(value: float, signed: bool = False) -> str | None:
    if value is None or not math.isfinite(value):
        return None
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"


def _interval(low: float, high: float, fmt: Any) -> str | None:
    a, b = fmt(low, True), fmt(high, True)
    return None if a is None or b is None else f"[{a}, {b}]"


TABLE_COLUMNS = ("rule", "treated", "control", "redeemed", "revisit treated", "revisit control",
                 "revisit uplift", "CI", "spend treated", "spend control", "spend uplift",
                 "spend CI", "significant", "note")


@dataclass
class UpliftReport:
    """The uplift of each rule (`uplift_table`'s frame) with the instant it was measured at."""

    frame: pd.DataFrame
    as_of: pd.Timestamp
    confidence: float = 0.95

    def __len__(self) -> int:
        return len(self.frame)

    def rows(self) -> list[dict[str, Any]]:
        """The frame as display strings: rates as percentages, intervals as "[+1.2%, +8.9%]"."""
        out = []
        for r in self.frame.to_dict("records"):
            out.append({
                "rule": (f"{r['rule_name']} (#{int(r['rule_id'])})" if r["rule_id"] is not None
                         and not pd.isna(r["rule_id"]) else f"{r['rule_name']} (pooled)"),
                "treated": int(r["treated"]), "control": int(r["control"]),
                "redeemed": (f"{int(r['redeemed'])} ({_pct(r['redemption_rate'])})"
                             if r["treated"] else None),
                "revisit treated": _pct(r["revisit_treated"]),
                "revisit control": _pct(r["revisit_control"]),
                "revisit uplift": _pct(r["revisit_uplift"], signed=True),
                "CI": _interval(r["ci_low"], r["ci_high"], _pct),
                "spend treated": _money(r["spend_treated"]),
                "spend control": _money(r["spend_control"]),
                "spend uplift": _money(r["spend_uplift"], signed=True),
                "spend CI": _interval(r["spend_ci_low"], r["spend_ci_high"], _money),
                "significant": "yes" if r["significant"] else "no",
                "note": r["note"] or None,
            })
        return out

    def table(self) -> str:
        """A printable (Markdown) table, one line per rule, with a header naming the cut-off."""
        head = (f"Offer uplift as of {self.as_of:%Y-%m-%d %H:%M} UTC "
                f"({self.confidence:.0%} intervals: revisit Newcombe, spend Welch)")
        return head + "\n\n" + format_table(self.rows(), TABLE_COLUMNS)


def _read(conn: Connection, stmt: Any, names: Sequence[str]) -> pd.DataFrame:
    rows = conn.execute(stmt).all()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return pd.DataFrame({n: pd.Series(list(c), dtype=object)
                         for n, c in zip(names, columns, strict=True)})


def load_uplift_frames(engine: Engine | Connection | Session, *,
                       rule_ids: Iterable[int] | None = None,
                       as_of: datetime | pd.Timestamp | None = None
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``offers`` and ``visits`` frames `uplift_table` needs, read from the database.

    Offers of ``rule_ids`` (all rules by default) issued by ``as_of``, with their rule's name;
    visits are only those that fall inside some offer's window (the join is done in SQL, so a
    long history is not read for a short campaign).
    """
    cut = _utc(as_of).to_pydatetime()
    o, r, v = Offer.__table__.c, RewardRule.__table__.c, Visit.__table__.c
    where = [o.issued_at <= cut]
    if rule_ids is not None:
        ids = sorted({int(i) for i in rule_ids})
        where.append(o.rule_id.in_(ids))
    offers_q = (select(o.id, o.rule_id, r.name, o.customer_id, o.is_control, o.status,
                       o.issued_at, o.expires_at, o.redeemed_at)
                .join_from(Offer.__table__, RewardRule.__table__, o.rule_id == r.id)
                .where(*where).order_by(o.id))
    visits_q = (select(v.id, v.customer_id, v.visited_at, v.total_amount, v.is_return)
                .join_from(Visit.__table__, Offer.__table__,
                           and_(o.customer_id == v.customer_id, v.visited_at >= o.issued_at,
                                v.visited_at <= o.expires_at))
                .where(*where, v.visited_at <= cut).distinct())
    conn, owned = connection_of(engine)
    try:
        offers = _read(conn, offers_q, (*OFFER_COLUMNS, "redeemed_at"))
        visits = _read(conn, visits_q, ("visit_id", *VISIT_COLUMNS))
    finally:
        if owned:
            conn.close()
    visits = visits.sort_values("visit_id", kind="stable").drop(columns="visit_id")
    return offers, visits.reset_index(drop=True)


def uplift_report(engine: Engine | Connection | Session, *,
                  rule_ids: Iterable[int] | None = None,
                  as_of: datetime | pd.Timestamp | None = None,
                  confidence: float = 0.95, pooled: bool = False) -> UpliftReport:
    """Uplift of every rule (or of ``rule_ids``) measured at ``as_of`` (default now)."""
    cut = _utc(as_of)
    offers, visits = load_uplift_frames(engine, rule_ids=rule_ids, as_of=cut)
    frame = uplift_table(offers, visits, confidence=confidence, as_of=cut, pooled=pooled)
    return UpliftReport(frame, cut, confidence)


# --------------------------------------------------------------------------------- the chart

def uplift_plot(report: UpliftReport, path: str | Path) -> Path:
    """Revisit rate of treated against control guests per rule, with Wilson intervals as error
    bars and the uplift with its Newcombe interval written beside each rule, as a PNG."""
    frame = report.frame
    if len(frame) == 0:
        raise ValueError("no rules to plot")
    fig = Figure(figsize=(8.5, 0.75 * len(frame) + 1.8))
    ax = fig.add_subplot()
    y = np.arange(len(frame))[::-1].astype(np.float64)
    height = 0.36
    right = 0.0
    for offset, (rate_col, n_col, label, color) in zip(
            (height / 2, -height / 2),
            (("revisit_treated", "treated", "treated", TREATED_COLOR),
             ("revisit_control", "control", "control", CONTROL_COLOR)), strict=True):
        rates = frame[rate_col].to_numpy(dtype=np.float64)
        ns = frame[n_col].to_numpy(dtype=np.int64)
        bounds = np.array([wilson_interval(int(round(p * n)), int(n), report.confidence)
                           if n > 0 else (math.nan, math.nan)
                           for p, n in zip(rates, ns, strict=True)]).reshape(-1, 2)
        shown = np.nan_to_num(rates)
        err = np.vstack([np.nan_to_num(shown - bounds[:, 0]),
                         np.nan_to_num(bounds[:, 1] - shown)])
        ax.barh(y + offset, shown, height=height, color=color, label=label,
                xerr=err, error_kw={"ecolor": "#333333", "capsize": 3, "lw": 0.9})
        right = max(right, float(np.nanmax(np.append(bounds[:, 1], 0.0))))
    for yi, r in zip(y, frame.to_dict("records"), strict=True):
        if math.isfinite(r["revisit_uplift"]):
            text = (f" uplift {r['revisit_uplift']:+.1%} "
                    f"[{r['ci_low']:+.1%}, {r['ci_high']:+.1%}]")
            weight = "bold" if r["significant"] else "normal"
        else:
            text, weight = f" {r['note']}", "normal"
        ax.text(1.02, yi, text, va="center", ha="left", fontsize=8.5, fontweight=weight,
                transform=ax.get_yaxis_transform())
    ax.set_yticks(y, [f"{name}\n{t} treated, {c} control" for name, t, c in
                      zip(frame["rule_name"], frame["treated"], frame["control"], strict=True)])
    ax.set_xlim(0, min(1.0, max(right, 0.05) * 1.1))
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    ax.set_xlabel(f"share of guests who came back in the offer window "
                  f"({report.confidence:.0%} intervals)")
    ax.set_title(f"Offer uplift by rule, as of {report.as_of:%Y-%m-%d}: treated vs control",
                 loc="left")
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, frameon=False, fontsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(out, format="png", dpi=110, bbox_inches="tight")
    return out


__all__ = ["UPLIFT_COLUMNS", "UpliftReport", "load_uplift_frames", "newcombe_interval",
           "uplift_plot", "uplift_report", "uplift_table", "welch_interval", "wilson_interval"]
