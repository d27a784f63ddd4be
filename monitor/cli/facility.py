"""`monitor facility ...`: the places field staff look after.

`update` is the command people type on a laptop after an inspection: it must start fast, so
it imports only `fieldwork` (plain sqlite3 underneath) and prints with click, not rich.
"""

from __future__ import annotations

from pathlib import Path

import click

from .context import App, echo_json, pass_app, table
from .followups import after_field_change

REF = "ID|NAME"
REF_HELP = "设施编号（12 或 #12），或名称、名称中只属于它的一部分；a facility id (12 or #12), or its name or a part of it that only it has"


def _status_label(kind_code: str, status: str | None) -> str:
    from .. import kinds as K

    k = K.KINDS.get(kind_code)
    return k.label(status) if k and status else (status or "-")


def _by(app: App, by: str | None) -> str:
    from ..inventory import who

    return who(app.config, by)


@click.group("facility")
def facility():
    """设施：供暖设施、消防隐患、水毁设施的添加、导入、查询、更新、备注、撤销、导出；Heating equipment, fire hazards and flood damage: add, import, list, update, note, undo, export.

    设施可用编号（见 `monitor facility list`）、名称或名称中唯一的一部分指定；一部分对应多个时列出候选。
    A facility is named by its id (see `monitor facility list`) or by its name or a unique
    part of it; when a part matches several, the candidates are listed.
    """


# --- changing one facility --------------------------------------------------------------------

def _statuses_help() -> str:
    """Each kind's statuses and the moves it allows, for `facility update --help` (from kinds.py)."""
    from .. import kinds as K

    lines = ["\b", "状态 Statuses (code 中文 English -> allowed next):"]
    for k in K.KINDS.values():
        lines.append(f"  {k.code} {k.zh} {k.en}:")
        for s in k.statuses.values():
            nxt = ", ".join(k.transitions.get(s.code, ()))
            lines.append(f"    {s.code} {s.zh} {s.en} -> {nxt}")
        if k.severities:
            lines.append(f"  {k.code} severity 损毁程度: "
                         + ", ".join(f"{c} {zh}" for c, (zh, _en) in k.severities.items()))
    return "\n".join(lines)


@facility.command("update", epilog=_statuses_help())
@click.argument("ref", metavar=REF)
@click.option("--status", "-s",
              help="新状态，代码、中文或英文均可（如 已修复、repaired），不填则不变；The new status, as a code, "
                   "in Chinese or in English (e.g. repaired, 已修复); leave out to keep it.")
@click.option("--severity", help="修订损毁程度（水毁设施）：损毁 destroyed、严重受损 major、轻微受损 minor、受影响 affected，"
                                 "与原值一并记录；Revised damage degree (flood damage), recorded with the one it "
                                 "replaces.")
@click.option("--note", "-n", help="发现或处理的情况；验收修复、销号隐患等关闭操作必填；What was found or done. "
                                   "Required for closing moves such as accepting a repair or closing a fire hazard.")
@click.option("--by", help="变更人（默认 config [field] default_by，其次登录名）；Who made the change (default: config "
                           "[field] default_by, then the login name).")
@click.option("--inspected", metavar="DATE", help="检查日期 YYYY-MM-DD（记为上次检查）；Date of the inspection, "
                                                 "YYYY-MM-DD (sets last inspected).")
@click.option("--due", metavar="DATE", help="新期限 YYYY-MM-DD；New due date, YYYY-MM-DD.")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出这次变更；Output the change as JSON.")
@pass_app
def facility_update(app: App, ref: str, status: str | None, severity: str | None, note: str | None, by: str | None,
                    inspected: str | None, due: str | None, as_json: bool):
    """检查或维修后更改设施状态，并记入历史；Change a facility's status after an inspection or a repair, and record it in the history.

    状态变更须是该类设施允许的（出错时列出允许的下一状态）；状态不变或不填时，记录检查、期限、损毁程度或备注。
    The move must be allowed for the facility's kind (an error names the allowed next
    statuses); the same status again, or none, records an inspection, a due date, a revised
    damage degree (--severity) or a note. `monitor facility note` adds just a note.

    \b
    Examples:
      monitor facility update 116 --status repaired --note "桥面修复" --by 王磊
      monitor facility update 159 -s 正常 --note "更换循环泵" --inspected 2021-10-09
      monitor facility update 丽湖社区 --status 已整改 --note "清理杂物，打通安全出口"
      monitor facility update 116 --severity major --note "复查：桥墩冲刷加重"
    """
    from .. import clock, fieldwork

    change = fieldwork.update(app.existing_store(), ref, status, by=_by(app, by), note=note, inspected=inspected,
                              due=due, severity=severity, now=clock.now(), tz=app.config.timezone)
    _print_change(app, change, as_json)
    if change.old_status != change.new_status or inspected or due or severity:  # (a note alone changes no rule's input)
        after_field_change(app, change.facility["id"], quiet=as_json)  # its follow-ups, re-evaluated at once


