"""`monitor alerts ...`: weather warnings from files and feeds."""

from __future__ import annotations

from pathlib import Path

import click

from .context import App, echo, echo_json, pass_app, table


@click.group("alerts")
def alerts():
    """气象预警：导入、列出、查看、撤回；Weather warnings: import documents, list and show what is stored, withdraw a bad one."""


@alerts.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--area-code", "area_codes", multiple=True, metavar="CODE",
              help="文件未注明时，CMA 预警覆盖的行政区划代码；Division code(s) a CMA document's warnings cover, when "
                   "the document does not say.")
@click.option("--township", metavar="NAME|CODE",
              help="Open-Meteo 预报文件对应的乡镇（按 [forecast] 阈值判断该乡镇的灾害）；For an Open-Meteo forecast "
                   "file: the township whose centre it was fetched for ([forecast] thresholds turn it into hazards "
                   "there).")
@pass_app
def alerts_import(app: App, files: tuple[Path, ...], area_codes: tuple[str, ...], township: str | None):
    """从文件导入预警（CAP XML、Atom/RSS、NWS GeoJSON、CMA JSON、Open-Meteo 预报）；Load alert documents from disk.

    CAP 1.1/1.2 XML, Atom/RSS indexes, NWS GeoJSON, CMA JSON, and Open-Meteo forecasts (with
    --township). 有一个文件不是预警文件时，什么都不保存。

    The kind is recognised from the content. Duplicates (same sender, identifier and sent
    time) are skipped; Updates and Cancels supersede what they reference. All files are
    read first: if one is not an alert document, nothing is stored.
    """
    from ..alerts import ingest
    from ..alerts.files import read_alert_files

    store = app.existing_store()
    point = None
    if township:
        t = store.township_lookup(township)
        row = next(r for r in store.townships(with_geometry=False) if r["code"] == t["code"])
        point = (row["lon"], row["lat"], row["code"])
    parsed = read_alert_files(list(files), area_codes=list(area_codes) or None, point=point,
                              thresholds=app.config.forecast.thresholds() or None)
    counts = ingest.save(store, [a for doc in parsed for a in doc.alerts])
    for path, doc in zip(files, parsed):
        for w in doc.warnings + [w for a in doc.alerts for w in a.warnings]:
            echo(f"提示 warning: {path.name}: {w}", err=True)
        if doc.links:
            echo(f"注意：{path.name} 是含 {len(doc.links)} 条预警的 {doc.kind} 索引，请用 monitor alerts refresh 获取；"
                 f"note: {path.name} is a {doc.kind} index of {len(doc.links)} messages; "
                 "`monitor alerts refresh` fetches them", err=True)
    click.echo(f"新增 {counts.new}，已有 {counts.duplicate}，更新 {counts.updated}，取消 {counts.cancelled}；"
               f"{counts.new} new, {counts.duplicate} already stored, {counts.updated} updated, "
               f"{counts.cancelled} cancelled")


@alerts.command("list")
@click.option("--active", is_flag=True, help="只看当前（或 --as-of 时）生效的预警；Only warnings in force now (or at "
                                             "--as-of).")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出；Output JSON.")
@pass_app
def alerts_list(app: App, active: bool, as_json: bool):
    """列出已存预警，最新在前，含状态（生效、被更新、已取消、已过期）；List stored alerts, newest first, with their state (active, superseded, cancelled, expired).

    --json gives an array of objects: id, source, sender, identifier, sent, msg_type, status,
    event, hazard, colour, onset, expires, state, townships (names; township_codes too), and more.
    """
    from .. import clock
    from ..alertview import alert_json
    store = app.existing_store()
    now = clock.now()
    rows = store.alerts_in_force(clock.iso(now)) if active else store.alerts()
    data = alert_json(rows, clock.iso(now), store.townships())
    if as_json:
        echo_json(data)
        return
    tz = app.config.timezone
    table(f"预警 Alerts ({len(data)})", ["ID", "发布 sent", "发布者 sender", "事件 event", "颜色 colour", "状态 state",
                                          "失效 expires", "乡镇 townships"],
          [[a["id"], clock.local(a["sent"], tz), a["sender_name"] or a["sender"], a["event"] or a["hazard"],
            a["colour"], a["state"], clock.local(a["ends"] or a["expires"], tz),
            f"{len(a['townships'])}" if a["townships"] else ""] for a in data])


