"""What field staff do to one facility: find it, change its status, undo a change, list, export.

Every change is one `BEGIN IMMEDIATE` transaction that reads the facility's current status
inside the transaction, checks the move against the kind's table (`kinds`), updates the
facility and appends a `status_history` row. Concurrent updates therefore queue instead of
overwriting each other, and the history chain (each row's old status is the previous row's
new status) holds.

Undo is a compensating change, never an edit: it restores the state before the facility's
latest change that has not been undone, and its history row names that change (`undoes`).
Undoing again reverses the next earlier change, down to (not including) the facility's
creation. In history rows, a plain change records the inspection and due dates it set (empty
when it left them alone); an undo records the dates it restored, whatever they are.

Everything a person types is checked before anything is written: text for control
characters and length, dates, statuses and transitions. This module imports nothing heavy
(no numpy, shapely or sqlite-utils): `monitor facility update` starts from it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from . import clock
from . import kinds as K
from .errors import DataError, UsageError
from .facilities import CONTROL, CONTROL_OR_NEWLINE
from .geodesy import EARTH_RADIUS_KM, distance_km

if TYPE_CHECKING:
    from .store import Store

MAX_NOTE = 500
MAX_BY = 60
MAX_REF = 100
CANDIDATES_SHOWN = 10


def shown(text: str, limit: int = 40) -> str:
    """Typed text made safe to echo in a message: controls escaped, long text cut."""
    safe = CONTROL_OR_NEWLINE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    return safe if len(safe) <= limit else safe[:limit] + "…"


def clean(value: str | None, what: str, *, limit: int, newlines: bool = False) -> str | None:
    """Stripped text, None when empty; UsageError on control characters or text that is too long."""
    text = (value or "").strip()
    if not text:
        return None
    if (CONTROL if newlines else CONTROL_OR_NEWLINE).search(text):
        raise UsageError(f"{what} contains control characters; type plain text")
    if len(text) > limit:
        raise UsageError(f"{what} is {len(text)} characters long; at most {limit} are kept")
    return text


def typed_date(text: str | None, what: str) -> str | None:
    if text is None or not text.strip():
        return None
    if len(text) > 40 or CONTROL_OR_NEWLINE.search(text):
        raise UsageError(f"{what}: '{shown(text)}' is not a date; use YYYY-MM-DD")
    return clock.parse_date(text, what=what).isoformat()


def kind_named(text: str) -> K.Kind:
    try:
        return K.kind(text.strip())
    except KeyError:
        known = ", ".join(f"{k.code} {k.zh}" for k in K.KINDS.values())
        raise UsageError(f"unknown kind '{shown(text)}'; known: {known}") from None


def status_named(kind: K.Kind, text: str) -> str:
    try:
        return K.status_code(kind, text)
    except KeyError:
        known = ", ".join(f"{s.code} {s.zh}" for s in kind.statuses.values())
        raise UsageError(f"unknown status '{shown(text)}' for {kind.code} {kind.zh}; known: {known}") from None


# --- finding a facility ---------------------------------------------------------------------

def find(store: Store, ref: str) -> dict:
    """A facility by id ("12" or "#12") or by its exact name or a unique part of it."""
    text = (ref or "").strip()
    number = text[1:] if text.startswith("#") else text
    if number.isascii() and number.isdigit():
        row = store.facility(int(number)) if len(number) < 19 else None
        if row is None:
            raise UsageError(f"no facility with id {shown(number)}; `monitor facility list` shows the ids")
        return row
    if not text or len(text) > MAX_REF or CONTROL_OR_NEWLINE.search(text):
        raise UsageError(f"'{shown(text)}' is neither a facility id nor part of a name")
    rows = store.facilities_named(text)
    if len(rows) == 1:
        return store.facility(rows[0]["id"])
    if not rows:
        raise UsageError(f"no facility named like '{shown(text)}'; `monitor facility list` shows them")
    listed = [f"  #{r['id']} {r['name']} ({r['township_name'] or '-'})" for r in rows[:CANDIDATES_SHOWN]]
    if len(rows) > CANDIDATES_SHOWN:
        listed.append(f"  ... and {len(rows) - CANDIDATES_SHOWN} more")
    raise UsageError(f"'{shown(text)}' matches {len(rows)} facilities; give the id or more of the name:\n"
                     + "\n".join(listed))


# --- changing a status ----------------------------------------------------------------------

@dataclass
class Change:
    """One change just written: the history row and the facility as it now stands."""
    history_id: int
    facility: dict
    old_status: str | None
    new_status: str
    at: str
    by: str
    note: str | None
    undoes: int | None = None

    @property
    def kind(self) -> K.Kind:
        return K.KINDS[self.facility["kind"]]

    def as_json(self) -> dict:
        return {"history_id": self.history_id, "facility_id": self.facility["id"], "name": self.facility["name"],
                "old_status": self.old_status, "new_status": self.new_status, "at": self.at, "by": self.by,
                "note": self.note, "last_inspected": self.facility["last_inspected"],
                "due": self.facility["due"], "undoes": self.undoes}


def update(store: Store, ref: str, status: str, *, by: str, note: str | None = None,
           inspected: str | None = None, due: str | None = None, now: datetime | None = None,
           tz: str = "Asia/Shanghai") -> Change:
    """Change one facility's status (and optionally its inspection and due dates).

    The same status again is allowed: it records an inspection, a new due date or a note.
    """
    now = now or clock.now()
    by = clean(by, "--by", limit=MAX_BY)
    if not by:
        raise UsageError("--by is empty; say who made the change")
    note = clean(note, "--note", limit=MAX_NOTE, newlines=True)
    inspected = typed_date(inspected, "--inspected")
    due = typed_date(due, "--due")
    if inspected and inspected > clock.local_date(now, tz).isoformat():
        raise UsageError(f"--inspected {inspected} is in the future (today is {clock.local_date(now, tz)})")
    if not status or not status.strip() or len(status) > MAX_REF:
        raise UsageError(f"--status '{shown(status or '')}' is not a status")
    with store.write():
        facility = find(store, ref)  # inside the transaction: the status read here is the one we replace
        kind = K.KINDS[facility["kind"]]
        new = status_named(kind, status)
        old = facility["status"]
        if new != old and new not in kind.transitions.get(old, ()):
            allowed = ", ".join(f"{s} {kind.statuses[s].zh}" for s in kind.transitions.get(old, ()))
            raise UsageError(f"#{facility['id']} {shown(facility['name'])}: {kind.label(old)} cannot become "
                             f"{kind.label(new)}; allowed next: {allowed or 'none'}")
        if (old, new) in kind.needs_note and not note:
            raise UsageError(f"#{facility['id']}: {kind.label(old)} -> {kind.label(new)} needs a note saying "
                             f"what was done (--note \"...\")")
        at = clock.iso(now)
        store.set_facility_state(facility["id"], status=new, updated=at,
                                 last_inspected=inspected or facility["last_inspected"],
                                 due=due or facility["due"])
        hid = store.append_history(facility["id"], at=at, by=by, old_status=old, new_status=new, note=note,
                                   inspected=inspected, due=due)
        return Change(hid, store.facility(facility["id"]), old, new, at, by, note)


def _state_before(rows: list[dict], history_id: int) -> dict:
    """Status, inspection and due dates just before history row `history_id` (rows oldest first)."""
    return state_after([r for r in rows if r["id"] < history_id])


def state_after(rows: list[dict]) -> dict:
    """Status, inspection and due dates after the history `rows` (oldest first), by the recording
    rule: a change records only the dates it set; an undo records the absolute dates it restored."""
    state = {"status": None, "inspected": None, "due": None}
    for r in rows:
        state["status"] = r["new_status"]
        for date_ in ("inspected", "due"):
            if r.get("undoes") is not None:  # an undo records the absolute values it restored
                state[date_] = r.get(date_)
            else:  # a change records only what it set
                state[date_] = r.get(date_) or state[date_]
    return state


def undo(store: Store, ref: str, *, by: str, note: str | None = None, now: datetime | None = None) -> Change:
    """Reverse the facility's latest change that is not yet undone, by a compensating change."""
    now = now or clock.now()
    by = clean(by, "--by", limit=MAX_BY)
    if not by:
        raise UsageError("--by is empty; say who made the change")
    note = clean(note, "--note", limit=MAX_NOTE, newlines=True)
    with store.write():
        facility = find(store, ref)
        rows = store.history(facility["id"])[::-1]  # oldest first
        undone = {r["undoes"] for r in rows if r["undoes"] is not None}
        target = next((r for r in reversed(rows) if r["undoes"] is None and r["id"] not in undone), None)
        if target is None or target["old_status"] is None:
            raise UsageError(f"#{facility['id']}: nothing left to undo (only its creation is left; "
                             "`monitor facility update` records a new change)")
        if facility["status"] != target["new_status"]:
            raise DataError(f"#{facility['id']}: status is {facility['status']} but its latest change "
                            f"#{target['id']} set {target['new_status']}; not undoing")
        before = _state_before(rows, target["id"])
        inspected = before["inspected"] if target["inspected"] else facility["last_inspected"]
        due = before["due"] if target["due"] else facility["due"]
        at = clock.iso(now)
        store.set_facility_state(facility["id"], status=target["old_status"], updated=at,
                                 last_inspected=inspected, due=due)
        hid = store.append_history(facility["id"], at=at, by=by, old_status=facility["status"],
                                   new_status=target["old_status"], note=note or f"撤销 undo #{target['id']}",
                                   inspected=inspected, due=due, undoes=target["id"])
        return Change(hid, store.facility(facility["id"]), facility["status"], target["old_status"], at, by,
                      note, undoes=target["id"])


