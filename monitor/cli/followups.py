"""`monitor followups`: evaluate the rules and list what needs someone to go and look."""

from __future__ import annotations

import click

from .context import App, pass_app, table

TERMINAL_ROWS = 500
CSV_COLUMNS = ("facility_id", "name", "township", "township_code", "kind", "subtype", "status", "households",
               "responsible", "phone", "rule", "priority", "reason", "reason_en", "since", "closed", "new", "causes")
CSV_ZH = {"facility_id": "设施编号", "name": "名称", "township": "乡镇", "township_code": "乡镇代码", "kind": "类别",
          "subtype": "子类", "status": "状态", "households": "户数", "responsible": "责任人", "phone": "电话",
          "rule": "规则", "priority": "优先级", "reason": "原因", "reason_en": "英文原因", "since": "起始时间",
          "closed": "关闭时间", "new": "新增", "causes": "起因"}


def _priorities(ctx, param, values) -> list[str]:
    out = []
    for v in values:
        for p in v.replace("，", ",").split(","):
            p = p.strip().upper()
            if p not in ("P1", "P2", "P3"):
                raise click.BadParameter(f"「{p}」不是优先级，请用 P1、P2 或 P3（如 --priority P1,P2）；'{p}' is not a "
                                         "priority; use P1, P2 or P3 (e.g. --priority P1,P2)")
            out.append(p)
    return out


@click.group("followups", invoke_without_command=True)
@click.option("--township", "-t", metavar="NAME|CODE", help="只看此乡镇（名称、名称的一部分或代码）；Only this township "
                                                            "(name, part of it, or code).")
@click.option("--district", "-d", metavar="NAME|CODE",
              help="只看此区县的乡镇（全市数据库：monitor districts list 列出区县）；Only this district's townships "
                   "(a city's database: `monitor districts list` names them).")
@click.option("--kind", "-k", metavar="KIND", help="只看此类：供暖设施、消防隐患、水毁设施；Only this kind: heating, fire, "
                                                   "flood.")
@click.option("--priority", "-p", "priorities", multiple=True, callback=_priorities, metavar="P1[,P2]",
              help="只看这些优先级（可重复，或用逗号分隔）；Only these priorities (repeat, or separate by commas).")
@click.option("--new", "new", is_flag=True,
              help="只看你上次标记已读（--mark-seen）以来新增的待跟进，从未标记则全部；查看本身不改变新增的判断；"
                   "Only follow-ups opened since you last marked the list seen (--mark-seen); all open ones if "
                   "you never did. Listing does not change what counts as new.")
@click.option("--closed", "closed", is_flag=True,
              help="只看你上次标记已读以来关闭的待跟进，与 --new 同用则两者都看；Only follow-ups closed since you "
                   "last marked the list seen; with --new, both.")
@click.option("--mark-seen", "mark_seen", is_flag=True,
              help="列出后把截至本次评估的内容标记为你已读，下次 --new、--closed 只显示此后的变化；After listing, mark "
                   "everything up to this evaluation as seen by you: the next --new and --closed show only what "
                   "changes after it.")
@click.option("--viewer", metavar="NAME",
              help="--new、--closed、--mark-seen 使用谁的已读标记（默认 config [field] default_by，其次登录名）；"
                   "Whose seen mark --new, --closed and --mark-seen use (default: config [field] default_by, "
                   "then your login name).")
@click.option("--explain", "explain_id", type=int, metavar="ID",
              help="不列清单，而是解释设施 ID 命中和未命中哪些规则、为什么；Instead of the list: which rules match "
                   "facility ID and which do not, and why.")
@click.option("--limit", type=click.IntRange(min=0), metavar="N",
              help="最多显示 N 行（默认全部，终端表格 500 行），0 为全部；Show at most N rows (default: all; 500 in "
                   "the terminal table). 0 = all.")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（对象列表）；Output JSON (a list of objects).")
@click.option("--csv", "as_csv", is_flag=True, help="以 CSV 输出（带 BOM 的 UTF-8，Excel 可读中文；表头“中文 english”，"
                                                    "本区时间，是/否）；Output CSV (UTF-8 with BOM, so Excel reads the "
                                                    "Chinese).")
