"""Households and citizens' calls in the store: their schema (migration 6, the same number on
both engines) and the queries both engines share.

Why a table of their own rather than facility rows of a household kind: a household is
personal data (a name, a phone, vulnerability flags) that must be kept apart from the
equipment register that the map and exports show freely; its columns differ (village,
heating type, device state, last visit, four flags); and a district has ~10^5 of them, which
the facility queries (names, distances, duplicate checks) were not meant to scan.

`household_history` and `call_history` are append-only like `status_history` (triggers on both engines refuse
UPDATE and DELETE): every change of device state or visit is a row, and an undo is a
compensating row that names the entry it undoes. `calls` are the 12345 hotline's tickets,
keyed by ticket number so that importing the same export twice adds nothing.

The SQL here is the subset both engines understand (`?` placeholders, RETURNING); the
PostgreSQL engine runs it through its dialect layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..errors import DataError
from .records import HouseholdHistoryEntry

HOUSEHOLD_COLUMNS = (
    "ref", "village_code", "village", "township", "heating", "device", "last_visit",
    "elderly_alone", "disabled", "low_income", "infants", "contact", "phone", "notes", "source",
    "created", "updated",
)
FLAGS = ("elderly_alone", "disabled", "low_income", "infants")
CALL_COLUMNS = (
    "ticket", "received", "township", "village_code", "address", "category", "text",
    "responded", "resolved", "satisfaction", "facility_id", "household_id", "source", "created", "updated",
)


# who a follow-up is assigned to, and who acknowledged it (township accountability)
ACCOUNTABILITY = tuple(f"ALTER TABLE follow_ups ADD COLUMN {c} text"
                       for c in ("assigned_to", "assigned_by", "assigned_at", "acked_by", "acked_at"))


def m6_households_sqlite(store) -> None:
    """Households, their append-only history, and the hotline's calls (SQLite DDL)."""
    for statement in (
        "CREATE TABLE households (id INTEGER PRIMARY KEY, ref TEXT NOT NULL, village_code TEXT,"
        " village TEXT NOT NULL, township TEXT, heating TEXT NOT NULL, device TEXT NOT NULL, last_visit TEXT,"
        " elderly_alone INTEGER NOT NULL DEFAULT 0, disabled INTEGER NOT NULL DEFAULT 0,"
        " low_income INTEGER NOT NULL DEFAULT 0, infants INTEGER NOT NULL DEFAULT 0,"
        " contact TEXT, phone TEXT, notes TEXT, source TEXT, created TEXT NOT NULL, updated TEXT NOT NULL)",
        "CREATE UNIQUE INDEX households_ref ON households(ref)",
        "CREATE INDEX households_village ON households(township, village_code)",
        "CREATE TABLE household_history (id INTEGER PRIMARY KEY,"
        " household_id INTEGER NOT NULL REFERENCES households(id), at TEXT NOT NULL, by TEXT NOT NULL,"
        " old_device TEXT, new_device TEXT NOT NULL, visited TEXT, note TEXT,"
        " undoes INTEGER REFERENCES household_history(id))",
        "CREATE INDEX household_history_household ON household_history(household_id, id)",
        "CREATE TRIGGER household_history_no_update BEFORE UPDATE ON household_history "
        "BEGIN SELECT RAISE(ABORT, 'household_history is append-only: rows cannot be changed'); END",
        "CREATE TRIGGER household_history_no_delete BEFORE DELETE ON household_history "
        "BEGIN SELECT RAISE(ABORT, 'household_history is append-only: rows cannot be deleted'); END",
        "CREATE TABLE calls (id INTEGER PRIMARY KEY, ticket TEXT NOT NULL, received TEXT NOT NULL, township TEXT,"
        " village_code TEXT, address TEXT, category TEXT, text TEXT, responded TEXT, resolved TEXT,"
        " satisfaction TEXT, facility_id INTEGER REFERENCES facilities(id),"
        " household_id INTEGER REFERENCES households(id), source TEXT, created TEXT NOT NULL,"
        " updated TEXT NOT NULL)",
        "CREATE UNIQUE INDEX calls_ticket ON calls(ticket)",
        "CREATE INDEX calls_township ON calls(township, received)",
        "CREATE TABLE call_history (id INTEGER PRIMARY KEY, call_id INTEGER NOT NULL REFERENCES calls(id),"
        " at TEXT NOT NULL, by TEXT NOT NULL, responded TEXT, resolved TEXT, satisfaction TEXT, note TEXT)",
        "CREATE INDEX call_history_call ON call_history(call_id, id)",
        "CREATE TRIGGER call_history_no_update BEFORE UPDATE ON call_history "
        "BEGIN SELECT RAISE(ABORT, 'call_history is append-only: rows cannot be changed'); END",
        "CREATE TRIGGER call_history_no_delete BEFORE DELETE ON call_history "
        "BEGIN SELECT RAISE(ABORT, 'call_history is append-only: rows cannot be deleted'); END",
        *ACCOUNTABILITY,
    ):
        store.conn.execute(statement)


