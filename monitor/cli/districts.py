"""`monitor districts ...`: a city's districts above the townships, and the city view by risk."""

from __future__ import annotations

from pathlib import Path

import click

from .context import App, echo_json, pass_app, table


@click.group("districts")
def districts():
    """Districts above townships (a city): load their outlines, rank them by risk."""


@districts.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_app
def import_(app: App, path: Path):
    """Load district outlines (GeoJSON, Shapefile, GeoPackage with a 6-digit code and a name;
    Tianditu's "gb" codes are read), replacing those stored. Townships belong to the district
    whose code begins theirs, whichever is loaded first."""
    from ..districts import import_districts

    n = import_districts(app.existing_store(), path)
    click.echo(f"{app.db_path}: {n} districts from {path}")


@districts.command("list")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@pass_app
def list_(app: App, as_json: bool):
    """The city view: every district by risk (the sum of its townships' scores), with its open
    follow-ups by priority and how many of its townships are loaded."""
    from ..districts import city_view

    rows = city_view(app.existing_store(), app.config)
    if as_json:
        echo_json([r.as_dict() for r in rows])
        return
    table("区县 Districts by risk", ["代码 code", "名称 name", "乡镇 townships", "风险 score", "P1", "P2", "P3"],
          [[r.code[:6], r.name, r.townships, f"{r.score:g}", r.p1, r.p2, r.p3] for r in rows])


def register(main: click.Group) -> None:
    main.add_command(districts)