def history(store: Store, ref: str, limit: int | None = None) -> tuple[dict, list[dict]]:
    """The facility and its history, newest first, each row saying which later row undid it."""
    facility = find(store, ref)
    rows = store.history(facility["id"])
    undone_by = {r["undoes"]: r["id"] for r in rows if r["undoes"] is not None}
    rows = [{**r, "undone_by": undone_by.get(r["id"])} for r in rows]
    return facility, rows[:limit] if limit else rows


# --- adding one facility --------------------------------------------------------------------

def add(store: Store, fields: dict, *, crs: str | None, by: str, now: datetime | None = None) -> dict:
    """Validate one facility typed on the command line and insert it with its first history row."""
    from .facilities import normalise
    from .inventory import locate

    now = now or clock.now()
    by = clean(by, "--by", limit=MAX_BY)
    if not by:
        raise UsageError("--by is empty; say who added the facility")
    try:
        rec = normalise(fields, crs=crs)
    except ValueError as e:
        raise UsageError(shown(str(e), 200)) from None
    if store.count("townships") == 0:
        raise UsageError("no townships in the database yet; run `monitor init` first")
    code = locate(store, [rec["lon"]], [rec["lat"]])[0]
    if code is None:
        hint = " (GCJ-02 coordinates from a phone map? add --crs gcj02)" if crs is None else ""
        raise UsageError(f"point {rec['lon']:.6f},{rec['lat']:.6f} is outside the district{hint}")
    rec["township"] = code
    rec["source"] = rec.get("source") or "cli"
    with store.write():
        taken = store.facilities_by_ref([rec["ref"]]).get(rec["ref"]) if rec.get("ref") else None
        if taken:
            raise UsageError(f"编号 ref '{shown(rec['ref'])}' 已属于设施 #{taken['id']} {shown(taken['name'])}，"
                             f"请用 monitor facility update 修改它；ref '{shown(rec['ref'])}' already belongs to "
                             f"#{taken['id']}: use `monitor facility update` to change that facility")
        (fid,) = store.insert_facilities([rec], at=clock.iso(now), by=by, note="新增 added")
    return store.select_facilities(ids=[fid])[0]


