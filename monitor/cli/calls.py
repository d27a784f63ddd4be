"""`monitor calls ...`: citizens' calls from the 12345 hotline (接诉即办)."""

from __future__ import annotations

from pathlib import Path

import click

from .context import App, echo, echo_json, pass_app, table


@click.group("calls")
def calls():
    """接诉即办：12345 热线工单的导入、进展记录、跟进和各乡镇评分；Citizens' calls (12345 hotline): import, progress, follow-ups and township scores."""


@calls.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_app
def calls_import(app: App, file: Path):
    """导入热线工单导出表（CSV 或 .xlsx），同一工单只存一次；Import the hotline's ticket export (CSV or .xlsx); a ticket is stored once.

    \b
    Columns (English, bilingual or the hotline's Chinese): ticket 工单编号, received 受理时间,
    township 所属街乡, address 地址, category 诉求类别 (供暖, 道路, 消防, 用电 ...), text 诉求内容,
    responded 响应时间, resolved 办结时间, satisfaction 满意度 (满意/基本满意/不满意).
    A household or facility ref in the text (HH-000123, HR-0047) links the call to it.
    """
    from ..calls import import_calls

    r = import_calls(app.existing_store(), file, tz=app.config.timezone)
    echo(f"已导入 imported {r.added} calls from {file} (已有 already stored {r.known})")


@calls.command("update")
@click.argument("ticket")
@click.option("--responded", metavar="TIME", help="响应时间，如 2025-11-16T10:00；When the township responded.")
@click.option("--resolved", metavar="TIME", help="办结时间；When the call was resolved.")
@click.option("--satisfaction", help="满意度：满意、基本满意、不满意；The caller's satisfaction.")
@click.option("--note", help="备注；What was done.")
@click.option("--by", help="记录人；Who records it.")
@pass_app
def calls_update(app: App, ticket: str, responded, resolved, satisfaction, note, by):
    """记录一张工单的响应、办结或满意度（写入不可改写的记录）；Record a call's response, resolution or satisfaction (appended to its history)."""
    from ..calls import update
    from ..inventory import who

    c = update(app.existing_store(), ticket, responded=responded, resolved=resolved, satisfaction=satisfaction,
               note=note, by=who(app.config, by), tz=app.config.timezone)
    echo(f"已记录 recorded {c['ticket']}: 响应 responded {c['responded'] or '-'}, 办结 resolved {c['resolved'] or '-'}")


@calls.command("list")
@click.option("--open", "open_only", is_flag=True, help="只看未办结的；Only calls not yet resolved.")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出；Output JSON.")
@pass_app
def calls_list(app: App, open_only: bool, as_json: bool):
    """列出热线工单及其响应、办结和满意度；List the hotline calls with their response, resolution and satisfaction."""
    from .. import clock

    rows = [c for c in app.existing_store().select_calls() if not (open_only and c["resolved"])]
    if as_json:
        echo_json(rows)
        return
    tz = app.config.timezone
    table(f"工单 Calls ({len(rows)})", ["工单 ticket", "受理 received", "乡镇 township", "类别 category", "响应 responded",
                                       "办结 resolved", "满意度 satisfaction"],
          [[c["ticket"], clock.local(c["received"], tz), c["township_name"] or "-", c["category"] or "-",
            clock.local(c["responded"], tz) if c["responded"] else "-",
            clock.local(c["resolved"], tz) if c["resolved"] else "-", c["satisfaction"] or "-"] for c in rows])


@calls.command("due")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出；Output JSON.")
@pass_app
def calls_due(app: App, as_json: bool):
    """供暖季未办结、需要跟进的工单（按 [[rules]] target = "calls"）；Open calls that need a follow-up now (the rules with target = "calls")."""
    from .. import clock
    from .. import householdrules as HR

    store = app.existing_store()
    rows = HR.evaluate_calls(store, app.config, HR.load(app.config), clock.now())
    if as_json:
        echo_json([r.__dict__ for r in rows])
        return
    names = {t["code"]: t["name"] for t in store.townships(with_geometry=False)}
    table(f"需要跟进的工单 Calls to follow up ({len(rows)})", ["优先级 priority", "工单 ticket", "乡镇 township", "原因 reason"],
          [[r.priority, r.ref, names.get(r.township, r.township or "-"), r.reason] for r in rows])


@calls.command("scores")
@click.option("--month", metavar="YYYY-MM", help="月份（默认本月）；The month (default: this month).")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出；Output JSON.")
@pass_app
def calls_scores(app: App, month: str | None, as_json: bool):
    """各乡镇接诉即办：受理量、响应率、解决率、满意率和排名；Per township: calls, response, resolution and satisfaction rates, and rank."""
    rows, label = _scores(app, month)
    if as_json:
        echo_json([{**r.__dict__, "response_rate": r.response_rate, "resolution_rate": r.resolution_rate,
                    "satisfaction_rate": r.satisfaction_rate, "score": r.score} for r in rows])
        return
    table(f"接诉即办 {label} Citizens' calls", *score_table(rows))


def _scores(app: App, month: str | None):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from .. import clock
    from ..calls import township_scores
    from ..errors import UsageError

    zone = ZoneInfo(app.config.timezone)
    if month:
        try:
            y, m = (int(x) for x in month.split("-"))
            start = datetime(y, m, 1, tzinfo=zone)
        except ValueError:
            raise UsageError(f"月份「{month[:20]}」请写成 YYYY-MM；month '{month[:20]}' must be YYYY-MM") from None
    else:
        today = clock.local_date(clock.now(), app.config.timezone)
        start = datetime(today.year, today.month, 1, tzinfo=zone)
    until = datetime(start.year + (start.month == 12), start.month % 12 + 1, 1, tzinfo=zone)
    return township_scores(app.existing_store(), start, until), f"{start:%Y-%m}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%"


def score_table(rows) -> tuple[list[str], list[list]]:
    return (["排名 rank", "乡镇 township", "受理 received", "响应率 response", "解决率 resolution", "满意率 satisfaction"],
            [[r.rank, r.name, r.received, _pct(r.response_rate), _pct(r.resolution_rate), _pct(r.satisfaction_rate)]
             for r in rows])


def register(main: click.Group) -> None:
    main.add_command(calls)
