"""`monitor db copy`: everything one store holds into another, either engine to either, losslessly.

Ids, times, texts, numbers and geometry bytes arrive as they were, history included: the copy
only inserts (status_history's triggers allow nothing else), table by table in the order their
references need, in one write transaction on the target, so a failed copy leaves the target as
it was. A target that already holds data is refused: nothing overwrites a user's database.

Two things are the target's own and are not copied: the schema version (both are at the latest
after opening) and `meta.change_count`, the count of the target's committed changes that its
change token reads. An alert's `superseded_by` may name a later alert, so it is set after all
alerts are in.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError
from .urls import shown_url

TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("townships", ("code", "name", "name_en", "kind", "geometry", "minx", "miny", "maxx", "maxy", "lon", "lat",
                   "approximate", "source")),
    ("districts", ("code", "name", "name_en", "geometry", "minx", "miny", "maxx", "maxy", "lon", "lat", "source")),
    ("facilities", ("id", "kind", "subtype", "name", "lon", "lat", "township", "status", "severity", "responsible",
                    "phone", "households", "people", "last_inspected", "due", "notes", "blocks_heating", "source",
                    "created", "updated", "ref")),
    ("status_history", ("id", "facility_id", "at", "by", "old_status", "new_status", "note", "inspected", "due",
                        "undoes", "old_severity", "new_severity")),
    ("alerts", ("id", "source", "format", "sender", "identifier", "sent", "msg_type", "status", "scope", "event",
                "hazard", "colour", "cma_type", "severity", "urgency", "certainty", "onset", "effective", "expires",
                "ends", "headline", "headline_en", "event_en", "sender_name", "description", "instruction",
                "language", "area_desc", "area", "division_codes", "refs", "raw", "warnings", "received", "state",
                "superseded_by", "withdrawn", "withdrawn_by", "withdrawn_note")),
    ("alert_refs", ("alert_id", "sender", "identifier", "sent")),
    ("fetch_log", ("id", "source", "started", "finished", "ok", "http_status", "etag", "last_modified", "new",
                   "updated", "cancelled", "error")),
    ("follow_ups", ("id", "facility_id", "township", "rule", "priority", "reason", "reason_en", "causes", "since",
                    "last_seen", "closed", "assigned_to", "assigned_by", "assigned_at", "acked_by", "acked_at")),
    ("households", ("id", "ref", "village_code", "village", "township", "heating", "device", "last_visit",
                    "elderly_alone", "disabled", "low_income", "infants", "contact", "phone", "notes", "source",
                    "created", "updated")),
    ("household_history", ("id", "household_id", "at", "by", "old_device", "new_device", "visited", "note",
                           "undoes")),
    ("calls", ("id", "ticket", "received", "township", "village_code", "address", "category", "text", "responded",
               "resolved", "satisfaction", "facility_id", "household_id", "source", "created", "updated")),
    ("call_history", ("id", "call_id", "at", "by", "responded", "resolved", "satisfaction", "note")),
    ("meta", ("key", "value")),
)
OWN_META = ("change_count",)  # the target's own bookkeeping, never copied
_ORDER = {"townships": "code", "districts": "code", "alert_refs": "alert_id, identifier, sender, sent", "meta": "key"}


@dataclass(frozen=True)
class CopyResult:
    rows: dict[str, int]     # table -> rows copied


def _is_pg(store) -> bool:
    return getattr(store, "engine", "sqlite") == "postgresql"


def dump(store, table: str, columns: tuple[str, ...], chunk: int = 20_000):
    """The rows of `table` in a stable order, in chunks of tuples; geometry as WKB bytes."""
    exprs = [("ST_AsBinary(geometry)" if c == "geometry" and _is_pg(store) else c) for c in columns]
    where = " WHERE key NOT IN ('change_count')" if table == "meta" else ""
    cur = store.conn.cursor()
    cur.row_factory = None
    cur.execute(f"SELECT {', '.join(exprs)} FROM {table}{where} ORDER BY {_ORDER.get(table, 'id')}")
    while rows := cur.fetchmany(chunk):
        yield [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows]


def _holds_data(store) -> list[str]:
    full = [t for t, _ in TABLES if t != "meta" and store.count(t)]
    if store.count("meta", "key NOT IN ('change_count')"):
        full.append("meta")
    return full


def copy(source, target, *, source_name: str, target_name: str) -> CopyResult:
    """Copy every row of `source` into the empty `target` (two open stores, any engines)."""
    full = _holds_data(target)
    if full:
        raise UsageError(f"目标数据库 {shown_url(target_name)} 已有数据（{'、'.join(full)}），不会覆盖，未做任何更改；"
                         f"请指定一个新的或空的数据库；the target {shown_url(target_name)} already holds data "
                         f"({', '.join(full)}): nothing was copied and nothing changed; name a new or empty database")
    counts: dict[str, int] = {}
    with source.snapshot(), target.write():
        for table, columns in TABLES:
            cols = [c for c in columns if c != "superseded_by"]
            marks = ["ST_GeomFromWKB(?, 4326)" if c == "geometry" and _is_pg(target) else "?" for c in cols]
            sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(marks)})"
            picked = [columns.index(c) for c in cols]
            n = 0
            later = []
            for rows in dump(source, table, columns):
                target.conn.executemany(sql, [tuple(r[i] for i in picked) for r in rows])
                n += len(rows)
                if table == "alerts":
                    at = columns.index("superseded_by")
                    later += [(r[at], r[0]) for r in rows if r[at] is not None]
            if later:
                target.conn.executemany("UPDATE alerts SET superseded_by = ? WHERE id = ?", later)
            counts[table] = n
        if _is_pg(target):
            for table, columns in TABLES:
                if "id" in columns and table not in ("facilities", "households"):
                    target.conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                                        f" coalesce((SELECT max(id) FROM {table}), 0) + 1, false)")
    return CopyResult(counts)
