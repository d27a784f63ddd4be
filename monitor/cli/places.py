"""`monitor init` and `monitor townships ...`: the database and the district's townships."""

from __future__ import annotations

from pathlib import Path

import click

from .context import App, echo_json, pass_app, table


@click.command("init")
@click.option("--townships", "townships", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="要加载的乡镇边界（默认 config.toml 的 [district] townships）；Township boundaries to load "
                   "(default: [district] townships in config.toml).")
@click.option("--crs", type=click.Choice(["gcj02"]), help="文件坐标为 GCJ-02（手机地图）；The file's coordinates are "
                                                         "GCJ-02 (phone map apps).")
@click.option("--force", is_flag=True, help="即使有设施会落在所有乡镇之外，也加载 --townships；Load --townships even if "
                                            "some facilities would then lie outside every township.")
@pass_app
def init(app: App, townships: Path | None, crs: str | None, force: bool):
    """创建数据库（或升级其结构）并加载乡镇；Create the database (or bring its schema up to date) and load the townships.

    Safe to run again: the schema is migrated, and townships are loaded only when the
    database has none yet or --townships is given.
    """
    from ..inventory import import_townships

    store = app.store
    if townships is None and store.count("townships"):
        click.echo(f"{app.db_path}: 已是最新，乡镇 {store.count('townships')} 个，设施 {store.count('facilities')} 处；"
                   f"up to date, {store.count('townships')} townships, {store.count('facilities')} facilities")
        return
    path = townships or app.config.district.townships
    if path is None:
        from ..errors import ConfigError

        raise ConfigError(f"{app.config.path}: 没有设置 [district] townships，请用 --townships FILE 指定乡镇边界；"
                          "[district] townships is not set: pass --townships FILE")
    result = import_townships(store, path, crs=crs, force=force)
    for w in result.warnings:
        click.echo(f"提示 warning: {w}", err=True)
    click.echo(f"{app.db_path}: 已加载 {result.count} 个乡镇；{result.count} townships from {path}")


@click.group("townships")
def townships():
    """本区乡镇/街道：列出，或导入正式边界；The district's townships: list them, or import official boundaries."""


@townships.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--crs", help='文件未注明时的坐标系，或 "gcj02"（手机地图）；The coordinates\' CRS when the file does '
                            'not say, or "gcj02" (phone map apps).')
@click.option("--force", is_flag=True, help="即使有设施会落在所有乡镇之外也导入（这些设施暂无乡镇）；Import even if some "
                                            "facilities would then lie outside every township (they keep no "
                                            "township until fixed).")
@pass_app
def townships_import(app: App, file: Path, crs: str | None, force: bool):
    """用 FILE（GeoJSON、Shapefile、GeoPackage）替换全部乡镇边界；Replace the township set with FILE (GeoJSON, Shapefile .shp/.zip, or GeoPackage).

    The file needs a code column (12-digit division code) and a name column. It is
    reprojected to WGS-84 from its own CRS (or --crs); invalid polygons are repaired and
    reported, or the import is refused. The townships are replaced in one transaction and
    every facility's township is derived again from its point. If any facility would then lie
    outside every township (a file covering only part of the district), nothing is changed
    unless --force. Files over 200 MB are refused.
    """
    from ..inventory import import_townships

    result = import_townships(app.store, file, crs=crs, force=force)
    for w in result.warnings:
        click.echo(f"提示 warning: {w}", err=True)
    click.echo(f"已导入 {result.count} 个乡镇，设施所属乡镇已重新确定；imported {result.count} townships from {file}; "
               "facility townships re-derived")


@townships.command("list")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出；Output JSON.")
@pass_app
def townships_list(app: App, as_json: bool):
    """列出乡镇：代码、类型、边界是否近似；List the townships with their codes, kinds and whether the boundary is approximate."""
    rows = app.existing_store().township_summary()
    if as_json:
        echo_json(rows)
        return
    table("乡镇 Townships", ["代码 code", "名称 name", "类型 kind", "设施 facilities", "边界 boundary"],
          [[r["code"], f"{r['name']} {r['name_en'] or ''}".strip(), r["kind"], r["facilities"],
            "近似 approximate" if r["approximate"] else "正式 official"] for r in rows])


def register(main: click.Group) -> None:
    main.add_command(init)
    main.add_command(townships)
