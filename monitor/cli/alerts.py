"""`monitor alerts ...`: weather warnings from files and feeds."""

from __future__ import annotations

from pathlib import Path

import click

from .context import App, echo_json, pass_app, table


@click.group("alerts")
def alerts():
    """Weather warnings: import documents, list and show what is stored."""


@alerts.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--area-code", "area_codes", multiple=True, metavar="CODE",
              help="Division code(s) a CMA document's warnings cover, when the document does not say.")
@pass_app
def alerts_import(app: App, files: tuple[Path, ...], area_codes: tuple[str, ...]):
    """Load alert documents from disk: CAP 1.1/1.2 XML, Atom/RSS indexes, NWS GeoJSON, CMA JSON.

    The kind is recognised from the content. Duplicates (same sender, identifier and sent
    time) are skipped; Updates and Cancels supersede what they reference. All files are
    read first: if one is not an alert document, nothing is stored.
    """
    from ..alerts import ingest
    from ..alerts.files import read_alert_files

    parsed = read_alert_files(list(files), area_codes=list(area_codes) or None)
    counts = ingest.save(app.existing_store(), [a for doc in parsed for a in doc.alerts])
    for path, doc in zip(files, parsed):
        for w in doc.warnings + [w for a in doc.alerts for w in a.warnings]:
            click.echo(f"warning: {path.name}: {w}", err=True)
        if doc.links:
            click.echo(f"note: {path.name} is a {doc.kind} index of {len(doc.links)} messages; "
                       "`monitor alerts refresh` fetches them", err=True)
    click.echo(f"{counts.new} new, {counts.duplicate} already stored, {counts.updated} updated, "
               f"{counts.cancelled} cancelled")


def _state(alert: dict, now_iso: str) -> str:
    if alert["state"] != "active":
        return alert["state"]
    end = alert.get("ends") or alert.get("expires")
    return "expired" if end and end <= now_iso else "active"


def alert_json(alert: dict, now_iso: str, township_names: dict[str, str]) -> dict:
    from ..spatial import covered_townships

    codes = covered_townships(alert.get("division_codes"), list(township_names))
    return {k: alert.get(k) for k in (
        "id", "source", "format", "sender", "sender_name", "identifier", "sent", "msg_type", "status", "event",
        "hazard", "colour", "cma_type", "severity", "urgency", "certainty", "onset", "effective", "expires", "ends",
        "headline", "headline_en", "area_desc", "division_codes", "refs", "superseded_by", "warnings",
    )} | {"state": _state(alert, now_iso), "townships": sorted(township_names[c] for c in codes)}


@alerts.command("list")
@click.option("--active", is_flag=True, help="Only warnings in force now (or at --as-of).")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@pass_app
def alerts_list(app: App, active: bool, as_json: bool):
    """List stored alerts, newest first, with their state (active, updated, cancelled, expired)."""
    from .. import clock
    from ..evaluation import active_alerts

    store = app.existing_store()
    now = clock.now()
    rows = active_alerts(store, now) if active else store.alerts()
    names = {t["code"]: t["name"] for t in store.townships(with_geometry=False)}
    data = [alert_json(a, clock.iso(now), names) for a in rows]
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
@click.option("--json", "as_json", is_flag=True, help="Output JSON (with the raw document).")
@pass_app
def alerts_show(app: App, alert_id: int, as_json: bool):
    """Show one stored alert: its fields, area, lifecycle, validation warnings and raw document."""
    from .. import clock
    from ..errors import UsageError

    store = app.existing_store()
    alert = store.alert(alert_id)
    if alert is None:
        raise UsageError(f"no alert {alert_id}; `monitor alerts list` shows the ids")
    names = {t["code"]: t["name"] for t in store.townships(with_geometry=False)}
    data = alert_json(alert, clock.iso(clock.now()), names) | {"area": alert.get("area"), "raw": alert["raw"]}
    if as_json:
        echo_json(data)
        return
    tz = app.config.timezone
    for key in ("id", "state", "sender", "identifier", "msg_type", "status", "event", "hazard", "colour",
                "headline", "headline_en", "area_desc"):
        if data.get(key):
            click.echo(f"{key:>12}: {data[key]}")
    for key in ("sent", "onset", "expires", "ends"):
        if data.get(key):
            click.echo(f"{key:>12}: {clock.local(data[key], tz)} ({data[key]})")
    if data["townships"]:
        click.echo(f"{'townships':>12}: {'、'.join(data['townships'])}")
    area = data.get("area") or {}
    click.echo(f"{'area':>12}: {len(area.get('polygons', []))} polygons, {len(area.get('circles', []))} circles, "
               f"{len(area.get('geocodes', []))} geocodes")
    if alert.get("description"):
        click.echo(f"\n{alert['description']}")
    for w in data.get("warnings") or []:
        click.echo(f"warning: {w}")


def register(main: click.Group) -> None:
    main.add_command(alerts)
