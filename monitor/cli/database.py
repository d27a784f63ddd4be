"""`monitor db create` and `monitor db copy`: a PostgreSQL database made, and a store moved between engines."""

from __future__ import annotations

from pathlib import Path

import click

from .context import App, pass_app


@click.group("db")
def db():
    """数据库本身：新建 PostgreSQL 数据库，在 SQLite 与 PostgreSQL 之间复制；The database itself: create a PostgreSQL one, copy between SQLite and PostgreSQL."""


@db.command("create")
@click.argument("url")
@pass_app
def create(app: App, url: str):
    """新建 PostgreSQL 数据库（含 PostGIS 与各表）；Create the PostgreSQL database URL (postgresql://user@host/NAME) with PostGIS and the tables.

    The user in the URL needs the right to create databases (CREATEDB) or the database must
    exist already; then `monitor --db URL init` loads the townships, and every command works
    as on a SQLite file. Safe to run again.
    """
    from ..errors import UsageError
    from ..store import is_url, open_store
    from ..store.postgres import create_database
    from ..store.urls import shown_url

    if not is_url(url):
        raise UsageError(f"“{url}”不是 PostgreSQL 网址（postgresql://用户@主机/数据库）；SQLite 文件由 monitor init 创建；"
                         f"'{url}' is not a PostgreSQL URL (postgresql://user@host/db); a SQLite file is made by "
                         "`monitor --db PATH init`")
    created = create_database(url)
    store = open_store(url, busy_timeout_ms=app.config.busy_timeout_ms)
    store.close()
    click.echo(f"{shown_url(url)}: {'已创建 created' if created else '已存在，表结构已是最新 already there, schema up to date'}；"
               f"下一步 next: monitor --db {shown_url(url)} init")


@db.command("copy")
@click.argument("source")
@click.argument("target")
@pass_app
def copy(app: App, source: str, target: str):
    """把 SOURCE 的全部数据（含历史）复制到新的或空的 TARGET；Copy everything in SOURCE, history included, into the new or empty TARGET.

    Each is a SQLite file path or a postgresql:// URL, so a district moves its data from
    SQLite to PostgreSQL (or back) in one command. A TARGET that holds data is refused.
    """
    from ..errors import UsageError
    from ..store import is_url, open_store
    from ..store.copy import copy as copy_store
    from ..store.urls import shown_url

    if not is_url(source) and not Path(source).is_file():
        raise UsageError(f"找不到源数据库 {source}；no source database at {source}")
    created = None if is_url(target) or Path(target).exists() else Path(target)
    src = open_store(source, busy_timeout_ms=app.config.busy_timeout_ms)
    try:
        dst = open_store(target, busy_timeout_ms=app.config.busy_timeout_ms)
        try:
            result = copy_store(src, dst, source_name=source, target_name=target)
        finally:
            dst.close()
    except BaseException:
        if created is not None:  # a file this command made and could not fill: not left behind
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(created) + suffix).unlink(missing_ok=True)
        raise
    finally:
        src.close()
    rows = ", ".join(f"{n} {t}" for t, n in result.rows.items())
    click.echo(f"{shown_url(source)} -> {shown_url(target)}: {rows}")


def register(main: click.Group) -> None:
    main.add_command(db)
