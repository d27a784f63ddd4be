"""The typed records that cross the store's boundary, the same whichever engine keeps them.

Each is a frozen dataclass named for what it is, with the stored columns as fields (in the
order of the table), `from_row` to build it from an engine's row (a mapping of column names:
sqlite3.Row, a psycopg dict row) and `as_dict` for a caller that prints JSON. Times are UTC ISO
strings as stored; the engines convert nothing else.

Whole-column reads for the rule engine and the map stay columnar (numpy arrays from
`FacilityStore.facility_column_arrays`): a million records would cost more than the rules.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping, TypeVar

R = TypeVar("R", bound="Record")


class Record:
    """Shared by the records: built from a row by column name, turned back into a dict."""

    @classmethod
    def from_row(cls: type[R], row: Mapping[str, Any]) -> R:
        keys = set(row.keys())
        return cls(**{f.name: row[f.name] for f in fields(cls) if f.name in keys})  # type: ignore[call-arg]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True, slots=True)
class Township(Record):
    """A township (or street office), its outline's bounding box and label point."""
    code: str
    name: str
    name_en: str | None = None
    kind: str | None = None
    minx: float | None = None
    miny: float | None = None
    maxx: float | None = None
    maxy: float | None = None
    lon: float | None = None
    lat: float | None = None
    approximate: int | None = None
    source: str | None = None
    geometry: bytes | None = None       # WKB; None when read without geometry


@dataclass(frozen=True, slots=True)
class HistoryEntry(Record):
    """One row of a facility's append-only status history (never changed once written)."""
    id: int
    facility_id: int
    at: str
    by: str
    old_status: str | None
    new_status: str
    note: str | None = None
    inspected: str | None = None
    due: str | None = None
    undoes: int | None = None           # the entry this one undid (a compensating entry)
    old_severity: str | None = None
    new_severity: str | None = None


@dataclass(frozen=True, slots=True)
class FetchRecord(Record):
    """One attempt to fetch a warning source (the fetch log)."""
    id: int
    source: str
    started: str
    finished: str | None = None
    ok: int | None = None
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    new: int | None = None
    updated: int | None = None
    cancelled: int | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return bool(self.ok)


@dataclass(frozen=True, slots=True)
class StoreCounts(Record):
    """How much a database holds, table by table (what `monitor db copy` compares)."""
    townships: int
    facilities: int
    status_history: int
    alerts: int
    alert_refs: int
    follow_ups: int
    fetch_log: int
    meta: int


@dataclass(frozen=True, slots=True)
class HouseholdHistoryEntry(Record):
    """One row of a household's append-only history: its device state, a visit, or an undo."""
    id: int
    household_id: int
    at: str
    by: str
    old_device: str | None
    new_device: str
    visited: str | None = None
    note: str | None = None
    undoes: int | None = None
