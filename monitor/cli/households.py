"""`monitor households ...`: the household heating register (personal data, kept in the office).

`list` and `show` print contacts and phones only with `--include-personal`; otherwise a
household is its ref, village, heating, device state, last visit and flags.
"""

from __future__ import annotations

from pathlib import Path

import click

from .context import App, echo, echo_json, pass_app, table

PERSONAL_HELP = ("显示联系人和电话（个人信息，仅限办公室内使用）；Show contact names and phones (personal data: for the office "
                 "only).")


def _by(app: App, by: str | None) -> str:
    from ..inventory import who

    return who(app.config, by)


def _public(row: dict, include_personal: bool) -> dict:
    from ..store.households import HOUSEHOLD_COLUMNS

    keep = {"id", "township_name", *HOUSEHOLD_COLUMNS} - ({"contact", "phone", "notes"} if not include_personal else set())
    return {k: v for k, v in row.items() if k in keep}


@click.group("households")
def households():
    """住户取暖：煤改清洁能源住户的取暖设备、走访和困难群体；Household heating: converted households, their devices, visits and vulnerable people.

    住户的联系人、电话和困难标记是个人信息：只在办公室内查看，地图和导出只给出各村户数（除非 --include-personal）。
    Contacts, phones and vulnerability flags are personal data: shown here only with
    --include-personal, and the map and exports give counts per village only.
    """


@households.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", help="导入人；Who is importing (default: config [field] default_by, then the login name).")
@click.option("--dry-run", is_flag=True, help="只检查，不写入；Check every row and report; write nothing.")
@pass_app
def households_import(app: App, file: Path, by: str | None, dry_run: bool):
    """从 CSV（UTF-8 或 GB18030）或 Excel (.xlsx) 导入住户，有错行则全部不导入；Import households from a CSV (UTF-8 or GB18030) or .xlsx table, all or nothing.

    \b
    Columns: ref, village (name) or village_code (12 digits), heating (heat_pump 空气源热泵,
    electric_heater 电暖器, gas_heater 燃气壁挂炉, central 集中供暖, coal_stove 燃煤炉), device
    (working 正常, fault 故障, under_repair 维修中, replaced 已更换), last_visit (YYYY-MM-DD),
    elderly_alone, disabled, low_income, infants (是/否), contact, phone, notes.

    A row with a known ref updates that household (a device change or a visit goes into its
    history); importing the same file twice changes nothing.
    """
    from ..households import import_households

    store = app.existing_store()
    result = import_households(store, file, by=_by(app, by), dry_run=dry_run)
    names = {t["code"]: t["name"] for t in store.townships(with_geometry=False)}
    verb = "将导入 would import" if dry_run else "已导入 imported"
    echo(f"{verb} {result.count} households from {file} (新增 added {result.added}, 更新 updated {result.updated}, "
         f"未变 unchanged {result.unchanged}): "
         + ", ".join(f"{names.get(c, c)} {n}" for c, n in sorted(result.by_township.items())))
    if result.problem_count:
        echo(f"将拒绝 {result.problem_count} 行，因此不会导入任何数据；would refuse {result.problem_count} row(s), so "
             f"nothing would be imported:\n  " + "\n  ".join(result.problems))
        raise SystemExit(1)