@facility.command("note")
@click.argument("ref", metavar=REF)
@click.argument("text")
@click.option("--by", help="记录人（默认 config [field] default_by，其次登录名）；Who writes it (default: config "
                           "[field] default_by, then the login name).")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出这条记录；Output the entry as JSON.")
@pass_app
def facility_note(app: App, ref: str, text: str, by: str | None, as_json: bool):
    """给设施添加备注，不改状态或其他内容；Add a note to a facility's history without changing its status or anything else.

    \b
    Example:
      monitor facility note 159 "村委会反映夜间有异响，明早复查" --by 王磊
    """
    from .. import clock, fieldwork

    change = fieldwork.note(app.existing_store(), ref, text, by=_by(app, by), now=clock.now())
    _print_change(app, change, as_json)


@facility.command("undo")
@click.argument("ref", metavar=REF)
@click.option("--note", "-n", help="撤销原因（默认：撤销 undo #N）；Why the change is undone (default: 撤销 undo #N).")
@click.option("--by", help="撤销人（默认 config [field] default_by，其次登录名）；Who undoes it (default: config "
                           "[field] default_by, then the login name).")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出这次变更；Output the change as JSON.")
@pass_app
def facility_undo(app: App, ref: str, note: str | None, by: str | None, as_json: bool):
    """撤销设施最近一次变更（记录一条反向变更，不删除任何内容）；Undo the facility's latest change by recording a compensating change.

    The status (and any inspection or due date the change set) goes back to what it was
    before, and the new history row names the change it reverses. Nothing is deleted.
    Undoing again reverses the next earlier change, down to the facility's creation.
    """
    from .. import clock, fieldwork

    change = fieldwork.undo(app.existing_store(), ref, by=_by(app, by), note=note, now=clock.now())
    _print_change(app, change, as_json)
    after_field_change(app, change.facility["id"], quiet=as_json)  # its follow-ups, re-evaluated at once


def _print_change(app: App, change, as_json: bool) -> None:
    from .. import clock

    if as_json:
        echo_json(change.as_json())
        return
    f = change.facility
    what = f"#{change.history_id} undoes #{change.undoes}" if change.undoes else f"#{change.history_id}"
    severity = (f"; 损毁程度 severity {_severity_label(f['kind'], change.old_severity)} -> "
                f"{_severity_label(f['kind'], change.new_severity)}") if change.severity_changed else ""
    if change.old_status == change.new_status and change.undoes is None:  # a note, an inspection, a severity
        status = f"{_status_label(f['kind'], change.new_status)} 状态不变 unchanged"
    else:
        status = f"{_status_label(f['kind'], change.old_status)} -> {_status_label(f['kind'], change.new_status)}"
    click.echo(f"#{f['id']} {f['name']}: {status}{severity} ({what}, by {change.by}, "
               f"{clock.local(change.at, app.config.timezone)})")


def _severity_label(kind_code: str, severity: str | None) -> str:
    from .. import kinds as K

    k = K.KINDS.get(kind_code)
    names = k.severities.get(severity) if k and severity else None
    return f"{names[0]} {names[1]}" if names else (severity or "-")


@facility.command("add")
@click.option("--kind", "-k", required=True, help="类别：供暖设施、消防隐患 或 水毁设施；heating, fire or flood.")
@click.option("--subtype", "-t", required=True, help="子类，如 锅炉房、老旧电线、桥梁；e.g. boiler_room, old_wiring, "
                                                     "bridge.")
@click.option("--name", required=True, help="名称，如 汤河口镇中心小学 锅炉房；Name of the site.")
@click.option("--lon", required=True, help="经度（WGS-84，加 --crs gcj02 则为 GCJ-02）；Longitude (WGS-84, or GCJ-02 "
                                           "with --crs gcj02).")
