"""`monitor status`: what the database holds and whether the alert data are current."""

from __future__ import annotations

import click

from .context import App, echo_json, pass_app, table

EXIT_STALE = 1


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出；Output JSON.")
@pass_app
def status(app: App, as_json: bool):
    """数据概况和各预警来源是否及时：最近成功、最近错误、时长；Counts, and the freshness of each alert source: last success, last error, age.

    A source is stale when its last successful refresh (a 304 counts) is older than its
    max_age_minutes in config.toml, or it has never refreshed. Exit status 1 when any source
    is stale (so a monitoring check can page someone), 0 otherwise; disabled sources are listed
    in config.toml only and not checked.
    """
    from .. import clock
    from ..freshness import source_status

    store = app.existing_store()
    now = clock.now()
    tz = app.config.timezone
    counts = {
        "townships": store.count("townships"),
        "facilities": store.count("facilities"),
        "facilities_by_kind": store.facility_counts(),
        "alerts_active": len(store.alerts_in_force(clock.iso(now))),
        "alerts_total": store.count("alerts"),
        "follow_ups_open": store.count("follow_ups", "closed IS NULL"),
    }
    sources = source_status(store, app.config, now)
    stale = [s["source"] for s in sources if s["stale"]]
    if as_json:
        echo_json({"as_of": clock.iso(now), "database": str(app.db_path), **counts, "sources": sources,
                   "stale": stale})
    else:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(counts["facilities_by_kind"].items()))
        click.echo(f"数据库 database: {app.db_path}")
        click.echo(f"乡镇 townships: {counts['townships']}   设施 facilities: {counts['facilities']}"
                   + (f" ({kinds})" if kinds else ""))
        click.echo(f"预警 alerts: 生效 {counts['alerts_active']} in force, 共 {counts['alerts_total']} stored   "
                   f"待跟进 open follow-ups: {counts['follow_ups_open']}")
        if sources:
            table("预警来源 Alert sources", ["来源 source", "类型 kind", "最近成功 last success", "时长 age",
                                          "上限 max", "状态 state"],
                  [[s["source"], s["kind"], clock.local(s["last_success"], tz) or "从未 never",
                    _age(s["age_minutes"]), _age(s["max_age_minutes"]), "STALE 过期" if s["stale"] else "ok"]
                   for s in sources])
            for s in sources:
                if s["last_error"]:
                    click.echo(f"最近错误 last error, {s['source']} ({clock.local(s['last_error_at'], tz)}): "
                               f"{s['last_error']}")
        else:
            click.echo("未配置预警来源（config.toml 的 [[sources]]）；no alert sources configured ([[sources]] in "
                       "config.toml)")
        if stale:
            click.echo(f"STALE 过期: {', '.join(stale)}（预警数据超过允许的时长，请检查 monitor alerts refresh 及其日志）；"
                       "alert data older than allowed; check `monitor alerts refresh` and its log", err=True)
    if stale:
        raise SystemExit(EXIT_STALE)


def _age(minutes: float | None) -> str:
    if minutes is None:
        return ""
    if minutes < 120:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} d"


def register(main: click.Group) -> None:
    main.add_command(status)
