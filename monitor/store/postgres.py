"""The PostgreSQL + PostGIS engine: the same store, for a city's offices writing over a network.

Selected by a `postgresql://user@host/db` URL (`--db` or MONITOR_DB); psycopg 3 is imported only
here. The database must exist (`monitor db create URL` makes one with the C collation, so that
stored UTC ISO times and names compare byte by byte, exactly as on SQLite).

The SQL the two engines share lives in `monitor.store.sqlite.Store`, written in the subset both
understand; this engine runs it through `_Connection`, which speaks the sqlite3 connection's
small dialect to psycopg (`?` placeholders, `instr`, `char`, rows readable by name and by
position, `in_transaction`), and overrides what differs: connecting, the schema (the same
versioned migrations, PostgreSQL DDL), transactions, geometry and the few statements that need
RETURNING or PostgreSQL's JSON functions.

Transactions (the contract in monitor.store.interfaces):
- `write()`: BEGIN, then `pg_advisory_xact_lock(WRITE_LOCK)`: writers queue exactly as under
  SQLite's BEGIN IMMEDIATE; each statement (READ COMMITTED) sees every commit made before the
  lock was granted, so a read-then-write inside `write()` never loses an update and never fails
  with a serialization or lock error. Readers never wait.
- `snapshot()`: REPEATABLE READ, READ ONLY: one committed state for every read inside.
- `change_token()`: `meta.change_count`, bumped by every `write()` that changed a row.
- the refresh lock: `pg_try_advisory_lock(REFRESH_LOCK)`, held by the session, released at the
  end of the refresh or when its connection ends (a killed refresh leaves no stale lock file).

Geometry: `townships.geometry` is a PostGIS geometry (SRID 4326) with a GiST index, given and
returned as WKB bytes, so that the rest of the program (shapely) and `monitor db copy` see the
same bytes as on SQLite. `status_history` is append-only here too: triggers refuse UPDATE and
DELETE.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from ..errors import DataError
from .households import m6_households_postgres
from .records import Township
from .sqlite import ALERT_COLUMNS, FACILITY_COLUMNS, Store, _ref_rows
from .urls import shown_url

WRITE_LOCK = 7_310_001      # pg_advisory_xact_lock key every write() takes (writers queue on it)
REFRESH_LOCK = 7_310_002    # pg_try_advisory_lock key of `monitor alerts refresh`


# --- the sqlite3 dialect, spoken to psycopg -------------------------------------------------------

def _call_spans(text: str, name: str) -> list[tuple[int, int, int]]:
    """(start, argument start, end) of each call `name(...)` in `text`, by balanced parentheses."""
    spans, i = [], 0
    pattern = re.compile(rf"\b{name}\(")
    while (m := pattern.search(text, i)) is not None:
        depth, j = 1, m.end()
        while depth and j < len(text):
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
        spans.append((m.start(), m.end(), j))
        i = j
    return spans


def _rewrite_calls(text: str, name: str, make) -> str:
    for start, arg, end in reversed(_call_spans(text, name)):
        text = text[:start] + make(text[arg:end - 1]) + text[end:]
    return text


_STRFTIME_LOCAL = re.compile(r"strftime\('%Y-%m-%d %H:%M', ([\w.]+), '([+-]\d+) minutes'\)")


@lru_cache(maxsize=512)
def _sql(text: str) -> str:
    """The shared SQL in PostgreSQL's words: `?` -> `%s` (a literal % doubled), instr -> strpos,
    char -> chr, a bare `WHERE 0` -> `WHERE false`; SQLite's aggregates of whole columns
    (group_concat -> string_agg, json_group_array -> json_agg as text, in the order of the sorted
    subquery they read) and its local-time strftime (-> to_char of the UTC text plus the offset)."""
    text = _STRFTIME_LOCAL.sub(
        lambda m: f"to_char(({m.group(1)})::timestamp + interval '{m.group(2)} minutes', 'YYYY-MM-DD HH24:MI')", text)
    text = _rewrite_calls(text, "group_concat", lambda a: f"string_agg(({a})::text, ',')")
    text = _rewrite_calls(text, "json_group_array", lambda a: f"coalesce(json_agg({a}), '[]')::text")
    text = text.replace("%", "%%")
    out, quoted = [], False
    for ch in text:  # placeholders only outside string literals
        if ch == "'":
            quoted = not quoted
        out.append("%s" if ch == "?" and not quoted else ch)
    text = "".join(out)
    text = re.sub(r"\binstr\(", "strpos(", text)
    text = re.sub(r"\bchar\(", "chr(", text)
    return re.sub(r"\b(WHERE|AND) 0\b", r"\1 false", text)


class Row(tuple):
    """A result row readable by position and by column name (as sqlite3.Row), and `dict(row)`."""
    __slots__ = ()
    names: tuple[str, ...] = ()
    index: dict[str, int] = {}

    def __getitem__(self, key):
        if type(key) is str:
            key = self.index[key]
        return tuple.__getitem__(self, key)

    def keys(self):
        return list(self.names)


@lru_cache(maxsize=256)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    return type("Row", (Row,), {"__slots__": (), "names": names, "index": {n: i for i, n in enumerate(names)}})


def _row_factory(cursor):
    return _row_class(tuple(d.name for d in cursor.description or ()))


class _Cursor:
    def __init__(self, cur):
        self._cur = cur

    @property
    def row_factory(self):
        return self._cur.row_factory

    @row_factory.setter
    def row_factory(self, value) -> None:
        """None: plain tuples, as sqlite3 gives (the bulk reads: no per-row Python on access)."""
        from psycopg.rows import tuple_row

        self._cur.row_factory = tuple_row if value is None else value

    def execute(self, sql: str, params: Sequence = ()) -> "_Cursor":
        self._cur.execute(_sql(sql), list(params))  # always a list: psycopg then reads %% as %
        return self

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> "_Cursor":
        rows = list(rows)
        if rows:
            self._cur.executemany(_sql(sql), rows)
        return self

    def fetchone(self):
        return self._cur.fetchone()

    def fetchall(self):
        return self._cur.fetchall()

    def fetchmany(self, size: int):
        return self._cur.fetchmany(size)

    def __iter__(self):
        return iter(self._cur)

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount


class _Connection:
    """What Store's shared methods use of a sqlite3 connection, over a psycopg one (autocommit:
    transactions are begun and ended explicitly, as with sqlite3's isolation_level=None)."""

    def __init__(self, conn):
        self.raw = conn

    def cursor(self) -> _Cursor:
        return _Cursor(self.raw.cursor(row_factory=_row_factory))

    def execute(self, sql: str, params: Sequence = ()) -> _Cursor:
        return self.cursor().execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> _Cursor:
        return self.cursor().executemany(sql, rows)

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        self.raw.close()