@click.option("--lat", required=True, help="纬度；Latitude.")
@click.option("--crs", type=click.Choice(["wgs84", "gcj02"]), default="wgs84", show_default=True,
              help="手机地图（高德、腾讯）上读取的坐标用 gcj02，存为 WGS-84；gcj02 for coordinates read off a phone "
                   "map app (AMap, Tencent); stored as WGS-84.")
@click.option("--status", help="初始状态（默认该类的第一个，如 未检查、待整改、受损）；Initial status (default: the "
                               "kind's first, e.g. unchecked, open, damaged).")
@click.option("--severity", help="损毁程度：损毁、严重受损、轻微受损、受影响；Flood damage degree: destroyed, major, minor, "
                                 "affected.")
@click.option("--responsible", help="包保责任人；The person responsible.")
@click.option("--phone", help="责任人电话；Their phone number.")
@click.option("--households", help="服务户数；Households served.")
@click.option("--people", help="服务人数；People served.")
@click.option("--inspected", metavar="DATE", help="上次检查日期 YYYY-MM-DD；Last inspected, YYYY-MM-DD.")
@click.option("--due", metavar="DATE", help="期限 YYYY-MM-DD；Due date, YYYY-MM-DD.")
@click.option("--notes", help="备注；Free text.")
@click.option("--blocks-heating", is_flag=True, help="水毁阻断供暖通道；Flood damage that blocks access for heating "
                                                     "supply.")
@click.option("--ref", help="台账编号（如资产编号），唯一，导入时按它匹配；The office's own identifier for the site "
                            "(e.g. an asset number); unique. An import matches rows on it.")
@click.option("--by", help="添加人（默认 config [field] default_by，其次登录名）；Who adds it (default: config [field] "
                           "default_by, then the login name).")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出新设施；Output the new facility as JSON.")
@pass_app
def facility_add(app: App, kind, subtype, name, lon, lat, crs, status, severity, responsible, phone, households,
                 people, inspected, due, notes, blocks_heating, ref, by, as_json):
    """添加一处设施，乡镇由坐标确定；Add one facility; its township is worked out from the point.

    \b
    Example:
      monitor facility add --kind heating --subtype 锅炉房 --name "长哨营乡 敬老院锅炉房" \\
          --lon 116.74225 --lat 40.79389 --responsible 李军 --phone 13800001234 --households 40
    """
    from .. import clock, fieldwork

    store = app.existing_store()
    fields = {"kind": kind, "subtype": subtype, "name": name, "lon": lon, "lat": lat, "status": status,
              "severity": severity, "responsible": responsible, "phone": phone, "households": households,
              "people": people, "last_inspected": inspected, "due": due, "notes": notes,
              "blocks_heating": "1" if blocks_heating else "0", "ref": ref}
    row = fieldwork.add(store, fields, crs=None if crs == "wgs84" else crs, by=_by(app, by), now=clock.now())
    if as_json:
        echo_json(row)
        return
    same = [r for r in store.facilities_named(row["name"]) if r["id"] != row["id"]]
    click.echo(f"已添加 added #{row['id']} {row['name']} ({row['township_name']}), "
               f"{_status_label(row['kind'], row['status'])}")
    if same:
        click.echo(f"注意：另有 {len(same)} 处设施同名（#{same[0]['id']}…），请用编号指定；note: {len(same)} other "
                   f"facilities have this name (#{same[0]['id']}...); use the id for them", err=True)


# --- importing and exporting ------------------------------------------------------------------

@facility.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--crs", type=click.Choice(["wgs84", "gcj02"]), default="wgs84", show_default=True,
              help="坐标系：WGS-84，或手机地图的 GCJ-02（导入时转换）；Coordinates are WGS-84, or GCJ-02 as phone "
                   "map apps give them (converted on import).")
@click.option("--by", help="导入人（默认 config [field] default_by，其次登录名）；Who is importing (default: config "
                           "[field] default_by, then the login name).")
@click.option("--dry-run", is_flag=True, help="只检查每一行，报告将新增、更新和拒绝的行（有拒绝则退出码 1），不写入；"
                                              "Check every row and report what would be added, updated and "
                                              "refused (exit 1 if any row would be); write nothing.")