@click.pass_context
def followups(ctx: click.Context, township, district, kind, priorities, new, closed, mark_seen, viewer, explain_id,
              limit, as_json, as_csv):
    """按规则评估并列出待跟进事项：哪里要去查看、多急、为什么；Evaluate the rules now (or at --as-of) and list the open follow-ups.

    按优先级排序（P1 今天处理，P2 本周，P3 例行），其次按服务户数从多到少。

    Sorted by priority (P1 act today, P2 this week, P3 routine), then by households served,
    most first. Each follow-up says which rule fired, why (the warnings or dates that caused
    it) and since when it has been open; one that persists keeps its "since", one that goes
    away is closed, not deleted.

    "New" and "closed" are counted from your seen mark: the evaluation you last listed with
    --mark-seen (each viewer has their own). Listing, `alerts refresh` and field updates never
    move it, so nothing new is missed however often the list is viewed or the cron job runs.

    \b
    Examples:
      monitor followups
      monitor followups --township 汤河口 --priority P1,P2
      monitor followups --district 怀柔区            # a city's database: one district
      monitor followups --new --closed          # what changed since you last marked the list seen
      monitor followups --new --mark-seen       # read what is new, then mark it seen
      monitor followups --kind heating --csv > heating.csv
      monitor followups --explain 42            # why is (or isn't) site 42 on the list?
    """
    if ctx.invoked_subcommand:  # `followups assign` / `followups ack`
        return
    app = ctx.find_object(App)
    from .. import clock, evaluation
    from .. import kinds as K
    from ..errors import UsageError

    if as_json and as_csv:
        raise UsageError("--json 和 --csv 只能选一个；give --json or --csv, not both")
    store = app.existing_store()
    if explain_id is not None:
        if township or district or kind or priorities or new or closed or mark_seen or as_csv or limit is not None:
            raise UsageError("--explain 只能与 --json（和 --as-of）同用；--explain takes only --json (and --as-of)")
        _explain(app, evaluation.explain(store, app.config, explain_id, clock.now()), as_json)
        return
    kind_code = None
    if kind:
        try:
            kind_code = K.kind(kind).code
        except KeyError:
            raise UsageError(f"没有类别「{kind}」，请用 供暖设施、消防隐患 或 水毁设施；unknown kind '{kind}'; use heating, "
                             "fire or flood") from None
    town = store.township_lookup(township) if township else None
    if district:
        from ..districts import lookup

        district = lookup(store, district)["code"]

    who = _viewer(app, viewer)
    outcome = evaluation.run(store, app.config, clock.now())
    seen = store.meta(SEEN + who)
    after = seen or ""  # never marked: everything counts as new (or closed)
    filters = {"township": town["code"] if town else None, "district": district or None, "kind": kind_code,
               "priorities": priorities}
    if limit is None and not (as_json or as_csv):
        limit = TERMINAL_ROWS  # a city's 10^5 follow-ups do not belong in a terminal table
    selections = [{"opened_after": after}] * new + [{"closed_after": after}] * closed or [{}]
    if as_json:
        _write_json(store.follow_up_json(new_after=after, limit=limit or None, **filters, **sel)
                    for sel in selections)
    else:
        rows = [r for sel in selections for r in store.follow_up_list(decode_causes=not as_csv,
                                                                      limit=limit or None, **filters, **sel)]
        if as_csv:
            _write_csv(rows, after, app.config.timezone)
        else:
            _print(app, rows, outcome, town, new, closed, limit, who=who, seen=seen)
    if mark_seen:
        with store.write():
            store.set_meta(SEEN + who, outcome.at)
            store.leave_uncounted()  # a viewer's mark is no input of the evaluation
        if not (as_json or as_csv):
            click.echo(f"已标记为已读 marked seen for {who}: up to {clock.local(outcome.at, app.config.timezone)}")


SEEN = "followups_seen:"  # meta key prefix: + viewer -> the evaluation time they last marked seen


def _viewer(app: App, viewer: str | None) -> str:
    from ..errors import UsageError
    from ..inventory import who

    name = (viewer or "").strip() or who(app.config, None)
    if not name or len(name) > 100 or any(ord(c) < 32 for c in name):
        raise UsageError(f"--viewer「{name[:40]}」不是人名，请给出要用其已读标记的人名；--viewer '{name[:40]}' is not a "
                         "name: give the name whose seen mark to use")
    return name


def _write_json(parts) -> None:
    """A JSON list written chunk by chunk: at a million follow-ups it is hundreds of megabytes."""
    import sys

    out, sep = sys.stdout, "[\n"
    for chunks in parts:
        for chunk in chunks:
            out.write(sep + ",\n".join(chunk))
            sep = ",\n"
    out.write("[]\n" if sep == "[\n" else "\n]\n")