# --- migrations: the same numbers as SQLite's, PostgreSQL's DDL ------------------------------------

def _m1_initial(store: "PostgresStore") -> None:
    alert_cols = ", ".join(f"{c} text" for c in ALERT_COLUMNS
                           if c not in ("source", "sender", "identifier", "sent", "raw"))
    for statement in (
        "CREATE EXTENSION IF NOT EXISTS postgis",
        "CREATE TABLE townships (code text PRIMARY KEY, name text NOT NULL, name_en text, kind text,"
        " geometry geometry(Geometry, 4326) NOT NULL, minx double precision, miny double precision,"
        " maxx double precision, maxy double precision, lon double precision, lat double precision,"
        " approximate integer, source text)",
        "CREATE INDEX townships_geometry ON townships USING gist (geometry)",
        "CREATE TABLE facilities (id bigint PRIMARY KEY, kind text NOT NULL, subtype text NOT NULL,"
        " name text NOT NULL, lon double precision NOT NULL, lat double precision NOT NULL, township text,"
        " status text NOT NULL, severity text, responsible text, phone text, households bigint DEFAULT 0,"
        " people bigint DEFAULT 0, last_inspected text, due text, notes text, blocks_heating integer DEFAULT 0,"
        " source text, created text NOT NULL, updated text NOT NULL)",
        "CREATE TABLE status_history (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
        " facility_id bigint NOT NULL REFERENCES facilities(id), at text NOT NULL, by text NOT NULL,"
        " old_status text, new_status text NOT NULL, note text, inspected text, due text,"
        " undoes bigint REFERENCES status_history(id))",
        "CREATE FUNCTION status_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " RAISE EXCEPTION 'status_history is append-only: rows cannot be %', lower(TG_OP) || 'd'"
        " USING ERRCODE = 'restrict_violation'; END $$",
        "CREATE TRIGGER status_history_no_update BEFORE UPDATE ON status_history"
        " FOR EACH ROW EXECUTE FUNCTION status_history_append_only()",
        "CREATE TRIGGER status_history_no_delete BEFORE DELETE ON status_history"
        " FOR EACH ROW EXECUTE FUNCTION status_history_append_only()",
        "CREATE TRIGGER status_history_no_truncate BEFORE TRUNCATE ON status_history"
        " FOR EACH STATEMENT EXECUTE FUNCTION status_history_append_only()",
        f"CREATE TABLE alerts (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, source text NOT NULL,"
        f" sender text NOT NULL, identifier text NOT NULL, sent text NOT NULL, raw text NOT NULL, {alert_cols},"
        " state text NOT NULL DEFAULT 'active', superseded_by bigint REFERENCES alerts(id))",
        "CREATE UNIQUE INDEX alerts_key ON alerts(sender, identifier, sent)",
        "CREATE INDEX alerts_identifier ON alerts(identifier)",
        "CREATE TABLE fetch_log (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, source text NOT NULL,"
        " started text NOT NULL, finished text, ok integer, http_status integer, etag text, last_modified text,"
        " new integer, updated integer, cancelled integer, error text)",
        "CREATE INDEX fetch_log_source ON fetch_log(source, started)",
        "CREATE TABLE follow_ups (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
        " facility_id bigint REFERENCES facilities(id), township text REFERENCES townships(code),"
        " rule text NOT NULL, priority text NOT NULL, reason text NOT NULL, reason_en text, causes text,"
        " since text NOT NULL, last_seen text, closed text)",
        "CREATE INDEX follow_ups_open ON follow_ups(closed, priority)",
        "CREATE INDEX facilities_township ON facilities(township)",
        "CREATE INDEX status_history_facility ON status_history(facility_id, id)",
    ):
        store.conn.execute(statement)