def m6_households_postgres(store) -> None:
    """The same tables in PostgreSQL's DDL (the trigger function refuses UPDATE, DELETE, TRUNCATE)."""
    for statement in (
        "CREATE TABLE households (id bigint PRIMARY KEY, ref text NOT NULL, village_code text,"
        " village text NOT NULL, township text, heating text NOT NULL, device text NOT NULL, last_visit text,"
        " elderly_alone integer NOT NULL DEFAULT 0, disabled integer NOT NULL DEFAULT 0,"
        " low_income integer NOT NULL DEFAULT 0, infants integer NOT NULL DEFAULT 0,"
        " contact text, phone text, notes text, source text, created text NOT NULL, updated text NOT NULL)",
        "CREATE UNIQUE INDEX households_ref ON households(ref)",
        "CREATE INDEX households_village ON households(township, village_code)",
        "CREATE TABLE household_history (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
        " household_id bigint NOT NULL REFERENCES households(id), at text NOT NULL, by text NOT NULL,"
        " old_device text, new_device text NOT NULL, visited text, note text,"
        " undoes bigint REFERENCES household_history(id))",
        "CREATE INDEX household_history_household ON household_history(household_id, id)",
        "CREATE FUNCTION household_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " RAISE EXCEPTION '% is append-only: rows cannot be %', TG_TABLE_NAME, lower(TG_OP) || 'd'"
        " USING ERRCODE = 'restrict_violation'; END $$",
        "CREATE TRIGGER household_history_no_update BEFORE UPDATE ON household_history"
        " FOR EACH ROW EXECUTE FUNCTION household_history_append_only()",
        "CREATE TRIGGER household_history_no_delete BEFORE DELETE ON household_history"
        " FOR EACH ROW EXECUTE FUNCTION household_history_append_only()",
        "CREATE TRIGGER household_history_no_truncate BEFORE TRUNCATE ON household_history"
        " FOR EACH STATEMENT EXECUTE FUNCTION household_history_append_only()",
        "CREATE TABLE calls (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, ticket text NOT NULL,"
        " received text NOT NULL, township text, village_code text, address text, category text, text text,"
        " responded text, resolved text, satisfaction text, facility_id bigint REFERENCES facilities(id),"
        " household_id bigint REFERENCES households(id), source text, created text NOT NULL,"
        " updated text NOT NULL)",
        "CREATE UNIQUE INDEX calls_ticket ON calls(ticket)",
        "CREATE INDEX calls_township ON calls(township, received)",
        "CREATE TABLE call_history (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
        " call_id bigint NOT NULL REFERENCES calls(id), at text NOT NULL, by text NOT NULL, responded text,"
        " resolved text, satisfaction text, note text)",
        "CREATE INDEX call_history_call ON call_history(call_id, id)",
        "CREATE TRIGGER call_history_no_update BEFORE UPDATE ON call_history"
        " FOR EACH ROW EXECUTE FUNCTION household_history_append_only()",
        "CREATE TRIGGER call_history_no_delete BEFORE DELETE ON call_history"
        " FOR EACH ROW EXECUTE FUNCTION household_history_append_only()",
        "CREATE TRIGGER call_history_no_truncate BEFORE TRUNCATE ON call_history"
        " FOR EACH STATEMENT EXECUTE FUNCTION household_history_append_only()",
        *ACCOUNTABILITY,
    ):
        store.conn.execute(statement)


def _ints(values: dict) -> dict:
    """bool -> int (PostgreSQL's integer columns take no Python bool)."""
    return {k: int(v) if isinstance(v, bool) else v for k, v in values.items()}


