"""Commands for customer segments: build them from the latest predictions, list, show."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from loyalty.cli.app import App, cli, pass_app


@cli.group()
def segments() -> None:
    """Explained customer segments with stable keys, built from the latest predictions."""


@segments.command("build")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--plot", "plot_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Also write the segment map (PNG) to this file.")
@pass_app
def build_cmd(app: App, seed: int, plot_path: Path | None) -> None:
    """Cluster the latest prediction run of the production churn model into named segments,
    keeping the keys of segments that are still there and retiring the ones that are not."""
    from loyalty.segments.store import build_segments

    engine = app.migrated_engine()
    result = build_segments(engine, app.settings, seed=seed, progress=sys.stderr.isatty())
    for line in result.lines():
        click.echo(line)
    if plot_path is not None:
        from loyalty.segments.plot import segment_map

        click.echo(f"wrote {segment_map(engine, plot_path, seed=seed)}")


@segments.command("list")
@click.option("--all", "include_retired", is_flag=True, help="Include retired segments.")
@click.option("--json", "as_json", is_flag=True, help="Print the segments as JSON.")
@pass_app
def list_cmd(app: App, include_retired: bool, as_json: bool) -> None:
    """The segments, largest first: key, size, revenue share, mean churn, name."""
    from loyalty.segments.store import list_segments, segment_document

    found = list_segments(app.migrated_engine(), include_retired=include_retired)
    if as_json:
        click.echo(json.dumps([segment_document(s) for s in found], indent=2,
                              ensure_ascii=False))
        return
    if not found:
        click.echo("no segments yet: run `loyalty segments build`")
        return
    width = max(len(s.key) for s in found)
    for s in found:
        share = (s.profile or {}).get("customer_share")
        shown = f"{share:5.1%}" if isinstance(share, float) else "    -"
        click.echo(f"{s.id:4d} {s.key:<{width}} {s.status:<7} {s.size:>7,} ({shown})  "
                   f"revenue {_pct(s.revenue_share)}  churn {_num(s.mean_churn_probability)}  "
                   f"{s.name}")


@segments.command("show")
@click.argument("key_or_id")
@click.option("--json", "as_json", is_flag=True, help="Print the segment as JSON.")
@click.option("--members", default=0, show_default=True, type=click.IntRange(0, 10_000),
              help="Also list this many members, the most typical first.")
@pass_app
def show_cmd(app: App, key_or_id: str, as_json: bool, members: int) -> None:
    """One segment (KEY_OR_ID: its key or id): who, how valuable, how at risk, and why."""
    from loyalty.segments.store import get_segment, segment_document, segment_members

    engine = app.migrated_engine()
    seg = get_segment(engine, key_or_id)
    page = segment_members(engine, seg.id, limit=members) if members else None
    if as_json:
        doc = segment_document(seg)
        if page is not None:
            doc["members"] = [{"customer_id": m.customer_id, "first_name": m.first_name,
                               "last_name": m.last_name, "as_of": m.as_of.isoformat(),
                               "distance": m.distance} for m in page.members]
            doc["member_count"] = page.total
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    p = seg.profile or {}
    click.echo(f"{seg.name}  [{seg.key}, id {seg.id}, {seg.status}]")
    if seg.description:
        click.echo(f"  {seg.description}")
    share = p.get("customer_share")
    click.echo(f"  size {seg.size:,}" + (f" ({share:.1%} of customers)"
                                         if isinstance(share, float) else "")
               + f", revenue share {_pct(seg.revenue_share).strip()}, mean churn probability "
                 f"{_num(seg.mean_churn_probability)}")
    built = f"{seg.built_at:%Y-%m-%d %H:%M} UTC" if seg.built_at else "-"
    click.echo(f"  built {built} from predictions as of {p.get('as_of', '-')}")
    tiers = p.get("tier_mix") or {}
    if tiers:
        click.echo("  tier mix: " + ", ".join(f"{t} {v:.0%}" for t, v in tiers.items()))
    drivers = p.get("drivers") or []
    if drivers:
        click.echo("  churn drivers (mean SHAP in the segment vs everyone):")
        for d in drivers:
            click.echo(f"    {d['feature']:<22} {d['segment_mean']:+.4f} vs "
                       f"{d['population_mean']:+.4f}  ({d['difference']:+.4f})")
    click.echo(f"  complaints: {', '.join(p.get('complaints') or []) or 'none'}")
    click.echo(f"  praise: {', '.join(p.get('praise') or []) or 'none'}")
    if p.get("day_part"):
        click.echo(f"  mostly visits at: {p['day_part']}")
    click.echo(f"  favourite dishes: {', '.join(p.get('favourite_dishes') or []) or 'none'}")
    if page is not None:
        click.echo(f"  members ({len(page.members)} of {page.total:,}, most typical first):")
        for m in page.members:
            who = " ".join(x for x in (m.first_name, m.last_name) if x) or "-"
            dist = f"{m.distance:.2f}" if m.distance is not None else "-"
            click.echo(f"    {m.customer_id:>8}  {who:<30} distance {dist}")


def _pct(value: float | None) -> str:
    return f"{value:5.1%}" if value is not None else "    -"


def _num(value: float | None) -> str:
    return f"{value:.3f}" if value is not None else "-"