@households.command("list")
@click.option("--township", help="乡镇名称或代码；Township name or code.")
@click.option("--village", help="村名或村代码；Village name or code.")
@click.option("--device", help="设备状态（working/fault/under_repair/replaced 或中文）；Device status.")
@click.option("--vulnerable", is_flag=True, help="只看有困难标记的住户；Only households with a vulnerability flag.")
@click.option("--limit", type=click.IntRange(1), default=200, show_default=True, help="最多显示几户；At most this many.")
@click.option("--include-personal", is_flag=True, help=PERSONAL_HELP)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出；Output JSON.")
@pass_app
def households_list(app: App, township, village, device, vulnerable, limit, include_personal, as_json):
    """列出住户（按编号，不含个人信息，除非 --include-personal）；List households by ref (no personal data unless --include-personal)."""
    from .. import households as H
    from ..errors import UsageError

    store = app.existing_store()
    code = store.township_lookup(township)["code"] if township else None
    village_code = None
    if village:
        try:
            village_code = H.villages().find(village if village.isdigit() else None,
                                             None if village.isdigit() else village).code
        except ValueError as e:
            raise UsageError(str(e)) from None
    try:
        devices = [H.device_named(device)] if device else None
    except ValueError as e:
        raise UsageError(str(e)) from None
    rows = store.select_households(township=code, village_code=village_code, devices=devices, vulnerable=vulnerable,
                                   limit=limit)
    if as_json:
        echo_json([_public(r, include_personal) for r in rows])
        return
    columns = ["编号 ref", "乡镇 township", "村 village", "取暖 heating", "设备 device", "走访 visited", "标记 flags"]
    if include_personal:
        columns += ["联系人 contact", "电话 phone"]
    out = []
    for r in rows:
        line = [r["ref"], r["township_name"] or "-", r["village"], H.heating_label(r["heating"]),
                H.device_label(r["device"]), r["last_visit"] or "-", H.flags_label(r)]
        if include_personal:
            line += [r["contact"] or "-", r["phone"] or "-"]
        out.append(line)
    table(f"住户 Households ({len(rows)})", columns, out)


@households.command("show")
@click.argument("ref")
@click.option("--include-personal", is_flag=True, help=PERSONAL_HELP)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出；Output JSON.")
@pass_app
def households_show(app: App, ref: str, include_personal: bool, as_json: bool):
    """查看一户：村、取暖方式、设备状态、走访和最近记录；Show one household: village, heating, device, visits and latest history."""
    from .. import households as H

    store = app.existing_store()
    h = H.find(store, ref)
    rows = [e.as_dict() for e in store.household_history(h["id"], limit=5)]
    if as_json:
        echo_json({**_public(h, include_personal), "history": rows})
        return
    fields = [("编号 ref", h["ref"]), ("村 village", f"{h['village']} ({h['village_code']})"),
              ("取暖 heating", H.heating_label(h["heating"])), ("设备 device", H.device_label(h["device"])),
              ("上次走访 last visit", h["last_visit"] or "-"), ("标记 flags", H.flags_label(h))]
    if include_personal:
        fields += [("联系人 contact", h["contact"] or "-"), ("电话 phone", h["phone"] or "-"), ("备注 notes", h["notes"] or "-")]
    table(f"住户 household {h['ref']}", ["", ""], [list(f) for f in fields])
    _history(h, rows, app.config.timezone)


@households.command("update")
@click.argument("ref")
@click.option("--device", help="新的设备状态：working 正常、fault 故障、under_repair 维修中、replaced 已更换；The new device status.")
@click.option("--visited", metavar="DATE", help="走访日期 YYYY-MM-DD；The day of a visit.")
@click.option("--note", help="备注：发现了什么、做了什么；What was found or done.")
@click.option("--by", help="记录人；Who records it.")
@pass_app
def households_update(app: App, ref: str, device, visited, note, by):
    """记录一户的设备状态变化或走访（写入不可改写的记录）；Record a device change or a visit to one household (appended to its history)."""
    from .. import households as H

    hid, h = H.update(app.existing_store(), ref, device=device, visited=visited, note=note, by=_by(app, by))
    echo(f"已记录 recorded #{hid}: {h['ref']} {H.device_label(h['device'])}, 上次走访 last visit {h['last_visit'] or '-'}")


@households.command("undo")
@click.argument("ref")
@click.option("--note", help="为什么撤销；Why.")
@click.option("--by", help="记录人；Who undoes it.")
@pass_app
def households_undo(app: App, ref: str, note, by):
    """撤销一户最近一次未撤销的变更（追加一条补偿记录）；Undo a household's latest change not yet undone (a compensating entry)."""
    from .. import households as H

    hid, h = H.undo(app.existing_store(), ref, by=_by(app, by), note=note)
    echo(f"已撤销 undone, entry #{hid}: {h['ref']} {H.device_label(h['device'])}, 上次走访 last visit "
         f"{h['last_visit'] or '-'}")


