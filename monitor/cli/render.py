"""`monitor map` and `monitor demo`: what the emergency office opens."""

from __future__ import annotations

from pathlib import Path

import click

from .context import App, console, pass_app


@click.command("map")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the HTML (default: [map] out in config.toml).")
@pass_app
def map_(app: App, out: Path | None):
    """Write the HTML risk map: townships by risk, warned areas, facilities and follow-ups.

    One self-contained file that opens with no network. The follow-ups shown are those of
    the last evaluation (`monitor followups` or `monitor alerts refresh` re-evaluates), and the
    map says when that was (评估时间 evaluated at).
    """
    from .. import clock
    from ..mapdata import write_map

    path = write_map(app.existing_store(), app.config, out or app.config.resolve(app.config.get("map", "out")),
                     clock.now())
    click.echo(str(path))


@click.command("demo")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Where to write the map.")
@pass_app
def demo(app: App, out: Path | None):
    """Run the main job on the shipped Huairou data, offline, and print a summary.

    Builds a fresh database ([demo] db), loads the approximate township zones, the SAMPLE
    facilities and the bundled real warnings, evaluates the rules at [demo] as_of (a moment
    when those warnings were in force; --as-of overrides it), and writes the risk map.
    """
    from rich.markup import escape

    from .. import clock
    from ..demo import run

    if not clock.fixed():
        clock.set_now(app.config.get("demo", "as_of"))
    s = run(app.config, db=Path(app.db) if app.db else None, out=out)
    c = console()
    district = app.config.get("district", "name", "")
    c.print(f"[bold]{escape(district)}风险监测演示 monitor demo[/bold]  as of {s.as_of}")
    c.print(f"乡镇 townships: {s.townships} ({s.approximate} approximate 近似边界)")
    c.print("设施 facilities: " + ", ".join(f"{k} {v}" for k, v in sorted(s.facilities.items()))
            + "  (sample data 示例数据)")
    c.print(f"生效预警 active warnings: {len(s.alerts)}")
    for a in s.alerts:
        c.print(f"  - {a['headline']} ({a['colour']}, until {a['expires']})", markup=False)
    c.print("待跟进 follow-ups: " + ", ".join(f"{p} {s.by_priority.get(p, 0)}" for p in ("P1", "P2", "P3")))
    for r in s.top:
        c.print(f"  {r['priority']} #{r['facility_id']} {r['name']} ({r['township_name']}): {r['reason']}",
                markup=False)
    c.print(f"database: {s.db}", markup=False)
    c.print(f"map: {s.map}", markup=False)


def register(main: click.Group) -> None:
    main.add_command(map_)
    main.add_command(demo)
