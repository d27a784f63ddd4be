"""`monitor districts ...`: a city's districts above the townships, and the city view by risk."""

from __future__ import annotations

from pathlib import Path

import click

from .context import App, echo_json, pass_app, table


@click.group("districts")
def districts():
    """乡镇之上的区县（全市）：载入区县边界，按风险排列；Districts above townships (a city): load their outlines, rank them by risk."""


@districts.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_app
def import_(app: App, path: Path):
    """载入区县边界（6 位区划代码和名称），替换已存的；Load district outlines, replacing those stored.

    GeoJSON, Shapefile or GeoPackage with a 6-digit code and a name (Tianditu's "gb" codes are
    read). Townships belong to the district whose code begins theirs, whichever is loaded first."""
    from ..districts import import_districts

    n = import_districts(app.existing_store(), path)
    click.echo(f"{app.db_path}: {n} districts from {path}")


@districts.command("list")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出；Output JSON.")
@pass_app
def list_(app: App, as_json: bool):
    """全市视图：各区县按风险排列；The city view: every district by risk.

    The risk is the sum of its townships' scores, shown with its open
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