@households.command("history")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出；Output JSON.")
@pass_app
def households_history(app: App, ref: str, as_json: bool):
    """一户的全部记录，最新在前；Every recorded change of one household, newest first."""
    from .. import households as H

    store = app.existing_store()
    h = H.find(store, ref)
    rows = [e.as_dict() for e in store.household_history(h["id"])]
    if as_json:
        echo_json({"household": {"id": h["id"], "ref": h["ref"], "device": h["device"]}, "history": rows})
        return
    _history(h, rows, app.config.timezone)


@households.command("due")
@click.option("--explain", "explain_ref", metavar="REF", help="说明每条住户规则对这一户是否成立及原因；Say, for this "
                                                              "household, whether each household rule matched and why.")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出；Output JSON.")
@pass_app
def households_due(app: App, explain_ref: str | None, as_json: bool):
    """此刻需要上门的住户（按编号，附原因，不含姓名电话）；Households that need a visit now, by ref, with the reason (no names or phones).

    The rules are the `[[rules]]` with target = "households" in config.toml (cold wave, low
    temperature or blizzard over vulnerable households whose heating is not working or who
    have not been visited; carbon-monoxide conditions over gas and coal households; villages
    cut off by flood damage).
    """
    from .. import clock
    from .. import householdrules as HR
    from ..alertview import in_force

    rules = HR.load(app.config)  # a bad rule is refused before anything is read
    store = app.existing_store()
    now = clock.now()
    alerts = in_force(store, now)
    if explain_ref:
        checks = HR.explain(store, app.config, explain_ref, now, alerts)
        if as_json:
            echo_json(checks)
            return
        for c in checks:
            echo(f"{'✔' if c['matched'] else '✘'} {c['rule']}: " + (f"{c['priority']} {c['reason']}" if c["matched"]
                                                                      else "不成立 not matched"))
            for line in c["checks"]:
                echo(f"    {line}")
        return
    rows = HR.evaluate_households(store, app.config, rules, now, alerts)
    if as_json:
        echo_json([r.__dict__ for r in rows])
        return
    names = {t["code"]: t["name"] for t in store.townships(with_geometry=False)}
    table(f"需要上门的住户 Households to visit ({len(rows)})", ["优先级 priority", "编号 ref", "乡镇 township",
                                                          "规则 rule", "原因 reason"],
          [[r.priority, r.ref, names.get(r.township, r.township or "-"), r.rule, r.reason] for r in rows])


@households.command("export")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--include-personal", is_flag=True, help="每户一行，含联系人和电话（个人信息，不得外传）；默认只导出各村户数；"
                                                       "One row per household with contact and phone (personal data: "
                                                       "not to leave the office); by default counts per village only.")
@pass_app
def households_export(app: App, out: Path, include_personal: bool):
    """导出各村住户统计（CSV，可用 Excel 打开）：户数、取暖方式、故障、困难标记户数、需上门户数；Export counts per village (CSV): households, heating, faults, flags, households due."""
    from .. import clock
    from ..alertview import in_force
    from ..householdview import export_csv
    from ..outfile import check_target, write_text

    check_target(out, "csv")
    store = app.existing_store()
    now = clock.now()
    write_text(out, export_csv(store, app.config, now, in_force(store, now), include_personal=include_personal), "csv")
    echo(str(out))


def _history(h: dict, rows: list[dict], tz: str) -> None:
    from .. import clock
    from .. import households as H

    out = []
    for r in rows:
        change = (f"{H.device_label(r['old_device'])} -> " if r["old_device"] else "创建 created: ") \
            + H.device_label(r["new_device"])
        out.append([r["id"], clock.local(r["at"], tz), r["by"], change, r["visited"] or "", r["note"] or "",
                    f"撤销 undoes #{r['undoes']}" if r["undoes"] else ""])
    table(f"{h['ref']}: 记录 history ({len(rows)})", ["#", "时间 time", "人员 by", "变更 change", "走访 visited",
                                                     "备注 note", ""], out)


def register(main: click.Group) -> None:
    main.add_command(households)