def _m2_withdrawn(store: "PostgresStore") -> None:
    store.conn.execute("ALTER TABLE alerts ADD COLUMN withdrawn text")


def _m3_alert_refs(store: "PostgresStore") -> None:
    store.conn.execute("CREATE TABLE alert_refs (alert_id bigint NOT NULL REFERENCES alerts(id),"
                       " sender text, identifier text NOT NULL, sent text)")
    store.conn.execute("CREATE INDEX alert_refs_identifier ON alert_refs(identifier)")


def _m4_safety(store: "PostgresStore") -> None:
    for statement in (
        "CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL)",
        "ALTER TABLE facilities ADD COLUMN ref text",
        "CREATE UNIQUE INDEX facilities_ref ON facilities(ref) WHERE ref IS NOT NULL",
        "CREATE INDEX facilities_name ON facilities(name)",
        "ALTER TABLE alerts ADD COLUMN withdrawn_by text",
        "ALTER TABLE alerts ADD COLUMN withdrawn_note text",
    ):
        store.conn.execute(statement)


def _m5_severity_history(store: "PostgresStore") -> None:
    store.conn.execute("ALTER TABLE status_history ADD COLUMN old_severity text")
    store.conn.execute("ALTER TABLE status_history ADD COLUMN new_severity text")


def _m6_districts(store: "PostgresStore") -> None:
    store.conn.execute("CREATE TABLE districts (code text PRIMARY KEY, name text NOT NULL, name_en text,"
                       " geometry geometry(Geometry, 4326) NOT NULL, minx double precision, miny double precision,"
                       " maxx double precision, maxy double precision, lon double precision, lat double precision,"
                       " source text)")
    store.conn.execute("CREATE INDEX districts_geometry ON districts USING gist (geometry)")


