"""`monitor facility ...`: the places field staff look after."""

from __future__ import annotations

from pathlib import Path

import click

from .context import App, echo_json, pass_app, table


@click.group("facility")
def facility():
    """Heating equipment, fire hazards and flood damage: import, list and look after them."""


@facility.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--crs", type=click.Choice(["wgs84", "gcj02"]), default="wgs84", show_default=True,
              help="Coordinates are WGS-84, or GCJ-02 as phone map apps give them (converted on import).")
@click.option("--by", help="Who is importing (default: config [field] default_by, then the login name).")
@click.option("--dry-run", is_flag=True, help="Check every row and report what would be imported; write nothing.")
@pass_app
def facility_import(app: App, file: Path, crs: str, by: str | None, dry_run: bool):
    """Import facilities from a CSV (lon, lat columns) or GeoJSON file of points.

    Columns: name, kind (heating/fire/flood or 供暖设施/消防隐患/水毁设施), subtype, status,
    severity, lon, lat, responsible, phone, households, people, last_inspected, due, notes,
    blocks_heating. Every row is checked first; if any row is bad (unknown kind or status,
    a bad number, a point outside the district) each problem is listed with its row and
    nothing is imported. The township is derived from the point.
    """
    from ..inventory import import_facilities

    store = app.existing_store()
    result = import_facilities(store, app.config, file, crs=None if crs == "wgs84" else crs, by=by, dry_run=dry_run)
    names = {t["code"]: t["name"] for t in store.townships(with_geometry=False)}
    verb = "would import" if dry_run else "imported"
    click.echo(f"{verb} {result.count} facilities from {file}: " +
               ", ".join(f"{names.get(c, c)} {n}" for c, n in sorted(result.by_township.items())))


@facility.command("list")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@pass_app
def facility_list(app: App, as_json: bool):
    """List facilities with their township, kind and status."""
    from .. import kinds as K

    rows = app.existing_store().facilities()
    if as_json:
        echo_json(rows)
        return
    table(f"设施 Facilities ({len(rows)})", ["ID", "名称 name", "乡镇 township", "类别 kind", "状态 status", "期限 due"],
          [[r["id"], r["name"], r["township_name"], K.KINDS[r["kind"]].zh, K.KINDS[r["kind"]].statuses[r["status"]].zh,
            r["due"]] for r in rows])


def register(main: click.Group) -> None:
    main.add_command(facility)