@click.option("--allow-duplicates", is_flag=True,
              help="没有台账编号的行与已有设施重复（同类同名、相距 10 米内）时仍然添加，否则拒绝；Add rows without a "
                   "ref even when they repeat a facility (same kind and name within 10 m); without it they are "
                   "refused.")
@pass_app
def facility_import(app: App, file: Path, crs: str, by: str | None, dry_run: bool, allow_duplicates: bool):
    """从 CSV、Excel (.xlsx) 表格或 GeoJSON 点导入设施，有错行则全部不导入；Import facilities from a CSV or Excel (.xlsx) table (lon, lat columns) or GeoJSON points.

    表头可用英文列名，或导出文件的“中文 english”列名（如 状态 status）；阻断供暖填 是/否。
    Headers: the English names, or `中文 english` as `monitor facility export` writes them.

    Columns: ref, name, kind (heating/fire/flood or 供暖设施/消防隐患/水毁设施), subtype, status,
    severity, lon, lat, responsible, phone, households, people, last_inspected, due, notes,
    blocks_heating. CSV may be UTF-8 (with or without BOM) or GBK/GB18030 as Excel and WPS
    save it; a workbook's first sheet is read, and title rows above the header are skipped. Every row is checked first; if any row is bad (unknown kind or status, a bad
    number, a point outside the district) each problem is listed with its row and nothing is
    imported. The township is derived from the point.

    `ref` is the office's own identifier (e.g. an asset number): a row with a known ref updates
    that facility (a status change must be an allowed move and goes into the history), a new
    ref adds one. A row without a ref that repeats a facility (same kind and name within 10 m)
    is refused unless --allow-duplicates. A file written by `monitor facility export` imports
    back as updates (its id and township columns are ignored).
    """
    from ..inventory import import_facilities, problem_lines

    store = app.existing_store()
    result = import_facilities(store, app.config, file, crs=None if crs == "wgs84" else crs, by=by, dry_run=dry_run,
                               allow_duplicates=allow_duplicates)
    names = {t["code"]: t["name"] for t in store.townships(with_geometry=False)}
    verb = "将导入 would import" if dry_run else "已导入 imported"
    click.echo(f"{verb} {result.count} facilities from {file} (新增 added {result.added}, 更新 updated "
               f"{result.updated}, 未变 unchanged {result.unchanged}): " +
               ", ".join(f"{names.get(c, c)} {n}" for c, n in sorted(result.by_township.items())))
    if result.problem_count:
        click.echo(f"将拒绝 {result.problem_count} 行（其中 {result.duplicates} 行与已有设施重复），因此不会导入任何数据，"
                   f"请改正后再导入；would refuse {result.problem_count} row(s) ({result.duplicates} repeating a "
                   f"facility), so nothing would be imported:\n  " + "\n  ".join(problem_lines(result)))
        raise SystemExit(1)


