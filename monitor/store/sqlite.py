"""The SQLite engine: the store in one file (the default), and the SQL both engines share.

`Store`'s queries are written in the SQL that SQLite and PostgreSQL both understand (with `?`
placeholders); monitor.store.postgres runs them through a thin dialect layer and overrides
what differs. The contract both keep is in monitor.store.interfaces.

One file is the system of record. Every connection runs in WAL mode with foreign keys on,
`synchronous=FULL` and a busy timeout; every write is one `BEGIN IMMEDIATE` transaction
(`with store.write():`), so concurrent writers queue instead of failing with "database is
locked", and a killed process loses nothing that was committed.

The connection is plain `sqlite3` so that the field CLI's one-row update starts fast;
sqlite-utils (which imports pandas when it is installed) is loaded only for schema migrations
and bulk work, through `Store.db`.

A database this process may not write opens read-only (`Store.readonly`), so that every
command that only reads still works; a write then fails in words. SQLite's errors about the
file, the disk or another process (read-only, locked past the busy timeout, disk full, I/O
error, not a database) become one DataError that says what is wrong (`translate`), here in
`open` and `write()`, and at the CLI's edge for reads outside a transaction.

Schema changes are migrations (`MIGRATIONS`), applied in order and recorded in
`PRAGMA user_version`; each step gets the Store, and only the first (creating a database) uses
sqlite-utils, so that opening an older database from the field CLI does not import pandas.
`status_history` is append-only: triggers refuse UPDATE and DELETE. Every `write()` that
changed a row bumps `meta.change_count`, which `change_token()` reads (with PRAGMA
data_version) for the evaluation's optimistic retry.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import DataError, MonitorError, UsageError
from .households import HouseholdTables, m6_households_sqlite
from .records import FetchRecord, HistoryEntry, Township

FACILITY_COLUMNS = (
    "kind", "subtype", "name", "lon", "lat", "township", "status", "severity",
    "responsible", "phone", "households", "people", "last_inspected", "due", "notes",
    "blocks_heating", "source", "created", "updated",
)

ALERT_COLUMNS = (
    "source", "format", "sender", "identifier", "sent", "msg_type", "status", "scope", "event",
    "hazard", "colour", "cma_type", "severity", "urgency", "certainty", "onset", "effective",
    "expires", "ends", "headline", "headline_en", "event_en", "sender_name", "description", "instruction", "language", "area_desc",
    "area", "division_codes", "refs", "raw", "warnings", "received",
)


# --- migrations -----------------------------------------------------------------------------

def _m1_initial(store: Store) -> None:
    """The tables of DESIGN.md (sqlite-utils: a new database is made by `monitor init` or a bulk job)."""
    db = store.db
    db["townships"].create(
        {
            "code": str, "name": str, "name_en": str, "kind": str, "geometry": bytes,
            "minx": float, "miny": float, "maxx": float, "maxy": float,
            "lon": float, "lat": float, "approximate": int, "source": str,
        },
        pk="code", not_null={"name", "geometry"},
    )
    db["facilities"].create(
        {
            "id": int, "kind": str, "subtype": str, "name": str, "lon": float, "lat": float,
            "township": str, "status": str, "severity": str, "responsible": str, "phone": str,
            "households": int, "people": int, "last_inspected": str, "due": str, "notes": str,
            "blocks_heating": int, "source": str, "created": str, "updated": str,
        },
        pk="id", not_null={"kind", "subtype", "name", "lon", "lat", "status", "created", "updated"},
        defaults={"blocks_heating": 0, "households": 0, "people": 0},
    )
    db.execute(
        "CREATE TABLE status_history ("
        " id INTEGER PRIMARY KEY,"
        " facility_id INTEGER NOT NULL REFERENCES facilities(id),"
        " at TEXT NOT NULL, by TEXT NOT NULL,"
        " old_status TEXT, new_status TEXT NOT NULL, note TEXT,"
        " inspected TEXT, due TEXT,"
        " undoes INTEGER REFERENCES status_history(id))"
    )
    db.execute(
        "CREATE TRIGGER status_history_no_update BEFORE UPDATE ON status_history "
        "BEGIN SELECT RAISE(ABORT, 'status_history is append-only: rows cannot be changed'); END"
    )
    db.execute(
        "CREATE TRIGGER status_history_no_delete BEFORE DELETE ON status_history "
        "BEGIN SELECT RAISE(ABORT, 'status_history is append-only: rows cannot be deleted'); END"
    )
    db["alerts"].create(
        {
            "id": int, **{c: str for c in ALERT_COLUMNS},
            "state": str, "superseded_by": int,
        },
        pk="id", not_null={"source", "sender", "identifier", "sent", "raw", "state"},
        defaults={"state": "active"},
        foreign_keys=[("superseded_by", "alerts", "id")],
    )
    db.execute("CREATE UNIQUE INDEX alerts_key ON alerts(sender, identifier, sent)")
    db.execute("CREATE INDEX alerts_identifier ON alerts(identifier)")
    db["fetch_log"].create(
        {
            "id": int, "source": str, "started": str, "finished": str, "ok": int,
            "http_status": int, "etag": str, "last_modified": str,
            "new": int, "updated": int, "cancelled": int, "error": str,
        },
        pk="id", not_null={"source", "started"},
    )
    db.execute("CREATE INDEX fetch_log_source ON fetch_log(source, started)")
    db["follow_ups"].create(
        {
            "id": int, "facility_id": int, "township": str, "rule": str, "priority": str,
            "reason": str, "reason_en": str, "causes": str, "since": str, "last_seen": str,
            "closed": str,
        },
        pk="id", not_null={"rule", "priority", "reason", "since"},
        foreign_keys=[("facility_id", "facilities", "id"), ("township", "townships", "code")],
    )
    db.execute("CREATE INDEX follow_ups_open ON follow_ups(closed, priority)")
    db.execute("CREATE INDEX facilities_township ON facilities(township)")
    db.execute("CREATE INDEX status_history_facility ON status_history(facility_id, id)")


def _m2_withdrawn(store: Store) -> None:
    """When a message stopped being in force without a successor (a forecast hazard no longer
    forecast): the monthly review cuts its validity there, as it does at a superseding message."""
    store.conn.execute("ALTER TABLE alerts ADD COLUMN withdrawn TEXT")


def _m3_alert_refs(store: Store) -> None:
    """The references of each alert, one row each, indexed by identifier: storing a message looks
    up the stored ones that reference it, which scanning every alert's `refs` JSON made slower as
    the table grew (seconds per snapshot at 20,000 alerts). Filled from `refs` here, then by
    `insert_alert`; a NULL or empty sender or sent means the reference names none (any matches)."""
    conn = store.conn
    conn.execute("CREATE TABLE alert_refs (alert_id INTEGER NOT NULL REFERENCES alerts(id),"
                 " sender TEXT, identifier TEXT NOT NULL, sent TEXT)")
    conn.execute("CREATE INDEX alert_refs_identifier ON alert_refs(identifier)")
    rows = conn.execute("SELECT id, refs FROM alerts WHERE refs IS NOT NULL AND refs NOT IN ('', '[]')")
    conn.executemany("INSERT INTO alert_refs (alert_id, sender, identifier, sent) VALUES (?, ?, ?, ?)",
                     (ref for r in rows for ref in _ref_rows(r[0], json.loads(r[1]))))


def _ref_rows(alert_id: int, refs: list) -> list[tuple]:
    """alert_refs rows of one alert's [sender, identifier, sent] references (a reference without
    an identifier names nothing and is left out)."""
    return [(alert_id, ref[0], ref[1], ref[2] if len(ref) > 2 else None)
            for ref in refs if isinstance(ref, (list, tuple)) and len(ref) >= 2 and ref[1] is not None]


def _m4_safety(store: Store) -> None:
    """What keeps data safe and findable:
    - `meta`: facts about the database itself (e.g. `created_by = demo`, so that `monitor demo`
      recreates only a database it made, never a user's);
    - `facilities.ref`: the office's own stable identifier (an asset number), unique where given,
      on which a re-import matches instead of adding the same sites again;
    - an index on facility names (lookups by name and the duplicate check on import);
    - `alerts.withdrawn_by` / `withdrawn_note`: who retired a bad or mistaken alert, and why
      (`withdrawn` already holds when)."""
    conn = store.conn
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("ALTER TABLE facilities ADD COLUMN ref TEXT")
    conn.execute("CREATE UNIQUE INDEX facilities_ref ON facilities(ref) WHERE ref IS NOT NULL")
    conn.execute("CREATE INDEX facilities_name ON facilities(name)")
    conn.execute("ALTER TABLE alerts ADD COLUMN withdrawn_by TEXT")
    conn.execute("ALTER TABLE alerts ADD COLUMN withdrawn_note TEXT")


def _m5_severity_history(store: Store) -> None:
    """A damage assessment (flood `severity`) revised in the field is recorded like a status change:
    `status_history.old_severity` / `new_severity`, both NULL when an entry left the severity alone
    (every entry before this migration did)."""
    conn = store.conn
    conn.execute("ALTER TABLE status_history ADD COLUMN old_severity TEXT")
    conn.execute("ALTER TABLE status_history ADD COLUMN new_severity TEXT")


def _m6_districts(store: Store) -> None:
    """Districts above townships (a city: Beijing's 16): their outlines, for the city view and
    `--district`. A township belongs to the district whose 6-digit code begins its own code
    (GB/T 2260 codes nest), so no link column is needed and either can be loaded first."""
    store.conn.execute("CREATE TABLE districts (code TEXT PRIMARY KEY, name TEXT NOT NULL, name_en TEXT,"
                       " geometry BLOB NOT NULL, minx REAL, miny REAL, maxx REAL, maxy REAL, lon REAL, lat REAL,"
                       " source TEXT)")


MIGRATIONS = (_m1_initial, _m2_withdrawn, _m3_alert_refs, _m4_safety, _m5_severity_history, _m6_districts,
              m6_households_sqlite)  # 7: households, their history, calls (monitor.store.households)
DISTRICT_COLUMNS = ("code", "name", "name_en", "minx", "miny", "maxx", "maxy", "lon", "lat", "source")


# --- opening, and what SQLite's errors mean to a person -----------------------------------------

def _connect(path: str, busy_timeout_ms: int) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _connect_readonly(path: str, busy_timeout_ms: int) -> sqlite3.Connection:
    """A read-only connection to a database this process may not write.

    `mode=ro` reads a WAL database consistently, but needs its -shm file, which SQLite creates
    when it is missing: in a read-only folder it cannot. Then, if no -wal file holds changes
    (every commit is in the database file itself), the file is opened `immutable=1`, which reads
    it without any locking: right for what a read-only folder usually holds (a copy on a
    read-only share, an archive, a CD), which nothing changes. Were the folder's owner to write the
    database meanwhile, this process could read a stale or mixed state (SQLite's documented risk
    of immutable), which is why it is used only where the shared-memory file cannot exist. With a
    non-empty -wal (commits not yet in the file) immutable would miss them: refused.
    """
    base = Path(path).resolve().as_uri()
    try:
        conn = _readonly(base + "?mode=ro", busy_timeout_ms)
    except sqlite3.Error as e:
        wal = Path(path + "-wal")
        if _code(e) not in _NOT_WRITABLE or (wal.exists() and wal.stat().st_size > 0):
            raise _translated(e, path, busy_timeout_ms=busy_timeout_ms) from e
        try:
            conn = _readonly(base + "?mode=ro&immutable=1", busy_timeout_ms)
        except sqlite3.Error as e2:
            raise _translated(e2, path, busy_timeout_ms=busy_timeout_ms) from e2
    return conn


def _readonly(uri: str, busy_timeout_ms: int) -> sqlite3.Connection:
    conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout_ms / 1000, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # reads now, or fails now
    except BaseException:
        conn.close()
        raise
    return conn


# SQLite's primary result codes that say something about the file, the disk or another process
# rather than about the SQL (extended codes such as SQLITE_IOERR_WRITE reduce to these)
_NOT_WRITABLE = {"SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH"}
_ENVIRONMENT = _NOT_WRITABLE | {"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_NOTADB",
                                "SQLITE_CORRUPT", "SQLITE_PROTOCOL"}
_BY_MESSAGE = (("readonly database", "SQLITE_READONLY"), ("database is locked", "SQLITE_BUSY"),
               ("is full", "SQLITE_FULL"), ("disk i/o error", "SQLITE_IOERR"), ("unable to open", "SQLITE_CANTOPEN"),
               ("not a database", "SQLITE_NOTADB"), ("malformed", "SQLITE_CORRUPT"))


def _code(e: BaseException) -> str:
    """SQLite's primary result code name for `e` (e.g. SQLITE_IOERR for SQLITE_IOERR_WRITE), from
    the exception's sqlite_errorname, else read from its message; '' if neither says."""
    name = getattr(e, "sqlite_errorname", None) or ""
    if name:
        for primary in sorted(_ENVIRONMENT, key=len, reverse=True):
            if name == primary or name.startswith(primary + "_"):
                return primary
        return name
    text = str(e).lower()
    return next((code for needle, code in _BY_MESSAGE if needle in text), "")


def translate(e: BaseException, path: str | os.PathLike, *, busy_timeout_ms: int | None = None) -> MonitorError | None:
    """The MonitorError that says in words what `e` (a sqlite3 error on the database at `path`)
    means, or None when it is not about the file, the disk or another process (a bug)."""
    if not isinstance(e, sqlite3.Error) or isinstance(e, (sqlite3.IntegrityError, sqlite3.ProgrammingError)):
        return None
    if _code(e) not in _ENVIRONMENT:
        return None
    return _translated(e, str(path), busy_timeout_ms=busy_timeout_ms)


def _translated(e: BaseException, path: str, *, code: str | None = None,
                busy_timeout_ms: int | None = None) -> MonitorError:
    code = code or _code(e)
    name = getattr(e, "sqlite_errorname", None)
    detail = f"({e}, {name})" if name else f"({e})"
    if code == "SQLITE_IOERR" and _disk_free(path) < 1 << 20:
        code = "SQLITE_FULL"  # SQLite reports a full disk under WAL as an I/O error (growing the -shm)
    if code in ("SQLITE_READONLY", "SQLITE_PERM", "SQLITE_AUTH"):
        return DataError(f"数据库 {path} 是只读的（文件或其所在文件夹不可写），此命令需要写入，未做任何更改；"
                         f"请以有写权限的用户运行，或检查权限；the database {path} is read-only (the file or its "
                         f"folder may not be written) and this command writes: nothing was changed; run it as a "
                         f"user who may write there, or fix the permissions {detail}")
    if code in ("SQLITE_BUSY", "SQLITE_LOCKED"):
        waited = f"{busy_timeout_ms / 1000:g} s" if busy_timeout_ms is not None else "the busy timeout"
        return DataError(f"数据库 {path} 被另一个进程占用，等待 {waited} 后仍未释放，未做任何更改；请稍后重试；"
                         f"the database {path} is locked by another process for longer than {waited} "
                         f"([store] busy_timeout_ms): nothing was changed; try again later {detail}")
    if code == "SQLITE_FULL":
        return DataError(f"磁盘已满，无法写入数据库 {path}，未做任何更改；请腾出空间后重试；the disk holding {path} "
                         f"is full: nothing was changed; free some space and try again {detail}")
    if code == "SQLITE_IOERR":
        return DataError(f"读写数据库 {path} 时发生磁盘 I/O 错误，未做任何更改；请检查磁盘或网络共享；a disk I/O error "
                         f"on {path}: nothing was changed; check the disk or network share {detail}")
    if code == "SQLITE_CANTOPEN":
        return DataError(f"无法打开数据库 {path}（文件夹不存在、不可访问或不可写，或它是文件夹）；请检查路径和权限；"
                         f"cannot open the database {path} (its folder is missing, not accessible or not writable, or it is "
                         f"a folder): check the path and permissions {detail}")
    if code in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
        return DataError(f"{path} 不是 monitor 数据库（或已损坏）；请用 --db 指定正确的数据库文件；{path}: not a monitor "
                         f"database (or a damaged one): pass the right file with --db {detail}")
    return DataError(f"数据库 {path} 出错，未做任何更改；database error on {path}: nothing was changed {detail}")


def _disk_free(path: str) -> int:
    try:
        return shutil.disk_usage(Path(path).parent).free
    except OSError:
        return 1 << 62


def read_meta(path: str | Path, key: str) -> str | None:
    """`key` from the meta table of the SQLite file at `path`, read without writing anything;
    None if the file is a database without that row (or without a meta table). A file that is
    not a SQLite database raises DataError."""
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone():
                return None
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        raise DataError(f"{path}: 不是 SQLite 数据库；not a SQLite database ({e})") from None
    return row[0] if row else None


# --- the store ------------------------------------------------------------------------------

class Store(HouseholdTables):
    """A connection to one monitor database.

    >>> s = Store.open(":memory:")
    >>> s.count("townships")
    0
    """

    def __init__(self, conn: sqlite3.Connection, path: str, *, readonly: bool = False,
                 busy_timeout_ms: int = 30_000):
        self.conn = conn
        self.path = path
        self.readonly = readonly  # opened read-only: the file or its folder may not be written
        self.busy_timeout_ms = busy_timeout_ms
        self._db = None
        self._meta_ready = False
        self._uncounted = False  # this write() changed only bookkeeping (see leave_uncounted)

    @classmethod
    def open(cls, path: str | Path, *, busy_timeout_ms: int = 30_000, migrate: bool = True) -> "Store":
        """Open (or create) the database at `path`.

        A database this process may not write (a read-only file, or a file in a read-only
        folder, where SQLite cannot create the -wal and -shm files WAL mode needs) is opened
        read-only: commands that only read work, and a write fails with a clear DataError.
        """
        path = str(path)
        if path.lower().startswith(("postgresql:/", "postgres:/")):  # a URL, maybe mangled by Path()
            raise UsageError(f"{path} 是 PostgreSQL 网址，不是 SQLite 文件；请用 monitor.store.open_store 打开；"
                             f"{path} is a PostgreSQL URL, not a SQLite file: open it with monitor.store.open_store")
        readonly = False
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            conn = _connect(path, busy_timeout_ms)
        except OSError as e:
            raise DataError(f"无法创建数据库 {path}（{e.strerror or e}）；cannot create the database {path} "
                            f"({e.strerror or e}): check the folder and its permissions") from None
        except sqlite3.Error as e:
            if path == ":memory:" or not Path(path).is_file() or _code(e) not in _NOT_WRITABLE:
                raise _translated(e, path) from e
            conn = _connect_readonly(path, busy_timeout_ms)
            readonly = True
        store = cls(conn, path, readonly=readonly, busy_timeout_ms=busy_timeout_ms)
        if migrate:
            store.migrate()
        return store

    def close(self) -> None:
        self.conn.close()

    # --- meta: facts about the database itself -----------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.write():
            self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)"
                              " ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    @property
    def db(self):
        """sqlite-utils view of the same connection (imported on first use: it is slow to import)."""
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.conn, execute_plugins=False)
        return self._db

    @property
    def version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        if self.version >= len(MIGRATIONS):
            return
        if self.readonly:
            raise DataError(f"数据库 {self.path} 需要升级（版本 {self.version} → {len(MIGRATIONS)}）但它是只读的，"
                            f"请由有写权限的用户运行一次任何命令；the database {self.path} needs upgrading "
                            f"(version {self.version} -> {len(MIGRATIONS)}) but is read-only: run any command "
                            "once as a user who may write it")
        with self.write():
            # re-read inside the write lock: another process may have migrated meanwhile
            for number, step in enumerate(MIGRATIONS, start=1):
                if self.version < number:
                    step(self)
                    self.conn.execute(f"PRAGMA user_version={number}")

    @contextmanager
    def write(self) -> Iterator["Store"]:
        """One write transaction, taken with BEGIN IMMEDIATE (nested calls join the outer one)."""
        if self.conn.in_transaction:
            yield self
            return
        if self.readonly:
            raise _translated(sqlite3.OperationalError("attempt to write a readonly database"), self.path,
                              code="SQLITE_READONLY", busy_timeout_ms=self.busy_timeout_ms)
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            self._uncounted = False
            try:
                before = self.conn.total_changes
                yield self
                if self.conn.total_changes != before and not self._uncounted and self._counts_changes():
                    self.conn.execute(_BUMP_CHANGES)
            except BaseException:
                self._rollback()
                raise
            self.conn.execute("COMMIT")
        except sqlite3.Error as e:
            self._rollback()
            if _code(e) in _ENVIRONMENT:  # the disk, the lock, permissions: not a bug to trace
                raise _translated(e, self.path, busy_timeout_ms=self.busy_timeout_ms) from e
            raise

    def leave_uncounted(self) -> None:
        """Inside `write()`: this transaction changed only bookkeeping that nothing derived reads
        (a fetch_log row for a fetch that stored nothing new, the map's own record), so it does not
        move the change token and does not make the next evaluation redo its work."""
        self._uncounted = True

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:  # SQLite may have rolled back itself (a full disk, an I/O error)
                pass

    @contextmanager
    def snapshot(self) -> Iterator[tuple]:
        """A read transaction: every read inside sees one consistent state of the database.

        Yields that state's `change_token()`: comparing it with the token read later (inside
        `write()`) tells whether anything was committed in between (nested inside a
        transaction, it joins it).
        """
        if self.conn.in_transaction:
            yield self.change_token()
            return
        self.conn.execute("BEGIN")
        try:
            self.conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # take the snapshot now
            yield self.change_token()
        finally:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")

    def change_token(self) -> tuple:
        """An opaque value that differs once anything has been committed since it was read (read
        it inside `snapshot()` or `write()`; compare only values read on this store).

        The engine-neutral part is `meta.change_count`, bumped by every `write()` transaction that
        changed a row (the same on PostgreSQL); SQLite's `PRAGMA data_version` is kept beside it because it
        also sees commits that bypass `write()`, such as an older monitor still running on the
        same file, at no cost."""
        count = self.meta("change_count") if self._counts_changes() else None
        return (count, self.data_version())

    def data_version(self) -> int:
        """Changes whenever another connection commits (PRAGMA data_version)."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def _counts_changes(self) -> bool:
        """Whether the schema has the `meta` table that holds the change count (migration 4 on)."""
        if not self._meta_ready:
            self._meta_ready = self.version >= 4
        return self._meta_ready

    def count(self, table: str, where: str = "", params: Sequence = ()) -> int:
        sql = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
        return self.conn.execute(sql, params).fetchone()[0]

    # --- townships ---------------------------------------------------------------------------

    def townships(self, *, with_geometry: bool = True) -> list[dict]:
        cols = "*" if with_geometry else "code, name, name_en, kind, minx, miny, maxx, maxy, lon, lat, approximate, source"
        return [dict(r) for r in self.conn.execute(f"SELECT {cols} FROM townships ORDER BY code")]

    def township_records(self, *, with_geometry: bool = True) -> list[Township]:
        return [Township.from_row(r) for r in self.townships(with_geometry=with_geometry)]

    def replace_townships(self, rows: Iterable[dict]) -> int:
        """Replace the whole township set (call inside `write()` with the facility re-derivation)."""
        self.conn.execute("UPDATE facilities SET township = NULL")
        self.conn.execute("UPDATE follow_ups SET township = NULL WHERE township IS NOT NULL")
        self.conn.execute("DELETE FROM townships")
        cols = ("code", "name", "name_en", "kind", "geometry", "minx", "miny", "maxx", "maxy",
                "lon", "lat", "approximate", "source")
        rows = list(rows)
        self.conn.executemany(
            f"INSERT INTO townships ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [tuple(r.get(c) for c in cols) for r in rows],
        )
        return len(rows)

    def township_summary(self) -> list[dict]:
        rows = self.conn.execute(
            "SELECT t.code, t.name, t.name_en, t.kind, t.approximate, t.source, count(f.id) AS facilities"
            " FROM townships t LEFT JOIN facilities f ON f.township = t.code GROUP BY t.code ORDER BY t.code")
        return [dict(r) for r in rows]

    def township_lookup(self, text: str) -> dict:
        """A township by code, name, short name (汤河口), a unique part of its name, pinyin or English
        name, full-width input folded (monitor.matching); UsageError with "did you mean" otherwise."""
        from ..matching import Choice, Unmatched, match, shown

        rows = [dict(r) for r in self.conn.execute("SELECT code, name, name_en FROM townships ORDER BY code")]
        choices = [Choice(r["code"], (r["code"], r["name"], r["name_en"]),
                          f"{r['name']} {r['name_en']}" if r["name_en"] else r["name"]) for r in rows]
        try:
            code = match(text, choices, parts=True).value
        except Unmatched as e:
            t = shown(e.text)
            if e.ambiguous:
                names = ", ".join(c.label for c in e.ambiguous)
                raise UsageError(f"“{t}”对应多个乡镇：{'、'.join(c.label for c in e.ambiguous)}，请写全名称；"
                                 f"township '{t}' is ambiguous: {names}; type more of the name") from None
            if e.suggestions:
                zh, en = "、".join(c.label for c in e.suggestions), " or ".join(c.label for c in e.suggestions)
                raise UsageError(f"没有乡镇“{t}”，是否要找：{zh}？；no township '{t}': did you mean {en}? "
                                 "(`monitor townships list` shows them)") from None
            raise UsageError(f"没有乡镇“{t}”，`monitor townships list` 列出全部乡镇；no township '{t}'; "
                             "`monitor townships list` shows them") from None
        return next(r for r in rows if r["code"] == code)

    # --- districts ---------------------------------------------------------------------------

    _GEOMETRY_IN = "?"  # how a WKB parameter becomes a stored geometry (PostgreSQL: ST_GeomFromWKB)
    _GEOMETRY_OUT = "geometry"

    def replace_districts(self, rows: Iterable[dict]) -> int:
        """Replace the whole district set (rows as townships': code, name, geometry WKB, ...)."""
        rows = list(rows)
        with self.write():
            self.conn.execute("DELETE FROM districts")
            self.conn.executemany(
                f"INSERT INTO districts ({', '.join(DISTRICT_COLUMNS)}, geometry) VALUES"
                f" ({', '.join('?' * len(DISTRICT_COLUMNS))}, {self._GEOMETRY_IN})",
                [tuple(r.get(c) for c in DISTRICT_COLUMNS) + (r["geometry"],) for r in rows])
        return len(rows)

    def districts(self, *, with_geometry: bool = True) -> list[dict]:
        cols = ", ".join(DISTRICT_COLUMNS) + (f", {self._GEOMETRY_OUT} AS geometry" if with_geometry else "")
        rows = [dict(r) for r in self.conn.execute(f"SELECT {cols} FROM districts ORDER BY code")]
        for r in rows:
            if isinstance(r.get("geometry"), memoryview):
                r["geometry"] = bytes(r["geometry"])
        return rows

    # --- facilities --------------------------------------------------------------------------

    def insert_facilities(self, rows: Sequence[dict], *, at: str, by: str, note: str) -> list[int]:
        """Insert facilities and one history row each recording their initial status (one
        set-based INSERT ... SELECT over the new ids, not a Python row per facility)."""
        cols = ("id",) + FACILITY_COLUMNS + ("ref",)
        sql = f"INSERT INTO facilities ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        cur = self.conn.cursor()
        with self.write():  # the ids are chosen and used in one transaction, the history with them
            first = cur.execute("SELECT coalesce(max(id), 0) + 1 FROM facilities").fetchone()[0]
            ids = list(range(first, first + len(rows)))
            stamps = {"created": at, "updated": at}
            cur.executemany(sql, ((i, *(stamps[c] if c in stamps else r.get(c) for c in cols[1:]))
                                  for i, r in zip(ids, rows)))
            if ids:
                cur.execute("INSERT INTO status_history (facility_id, at, by, old_status, new_status, note, inspected,"
                            " due) SELECT id, ?, ?, NULL, status, ?, last_inspected, due FROM facilities"
                            " WHERE id BETWEEN ? AND ? ORDER BY id", (at, by, note, ids[0], ids[-1]))
        return ids

    def max_facility_id(self) -> int:
        return self.conn.execute("SELECT coalesce(max(id), 0) FROM facilities").fetchone()[0]

    def facilities_by_ref(self, refs: Sequence[str]) -> dict[str, dict]:
        """The facilities with these refs (the office's own identifiers), by ref."""
        out: dict[str, dict] = {}
        refs = list(dict.fromkeys(refs))
        for i in range(0, len(refs), 500):
            part = refs[i:i + 500]
            sql = f"SELECT * FROM facilities WHERE ref IN ({', '.join('?' * len(part))})"
            out.update((r["ref"], dict(r)) for r in self.conn.execute(sql, part))
        return out

    def facilities_with_names(self, names: Sequence[str]) -> list[dict]:
        """id, kind, name, lon, lat and ref of the facilities named exactly one of `names` (indexed)."""
        out: list[dict] = []
        names = list(dict.fromkeys(names))
        for i in range(0, len(names), 500):
            part = names[i:i + 500]
            out += [dict(r) for r in self.conn.execute(
                f"SELECT id, kind, name, lon, lat, ref FROM facilities WHERE name IN ({', '.join('?' * len(part))})"
                " ORDER BY id", part)]
        return out

    def update_facilities(self, changes: Iterable[tuple[int, dict]]) -> None:
        """Set the given columns of each facility: (id, {column: value}); call inside `write()`.
        Status, inspection and due date changes also need their history row (`append_history`)."""
        allowed = set(FACILITY_COLUMNS) | {"ref"}
        for facility_id, values in changes:
            cols = [c for c in values if c in allowed]
            if len(cols) != len(values):
                raise ValueError(f"not facility columns: {sorted(set(values) - allowed)}")
            cur = self.conn.execute(f"UPDATE facilities SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
                                    [values[c] for c in cols] + [facility_id])
            if cur.rowcount != 1:
                raise DataError(f"facility {facility_id} is not in the database")

    def append_history_rows(self, rows: Iterable[tuple]) -> None:
        """Append status_history rows: (facility_id, at, by, old_status, new_status, note, inspected, due)."""
        self.conn.executemany(
            "INSERT INTO status_history (facility_id, at, by, old_status, new_status, note, inspected, due)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def facility(self, facility_id: int) -> dict | None:
        row = self.conn.execute("SELECT * FROM facilities WHERE id = ?", (facility_id,)).fetchone()
        return dict(row) if row else None

    def facility_counts(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self.conn.execute("SELECT kind, count(*) FROM facilities GROUP BY kind")}

    def facility_columns(self, columns: Sequence[str]) -> dict[str, list]:
        """Whole columns of the facilities table, for vectorised evaluation."""
        rows = self.conn.execute(f"SELECT {', '.join(columns)} FROM facilities ORDER BY id").fetchall()
        return {c: [r[i] for r in rows] for i, c in enumerate(columns)}

    def set_facility_townships(self, pairs: Iterable[tuple[str | None, int]]) -> None:
        self.conn.executemany("UPDATE facilities SET township = ? WHERE id = ?", pairs)

    def history(self, facility_id: int, limit: int | None = None) -> list[dict]:
        sql = "SELECT * FROM status_history WHERE facility_id = ? ORDER BY id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [dict(r) for r in self.conn.execute(sql, (facility_id,))]

    def history_entries(self, facility_id: int, limit: int | None = None) -> list[HistoryEntry]:
        """A facility's history, newest first (the first `limit` entries)."""
        return [HistoryEntry.from_row(r) for r in self.history(facility_id, limit)]

    def recent_history(self, per_facility: int) -> dict[int, list[dict]]:
        rows = self.conn.execute(
            "SELECT * FROM (SELECT h.*, row_number() OVER (PARTITION BY facility_id ORDER BY id DESC) AS n"
            " FROM status_history h) AS recent WHERE n <= ? ORDER BY facility_id, id DESC",
            (per_facility,),
        )
        out: dict[int, list[dict]] = {}
        for r in rows:
            out.setdefault(r["facility_id"], []).append(dict(r))
        return out

    # --- field updates -----------------------------------------------------------------------
    # One facility at a time, as field staff change it (monitor.fieldwork). Callers hold
    # `write()` around a read and the writes that depend on it, so no concurrent change is lost.

    def facilities_named(self, text: str) -> list[dict]:
        """Facilities named exactly `text`, else those whose name contains it (id order)."""
        sql = ("SELECT f.id, f.name, f.kind, f.status, t.name AS township_name FROM facilities f"
               " LEFT JOIN townships t ON t.code = f.township WHERE {} ORDER BY f.id")
        rows = self.conn.execute(sql.format("f.name = ?"), (text,)).fetchall()
        if not rows:
            rows = self.conn.execute(sql.format("instr(f.name, ?) > 0"), (text,)).fetchall()
        return [dict(r) for r in rows]

    def set_facility_state(self, facility_id: int, *, status: str, updated: str,
                           last_inspected: str | None, due: str | None, severity: Any = ...) -> None:
        """Set a facility's status, inspection and due dates, severity unless left out (absolute
        values) and `updated`."""
        sets, params = "status = ?, updated = ?, last_inspected = ?, due = ?", [status, updated, last_inspected, due]
        if severity is not ...:
            sets, params = sets + ", severity = ?", params + [severity]
        cur = self.conn.execute(f"UPDATE facilities SET {sets} WHERE id = ?", (*params, facility_id))
        if cur.rowcount != 1:
            raise DataError(f"facility {facility_id} is not in the database")

    def append_history(self, facility_id: int, *, at: str, by: str, old_status: str | None, new_status: str,
                       note: str | None, inspected: str | None, due: str | None,
                       undoes: int | None = None, old_severity: str | None = None,
                       new_severity: str | None = None) -> int:
        """Append one status_history row; its id."""
        cur = self.conn.execute(
            "INSERT INTO status_history (facility_id, at, by, old_status, new_status, note, inspected, due, undoes,"
            " old_severity, new_severity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (facility_id, at, by, old_status, new_status, note, inspected, due, undoes, old_severity, new_severity),
        )
        return cur.lastrowid

    def select_facilities(self, *, ids: Sequence[int] | None = None, township: str | None = None,
                          kind: str | None = None,
                          kind_statuses: Iterable[tuple[str, str]] | None = None,
                          responsible: str | None = None, due_before: str | None = None,
                          bbox: tuple[float, float, float, float] | None = None) -> list[dict]:
        """Facilities (with township_name) matching every filter given, in id order.

        kind_statuses: the (kind, status) pairs allowed; responsible: a part of the name;
        due_before: an ISO date the due date lies before; bbox: (minx, miny, maxx, maxy).
        """
        where: list[str] = []
        params: list[Any] = []
        if ids is not None:
            where.append(f"f.id IN ({', '.join('?' * len(ids))})" if ids else "0")
            params += [int(i) for i in ids]
        if township is not None:
            where.append("f.township = ?")
            params.append(township)
        if kind is not None:
            where.append("f.kind = ?")
            params.append(kind)
        if kind_statuses is not None:
            pairs = sorted(set(kind_statuses))
            if not pairs:
                return []
            where.append("(" + " OR ".join("(f.kind = ? AND f.status = ?)" for _ in pairs) + ")")
            params += [v for p in pairs for v in p]
        if responsible is not None:
            where.append("instr(f.responsible, ?) > 0")
            params.append(responsible)
        if due_before is not None:
            where.append("f.due IS NOT NULL AND f.due != '' AND f.due < ?")
            params.append(due_before)
        if bbox is not None:
            where.append("f.lon BETWEEN ? AND ? AND f.lat BETWEEN ? AND ?")
            params += [bbox[0], bbox[2], bbox[1], bbox[3]]
        sql = ("SELECT f.*, t.name AS township_name FROM facilities f LEFT JOIN townships t ON t.code = f.township"
               + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY f.id")
        return [dict(r) for r in self.conn.execute(sql, params)]

    # --- alerts ------------------------------------------------------------------------------

    _FOUND = ", ".join(("id", *(c for c in ALERT_COLUMNS if c != "raw"), "state", "superseded_by", "withdrawn"))

    def find_alert(self, sender: str, identifier: str, sent: str | None = None) -> list[dict]:
        """Stored messages with this key, every column but `raw` (JSON columns as stored text).
        Without `sent`: every one with this identifier (and sender, unless it is empty), by sent."""
        if sent:
            rows = self.conn.execute(
                f"SELECT {self._FOUND} FROM alerts WHERE sender = ? AND identifier = ? AND sent = ?",
                (sender, identifier, sent))
        else:
            rows = self.conn.execute(
                f"SELECT {self._FOUND} FROM alerts WHERE identifier = ? AND (sender = ? OR ? = '') ORDER BY sent",
                (identifier, sender, sender or ""))
        return [dict(r) for r in rows]

    def referencing_alerts(self, sender: str, identifier: str, sent: str | None, *, exclude: int) -> list[dict]:
        """id, msg_type and sent of the stored messages (but `exclude`) whose references name the
        message (sender, identifier, sent), by sent; a reference without a sender or a sent time
        names that identifier from any sender or at any time. An indexed lookup in alert_refs."""
        rows = self.conn.execute(
            "SELECT DISTINCT a.id, a.msg_type, a.sent FROM alert_refs r JOIN alerts a ON a.id = r.alert_id"
            " WHERE r.identifier = ? AND r.alert_id != ?"
            " AND (coalesce(r.sender, '') = '' OR r.sender = ?) AND (coalesce(r.sent, '') = '' OR r.sent = ?)"
            " ORDER BY a.sent, a.id",
            (identifier, exclude, sender, sent))
        return [dict(r) for r in rows]

    def insert_alert(self, row: dict) -> int | None:
        """Insert one alert and its references (alert_refs); None when (sender, identifier, sent)
        is already stored. `refs`: [sender, identifier, sent] triples (a list, or its JSON text)."""
        cols = ALERT_COLUMNS
        values = [json.dumps(row[c], ensure_ascii=False) if isinstance(row.get(c), (list, dict)) else row.get(c)
                  for c in cols]
        cur = self.conn.execute(
            f"INSERT OR IGNORE INTO alerts ({', '.join(cols)}, state) VALUES ({', '.join('?' * len(cols))}, 'active')",
            values,
        )
        if not cur.rowcount:
            return None
        new_id = cur.lastrowid
        refs = row.get("refs") or []
        if isinstance(refs, str):
            refs = json.loads(refs)
        if refs:
            self.conn.executemany("INSERT INTO alert_refs (alert_id, sender, identifier, sent) VALUES (?, ?, ?, ?)",
                                  _ref_rows(new_id, refs))
        return new_id

    def supersede_alert(self, alert_id: int, by_id: int, state: str) -> bool:
        cur = self.conn.execute(
            "UPDATE alerts SET state = ?, superseded_by = ? WHERE id = ? AND state = 'active'",
            (state, by_id, alert_id),
        )
        return cur.rowcount > 0

    def alerts(self, *, where: str = "", params: Sequence = (), order: str = "sent DESC, id DESC") -> list[dict]:
        sql = "SELECT * FROM alerts" + (f" WHERE {where}" if where else "") + f" ORDER BY {order}"
        return [_decode_alert(dict(r)) for r in self.conn.execute(sql, params)]

    def alert(self, alert_id: int) -> dict | None:
        row = self.conn.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        return _decode_alert(dict(row)) if row else None

    def find_alert_by_id(self, alert_id: int) -> dict | None:
        """id, state and the withdrawal columns of one alert, or None."""
        row = self.conn.execute("SELECT id, state, withdrawn, withdrawn_by, withdrawn_note FROM alerts WHERE id = ?",
                                (alert_id,)).fetchone()
        return dict(row) if row else None

    def withdraw_alert(self, alert_id: int, *, at: str, by: str, note: str) -> bool:
        """Record that a person retired alert `alert_id` at `at`: state 'withdrawn' (no longer in
        force anywhere), with who and why; nothing else changes and nothing is deleted. False when
        it was withdrawn (or retired by a newer forecast) before: the first withdrawal stands."""
        cur = self.conn.execute(
            "UPDATE alerts SET state = 'withdrawn', withdrawn = ?, withdrawn_by = ?, withdrawn_note = ?"
            " WHERE id = ? AND withdrawn IS NULL",
            (at, by, note, alert_id),
        )
        return cur.rowcount > 0

    # --- fetch log ---------------------------------------------------------------------------

    def log_fetch(self, row: dict) -> int:
        cols = [c for c in row if c != "id"]
        cur = self.conn.execute(
            f"INSERT INTO fetch_log ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [row[c] for c in cols],
        )
        return cur.lastrowid

    def last_fetch(self, source: str, *, ok: bool | None = None) -> dict | None:
        sql = "SELECT * FROM fetch_log WHERE source = ?"
        params: list[Any] = [source]
        if ok is not None:
            sql += " AND ok = ?"
            params.append(int(ok))
        row = self.conn.execute(sql + " ORDER BY id DESC LIMIT 1", params).fetchone()
        return dict(row) if row else None

    def fetch_record(self, source: str, *, ok: bool | None = None) -> FetchRecord | None:
        """The latest fetch of `source` (with `ok`: the latest that succeeded, or failed)."""
        row = self.last_fetch(source, ok=ok)
        return FetchRecord.from_row(row) if row else None

    # --- reports -----------------------------------------------------------------------------
    # What the monthly review (monitor.report) reads. Times are stored UTC ISO strings, which
    # compare as text; every bound here is inclusive, so `until` is the last second counted.

    def history_until(self, until: str) -> list[dict]:
        """Every status_history row recorded at or before `until`, by facility, oldest first."""
        rows = self.conn.execute(
            "SELECT * FROM status_history WHERE at <= ? ORDER BY facility_id, id", (until,))
        return [dict(r) for r in rows]

    def alerts_overlapping(self, start: str, until: str) -> list[dict]:
        """Actual alert messages (not Cancels) known by `until` that may be in force after `start`.

        Each row carries `superseded_at`, the sent time of the message that updated or cancelled
        it, or the time it was withdrawn (None if neither); the caller cuts the validity short there.
        """
        rows = self.conn.execute(
            "SELECT a.*, coalesce(s.sent, a.withdrawn) AS superseded_at"
            " FROM alerts a LEFT JOIN alerts s ON s.id = a.superseded_by"
            f" WHERE {_WARNING_UNTIL} ORDER BY a.sent, a.id",
            (until, start),
        )
        return [_decode_alert(dict(r)) for r in rows]

    def alerts_in_force(self, at: str) -> list[dict]:
        """Warnings in force at `at` (UTC ISO): Actual, not a Cancel, not superseded or cancelled,
        sent by then and not yet ended (NWS `ends`, else `expires`). Newest first."""
        rows = self.conn.execute(
            f"SELECT a.* FROM alerts a WHERE a.state = 'active' AND {_WARNING_UNTIL} ORDER BY a.sent DESC, a.id DESC",
            (at, at))
        return [_decode_alert(dict(r)) for r in rows]

    def follow_ups_between(self, start: str, until: str) -> list[dict]:
        """Follow-ups open at some moment of [start, until], with their facility and township."""
        rows = self.conn.execute(
            "SELECT u.*, f.name, f.kind, f.subtype, f.status, f.responsible,"
            " coalesce(u.township, f.township) AS township_code, t.name AS township_name"
            " FROM follow_ups u LEFT JOIN facilities f ON f.id = u.facility_id"
            " LEFT JOIN townships t ON t.code = coalesce(u.township, f.township)"
            " WHERE u.since <= ? AND (u.closed IS NULL OR u.closed > ?)"
            " ORDER BY u.priority, u.id",
            (until, start),
        )
        return [{**dict(r), "causes": json.loads(r["causes"] or "[]")} for r in rows]

    # --- refresh -----------------------------------------------------------------------------
    # What `monitor alerts refresh` (monitor.refresh, monitor.fetch) needs beyond alerts and
    # fetch_log above. Callers hold `write()`: one source's alerts and its log row commit together.

    def retire_forecast_alerts(self, source: str, prefix: str, before: str, keep: Sequence[str]) -> int:
        """Mark `updated` (no successor, withdrawn at `before`) the active forecast alerts of `source`
        whose identifier starts with `prefix` (one township's), sent before `before`, except
        identifiers in `keep`."""
        marks = ", ".join("?" * len(keep))
        cur = self.conn.execute(
            "UPDATE alerts SET state = 'updated', withdrawn = ? WHERE source = ? AND format = 'forecast'"
            " AND state = 'active'"
            " AND substr(identifier, 1, ?) = ? AND sent < ?"
            + (f" AND identifier NOT IN ({marks})" if keep else ""),
            (before, source, len(prefix), prefix, before, *keep),
        )
        return cur.rowcount

    # --- follow-ups --------------------------------------------------------------------------

    def sync_follow_up_rows(self, current: Iterable[tuple], *, at: str,
                            facility_id: int | None = None) -> dict[str, int]:
        """Make the open follow-ups equal `current`; call inside `write()`. With `facility_id`,
        only that facility's follow-ups (`current` then holds only its rows).

        `current`: (facility_id, township, rule, priority, reason, reason_en, causes JSON) tuples,
        keyed by (facility_id, township, rule). One that persists keeps its `since` and is not
        written at all unless its priority, reason or causes changed (then last_seen = `at` too);
        a new one opens with since = last_seen = `at`; an open one no longer in `current` is closed
        at `at`, never deleted. So a repeat with nothing changed writes no row (when the rules were
        last evaluated is `meta.evaluated_at`). The stored rows are streamed past an index of
        `current` (whose strings are shared between follow-ups of the same case), so memory stays
        near the size of `current` and a million follow-ups take seconds.
        """
        rows = current if isinstance(current, list) else list(current)
        index = {(r[0], r[1], r[2]): i for i, r in enumerate(rows)}
        seen = bytearray(len(rows))
        closes, updates = [], []
        kept = 0
        cur = self.conn.cursor()
        cur.row_factory = None  # plain tuples: half the cost of sqlite3.Row at this size
        one = " AND facility_id = ?" if facility_id is not None else ""
        cur.execute("SELECT id, facility_id, township, rule, priority, reason, reason_en, causes"
                    " FROM follow_ups WHERE closed IS NULL" + one, (facility_id,) if one else ())
        while chunk := cur.fetchmany(20_000):
            for id_, fid, town, rule, priority, reason, reason_en, causes in chunk:
                i = index.get((fid, town, rule))
                if i is None or seen[i]:  # gone (or a duplicate open row: close it too)
                    closes.append((at, id_))
                    continue
                seen[i] = 1
                kept += 1
                r = rows[i]
                if r[3] != priority or r[4] != reason or r[5] != reason_en or r[6] != causes:
                    updates.append((r[3], r[4], r[5], r[6], at, id_))
        cur.executemany("UPDATE follow_ups SET closed = ? WHERE id = ?", closes)
        cur.executemany("UPDATE follow_ups SET priority = ?, reason = ?, reason_en = ?, causes = ?, last_seen = ?"
                        " WHERE id = ?", updates)
        cur.executemany("INSERT INTO follow_ups (facility_id, township, rule, priority, reason, reason_en, causes,"
                        " since, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        ((*r, at, at) for i, r in enumerate(rows) if not seen[i]))
        return {"new": len(rows) - kept, "kept": kept, "changed": len(updates), "closed": len(closes)}

    def last_evaluation(self) -> str | None:
        """When the rules were last evaluated over every facility (recorded in `meta` as
        evaluated_at; in older databases the latest last_seen), None if never."""
        return self.meta("evaluated_at") or self.conn.execute(
            "SELECT max(last_seen) FROM follow_ups").fetchone()[0]

    _CODED = "coalesce({c}, '')"  # one text column of a coded group (PostgreSQL casts integers first)

    _FOLLOW_UP_FROM = (" FROM follow_ups u LEFT JOIN facilities f ON f.id = u.facility_id"
                       " LEFT JOIN townships t ON t.code = coalesce(u.township, f.township)")
    _FOLLOW_UP_ORDER = " ORDER BY u.priority, coalesce(f.households, 0) DESC, u.facility_id, u.rule"

    @staticmethod
    def _follow_up_where(*, township=None, district=None, kind=None, priorities=None, facility_id=None, opened_at=None,
                         closed_at=None, opened_after=None, closed_after=None) -> tuple[str, list]:
        """Open follow-ups, or those closed at `closed_at` / after `closed_after` ("" = ever);
        `opened_at` / `opened_after` narrow to those opened then / since then."""
        if closed_at:
            where, params = ["u.closed = ?"], [closed_at]
        elif closed_after is not None:
            where, params = ["u.closed > ?"], [closed_after]
        else:
            where, params = ["u.closed IS NULL"], []
        if opened_at:
            where.append("u.since = ?")
            params.append(opened_at)
        if opened_after is not None:
            where.append("u.since > ?")
            params.append(opened_after)
        if township is not None:
            where.append("coalesce(u.township, f.township) = ?")
            params.append(township)
        if district is not None:  # its 6-digit code begins each of its townships' codes
            where.append("substr(coalesce(u.township, f.township), 1, 6) = ?")
            params.append(district[:6])
        if kind is not None:
            where.append("f.kind = ?")
            params.append(kind)
        if priorities:
            where.append(f"u.priority IN ({', '.join('?' * len(priorities))})")
            params += list(priorities)
        if facility_id is not None:
            where.append("u.facility_id = ?")
            params.append(facility_id)
        return " WHERE " + " AND ".join(where), params

    def follow_up_list(self, *, decode_causes: bool = True, limit: int | None = None, **filters) -> list[dict]:
        """Follow-ups with their facility and township, by priority, then households served (most
        first), then facility id. Open ones, or (filters) those opened at `opened_at` (still
        open) or closed at `closed_at`; `township` (code), `kind`, `priorities`, `facility_id`.
        `decode_causes=False` leaves causes as the stored JSON text; `limit`: the first rows only."""
        where, params = self._follow_up_where(**filters)
        where += self._FOLLOW_UP_ORDER + (" LIMIT ?" if limit else "")
        params += [int(limit)] if limit else []
        cur = self.conn.cursor()
        cur.row_factory = None
        cur.execute(
            "SELECT u.id, u.facility_id, coalesce(u.township, f.township), t.name, f.name, f.kind, f.subtype,"
            " f.status, coalesce(f.households, 0), f.responsible, f.phone, f.lon, f.lat, u.rule, u.priority,"
            " u.reason, u.reason_en, u.causes, u.since, u.last_seen, u.closed"
            + self._FOLLOW_UP_FROM + where, params)
        names = ("id", "facility_id", "township_code", "township_name", "name", "kind", "subtype", "status",
                 "households", "responsible", "phone", "lon", "lat", "rule", "priority", "reason", "reason_en",
                 "causes", "since", "last_seen", "closed")
        rows = [dict(zip(names, r)) for r in cur]
        if decode_causes:
            for r in rows:
                r["causes"] = json.loads(r["causes"] or "[]")
        return rows

    def follow_up_json(self, *, at: str | None = None, new_after: str | None = None, limit: int | None = None,
                       **filters) -> Iterator[list[str]]:
        """The same rows and order as `follow_up_list`, each already a JSON object (built by
        SQLite's json_object: at 10^5-10^6 follow-ups, building them in Python costs seconds),
        in chunks, so that a caller can write them out without holding them all.

        Fields: follow_up_id, facility_id, name, township (name), township_code, kind, subtype, status,
        households, responsible, phone, rule, priority, reason, reason_en, since, closed,
        new (still open and opened at `at`, or with `new_after`, after it), causes (the stored array,
        as stored)."""
        where, params = self._follow_up_where(**filters)
        obj = ("json_object('follow_up_id', u.id, 'facility_id', u.facility_id, 'name', f.name, 'township', t.name,"
               " 'township_code', coalesce(u.township, f.township), 'kind', f.kind, 'subtype', f.subtype,"
               " 'status', f.status, 'households', coalesce(f.households, 0), 'responsible', f.responsible,"
               " 'phone', f.phone, 'rule', u.rule, 'priority', u.priority, 'reason', u.reason,"
               " 'reason_en', u.reason_en, 'since', u.since, 'closed', u.closed,"
               " 'new', json(CASE WHEN u.since " + ("> ?" if new_after is not None else "= ?")
               + " AND u.closed IS NULL THEN 'true' ELSE 'false' END))")
        # the object ends in the scalar `new`, so its one closing brace can be cut and causes spliced in
        sql = (f"SELECT rtrim({obj}, '}}') || ',\"causes\":' || coalesce(u.causes, '[]') || '}}'"
               + self._FOLLOW_UP_FROM + where + self._FOLLOW_UP_ORDER + (" LIMIT ?" if limit else ""))
        cur = self.conn.cursor()
        cur.row_factory = None
        cur.execute(sql, [new_after if new_after is not None else at or ""] + params + ([int(limit)] if limit else []))
        while chunk := cur.fetchmany(10_000):
            yield [r[0] for r in chunk]

    def facility_column_arrays(self, numeric: dict[str, str], coded: Sequence[tuple[str, ...]], *,
                               kind_statuses: Iterable[tuple[str, str]] | None = None, chunk: int = 50_000):
        """Whole facility columns as numpy arrays in id order, for vectorised rule evaluation.

        numeric: column -> numpy dtype ("i8", "f8"), NULL read as 0. coded: groups of text
        columns, each read together as (codes, values): `codes` an int32 array per facility,
        `values` the distinct tuples (NULL as None) the codes index. One query, read in chunks
        with no per-row objects kept: 10^6 facilities take about as long as SQLite takes to
        hand the rows over (Python's sqlite3 costs about 1 us a row, whatever the columns).
        kind_statuses: only facilities with one of these (kind, status) pairs (SQLite skips the
        others without handing them to Python).
        """
        import numpy as np

        exprs = [f"coalesce({c}, 0)" for c in numeric]
        exprs += [" || char(31) || ".join(self._CODED.format(c=c) for c in group) for group in coded]
        cur = self.conn.cursor()
        cur.row_factory = None
        where, params = "", []
        if kind_statuses is not None:
            pairs = sorted(set(kind_statuses))
            where = (" WHERE (kind, status) IN (VALUES " + ", ".join("(?, ?)" for _ in pairs) + ")") if pairs \
                else " WHERE 0"
            params = [v for p in pairs for v in p]
        cur.execute(f"SELECT {', '.join(exprs)} FROM facilities{where} ORDER BY id", params)
        parts: list[list] = [[] for _ in exprs]
        maps: list[dict] = [{} for _ in coded]
        first = len(numeric)
        dtypes = list(numeric.values())
        while rows := cur.fetchmany(chunk):
            n = len(rows)
            for j, dtype in enumerate(dtypes):
                parts[j].append(np.fromiter((r[j] for r in rows), dtype, n))
            for g, seen in enumerate(maps):
                j = first + g
                parts[j].append(np.fromiter((seen.setdefault(r[j], len(seen)) for r in rows), np.int32, n))

        def join(j: int, dtype) -> np.ndarray:
            return np.concatenate(parts[j]) if parts[j] else np.empty(0, dtype)

        arrays = {c: join(j, dtypes[j]) for j, c in enumerate(numeric)}
        groups = {}
        for g, group in enumerate(coded):
            values = []
            for key in maps[g]:
                fields = key.split("\x1f")
                if len(fields) != len(group):
                    raise DataError(f"a facility's {'/'.join(group)} holds a control character; fix that row")
                values.append(tuple(v or None for v in fields))
            groups[group] = (join(first + g, np.int32), values)
        return arrays, groups


# every write() transaction that changed a row bumps this count (the change token's engine-neutral part)
_BUMP_CHANGES = ("INSERT INTO meta (key, value) VALUES ('change_count', '1')"
                 " ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1")


# An Actual warning message (not a Cancel) sent by the first parameter, not ended by the second.
_WARNING_UNTIL = ("coalesce(a.status, 'Actual') = 'Actual' AND coalesce(a.msg_type, 'Alert') != 'Cancel'"
                  " AND a.sent <= ? AND (coalesce(a.ends, a.expires) IS NULL OR coalesce(a.ends, a.expires) > ?)")


def _decode_alert(row: dict) -> dict:
    for c in ("area", "division_codes", "refs", "warnings"):
        if row.get(c):
            row[c] = json.loads(row[c])
    return row
