"""`monitor map` and `monitor demo`: what the emergency office opens."""

from __future__ import annotations

from pathlib import Path

import click

from .context import App, console, pass_app


@click.command("map")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="HTML 写到哪里（默认 config.toml 的 [map] out）；Where to write the HTML (default: [map] out in "
                   "config.toml).")
@click.option("--include-personal", is_flag=True,
              help="在地图上列出需上门住户的编号、联系人和电话（个人信息，仅限办公室内）；默认只给各村户数；List the "
                   "households to visit with ref, contact and phone (personal data: for the office only); by default "
                   "households appear only as counts per village.")
@pass_app
def map_(app: App, out: Path | None, include_personal: bool):
    """生成 HTML 风险地图：乡镇风险、预警区域、设施和待跟进；Write the HTML risk map: townships by risk, warned areas, facilities and follow-ups.

    One self-contained file that opens with no network. The follow-ups shown are those of
    the last evaluation (`monitor followups` or `monitor alerts refresh` re-evaluates), and the
    map says when that was (评估时间 evaluated at).
    """
    from .. import clock
    from ..mapdata import write_map
    from ..outfile import check_target

    store = app.existing_store()
    out = out or app.config.map.out
    check_target(out, "html")  # refused before the map is built (and checked again as it is written)
    path = write_map(store, app.config, out, clock.now(), include_personal=include_personal)
    click.echo(str(path))


@click.command("demo")
@click.option("--demo-db", "demo_db", type=click.Path(dir_okay=False, path_type=Path),
              help="演示专用数据库（默认 config.toml 的 [demo] db），只会重建演示自己建的库，不用 --db 和 MONITOR_DB；"
                   "The demo's own database (default: [demo] db in config.toml). Only a database the demo "
                   "created is ever recreated; --db and MONITOR_DB are not used.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="地图写到哪里；Where to write the map.")
@pass_app
def demo(app: App, demo_db: Path | None, out: Path | None):
    """用自带的怀柔数据离线演示全过程并打印摘要；Run the main job on the shipped Huairou data, offline, and print a summary.

    Builds a fresh database of its own ([demo] db, or --demo-db), loads the approximate township
    zones, and replays Huairou's 2025 up to [demo] as_of (2025-11-16 09:00; --as-of overrides
    it): the SAMPLE facilities and their changes, and the real warnings of the July flood and of
    November (reconstructed from published text), each at its own time, evaluating the rules
    each morning; then writes the risk map and prints the commands to look further. The demo
    marks its database as its own and refuses to recreate any other file, so it never touches
    your monitor database.
    """
    from rich.markup import escape

    from .. import clock
    from ..demo import run
    from ..outfile import check_target, protect

    if not clock.fixed():
        clock.set_now(app.config.demo.as_of)
    db = demo_db or app.config.demo.db
    protect(db, database=True)  # the map may not be written over it
    check_target(out or app.config.demo.map, "html")  # before the demo's database is recreated
    s = run(app.config, db=db, out=out)
    c = console()
    district = app.config.district.name
    c.print(f"[bold]{escape(district)}风险监测演示 monitor demo[/bold]  演示时刻 as of {s.as_of}")
    c.print(f"乡镇 townships: {s.townships} ({s.approximate} approximate 近似边界)")
    c.print("设施 facilities: " + ", ".join(f"{k} {v}" for k, v in sorted(s.facilities.items()))
            + "  (sample data 示例数据)")
    c.print(f"生效预警 active warnings: {len(s.alerts)}")
    for a in s.alerts:
        c.print(f"  - {a['headline']} ({a['colour']}, until {a['expires']})", markup=False)
    c.print("待跟进 follow-ups: " + ", ".join(f"{p} {s.by_priority.get(p, 0)}" for p in ("P1", "P2", "P3")))
    c.print("按规则 by rule: " + ", ".join(f"{rule} {n}" for rule, n in sorted(s.by_rule.items())), markup=False,
            soft_wrap=True)
    for r in s.top:
        c.print(f"  {r['priority']} #{r['facility_id']} {r['name']} ({r['township_name']}): {r['reason']}",
                markup=False)
    if s.households:
        c.print(f"住户 households: {s.households} (sample data 示例数据)；需上门 to visit: "
                + ", ".join(f"{p} {s.households_due.get(p, 0)}" for p in ("P1", "P2", "P3"))
                + "；未办结供暖诉求 open heating calls: "
                + ", ".join(f"{p} {s.calls_due.get(p, 0)}" for p in ("P1", "P2", "P3")), markup=False)
    click.echo(f"数据库 database: {s.db}")  # paths are never wrapped
    click.echo(f"地图 map: {s.map}")
    c.print("下一步 next steps (the demo's database, at the demo's moment):")
    for line in next_steps(app, s.db):
        click.echo(f"  {line}")  # never wrapped: each line is a command to copy


def next_steps(app: App, db: Path) -> list[str]:
    """The commands that look further into the demo's database, as a reader would type them:
    with --db (and --config when one was given) so that MONITOR_DB cannot steer them elsewhere."""
    import shlex
    from zoneinfo import ZoneInfo

    from .. import clock

    now = clock.now()
    head = ["monitor", "--db", _shown(db)]
    if app.config_path:
        head += ["--config", _shown(Path(app.config_path))]
    at = ["--as-of", now.astimezone(ZoneInfo(app.config.timezone)).isoformat(timespec="minutes")]
    month = clock.local(now, app.config.timezone, "%Y-%m")
    commands = [
        ["townships", "list"],
        [*at, "followups", "--limit", "10"],
        ["alerts", "list"],
        [*at, "facility", "list", "--overdue"],
        [*at, "households", "due"],
        [*at, "calls", "due"],
        ["report", "--month", month],
    ]
    return [" ".join(shlex.quote(a) for a in head + c) for c in commands]


def _shown(path: Path) -> str:
    """`path` relative to the working folder when it lies inside it, else absolute."""
    import os

    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def register(main: click.Group) -> None:
    main.add_command(map_)
    main.add_command(demo)
