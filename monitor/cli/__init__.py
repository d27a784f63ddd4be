"""The `monitor` command line: parse options, call the library, print, and map errors to exit codes.

It holds no SQL and no geometry. Each command imports what it needs inside its function, so
that a one-row status update does not pay for geopandas, folium or httpx.

Exit codes: 0 success, 1 bad data or a bug, 2 usage, 75 a source was unreachable.
"""

from __future__ import annotations

import logging
import sqlite3
import sys

import click

from .. import redaction
from . import clickwords
from ..errors import MonitorError
from ..terminal import printable
from .context import App, pass_app

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class MonitorGroup(click.Group):
    """A group that turns the package's errors into one clear line and an exit code, and click's
    usage errors into Chinese first, then click's English (`clickwords`)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as e:
            clickwords.show(e)
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("已中止；Aborted!", err=True)
            sys.exit(1)
        # a command returns None; ctx.exit(n) (--help, --version) comes back as its code
        sys.exit(code if isinstance(code, int) and not isinstance(code, bool) else 0)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MonitorError as e:
            self._fail(ctx, e)
        except sqlite3.Error as e:
            # a read outside the store's transactions hit the disk or a lock: the store's words for it
            from ..store import translate

            app = ctx.find_object(App)
            translated = translate(e, app.db_path if app is not None and app._store is not None else "the database",
                                   busy_timeout_ms=getattr(getattr(app, "_store", None), "busy_timeout_ms", None))
            if translated is None:
                raise
            self._fail(ctx, translated, cause=e)
        except Exception as e:
            # PostgreSQL: the server, the connection or a lock (psycopg is loaded only for a URL)
            psycopg = sys.modules.get("psycopg")
            app = ctx.find_object(App)
            if psycopg is None or not isinstance(e, psycopg.Error) or app is None or not app.is_url:
                raise
            from ..store.postgres import translate as translate_pg

            translated = translate_pg(e, str(app.target))
            if translated is None:
                raise
            self._fail(ctx, translated, cause=e)
        except KeyboardInterrupt:
            click.echo("monitor: 已中断，未提交任何写了一半的内容；interrupted; nothing half-written was committed",
                       err=True)
            sys.exit(130)

    @staticmethod
    def _fail(ctx: click.Context, e: MonitorError, cause: BaseException | None = None):
        app = ctx.find_object(App)
        if app is not None and app.verbose > 1:
            if cause is None:
                raise e
            raise e from cause
        click.echo(f"monitor: {printable(redaction.redact(str(e)))}", err=True)
        sys.exit(e.exit_code)


@click.group(cls=MonitorGroup, context_settings=CONTEXT_SETTINGS)
@click.option("--db", "db", metavar="PATH|URL", envvar="MONITOR_DB",
              help="数据库：SQLite 文件路径，或 PostgreSQL 的 postgresql://user@host/db 地址（环境变量 MONITOR_DB；默认见 "
                   "config.toml）；The database: a SQLite file path, or a postgresql://user@host/db URL for PostgreSQL "
                   "(env MONITOR_DB; default from config.toml).")
@click.option("--config", "config", metavar="PATH", envvar="MONITOR_CONFIG", help="使用的配置文件（环境变量 MONITOR_CONFIG）；config.toml to use (env MONITOR_CONFIG).")
@click.option("--as-of", "as_of", metavar="TIME", envvar="MONITOR_NOW",
              help="按此时刻运行，如 2021-10-10T09:00+08:00（环境变量 MONITOR_NOW）；Act as if it were this moment, "
                   "e.g. 2021-10-10T09:00+08:00 (env MONITOR_NOW).")
@click.option("-v", "--verbose", count=True, help="输出更多日志（-vv 显示调用栈）；More log output (-vv shows tracebacks).")
@click.option("-q", "--quiet", is_flag=True, help="只输出错误；Only errors on stderr.")
@click.version_option(package_name="monitor", help=clickwords.VERSION_HELP,
                      message="%(prog)s 版本 version %(version)s")
@click.pass_context
def main(ctx: click.Context, db, config, as_of, verbose, quiet):
    """灾后恢复与供暖季风险监测；Disaster-recovery and heating-season risk monitor for a district emergency office.

    管理全区供暖设施、消防隐患和水毁设施，读取气象预警，算出哪里需要派人查看、多急、为什么。
    先运行 `monitor demo` 看怀柔的示例数据。

    Tracks heating equipment, fire hazards and flood-damaged infrastructure by township,
    reads weather warnings, and works out which places need someone to go and look, how
    urgently, and why. Start with `monitor demo` to see it on the shipped Huairou data.
    """
    from .. import clock

    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    redaction.install_log_filter()  # no key from the environment, URL user-info or token in any log line
    ctx.obj = App(db=db, config_path=config, verbose=verbose, quiet=quiet)
    try:
        clock.set_now(as_of)
    except MonitorError as e:
        raise click.BadParameter(str(e), param_hint="--as-of") from None


from . import alerts, calls, database, districts, facility, followups, households, places, render, review, status  # noqa: E402,E501

for module in (places, districts, facility, households, calls, alerts, followups, render, review, status, database):
    module.register(main)
clickwords.localise(main)  # 用法 Usage:, 选项 Options:, and the --help line, in every command

__all__ = ["main", "pass_app"]
