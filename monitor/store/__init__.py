"""The store: the only package that speaks SQL, and the choice of engine behind it.

    open_store(target)      a `postgresql://` (or `postgres://`) URL -> the PostgreSQL engine
                            (monitor.store.postgres, psycopg imported only then); anything else
                            is a path -> the SQLite engine (monitor.store.sqlite), as before.

What the rest of the program may rely on is written down in `interfaces` (small Protocols by
what is kept: meta, townships, facilities and their history, alerts, follow-ups, fetch log,
plus households, calls and follow-up owners (tables and shared queries in `households`,
migration 6), and the transaction and change-token contract) and `records` (the typed records crossing the
boundary). `Store` is the SQLite engine, kept under this name for the callers and tests that
open a file directly.

Engines are imported lazily: `monitor facility update` on a SQLite file must not pay for
psycopg, nor the PostgreSQL engine for sqlite-utils.
"""

from __future__ import annotations

import os
from pathlib import Path

from .sqlite import ALERT_COLUMNS, FACILITY_COLUMNS, MIGRATIONS, Store, read_meta, translate

__all__ = ["ALERT_COLUMNS", "FACILITY_COLUMNS", "MIGRATIONS", "Store", "is_url", "open_store", "read_meta",
           "translate"]

URL_SCHEMES = ("postgresql://", "postgres://")


def is_url(target: str | os.PathLike) -> bool:
    """Whether `target` names a PostgreSQL database (a URL) rather than a SQLite file (a path)."""
    return isinstance(target, str) and target.lower().startswith(URL_SCHEMES)


def open_store(target: str | os.PathLike, *, busy_timeout_ms: int = 30_000, migrate: bool = True):
    """Open the database `target` with the engine it names: a `postgresql://user@host/db` URL
    (the database must exist; `monitor db create URL` makes one), else a SQLite file path
    (created if missing, as `Store.open`)."""
    if is_url(target):
        from .postgres import PostgresStore

        return PostgresStore.open(str(target), busy_timeout_ms=busy_timeout_ms, migrate=migrate)
    return Store.open(Path(target) if not isinstance(target, Path) else target,
                      busy_timeout_ms=busy_timeout_ms, migrate=migrate)