MIGRATIONS = (_m1_initial, _m2_withdrawn, _m3_alert_refs, _m4_safety, _m5_severity_history, _m6_districts,
              m6_households_postgres)  # 7: households, their history, calls (monitor.store.households)

_BUMP_CHANGES = ("INSERT INTO meta (key, value) VALUES ('change_count', '1')"
                 " ON CONFLICT (key) DO UPDATE SET value = (meta.value::bigint + 1)::text")
_TOWNSHIP_COLUMNS = ("code", "name", "name_en", "kind", "minx", "miny", "maxx", "maxy", "lon", "lat",
                     "approximate", "source")


def translate(e: BaseException, url: str) -> DataError | None:
    """The DataError that says in words what a psycopg error about the server or the connection
    means, or None when it is about the SQL (a bug)."""
    import psycopg

    if isinstance(e, psycopg.errors.LockNotAvailable):
        return DataError(f"数据库 {shown_url(url)} 被另一个进程占用，等待超时后仍未释放，未做任何更改；请稍后重试；"
                         f"the database {shown_url(url)} is locked by another process for longer than the busy "
                         f"timeout ([store] busy_timeout_ms): nothing was changed; try again later")
    if isinstance(e, psycopg.OperationalError):
        return DataError(f"无法连接或使用 PostgreSQL 数据库 {shown_url(url)}，未做任何更改；请检查网址、服务器是否运行，"
                         f"以及数据库是否已用 monitor db create 创建；cannot reach or use the PostgreSQL database "
                         f"{shown_url(url)}: nothing was changed; check the URL, that the server runs, and that the "
                         f"database exists (`monitor db create URL` makes one) ({str(e).strip()})")
    if isinstance(e, psycopg.errors.InsufficientPrivilege):
        return DataError(f"PostgreSQL 用户无权执行此操作，未做任何更改；the PostgreSQL user may not do this: nothing was "
                         f"changed; grant it the rights on {shown_url(url)} ({str(e).strip()})")
    return None