class HouseholdTables:
    """The household and call queries both engines share (mixed into the engines' Store)."""

    # --- households ---------------------------------------------------------------------------

    def insert_households(self, rows: Sequence[dict], *, at: str, by: str, note: str) -> list[int]:
        """Insert households and one history row each recording their device state; call inside
        `write()` (the ids are chosen and used in one transaction)."""
        if not rows:
            return []
        cols = ("id",) + HOUSEHOLD_COLUMNS
        sql = f"INSERT INTO households ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        cur = self.conn.cursor()
        first = cur.execute("SELECT coalesce(max(id), 0) + 1 FROM households").fetchone()[0]
        ids = list(range(first, first + len(rows)))
        stamps = {"created": at, "updated": at}
        cur.executemany(sql, [(i, *(stamps[c] if c in stamps else _ints(r).get(c, 0 if c in FLAGS else None)
                                    for c in cols[1:])) for i, r in zip(ids, rows)])
        cur.executemany(
            "INSERT INTO household_history (household_id, at, by, old_device, new_device, visited, note)"
            " VALUES (?, ?, ?, NULL, ?, ?, ?)",
            [(i, at, by, r["device"], r.get("last_visit"), note) for i, r in zip(ids, rows)])
        return ids

    def households_by_ref(self, refs: Sequence[str]) -> dict[str, dict]:
        out: dict[str, dict] = {}
        refs = list(dict.fromkeys(refs))
        for i in range(0, len(refs), 500):
            part = refs[i:i + 500]
            out.update((r["ref"], dict(r)) for r in self.conn.execute(
                f"SELECT * FROM households WHERE ref IN ({', '.join('?' * len(part))})", part))
        return out

    def household(self, household_id: int) -> dict | None:
        row = self.conn.execute("SELECT * FROM households WHERE id = ?", (household_id,)).fetchone()
        return dict(row) if row else None

    def update_households(self, changes: Iterable[tuple[int, dict]]) -> None:
        """Set the given columns of each household: (id, {column: value}); call inside `write()`.
        A change of device state or a visit also needs its history row."""
        allowed = set(HOUSEHOLD_COLUMNS) - {"created"}
        for household_id, values in changes:
            bad = set(values) - allowed
            if bad:
                raise ValueError(f"not household columns: {sorted(bad)}")
            values = _ints(values)
            cols = list(values)
            cur = self.conn.execute(f"UPDATE households SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
                                    [values[c] for c in cols] + [household_id])
            if cur.rowcount != 1:
                raise DataError(f"住户 #{household_id} 不在数据库中；household {household_id} is not in the database")

    def append_household_history(self, household_id: int, *, at: str, by: str, old_device: str | None,
                                 new_device: str, visited: str | None, note: str | None,
                                 undoes: int | None = None) -> int:
        """Append one household_history row; its id."""
        return self.conn.execute(
            "INSERT INTO household_history (household_id, at, by, old_device, new_device, visited, note, undoes)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (household_id, at, by, old_device, new_device, visited, note, undoes)).fetchone()[0]

    def household_history(self, household_id: int, limit: int | None = None) -> list[HouseholdHistoryEntry]:
        """A household's history, newest first."""
        sql = "SELECT * FROM household_history WHERE household_id = ? ORDER BY id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [HouseholdHistoryEntry.from_row(r) for r in self.conn.execute(sql, (household_id,))]

    def select_households(self, *, township: str | None = None, village_code: str | None = None,
                          devices: Sequence[str] | None = None, heating: Sequence[str] | None = None,
                          vulnerable: bool = False, limit: int | None = None) -> list[dict]:
        """Households (with township_name) matching every filter given, in id order."""
        where, params = [], []
        if township:
            where.append("h.township = ?")
            params.append(township)
        if village_code:
            where.append("h.village_code = ?")
            params.append(village_code)
        for column, values in (("device", devices), ("heating", heating)):
            if values:
                where.append(f"h.{column} IN ({', '.join('?' * len(values))})")
                params += list(values)
        if vulnerable:
            where.append("(" + " OR ".join(f"h.{f} = 1" for f in FLAGS) + ")")
        sql = ("SELECT h.*, t.name AS township_name FROM households h LEFT JOIN townships t ON t.code = h.township"
               + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY h.id")
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [dict(r) for r in self.conn.execute(sql, params)]

    def household_columns(self, columns: Sequence[str]) -> dict[str, list]:
        """Whole columns of the households table in id order, for vectorised evaluation."""
        cur = self.conn.cursor()
        cur.row_factory = None
        rows = cur.execute(f"SELECT {', '.join(columns)} FROM households ORDER BY id").fetchall()
        return {c: [r[i] for r in rows] for i, c in enumerate(columns)}

    # --- calls --------------------------------------------------------------------------------

    def known_tickets(self, tickets: Sequence[str]) -> dict[str, dict]:
        out: dict[str, dict] = {}
        tickets = list(dict.fromkeys(tickets))
        for i in range(0, len(tickets), 500):
            part = tickets[i:i + 500]
            out.update((r["ticket"], dict(r)) for r in self.conn.execute(
                f"SELECT * FROM calls WHERE ticket IN ({', '.join('?' * len(part))})", part))
        return out

    def insert_calls(self, rows: Sequence[dict], *, at: str) -> int:
        """Insert calls whose ticket is new (a repeated ticket is left alone); how many were added."""
        cols = CALL_COLUMNS
        stamps = {"created": at, "updated": at}
        added = 0
        for r in rows:
            found = self.conn.execute(
                f"INSERT INTO calls ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                " ON CONFLICT (ticket) DO NOTHING RETURNING id",
                [stamps[c] if c in stamps else r.get(c) for c in cols]).fetchone()
            added += found is not None
        return added

    def update_call(self, ticket: str, values: dict) -> None:
        bad = set(values) - set(CALL_COLUMNS)
        if bad:
            raise ValueError(f"not call columns: {sorted(bad)}")
        cols = list(values)
        cur = self.conn.execute(f"UPDATE calls SET {', '.join(f'{c} = ?' for c in cols)} WHERE ticket = ?",
                                [values[c] for c in cols] + [ticket])
        if cur.rowcount != 1:
            raise DataError(f"没有工单 {ticket}；no call with ticket {ticket}")

    def append_call_history(self, call_id: int, *, at: str, by: str, responded: str | None, resolved: str | None,
                            satisfaction: str | None, note: str | None) -> int:
        return self.conn.execute(
            "INSERT INTO call_history (call_id, at, by, responded, resolved, satisfaction, note)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (call_id, at, by, responded, resolved, satisfaction, note)).fetchone()[0]

    def call_history(self, call_id: int) -> list[dict]:
        return [dict(r) for r in self.conn.execute(
            "SELECT * FROM call_history WHERE call_id = ? ORDER BY id DESC", (call_id,))]

    # --- township accountability: a follow-up assigned to a person, and acknowledged ----------------

    def assign_follow_up(self, follow_up_id: int, *, to: str, by: str, at: str) -> dict:
        """Assign an open follow-up to a person (call inside `write()`); the follow-up as it now is."""
        row = self._open_follow_up(follow_up_id)
        self.conn.execute("UPDATE follow_ups SET assigned_to = ?, assigned_by = ?, assigned_at = ?, acked_by = NULL,"
                          " acked_at = NULL WHERE id = ?", (to, by, at, follow_up_id))
        return {**row, "assigned_to": to, "assigned_by": by, "assigned_at": at}

    def ack_follow_up(self, follow_up_id: int, *, by: str, at: str) -> dict:
        """Record that `by` acknowledged an open follow-up (call inside `write()`)."""
        row = self._open_follow_up(follow_up_id)
        self.conn.execute("UPDATE follow_ups SET acked_by = ?, acked_at = ? WHERE id = ?", (by, at, follow_up_id))
        return {**row, "acked_by": by, "acked_at": at}

    def _open_follow_up(self, follow_up_id: int) -> dict:
        from ..errors import UsageError

        row = self.conn.execute("SELECT * FROM follow_ups WHERE id = ?", (follow_up_id,)).fetchone()
        if row is None:
            raise UsageError(f"没有编号为 {follow_up_id} 的待跟进事项，编号见 monitor followups --json；no follow-up "
                             f"{follow_up_id}; `monitor followups --json` shows the ids")
        if row["closed"]:
            raise UsageError(f"待跟进事项 {follow_up_id} 已于 {row['closed']} 关闭，无需指派或确认；follow-up "
                             f"{follow_up_id} was closed at {row['closed']}: nothing to assign or acknowledge")
        return dict(row)

    def open_follow_up_owners(self) -> list[dict]:
        """Every open follow-up's township, priority, since, assignee and acknowledgement."""
        return [dict(r) for r in self.conn.execute(
            "SELECT u.id, coalesce(u.township, f.township) AS township, u.priority, u.since, u.assigned_to,"
            " u.acked_at FROM follow_ups u LEFT JOIN facilities f ON f.id = u.facility_id WHERE u.closed IS NULL"
            " ORDER BY u.id")]

    def select_calls(self, *, township: str | None = None, start: str | None = None,
                     until: str | None = None) -> list[dict]:
        """Calls (with township_name), received in [start, until) when given, in time order."""
        where, params = [], []
        if township:
            where.append("c.township = ?")
            params.append(township)
        if start:
            where.append("c.received >= ?")
            params.append(start)
        if until:
            where.append("c.received < ?")
            params.append(until)
        sql = ("SELECT c.*, t.name AS township_name FROM calls c LEFT JOIN townships t ON t.code = c.township"
               + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY c.received, c.id")
        return [dict(r) for r in self.conn.execute(sql, params)]