def _filter_options(f):
    options = [
        click.option("--township", help="乡镇名称、代码或名称中唯一的一部分（如 汤河口）；Township name, code, or a "
                                        "unique part of its name."),
        click.option("--kind", "-k", help="类别：供暖设施、消防隐患 或 水毁设施；heating, fire or flood."),
        click.option("--status", "-s", help="只看此状态（代码、中文或英文）；Only this status (code, Chinese or "
                                            "English)."),
        click.option("--open", "open_only", is_flag=True, help="只看仍需处理的设施；Only facilities that still need "
                                                               "work."),
        click.option("--overdue", is_flag=True, help="只看已逾期（期限早于今天，按本区时区）的未完成设施；Only open "
                                                     "facilities whose due date is before today (in the district's "
                                                     "time zone)."),
        click.option("--responsible", help="责任人（或其名字的一部分）；Responsible person (or a part of the name)."),
        click.option("--near", metavar="LON,LAT", help="只看此点附近的设施（距离见 --within）；Only facilities near "
                                                       "this point (see --within)."),
        click.option("--within", "within_km", type=float, default=5.0, show_default=True, metavar="KM",
                     help="--near 的距离，单位公里；Distance for --near, in km."),
        click.option("--crs", type=click.Choice(["wgs84", "gcj02"]), default="wgs84", show_default=True,
                     help="--near 的坐标系（手机地图上的点用 gcj02）；The CRS of --near (gcj02 for a point from a "
                          "phone map app)."),
        click.option("--sort", type=click.Choice(["id", "name", "township", "kind", "status", "due", "updated",
                                                  "households", "distance"]),
                     help="排序依据（默认编号，有 --near 时按距离）；Sort by this (default: id, or distance with "
                          "--near)."),
        click.option("--desc", is_flag=True, help="倒序；Sort descending."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _select(app: App, township, kind, status, open_only, overdue, responsible, near, within_km, crs, sort, desc):
    from .. import clock, fieldwork

    point = fieldwork.parse_point(near, None if crs == "wgs84" else crs) if near else None
    filters = fieldwork.Filters(township=township, kind=kind, status=status, open_only=open_only, overdue=overdue,
                                responsible=responsible, near=point, within_km=within_km,
                                sort=sort or ("distance" if point else "id"), descending=desc)
    today = clock.local_date(clock.now(), app.config.timezone)
    return fieldwork.select(app.existing_store(), filters, today=today), today


LIST_ROWS = 100  # rows of the terminal table by default: rich draws about 1,500 rows a second


@facility.command("list")
@_filter_options
@click.option("--limit", type=click.IntRange(min=0), metavar="N",
              help=f"最多显示 N 行（表格默认 {LIST_ROWS} 行，--json 默认全部），0 为全部；Show at most N rows (default: "
                   f"{LIST_ROWS} in the table, all with --json). 0 = all.")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出；Output JSON.")
@pass_app
def facility_list(app: App, limit: int | None, as_json: bool, **filters):
    """列出设施，可筛选、排序；List facilities, filtered and sorted.

    \b
    Examples:
      monitor facility list --township 汤河口 --kind heating --open
      monitor facility list --overdue --sort due
      monitor facility list --near 116.637,40.735 --within 3
      monitor facility list --responsible 王磊 --json
    """
    from .. import fieldwork
    from .. import kinds as K

    rows, today = _select(app, **filters)
    total = len(rows)
    if limit is None and not as_json:
        limit = LIST_ROWS  # a city's 10^5 sites take minutes to draw as a table, and nobody reads them there
    if limit:
        rows = rows[:limit]
    if as_json:
        echo_json(rows)
        return
    near = filters["near"] is not None
    columns = ["ID", "名称 name", "乡镇", "类型", "状态", "责任人", "户数", "期限 due"] + (["距离 km"] if near else [])
    out = []
    for r in rows:
        k = K.KINDS[r["kind"]]
        due = (r["due"] or "") + (" 逾期" if fieldwork.is_overdue(r, today) else "")
        out.append([r["id"], r["name"], r["township_name"], k.subtypes.get(r["subtype"], (r["subtype"],))[0],
                    k.statuses[r["status"]].zh if r["status"] in k.statuses else r["status"],
                    r["responsible"], r["households"], due]
                   + ([f"{r['distance_km']:.2f}"] if near else []))
    table(f"设施 Facilities ({len(rows)})", columns, out)
    if len(rows) < total:
        click.echo(f"显示 {len(rows)} / 共 {total} 项 showing {len(rows)} of {total}; --limit N (0 = all) or --json "
                   "for more, or narrow with --township/--kind/--status")


@facility.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "geojson"]), default="csv", show_default=True,
              help="CSV（带 BOM 的 UTF-8，Excel 可直接打开；表头“中文 english”）或 GeoJSON 点（QGIS 可打开）；CSV "
                   "(UTF-8 with BOM, opens in Excel) or GeoJSON points (opens in QGIS).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="写入的文件（整体替换，写完才生效）；The file to write (replaced whole; written only when "
                   "complete).")
@_filter_options
@pass_app
def facility_export(app: App, fmt: str, out: Path, **filters):
    """把设施导出为 CSV 或 GeoJSON，可再用 `monitor facility import` 导回；Write facilities to a CSV or GeoJSON file that `monitor facility import` reads back.

    Takes the same filters as `facility list`. Coordinates are WGS-84.

    \b
    Example:
      monitor facility export --format geojson --township 宝山 --out baoshan.geojson
    """
    from .. import fieldwork

    rows, _ = _select(app, **filters)
    fieldwork.write_export(rows, fmt, out)
    click.echo(f"已导出 {len(rows)} 处设施；wrote {len(rows)} facilities to {out}")


# --- looking at one facility ------------------------------------------------------------------

