"""What every command shares: the config, the database, and how to print (rich, CJK-aware)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click


@dataclass
class App:
    db: str | None = None
    config_path: str | None = None
    verbose: int = 0
    quiet: bool = False
    _config: object = field(default=None, repr=False)
    _store: object = field(default=None, repr=False)

    @property
    def config(self):
        if self._config is None:
            from ..config import check_all, load
            from ..outfile import protect

            config = load(self.config_path)
            check_all(config)  # every section, before the command changes anything
            self._config = config
            protect(config.path)  # no output file may be written over it
        return self._config

    @property
    def is_url(self) -> bool:
        """--db names a PostgreSQL database (a postgresql:// URL) rather than a SQLite file."""
        from ..store import is_url

        return is_url(self.target)

    @property
    def target(self) -> str | Path:
        """What --db, MONITOR_DB or [store] db names: a path, or a postgresql:// URL (as text)."""
        return self.db if self.db else self.config.db_path

    @property
    def db_path(self) -> Path | str:
        """The SQLite file, or for PostgreSQL the URL as shown to a person (no password)."""
        if self.is_url:
            from ..store.urls import shown_url

            return shown_url(str(self.target))
        return Path(self.target)

    @property
    def store(self):
        if self._store is None:
            from ..store import open_store

            if self.is_url:
                self._store = open_store(str(self.target), busy_timeout_ms=self.config.busy_timeout_ms)
            else:
                from ..outfile import protect

                protect(self.db_path, database=True)  # nor over the database and its -wal/-shm/-journal
                self._store = open_store(self.db_path, busy_timeout_ms=self.config.busy_timeout_ms)
        return self._store

    def existing_store(self):
        """The store, refusing to create a database where none exists yet (a PostgreSQL database
        must exist already: opening it creates nothing but the tables)."""
        if self._store is None and not self.is_url and self.db != ":memory:" and not self.db_path.exists():
            from ..errors import UsageError

            raise UsageError(f"找不到数据库 {self.db_path}，请先运行 monitor init（或用 --db 指定）；no database at "
                             f"{self.db_path}; run `monitor init` first (or pass --db)")
        return self.store


pass_app = click.make_pass_decorator(App)


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def echo(text: object = "", *, err: bool = False) -> None:
    """click.echo of text that may hold data: control characters shown as escapes (monitor.terminal)."""
    from ..terminal import printable

    click.echo(printable(text), err=err)


def echo_json(data) -> None:
    from ..terminal import json_safe

    sys.stdout.write(json_safe(json.dumps(data, ensure_ascii=False, indent=2, default=str)))
    sys.stdout.write("\n")


def table(title: str | None, columns: list[str], rows: list[list], *, stderr: bool = False) -> None:
    """A rich table; rich measures CJK characters as two cells, so Chinese columns align."""
    from rich.table import Table
    from rich.text import Text

    from ..terminal import printable

    t = Table(title=title, show_lines=False, header_style="bold")
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        # Text(), not str: people's input must never be read as rich markup
        # and control characters from data shown as escapes, not obeyed by the terminal
        t.add_row(*[Text(printable(v)) for v in r])
    console(stderr).print(t)