def _record(r: dict, after: str) -> dict:
    return {"facility_id": r["facility_id"], "name": r["name"], "township": r["township_name"],
            "township_code": r["township_code"], "kind": r["kind"], "subtype": r["subtype"], "status": r["status"],
            "households": r["households"], "responsible": r["responsible"], "phone": r["phone"], "rule": r["rule"],
            "priority": r["priority"], "reason": r["reason"], "reason_en": r["reason_en"], "since": r["since"],
            "closed": r["closed"], "new": r["since"] > after and r["closed"] is None}


def _write_csv(rows: list[dict], after: str, tz: str) -> None:
    """The follow-ups for Excel: headers `中文 english`, times in the district's zone `tz`, 新增 new as
    是/否, the causes as words; text Excel would run as a formula (a name typed "=...") gets an
    apostrophe (tables.cell)."""
    import csv
    import io
    import json
    import sys

    from .. import clock
    from ..tables import cell, heading, yes_no

    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([heading(CSV_ZH[c], c) for c in CSV_COLUMNS])
    for r in rows:
        rec = _record(r, after)
        rec.update(since=clock.local(rec["since"], tz), closed=clock.local(rec["closed"], tz), new=yes_no(rec["new"]),
                   causes=causes_text(json.loads(r["causes"] or "[]")))
        w.writerow([cell(rec[c]) if isinstance(rec[c], str) else "" if rec[c] is None else rec[c]
                    for c in CSV_COLUMNS])
    sys.stdout.write(buf.getvalue())


def causes_text(causes: list) -> str:
    """What caused a follow-up, in words (the stored causes are compact JSON: an alert id, a date).

    >>> causes_text([{"alert": 3, "hazard": "gale", "colour": "blue", "source": "warning"},
    ...              {"date": "2021-10-15", "what": "due date passed"}])
    '预警 alert #3 大风 gale 蓝色 blue；2021-10-15 due date passed'
    """
    from ..alerts.hazards import HAZARDS
    from ..ruleset import COLOUR_ZH

    out = []
    for c in causes:
        if not isinstance(c, dict):
            out.append(str(c))
        elif "alert" in c:
            h = HAZARDS.get(c.get("hazard"))
            words = ["预报 forecast" if c.get("source") == "forecast" else "预警 alert", f"#{c['alert']}",
                     f"{h.zh} {h.en}" if h else str(c.get("hazard") or ""),
                     f"{COLOUR_ZH.get(c.get('colour'), '')} {c.get('colour') or ''}".strip()]
            out.append(" ".join(w for w in words if w))
        else:
            out.append(" ".join(str(c[k]) for k in ("date", "what") if c.get(k)))
    return "；".join(out)


def _print(app: App, rows: list[dict], outcome, town, new: bool, closed: bool, limit: int | None, *,
           who: str, seen: str | None) -> None:
    from .. import clock
    from .context import console

    tz = app.config.timezone
    c = console()
    prev = clock.local(outcome.previous, tz) if outcome.previous else "none 无"
    what_changed = ("此后数据、日期、生效预警和规则均无变化，未重新评估 nothing changed since (data, date, warnings in "
                    "force, rules): not evaluated again" if outcome.skipped else
                    f"this evaluation: new 新增 {outcome.new}, closed 已关闭 {outcome.closed}, changed 有变化 "
                    f"{outcome.changed}")
    c.print(f"评估时间 evaluated at {clock.local(outcome.at, tz)} (previous 上次 {prev}): {outcome.follow_ups} open 待跟进 "
            f"— {what_changed}; active warnings 生效预警 {outcome.active_alerts}",
            markup=False, highlight=False, soft_wrap=True)
    what = "待跟进 Follow-ups"
    if new or closed:
        mark = f"seen mark 已读至 {clock.local(seen, tz)} ({who})" if seen else \
            f"no seen mark yet 尚未标记已读 ({who}): all count; --mark-seen marks them"
        what = " + ".join(w for w, on in (("新增 New", new), ("已关闭 Closed", closed)) if on) + f" since your {mark}"
    if town:
        what += f" · {town['name']}"
    columns = ["优先级", "ID", "名称 name", "乡镇 township", "户数", "规则 rule", "原因 reason", "起始 since"]
    if closed:
        columns.append("关闭 closed")
    table(f"{what} ({len(rows)})", columns,
          [[r["priority"], r["facility_id"], r["name"], r["township_name"], r["households"], r["rule"], r["reason"],
            clock.local(r["since"], tz)] + ([clock.local(r["closed"], tz)] if closed else []) for r in rows])
    if limit and len(rows) >= limit:
        c.print(f"只显示前 {limit} 条 showing the first {limit}: narrow with --township/--kind/--priority, "
                "or --limit 0, --csv, --json for all", markup=False, highlight=False, soft_wrap=True)