@facility.command("show")
@click.argument("ref", metavar=REF)
@click.option("--history", "entries", type=click.IntRange(0, 1000), default=5, show_default=True,
              help="显示最近几条历史记录；How many of the latest history entries to show.")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出；Output JSON.")
@pass_app
def facility_show(app: App, ref: str, entries: int, as_json: bool):
    """查看一处设施：位置、责任人、状态和最近记录；Show one facility: where it is, who is responsible, its status and its latest history."""
    from .. import clock, fieldwork
    from .. import kinds as K

    store = app.existing_store()
    found, rows = fieldwork.history(store, ref, limit=entries)
    f = store.select_facilities(ids=[found["id"]])[0]
    if as_json:
        echo_json({**f, "history": rows})
        return
    tz = app.config.timezone
    k = K.KINDS[f["kind"]]
    sub = k.subtypes.get(f["subtype"], (f["subtype"], ""))
    fields = [
        ("名称 name", f["name"]),
        ("编号 ref", f["ref"]),
        ("类别 kind", f"{k.zh} {k.en} / {sub[0]} {sub[1]}".strip()),
        ("状态 status", _status_label(f["kind"], f["status"])),
        ("损毁 severity", " ".join(k.severities.get(f["severity"], (f["severity"],))) if f["severity"] else None),
        ("乡镇 township", f"{f['township_name'] or '-'} ({f['township'] or 'outside'})"),
        ("位置 lon,lat", f"{f['lon']:.6f},{f['lat']:.6f} (WGS-84)"),
        ("责任人 responsible", " ".join(x for x in (f["responsible"], f["phone"]) if x) or None),
        ("户数/人数 served", f"{f['households']} households, {f['people']} people"),
        ("上次检查 inspected", f["last_inspected"]),
        ("期限 due", f["due"]),
        ("阻断供暖 blocks heating", "是 yes" if f["blocks_heating"] else None),
        ("备注 notes", f["notes"]),
        ("更新 updated", clock.local(f["updated"], tz)),
    ]
    table(f"#{f['id']} {f['name']}", ["", ""], [[label, value] for label, value in fields if value])
    if entries:
        _history_table(f, rows, tz, title=f"最近记录 Latest history ({len(rows)})")


@facility.command("history")
@click.argument("ref", metavar=REF)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出；Output JSON.")
@pass_app
def facility_history(app: App, ref: str, as_json: bool):
    """一处设施的全部变更记录，最新在前（本区时间）；Every recorded change of one facility, newest first (times in the district's zone).

    The history is append-only: an undo appears as a new entry that names the entry it reverses.
    """
    from .. import fieldwork

    f, rows = fieldwork.history(app.existing_store(), ref)
    if as_json:
        echo_json({"facility": {k: f[k] for k in ("id", "name", "kind", "status")}, "history": rows})
        return
    _history_table(f, rows, app.config.timezone, title=f"#{f['id']} {f['name']}: 记录 history ({len(rows)})")


def _history_table(f: dict, rows: list[dict], tz: str, title: str) -> None:
    from .. import clock

    out = []
    for r in rows:
        change = (f"{_status_label(f['kind'], r['old_status'])} -> " if r["old_status"] else "创建 created: ") \
            + _status_label(f["kind"], r["new_status"])
        if r.get("old_severity") is not None or r.get("new_severity") is not None:
            change += (f"; 损毁程度 severity {_severity_label(f['kind'], r['old_severity'])} -> "
                       f"{_severity_label(f['kind'], r['new_severity'])}")
        marks = []
        if r["undoes"]:
            marks.append(f"撤销 undoes #{r['undoes']}")
        if r["undone_by"]:
            marks.append(f"已撤销 undone by #{r['undone_by']}")
        dates = " ".join(d for d in (f"检查 {r['inspected']}" if r["inspected"] else "",
                                     f"期限 {r['due']}" if r["due"] else "") if d)
        if r["undoes"] and dates:
            dates = "恢复为 restored: " + dates  # an undo records the dates it put back
        out.append([r["id"], clock.local(r["at"], tz), r["by"], change, r["note"], dates,
                    " ".join(marks)])
    table(title, ["#", "时间 time", "人员 by", "变更 change", "备注 note", "日期 dates", ""], out)


def register(main: click.Group) -> None:
    main.add_command(facility)
