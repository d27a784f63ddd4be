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
from ..errors import MonitorError
from ..terminal import printable
from .context import App, pass_app

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class MonitorGroup(click.Group):
    """A group that turns the package's errors into one clear line and an exit code."""

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
            click.echo("monitor: interrupted; nothing half-written was committed", err=True)
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
@click.option("--db", "db", metavar="PATH|URL", envvar="MONITOR_DB", help="The database: a SQLite file path, or a postgresql://user@host/db URL for PostgreSQL (env MONITOR_DB; default from config.toml).")
@click.option("--config", "config", metavar="PATH", envvar="MONITOR_CONFIG", help="config.toml to use (env MONITOR_CONFIG).")
@click.option("--as-of", "as_of", metavar="TIME", envvar="MONITOR_NOW",
              help="Act as if it were this moment, e.g. 2021-10-10T09:00+08:00 (env MONITOR_NOW).")
@click.option("-v", "--verbose", count=True, help="More log output (-vv shows tracebacks).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.version_option(package_name="monitor")
@click.pass_context
def main(ctx: click.Context, db, config, as_of, verbose, quiet):
    """Disaster-recovery and heating-season risk monitor for a district emergency office.

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


from . import alerts, database, facility, followups, places, render, review, status  # noqa: E402  (register the commands)

for module in (places, facility, alerts, followups, render, review, status, database):
    module.register(main)

__all__ = ["main", "pass_app"]