# --- listing --------------------------------------------------------------------------------

SORT_KEYS = ("id", "name", "township", "kind", "status", "due", "updated", "households", "distance")


@dataclass
class Filters:
    township: str | None = None
    kind: str | None = None
    status: str | None = None
    open_only: bool = False
    overdue: bool = False
    responsible: str | None = None
    near: tuple[float, float] | None = None  # WGS-84 lon, lat
    within_km: float = 5.0
    sort: str = "id"
    descending: bool = False


def parse_point(text: str, crs: str | None = None) -> tuple[float, float]:
    """"LON,LAT" to a WGS-84 point (converted from GCJ-02 when crs is "gcj02")."""
    parts = (text or "").replace("，", ",").split(",")
    try:
        lon, lat = (float(p) for p in parts)
    except ValueError:
        raise UsageError(f"--near '{shown(text)}' is not LON,LAT (e.g. 116.63,40.32)") from None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise UsageError(f"--near {shown(text)} is out of range (lon -180..180, lat -90..90)")
    if crs == "gcj02":
        from .gcj02 import gcj_to_wgs

        lon, lat = gcj_to_wgs(lon, lat)
    return lon, lat


def _status_pairs(kinds: Iterable[K.Kind], status: str | None, open_only: bool) -> set[tuple[str, str]] | None:
    if status is None and not open_only:
        return None
    pairs = set()
    matched = False
    for k in kinds:
        for s in k.statuses.values():
            if status is not None:
                try:
                    if K.status_code(k, status) != s.code:
                        continue
                except KeyError:
                    continue
                matched = True
            if open_only and not s.open:
                continue
            pairs.add((k.code, s.code))
    if status is not None and not matched:
        known = sorted({f"{s.code} {s.zh}" for k in kinds for s in k.statuses.values()})
        raise UsageError(f"unknown status '{shown(status)}'; known: {', '.join(known)}")
    return pairs


