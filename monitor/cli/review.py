"""`monitor report` and `monitor export`: the monthly review and the data for QGIS or Excel."""

from __future__ import annotations

from pathlib import Path

import click

from .context import App, pass_app


@click.command("report")
@click.option("--month", metavar="YYYY-MM",
              help="要点评的月份（默认本区时区的当月）；The month to review (default: the current month in the "
                   "district's time zone).")
@click.option("--format", "fmt", type=click.Choice(["html", "csv"]), default="html", show_default=True,
              help="html：可打印的点评（A4，每个乡镇一页）；csv：其中的数字，每个乡镇一行、全区一行；html: the "
                   "printable review (A4, one page per township); csv: its numbers, one row per township and one "
                   "for the district.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="写入的文件（默认 config.toml 旁的 reports/report-YYYY-MM.html 或 .csv），写完才整体替换；The file "
                   "to write (default: reports/report-YYYY-MM.html or .csv beside config.toml). Replaced whole, "
                   "only when complete.")
@click.option("--township", help="只输出此乡镇一节（名称、代码或名称中唯一的一部分），全区汇总仍排名所有乡镇；Only this "
                                 "township's section (name, code, or a unique part of the name); the district "
                                 "summary still ranks every township.")
@click.option("--pdf", "pdf", is_flag=True,
              help="输出 PDF（A4，带页码），由系统的无界面 Chromium 打印（apt-get install chromium fonts-noto-cjk，"
                   "或 config.toml 的 [report] chromium）；Write the review as a PDF (A4, page numbers), printed by "
                   "the system's headless Chromium (apt-get install chromium fonts-noto-cjk; or [report] chromium "
                   "in config.toml).")
@pass_app
def report(app: App, month: str | None, fmt: str, out: Path | None, township: str | None, pdf: bool):
    """生成月度工作点评；Write the monthly review for the work review meeting.

    For each township: open and closed items by kind; what was fixed in the month; overdue
    items with the person responsible; the median time from damage or defect to repair;
    the warnings that hit the township and the follow-ups they caused. A district summary
    ranks the townships. The numbers are the state at the end of the month (or now, for the
    current month), rebuilt from the status history; the README defines each one.

    Follow-ups are those recorded by the evaluations (`monitor followups`, `monitor alerts
    refresh`); the report itself changes nothing in the database.

    \b
    Examples:
      monitor report --month 2021-10
      monitor report --month 2021-10 --pdf          # reports/report-2021-10.pdf
      monitor report --month 2021-10 --township 汤河口 --out 汤河口-2021-10.html
      monitor report --month 2021-10 --format csv --out review-2021-10.csv
    """
    from .. import clock, report as review
    from ..errors import UsageError
    from ..outfile import write_text
    from ..ruleset import score_weights

    if pdf and fmt == "csv":
        raise UsageError("--pdf 只用于打印版，不能与 --format csv 同用；--pdf prints the HTML review: "
                         "leave out --format csv")
    chromium = None
    if pdf:  # before any work: a missing browser is said at once
        from ..pdfprint import find_chromium

        chromium = find_chromium(app.config.report.chromium)

    store = app.existing_store()
    config = app.config
    now = clock.now()
    window = review.month_window(month, now, config.timezone)
    only = store.township_lookup(township.strip())["code"] if township else None
    built = review.build(
        review.gather(store, window), window,
        district=config.district.name, district_en=config.district.name_en or None,
        district_code=config.district.code,
        weights=score_weights(config), only=only, now=now, unit=config.report.unit)
    from ..calls import township_scores

    built.calls = township_scores(store, window.start, min(window.end, now))  # 接诉即办, as the district scores it
    if not window.complete:  # who answers for what is open now (a past month's review is about that month)
        from ..accountability import owners

        built.owners = owners(store, config, now)
    path = out or config.resolve(f"reports/report-{window.month}.{'pdf' if pdf else fmt}")
    if pdf:
        from ..pdfprint import html_to_pdf

        html_to_pdf(review.render_html(built), path, chromium=chromium)
    elif fmt == "csv":
        # utf-8-sig: Excel on an office PC then reads the Chinese correctly
        write_text(path, review.render_csv(built), "csv", encoding="utf-8-sig")
    else:
        write_text(path, review.render_html(built), "html")
    click.echo(str(path))


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["geojson", "csv", "gpkg"]), required=True,
              help="geojson：一个要素集合，layer 属性标明图层；csv：设施及其待跟进（Excel 可打开，表头“中文 english”）；"
                   "gpkg：每表一层的 GeoPackage（QGIS 可打开）；geojson: one FeatureCollection, each feature's "
                   "`layer` property naming its layer; csv: the facilities with their follow-ups (opens in Excel); "
                   "gpkg: a GeoPackage with one layer per table (opens in QGIS).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="写入的文件（写完才整体替换）；The file to write (replaced whole, only when complete).")
@pass_app
def export(app: App, fmt: str, out: Path):
    """导出乡镇、设施、预警区域和待跟进，供 GIS 或表格使用；Export townships, facilities, warned areas and follow-ups for GIS or spreadsheets.

    Layers: townships (with the approximate flag and risk score), facilities (status and
    township name), warned_areas (the warnings in force now, or at --as-of) and follow_ups
    (open, as the last evaluation left them). Coordinates are WGS-84 (EPSG:4326).

    \b
    Examples:
      monitor export --format gpkg --out huairou.gpkg
      monitor export --format geojson --out huairou.geojson
      monitor export --format csv --out facilities.csv
    """
    from .. import clock
    from ..export import write

    counts = write(app.existing_store(), app.config, fmt, out, clock.now())
    click.echo(f"已导出 wrote {out}: " + ", ".join(f"{layer} {n}" for layer, n in counts.items()))


def register(main: click.Group) -> None:
    main.add_command(report)
    main.add_command(export)