@alerts.command("show")
@click.argument("alert_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（含原文）；Output JSON (with the raw document).")
@pass_app
def alerts_show(app: App, alert_id: int, as_json: bool):
    """查看一条预警：字段、范围、生命周期、校验提示和原文；Show one stored alert: its fields, area, lifecycle, validation warnings and raw document."""
    from .. import clock
    from ..alertview import alert_json
    from ..errors import UsageError

    store = app.existing_store()
    alert = store.alert(alert_id)
    if alert is None:
        raise UsageError(f"没有编号为 {alert_id} 的预警，编号见 `monitor alerts list`；no alert {alert_id}; "
                         "`monitor alerts list` shows the ids")
    (data,) = alert_json([alert], clock.iso(clock.now()), store.townships())
    data |= {"area": alert.get("area"), "raw": alert["raw"]}
    if as_json:
        echo_json(data)
        return
    tz = app.config.timezone
    for key in ("id", "state", "sender", "identifier", "msg_type", "status", "event", "hazard", "colour",
                "headline", "headline_en", "area_desc"):
        if data.get(key):
            echo(f"{key:>12}: {data[key]}")
    for key in ("sent", "onset", "expires", "ends"):
        if data.get(key):
            echo(f"{key:>12}: {clock.local(data[key], tz)} ({data[key]})")
    if data["townships"]:
        echo(f"{'townships':>12}: {'、'.join(data['townships'])}")
    area = data.get("area") or {}
    echo(f"{'area':>12}: {len(area.get('polygons', []))} polygons, {len(area.get('circles', []))} circles, "
               f"{len(area.get('geocodes', []))} geocodes")
    if alert.get("description"):
        echo(f"\n{alert['description']}")
    if data.get("withdrawn"):
        echo(f"{'withdrawn':>12}: {clock.local(data['withdrawn'], tz)} ({data['withdrawn']})"
                   + (f" by {data['withdrawn_by']}: {data['withdrawn_note']}" if data.get("withdrawn_by") else
                      " (retired by a newer forecast)"))
    for w in data.get("warnings") or []:
        echo(f"提示 warning: {w}")


@alerts.command("withdraw")
@click.argument("alert_id", type=int)
@click.option("--note", "-n", required=True, help="撤回原因（必填），如 \"坐标错误\"；Why it is withdrawn (required).")
@click.option("--by", help="撤回人（默认 config [field] default_by，其次登录名）；Who withdraws it (default: config "
                           "[field] default_by, then the login name).")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出；Output the withdrawal as JSON.")
@pass_app
def alerts_withdraw(app: App, alert_id: int, note: str, by: str | None, as_json: bool):
    """撤回错误的预警：不再参与任何计算，但仍保存并列出；Retire a bad or mistaken alert.

    It stops counting everywhere (follow-ups, map, export, status), but stays stored and listed,
    with when, who and why.

    Nothing is deleted. Withdrawing an alert twice is refused (the first withdrawal stands).

    \b
    Example:
      monitor alerts withdraw 17 --note "坐标含 NaN，来源已更正" --by 值班员
    """
    from dataclasses import asdict

    from .. import clock
    from ..alerts import ingest
    from ..inventory import who

    done = ingest.withdraw(app.existing_store(), alert_id, by=who(app.config, by), note=note,
                           at=clock.iso(clock.now()))
    if as_json:
        echo_json(asdict(done))
        return
    echo(f"已撤回预警 {done.alert_id}；alert {done.alert_id} withdrawn at "
               f"{clock.local(done.at, app.config.timezone)} by {done.by}: {done.note}")


@alerts.command("refresh")
@click.option("--source", "only", multiple=True, metavar="NAME",
              help="只刷新这个来源（可重复；可指定已停用的来源）；Refresh only this source (repeatable; a disabled "
                   "source may be named).")
@click.option("--quiet", is_flag=True, help="只记录失败（cron 会把任何输出发邮件）；Log only failures (for cron, which "
                                            "mails any output).")
@click.option("--json", "as_json", is_flag=True, help="在标准输出打印 JSON 摘要；Print a JSON summary on stdout.")
@pass_app
def alerts_refresh(app: App, only: tuple[str, ...], quiet: bool, as_json: bool):
    """立即获取所有预警来源，保存变化，重新评估并重写地图；Fetch every configured source now, store what changed, re-evaluate, rewrite the map.

    The cron / systemd-timer entry point. Sources ([[sources]] in config.toml) are fetched
    concurrently with timeouts, retries and size limits; each source's alerts and its log row
    are stored in one transaction, so a failed or killed run never leaves half a source. A
    source that fails changes nothing stored; the others still refresh. Then the follow-ups
    are re-evaluated and the map ([map] out) is rewritten atomically.

    Only one refresh runs at a time: a second one finds the lock (next to the database) held,
    logs "another refresh holds the lock" and exits 0.

    Exit status: 0 all sources refreshed or unchanged (304); 75 a source was unreachable
    (refused, timed out, truncated, HTTP 5xx/429 after retries: try again later); 1 a source
    gave bad data (malformed, oversize, wrong content type, refused XML, HTTP 4xx, API key not set)
    or the follow-ups or the map could not be updated; 1 wins over 75.
    """
    import logging

    from .. import refresh
    from .context import echo_json

    logger = logging.getLogger("monitor")
    if quiet or app.quiet:
        logger.setLevel(logging.WARNING)
    elif logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    store = app.existing_store()
    # PostgreSQL holds the refresh lock in the database (an advisory lock), SQLite in a file beside it
    held_lock = store.refresh_lock() if app.is_url else refresh.holding_lock(refresh.lock_path(app.config, app.db_path))
    with held_lock as held:
        if not held:
            logging.getLogger("monitor.refresh").warning(
                "%s (%s); nothing done", refresh.LOCK_HELD,
                "advisory lock" if app.is_url else refresh.lock_path(app.config, app.db_path))
            if as_json:
                echo_json({"lock_held": True, "exit_code": 0})
            return
        summary = refresh.run(store, app.config, only=only)
    if as_json:
        echo_json(summary.as_dict())
    if summary.exit_code:
        raise SystemExit(summary.exit_code)


def register(main: click.Group) -> None:
    main.add_command(alerts)