def select(store: Store, filters: Filters, *, today: date) -> list[dict]:
    """Facilities matching `filters`, sorted; with `distance_km` when `near` is given."""
    f = filters
    kind = kind_named(f.kind) if f.kind else None
    township = store.township_lookup(f.township.strip())["code"] if f.township else None
    pairs = _status_pairs([kind] if kind else K.KINDS.values(), f.status, f.open_only or f.overdue)
    responsible = clean(f.responsible, "--responsible", limit=MAX_BY) if f.responsible else None
    bbox = None
    if f.near is not None:
        if not (math.isfinite(f.within_km) and 0 < f.within_km <= 1000):
            raise UsageError(f"--within {f.within_km} km must be more than 0 and at most 1000")
        lon, lat = f.near
        dlat = math.degrees(f.within_km / EARTH_RADIUS_KM) * 1.001
        dlon = dlat / max(math.cos(math.radians(min(abs(lat) + dlat, 89.9))), 1e-6)
        bbox = (lon - dlon, lat - dlat, lon + dlon, lat + dlat)
    rows = store.select_facilities(township=township, kind=kind.code if kind else None, kind_statuses=pairs,
                                   responsible=responsible, bbox=bbox,
                                   due_before=today.isoformat() if f.overdue else None)
    if f.near is not None:
        for r in rows:
            r["distance_km"] = distance_km(f.near[0], f.near[1], r["lon"], r["lat"])
        rows = [r for r in rows if r["distance_km"] <= f.within_km]
        for r in rows:
            r["distance_km"] = round(r["distance_km"], 3)
    sort = f.sort if f.sort in SORT_KEYS else "id"
    if sort == "distance" and f.near is None:
        raise UsageError("--sort distance needs --near LON,LAT")
    column = {"township": "township_name", "distance": "distance_km"}.get(sort, sort)
    present = [r for r in rows if r.get(column) not in (None, "")]
    missing = [r for r in rows if r.get(column) in (None, "")]
    present.sort(key=lambda r: (r[column], r["id"]), reverse=f.descending)
    return present + missing  # rows without the value last, either way


def is_overdue(row: dict, today: date) -> bool:
    k = K.KINDS.get(row["kind"])
    s = k.statuses.get(row["status"]) if k else None
    return bool(row.get("due")) and row["due"] < today.isoformat() and bool(s and s.open)


# --- export ---------------------------------------------------------------------------------

# The columns `monitor facility import` reads, plus id and township for people reading the file
# (import ignores those two: the township always comes from the point; `ref` makes a re-import
# update the same facilities instead of adding them again).
EXPORT_COLUMNS = ("id", "ref", "name", "kind", "subtype", "status", "severity", "lon", "lat", "township",
                  "responsible", "phone", "households", "people", "last_inspected", "due", "notes",
                  "blocks_heating", "source")


def _export_row(r: dict) -> dict:
    return {c: (r.get("township_name") if c == "township" else r.get(c)) for c in EXPORT_COLUMNS}


def to_csv(rows: list[dict]) -> str:
    """CSV text that `facility import` reads back (lon/lat at full precision; formula-like text
    neutralised by `tables.cell`, which the import undoes)."""
    import csv
    import io

    from .tables import cell

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:  # cell(): text that Excel would run as a formula gets a leading apostrophe
        w.writerow({k: cell(v) for k, v in _export_row(r).items()})
    return buf.getvalue()


def to_geojson(rows: list[dict]) -> str:
    import json

    features = []
    for r in rows:
        props = {k: v for k, v in _export_row(r).items() if k not in ("lon", "lat")}
        features.append({"type": "Feature", "id": r["id"],
                         "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                         "properties": props})
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1) + "\n"


def write_export(rows: list[dict], fmt: str, path) -> None:
    """Write the file whole or not at all (outfile: a temporary file renamed into place)."""
    from .outfile import write_text

    text = to_csv(rows) if fmt == "csv" else to_geojson(rows)
    # utf-8-sig for CSV: Excel on an office PC then reads the Chinese correctly
    write_text(path, text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