def _explain(app: App, result: dict, as_json: bool) -> None:
    from .. import clock
    from .. import kinds as K
    from .context import console, echo_json

    if as_json:
        echo_json(result)
        return
    f, tz = result["facility"], app.config.timezone
    k = K.KINDS.get(f["kind"])
    status = k.label(f["status"]) if k else f["status"]
    s = result["season"]
    lines = [
        f"设施 #{f['id']} {f['name']} — {f['kind']}/{f['subtype']}, 状态 status {status}, "
        f"{f['households'] or 0} 户 households, {result.get('township_name') or f['township'] or '无乡镇 no township'}",
        f"评估时刻 as of {clock.local(result['as_of'], tz)}: 供暖季前 pre-season {s['preseason_start']}.., 供暖季 heating season "
        f"{s['start']}..{s['end']}; 生效预警 active warnings {result['active_alerts']}",
        "",
    ]
    for r in result["rules"]:
        if r["matched"]:
            since = f"  (起始 open since {clock.local(r['since'], tz)})" if r.get("since") else ""
            lines.append(f"✓ {r['rule']}  {r['priority']}  {r['reason']}{since}")
            checks = r["checks"]
        else:
            lines.append(f"✗ {r['rule']}  未命中 not matched")
            checks = [ch for ch in r["checks"] if not ch["ok"]] or r["checks"]
        lines += [f"    {'✓' if ch['ok'] else '✗'} {ch['why']}" for ch in checks]
    c = console()
    for line in lines:
        c.print(line, markup=False, highlight=False, soft_wrap=True)


def after_field_change(app: App, facility_id: int, *, quiet: bool = False) -> None:
    """Re-evaluate one facility's follow-ups right after `facility update` or `undo` changed it, and
    say what changed (one line, unless `quiet`). The change itself is already saved: a failure
    here is reported on stderr and does not fail the command."""
    from .. import clock
    from ..errors import MonitorError
    from ..evaluation import run_site

    try:
        out = run_site(app.existing_store(), app.config, facility_id, clock.now())
    except MonitorError as e:
        click.echo(f"已保存，但未能重新评估该设施的待跟进：{e}；the change is saved, but its follow-ups were not "
                   "re-evaluated (`monitor followups` will)", err=True)
        return
    if quiet:
        return
    now_open = "、".join(out.open) if out.open else "无 none"
    click.echo(f"待跟进 follow-ups: 新增 new {out.new}, 关闭 closed {out.closed}; 现有 open now: {now_open} "
               f"(评估时间 evaluated at {clock.local(out.at, app.config.timezone)})")


@followups.command("assign")
@click.argument("follow_up_id", metavar="ID", type=int)
@click.option("--to", "to", required=True, help="指派给谁；The person to assign it to.")
@click.option("--by", help="谁指派（默认 config [field] default_by，其次登录名）；Who assigns it.")
@pass_app
def followups_assign(app: App, follow_up_id: int, to: str, by: str | None):
    """把一项待跟进指派给某人（编号为 monitor followups --json 的 follow_up_id）；Assign an open follow-up to a person (ID: follow_up_id in `monitor followups --json`)."""
    from .. import clock
    from ..fieldwork import clean
    from ..inventory import who

    to = clean(to, "--to", limit=60)
    if not to:
        from ..errors import UsageError

        raise UsageError("--to 不能为空；--to is empty: name the person")
    store = app.existing_store()
    with store.write():
        row = store.assign_follow_up(follow_up_id, to=to, by=who(app.config, by), at=clock.iso(clock.now()))
    click.echo(f"已指派 assigned #{row['id']} ({row['rule']}, {row['priority']}) -> {to}")


@followups.command("ack")
@click.argument("follow_up_id", metavar="ID", type=int)
@click.option("--by", help="谁确认（默认 config [field] default_by，其次登录名）；Who acknowledges it.")
@pass_app
def followups_ack(app: App, follow_up_id: int, by: str | None):
    """确认已收到一项待跟进（记录确认人和时间）；Acknowledge an open follow-up (who and when are recorded)."""
    from .. import clock
    from ..inventory import who

    store = app.existing_store()
    with store.write():
        row = store.ack_follow_up(follow_up_id, by=who(app.config, by), at=clock.iso(clock.now()))
    click.echo(f"已确认 acknowledged #{row['id']} ({row['rule']}, {row['priority']}) by {row['acked_by']}")


def register(main: click.Group) -> None:
    main.add_command(followups)
