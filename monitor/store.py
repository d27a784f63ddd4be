"""The SQLite store: the only module that speaks SQL.

One file is the system of record. Every connection runs in WAL mode with foreign keys on,
`synchronous=FULL` and a busy timeout; every write is one `BEGIN IMMEDIATE` transaction
(`with store.write():`), so concurrent writers queue instead of failing with "database is
locked", and a killed process loses nothing that was committed.

The connection is plain `sqlite3` so that the field CLI's one-row update starts fast;
sqlite-utils (which imports pandas when it is installed) is loaded only for schema migrations
and bulk work, through `Store.db`.

Schema changes are migrations (`MIGRATIONS`), applied in order and recorded in
`PRAGMA user_version`; each step gets the Store, and only the first (creating a database) uses
sqlite-utils, so that opening an older database from the field CLI does not import pandas.
`status_history` is append-only: triggers refuse UPDATE and DELETE.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import DataError, UsageError

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


MIGRATIONS = (_m1_initial, _m2_withdrawn, _m3_alert_refs, _m4_safety)


# --- the store ------------------------------------------------------------------------------

class Store:
    """A connection to one monitor database.

    >>> s = Store.open(":memory:")
    >>> s.count("townships")
    0
    """

    def __init__(self, conn: sqlite3.Connection, path: str):
        self.conn = conn
        self.path = path
        self._db = None

    @classmethod
    def open(cls, path: str | Path, *, busy_timeout_ms: int = 30_000, migrate: bool = True) -> "Store":
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as e:
            raise DataError(f"{path}: not a monitor database ({e}); pass another --db") from None
        store = cls(conn, path)
        if migrate:
            store.migrate()
        return store

    def close(self) -> None:
        self.conn.close()

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
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[int]:
        """A read transaction: every read inside sees one consistent state of the database.

        Yields that state's `data_version`; `changed_since(version)` later tells whether another
        connection has committed since (nested inside a transaction, it joins it).
        """
        if self.conn.in_transaction:
            yield self.data_version()
            return
        self.conn.execute("BEGIN")
        try:
            self.conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # take the snapshot now
            yield self.data_version()
        finally:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")

    def data_version(self) -> int:
        """Changes whenever another connection commits (PRAGMA data_version)."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def count(self, table: str, where: str = "", params: Sequence = ()) -> int:
        sql = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
        return self.conn.execute(sql, params).fetchone()[0]

    # --- townships ---------------------------------------------------------------------------

    def townships(self, *, with_geometry: bool = True) -> list[dict]:
        cols = "*" if with_geometry else "code, name, name_en, kind, minx, miny, maxx, maxy, lon, lat, approximate, source"
        return [dict(r) for r in self.conn.execute(f"SELECT {cols} FROM townships ORDER BY code")]

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
        """A township by code, name or a unique part of its name."""
        rows = self.conn.execute(
            "SELECT code, name, name_en FROM townships WHERE code = ? OR name = ? OR name_en = ?",
            (text, text, text),
        ).fetchall()
        if not rows:
            rows = self.conn.execute(
                "SELECT code, name, name_en FROM townships WHERE instr(name, ?) > 0", (text,)
            ).fetchall()
        if len(rows) == 1:
            return dict(rows[0])
        if not rows:
            raise UsageError(f"no township '{text}'; `monitor townships list` shows them")
        names = ", ".join(r["name"] for r in rows)
        raise UsageError(f"township '{text}' is ambiguous: {names}")

    # --- facilities --------------------------------------------------------------------------

    def insert_facilities(self, rows: Sequence[dict], *, at: str, by: str, note: str) -> list[int]:
        """Insert facilities and one history row each recording their initial status."""
        cols = ("id",) + FACILITY_COLUMNS + ("ref",)
        sql = f"INSERT INTO facilities ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        cur = self.conn.cursor()
        with self.write():  # the ids are chosen and used in one transaction
            first = cur.execute("SELECT coalesce(max(id), 0) + 1 FROM facilities").fetchone()[0]
            ids = list(range(first, first + len(rows)))
            stamps = {"created": at, "updated": at}
            cur.executemany(sql, ((i, *(stamps[c] if c in stamps else r.get(c) for c in cols[1:]))
                                  for i, r in zip(ids, rows)))
        cur.executemany(
            "INSERT INTO status_history (facility_id, at, by, old_status, new_status, note, inspected, due)"
            " VALUES (?, ?, ?, NULL, ?, ?, ?, ?)",
            [(i, at, by, r["status"], note, r.get("last_inspected"), r.get("due")) for i, r in zip(ids, rows)],
        )
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

    def recent_history(self, per_facility: int) -> dict[int, list[dict]]:
        rows = self.conn.execute(
            "SELECT * FROM (SELECT h.*, row_number() OVER (PARTITION BY facility_id ORDER BY id DESC) AS n"
            " FROM status_history h) WHERE n <= ? ORDER BY facility_id, id DESC",
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
                           last_inspected: str | None, due: str | None) -> None:
        """Set a facility's status, inspection and due dates (absolute values) and `updated`."""
        cur = self.conn.execute(
            "UPDATE facilities SET status = ?, updated = ?, last_inspected = ?, due = ? WHERE id = ?",
            (status, updated, last_inspected, due, facility_id),
        )
        if cur.rowcount != 1:
            raise DataError(f"facility {facility_id} is not in the database")

    def append_history(self, facility_id: int, *, at: str, by: str, old_status: str | None, new_status: str,
                       note: str | None, inspected: str | None, due: str | None,
                       undoes: int | None = None) -> int:
        """Append one status_history row; its id."""
        cur = self.conn.execute(
            "INSERT INTO status_history (facility_id, at, by, old_status, new_status, note, inspected, due, undoes)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (facility_id, at, by, old_status, new_status, note, inspected, due, undoes),
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

    def sync_follow_up_rows(self, current: Iterable[tuple], *, at: str) -> dict[str, int]:
        """Make the open follow-ups equal `current`; call inside `write()`.

        `current`: (facility_id, township, rule, priority, reason, reason_en, causes JSON) tuples,
        keyed by (facility_id, township, rule). One that persists keeps its `since` (and is
        rewritten only if its priority, reason or causes changed); a new one opens with since =
        `at`; an open one no longer in `current` is closed at `at`, never deleted. Every open one
        gets last_seen = `at`. The stored rows are streamed past an index of `current` (whose
        strings are shared between follow-ups of the same case), so memory stays near the size
        of `current` and a million follow-ups take seconds.
        """
        rows = current if isinstance(current, list) else list(current)
        index = {(r[0], r[1], r[2]): i for i, r in enumerate(rows)}
        seen = bytearray(len(rows))
        closes, updates = [], []
        kept = 0
        cur = self.conn.cursor()
        cur.row_factory = None  # plain tuples: half the cost of sqlite3.Row at this size
        cur.execute("SELECT id, facility_id, township, rule, priority, reason, reason_en, causes"
                    " FROM follow_ups WHERE closed IS NULL")
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
                    updates.append((r[3], r[4], r[5], r[6], id_))
        cur.executemany("UPDATE follow_ups SET closed = ? WHERE id = ?", closes)
        cur.executemany("UPDATE follow_ups SET priority = ?, reason = ?, reason_en = ?, causes = ? WHERE id = ?",
                        updates)
        cur.execute("UPDATE follow_ups SET last_seen = ? WHERE closed IS NULL", (at,))
        cur.executemany("INSERT INTO follow_ups (facility_id, township, rule, priority, reason, reason_en, causes,"
                        " since, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        ((*r, at, at) for i, r in enumerate(rows) if not seen[i]))
        return {"new": len(rows) - kept, "kept": kept, "changed": len(updates), "closed": len(closes)}

    def last_evaluation(self) -> str | None:
        """When the follow-ups were last evaluated (the latest last_seen), None if never."""
        return self.conn.execute("SELECT max(last_seen) FROM follow_ups").fetchone()[0]

    _FOLLOW_UP_FROM = (" FROM follow_ups u LEFT JOIN facilities f ON f.id = u.facility_id"
                       " LEFT JOIN townships t ON t.code = coalesce(u.township, f.township)")
    _FOLLOW_UP_ORDER = " ORDER BY u.priority, coalesce(f.households, 0) DESC, u.facility_id, u.rule"

    @staticmethod
    def _follow_up_where(*, township=None, kind=None, priorities=None, facility_id=None, opened_at=None,
                         closed_at=None) -> tuple[str, list]:
        where = ["u.closed = ?" if closed_at else "u.closed IS NULL"]
        params: list[Any] = [closed_at] if closed_at else []
        if opened_at:
            where.append("u.since = ?")
            params.append(opened_at)
        if township is not None:
            where.append("coalesce(u.township, f.township) = ?")
            params.append(township)
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

    def follow_up_json(self, *, at: str | None = None, limit: int | None = None, **filters) -> Iterator[list[str]]:
        """The same rows and order as `follow_up_list`, each already a JSON object (built by
        SQLite's json_object: at 10^5-10^6 follow-ups, building them in Python costs seconds),
        in chunks, so that a caller can write them out without holding them all.

        Fields: facility_id, name, township (name), township_code, kind, subtype, status,
        households, responsible, phone, rule, priority, reason, reason_en, since, closed,
        new (opened at `at` and still open), causes (the stored array, as stored)."""
        where, params = self._follow_up_where(**filters)
        obj = ("json_object('facility_id', u.facility_id, 'name', f.name, 'township', t.name,"
               " 'township_code', coalesce(u.township, f.township), 'kind', f.kind, 'subtype', f.subtype,"
               " 'status', f.status, 'households', coalesce(f.households, 0), 'responsible', f.responsible,"
               " 'phone', f.phone, 'rule', u.rule, 'priority', u.priority, 'reason', u.reason,"
               " 'reason_en', u.reason_en, 'since', u.since, 'closed', u.closed,"
               " 'new', json(CASE WHEN u.since = ? AND u.closed IS NULL THEN 'true' ELSE 'false' END))")
        # the object ends in the scalar `new`, so its one closing brace can be cut and causes spliced in
        sql = (f"SELECT rtrim({obj}, '}}') || ',\"causes\":' || coalesce(u.causes, '[]') || '}}'"
               + self._FOLLOW_UP_FROM + where + self._FOLLOW_UP_ORDER + (" LIMIT ?" if limit else ""))
        cur = self.conn.cursor()
        cur.row_factory = None
        cur.execute(sql, [at or ""] + params + ([int(limit)] if limit else []))
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
        exprs += [" || char(31) || ".join(f"coalesce({c}, '')" for c in group) for group in coded]
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


# An Actual warning message (not a Cancel) sent by the first parameter, not ended by the second.
_WARNING_UNTIL = ("coalesce(a.status, 'Actual') = 'Actual' AND coalesce(a.msg_type, 'Alert') != 'Cancel'"
                  " AND a.sent <= ? AND (coalesce(a.ends, a.expires) IS NULL OR coalesce(a.ends, a.expires) > ?)")


def _decode_alert(row: dict) -> dict:
    for c in ("area", "division_codes", "refs", "warnings"):
        if row.get(c):
            row[c] = json.loads(row[c])
    return row