class PostgresStore(Store):
    """A connection to one monitor database on a PostgreSQL server (see the module docstring)."""

    engine = "postgresql"
    _CODED = "coalesce({c}::text, '')"
    _GEOMETRY_IN = "ST_GeomFromWKB(?, 4326)"
    _GEOMETRY_OUT = "ST_AsBinary(geometry)"
    _FOLLOW_UP_ORDER = (" ORDER BY u.priority, coalesce(f.households, 0) DESC, u.facility_id NULLS FIRST,"
                        " u.rule")

    @classmethod
    def open(cls, url: str, *, busy_timeout_ms: int = 30_000, migrate: bool = True) -> "PostgresStore":
        import psycopg

        try:
            raw = psycopg.connect(url, autocommit=True, connect_timeout=max(1, busy_timeout_ms // 1000),
                                  application_name="monitor")
        except psycopg.Error as e:
            raise translate(e, url) or DataError(f"{shown_url(url)}: {e}") from None
        store = cls(_Connection(raw), url, busy_timeout_ms=busy_timeout_ms)
        # the busy timeout bounds how long a writer waits for another (SQLite's busy_timeout)
        raw.execute(f"SET lock_timeout = {int(busy_timeout_ms)}")
        if migrate:
            store.migrate()
        return store

    @property
    def db(self):
        raise NotImplementedError("sqlite-utils works on SQLite databases only")

    # --- schema and transactions ------------------------------------------------------------------

    @property
    def version(self) -> int:
        row = self.conn.execute("SELECT to_regclass('monitor_schema') IS NOT NULL").fetchone()
        if not row[0]:
            return 0
        return self.conn.execute("SELECT version FROM monitor_schema").fetchone()[0]

    def migrate(self) -> None:
        if self.version >= len(MIGRATIONS):
            return
        with self.write():
            self.conn.execute("CREATE TABLE IF NOT EXISTS monitor_schema (version integer NOT NULL)")
            if self.conn.execute("SELECT count(*) FROM monitor_schema").fetchone()[0] == 0:
                self.conn.execute("INSERT INTO monitor_schema (version) VALUES (0)")
            for number, step in enumerate(MIGRATIONS, start=1):
                if self.version < number:
                    step(self)
                    self.conn.execute("UPDATE monitor_schema SET version = ?", (number,))

    @contextmanager
    def write(self) -> Iterator["PostgresStore"]:
        """One write transaction; writers queue on an advisory lock (nested calls join)."""
        import psycopg

        if self.conn.in_transaction:
            yield self
            return
        try:
            self.conn.execute("BEGIN")
            self._uncounted = False  # leave_uncounted() (the SQLite engine's) sets it
            try:
                self.conn.execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))
                yield self
                wrote = self.conn.execute("SELECT pg_current_xact_id_if_assigned() IS NOT NULL").fetchone()[0]
                if wrote and not self._uncounted and self._counts_changes():
                    self.conn.execute(_BUMP_CHANGES)
            except BaseException:
                self._rollback()
                raise
            self.conn.execute("COMMIT")
        except psycopg.Error as e:
            self._rollback()
            translated = translate(e, self.path)
            if translated is not None:
                raise translated from e
            raise

    def _rollback(self) -> None:
        import psycopg

        if self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK")
            except psycopg.Error:
                pass

    @contextmanager
    def snapshot(self) -> Iterator[Any]:
        if self.conn.in_transaction:
            yield self.change_token()
            return
        self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield self.change_token()
        finally:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")

    def change_token(self) -> Any:
        return self.meta("change_count") if self._counts_changes() else None

    def data_version(self) -> int:
        raise NotImplementedError("PRAGMA data_version is SQLite's: use change_token()")

    @contextmanager
    def refresh_lock(self) -> Iterator[bool]:
        """Try once to take the refresh lock (a session advisory lock); yields whether it is held."""
        held = self.conn.execute("SELECT pg_try_advisory_lock(?)", (REFRESH_LOCK,)).fetchone()[0]
        try:
            yield bool(held)
        finally:
            if held:
                self.conn.execute("SELECT pg_advisory_unlock(?)", (REFRESH_LOCK,))

    # --- what needs PostgreSQL's own words --------------------------------------------------------

    def townships(self, *, with_geometry: bool = True) -> list[dict]:
        cols = ", ".join(_TOWNSHIP_COLUMNS) + (", ST_AsBinary(geometry) AS geometry" if with_geometry else "")
        return [_bytes(dict(r)) for r in self.conn.execute(f"SELECT {cols} FROM townships ORDER BY code")]

    def replace_townships(self, rows: Iterable[dict]) -> int:
        self.conn.execute("UPDATE facilities SET township = NULL")
        self.conn.execute("UPDATE follow_ups SET township = NULL WHERE township IS NOT NULL")
        self.conn.execute("DELETE FROM townships")
        rows = list(rows)
        cols = _TOWNSHIP_COLUMNS + ("geometry",)
        self.conn.executemany(
            f"INSERT INTO townships ({', '.join(cols)}) VALUES ({', '.join('?' * (len(cols) - 1))},"
            " ST_GeomFromWKB(?, 4326))",
            [tuple(r.get(c) for c in cols) for r in rows])
        return len(rows)

    def township_records(self, *, with_geometry: bool = True) -> list[Township]:
        return [Township.from_row(r) for r in self.townships(with_geometry=with_geometry)]

    def append_history(self, facility_id: int, *, at: str, by: str, old_status: str | None, new_status: str,
                       note: str | None, inspected: str | None, due: str | None,
                       undoes: int | None = None, old_severity: str | None = None,
                       new_severity: str | None = None) -> int:
        return self.conn.execute(
            "INSERT INTO status_history (facility_id, at, by, old_status, new_status, note, inspected, due, undoes,"
            " old_severity, new_severity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (facility_id, at, by, old_status, new_status, note, inspected, due, undoes, old_severity, new_severity),
        ).fetchone()[0]

    def insert_alert(self, row: dict) -> int | None:
        cols = ALERT_COLUMNS
        values = [json.dumps(row[c], ensure_ascii=False) if isinstance(row.get(c), (list, dict)) else row.get(c)
                  for c in cols]
        found = self.conn.execute(
            f"INSERT INTO alerts ({', '.join(cols)}, state) VALUES ({', '.join('?' * len(cols))}, 'active')"
            " ON CONFLICT (sender, identifier, sent) DO NOTHING RETURNING id", values).fetchone()
        if found is None:
            return None
        new_id = found[0]
        refs = row.get("refs") or []
        if isinstance(refs, str):
            refs = json.loads(refs)
        if refs:
            self.conn.executemany("INSERT INTO alert_refs (alert_id, sender, identifier, sent) VALUES (?, ?, ?, ?)",
                                  _ref_rows(new_id, refs))
        return new_id

    def log_fetch(self, row: dict) -> int:
        cols = [c for c in row if c != "id"]
        values = [int(row[c]) if isinstance(row[c], bool) else row[c] for c in cols]
        return self.conn.execute(
            f"INSERT INTO fetch_log ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) RETURNING id",
            values).fetchone()[0]

    def insert_facilities(self, rows: Sequence[dict], *, at: str, by: str, note: str) -> list[int]:
        rows = [{k: int(v) if isinstance(v, bool) else v for k, v in r.items()} for r in rows]
        return super().insert_facilities(rows, at=at, by=by, note=note)

    def follow_up_json(self, *, at: str | None = None, new_after: str | None = None, limit: int | None = None,
                       **filters) -> Iterator[list[str]]:
        where, params = self._follow_up_where(**filters)
        obj = ("json_build_object('follow_up_id', u.id, 'facility_id', u.facility_id, 'name', f.name, 'township', t.name,"
               " 'township_code', coalesce(u.township, f.township), 'kind', f.kind, 'subtype', f.subtype,"
               " 'status', f.status, 'households', coalesce(f.households, 0), 'responsible', f.responsible,"
               " 'phone', f.phone, 'rule', u.rule, 'priority', u.priority, 'reason', u.reason,"
               " 'reason_en', u.reason_en, 'since', u.since, 'closed', u.closed,"
               " 'new', (u.since " + ("> ?" if new_after is not None else "= ?")
               + " AND u.closed IS NULL), 'causes', coalesce(u.causes, '[]')::json)::text")
        sql = (f"SELECT {obj}" + self._FOLLOW_UP_FROM + where + self._FOLLOW_UP_ORDER
               + (" LIMIT ?" if limit else ""))
        cur = self.conn.cursor()
        cur.execute(sql, [new_after if new_after is not None else at or ""] + params + ([int(limit)] if limit else []))
        while chunk := cur.fetchmany(10_000):
            yield [r[0] for r in chunk]

    def update_facilities(self, changes: Iterable[tuple[int, dict]]) -> None:
        super().update_facilities(
            (i, {k: int(v) if isinstance(v, bool) else v for k, v in values.items()}) for i, values in changes)


def _bytes(row: dict) -> dict:
    if isinstance(row.get("geometry"), memoryview):
        row["geometry"] = bytes(row["geometry"])
    return row


def create_database(url: str) -> bool:
    """Create the database `url` names (connecting to the server's `postgres` database as the same
    user), with UTF-8 and the C collation, and PostGIS in it; False if it existed already."""
    import psycopg
    from psycopg import sql
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        raise DataError(f"网址 {shown_url(url)} 没有数据库名称；the URL {shown_url(url)} names no database "
                        "(postgresql://user@host/NAME)")
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, parts.fragment))
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                created = False
            else:
                conn.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
                                     " TEMPLATE template0").format(sql.Identifier(name)))
                created = True
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    except psycopg.Error as e:
        raise translate(e, url) or DataError(f"{shown_url(url)}: {e}") from None
    return created
