"""What field staff do to one facility: find it, change its status, note, undo a change, list, export.

Every change is one `BEGIN IMMEDIATE` transaction that reads the facility's current status
inside the transaction, checks the move against the kind's table (`kinds`), updates the
facility and appends a `status_history` row. Concurrent updates therefore queue instead of
overwriting each other, and the history chain (each row's old status is the previous row's
new status) holds.

Undo is a compensating change, never an edit: it restores the state before the facility's
latest change that has not been undone, and its history row names that change (`undoes`).
Undoing again reverses the next earlier change, down to (not including) the facility's
creation. In history rows, a plain change records the inspection and due dates it set (empty
when it left them alone); an undo records the dates it restored, whatever they are. A revised
damage degree (severity) is recorded with the one it replaced (`old_severity`, `new_severity`,
both empty when an entry left it alone), and undo puts the old one back. A note is an entry
whose status stays the same; it changes nothing else and is undone like any entry.

Everything a person types is checked before anything is written: text for control
characters and length, dates, statuses and transitions; names are matched forgivingly
(`matching`: full-width input, pinyin, "did you mean"). This module imports nothing heavy
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
from .matching import normalise, shown

if TYPE_CHECKING:
    from .store import Store

MAX_NOTE = 500
MAX_BY = 60
MAX_REF = 100
CANDIDATES_SHOWN = 10


def clean(value: str | None, what: str, *, limit: int, newlines: bool = False) -> str | None:
    """Stripped text, None when empty; UsageError on control characters or text that is too long."""
    text = (value or "").strip()
    if not text:
        return None
    if (CONTROL if newlines else CONTROL_OR_NEWLINE).search(text):
        raise UsageError(f"{what} 含有控制字符，请输入普通文字；{what} contains control characters; type plain text")
    if len(text) > limit:
        raise UsageError(f"{what} 太长（{len(text)} 个字符），最多 {limit} 个，请缩短；{what} is {len(text)} characters "
                         f"long; at most {limit} are kept")
    return text


def typed_date(text: str | None, what: str) -> str | None:
    if text is None or not text.strip():
        return None
    text = normalise(text)  # a date typed on a Chinese keyboard: ２０２１－１０－０９
    if len(text) > 40 or CONTROL_OR_NEWLINE.search(text):
        raise UsageError(f"{what}「{shown(text)}」不是日期，请写成 YYYY-MM-DD；{what}: '{shown(text)}' is not a date; "
                         "use YYYY-MM-DD")
    return clock.parse_date(text, what=what).isoformat()


def kind_named(text: str) -> K.Kind:
    try:
        return K.lookup_kind(text)
    except K.UnknownName as e:
        raise UsageError(str(e)) from None


def status_named(kind: K.Kind, text: str) -> str:
    try:
        return K.lookup_status(kind, text)
    except K.UnknownName as e:
        raise UsageError(str(e)) from None


def severity_named(kind: K.Kind, text: str) -> str:
    try:
        return K.lookup_severity(kind, text)
    except K.UnknownName as e:
        raise UsageError(str(e)) from None


# --- finding a facility ---------------------------------------------------------------------

def find(store: Store, ref: str) -> dict:
    """A facility by id ("12", "#12", full-width "＃１２") or by its exact name or a unique part of it."""
    text = (ref or "").strip()
    folded = normalise(text)
    number = folded[1:].strip() if folded.startswith("#") else folded
    if number.isascii() and number.isdigit():
        row = store.facility(int(number)) if len(number) < 19 else None
        if row is None:
            raise UsageError(f"没有编号为 {shown(number)} 的设施，编号见 `monitor facility list`；no facility with id "
                             f"{shown(number)}; `monitor facility list` shows the ids")
        return row
    if not text or len(text) > MAX_REF or CONTROL_OR_NEWLINE.search(text):
        raise UsageError(f"「{shown(text)}」既不是设施编号也不是名称的一部分，请给出编号或名称；'{shown(text)}' is neither "
                         "a facility id nor part of a name")
    rows = store.facilities_named(text)
    if not rows and folded != text:
        rows = store.facilities_named(folded)
    if len(rows) == 1:
        return store.facility(rows[0]["id"])
    if not rows:
        raise UsageError(f"没有名称像「{shown(text)}」的设施，设施见 `monitor facility list`；no facility named like "
                         f"'{shown(text)}'; `monitor facility list` shows them")
    listed = [f"  #{r['id']} {r['name']} ({r['township_name'] or '-'})" for r in rows[:CANDIDATES_SHOWN]]
    if len(rows) > CANDIDATES_SHOWN:
        listed.append(f"  ... and {len(rows) - CANDIDATES_SHOWN} more")
    raise UsageError(f"「{shown(text)}」对应 {len(rows)} 处设施，请给出编号或更完整的名称；'{shown(text)}' matches "
                     f"{len(rows)} facilities; give the id or more of the name:\n"
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
    old_severity: str | None = None
    new_severity: str | None = None
    severity_changed: bool = False  # the change set (or an undo restored) the damage degree

    @property
    def kind(self) -> K.Kind:
        return K.KINDS[self.facility["kind"]]

    def as_json(self) -> dict:
        return {"history_id": self.history_id, "facility_id": self.facility["id"], "name": self.facility["name"],
                "old_status": self.old_status, "new_status": self.new_status, "at": self.at, "by": self.by,
                "note": self.note, "last_inspected": self.facility["last_inspected"],
                "due": self.facility["due"], "undoes": self.undoes,
                "old_severity": self.old_severity, "new_severity": self.new_severity,
                "severity": self.facility.get("severity")}


def update(store: Store, ref: str, status: str | None, *, by: str, note: str | None = None,
           inspected: str | None = None, due: str | None = None, severity: str | None = None,
           now: datetime | None = None, tz: str = "Asia/Shanghai") -> Change:
    """Change one facility's status, damage degree (severity), inspection or due date.

    The same status again (or no status) is allowed: it records an inspection, a new due date,
    a revised severity or a note. A severity given is recorded with the one it replaces.
    """
    now = now or clock.now()
    by = clean(by, "--by", limit=MAX_BY)
    if not by:
        raise UsageError("--by 为空，请写明是谁做的变更；--by is empty; say who made the change")
    note = clean(note, "--note", limit=MAX_NOTE, newlines=True)
    inspected = typed_date(inspected, "--inspected")
    due = typed_date(due, "--due")
    if inspected and inspected > clock.local_date(now, tz).isoformat():
        raise UsageError(f"--inspected {inspected} 在今天（{clock.local_date(now, tz)}）之后，请改正日期；--inspected "
                         f"{inspected} is in the future (today is {clock.local_date(now, tz)})")
    if status is not None and (not status.strip() or len(status) > MAX_REF):
        raise UsageError(f"--status「{shown(status or '')}」不是状态，可用状态见 --help；--status "
                         f"'{shown(status or '')}' is not a status")
    if severity is not None and (not severity.strip() or len(severity) > MAX_REF):
        raise UsageError(f"--severity “{shown(severity)}”不是损毁程度；--severity '{shown(severity)}' is not a "
                         "severity (destroyed, major, minor, affected)")
    if status is None and severity is None and not (inspected or due or note):
        raise UsageError("没有要记录的内容：请给出 --status、--severity、--inspected、--due 或 --note；nothing to "
                         "record: give --status, --severity, --inspected, --due or --note")
    with store.write():
        facility = find(store, ref)  # inside the transaction: the status read here is the one we replace
        kind = K.KINDS[facility["kind"]]
        old = facility["status"]
        new = status_named(kind, status) if status is not None else old
        if new != old and new not in kind.transitions.get(old, ()):
            allowed = ", ".join(f"{s} {kind.statuses[s].zh}" for s in kind.transitions.get(old, ()))
            raise UsageError(f"#{facility['id']} {shown(facility['name'])}: {kind.label(old)} 不能改为 "
                             f"{kind.label(new)}，可改为：{allowed or '无'}；{kind.label(old)} cannot become "
                             f"{kind.label(new)}; allowed next: {allowed or 'none'}")
        if (old, new) in kind.needs_note and not note:
            raise UsageError(f"#{facility['id']}: {kind.label(old)} -> {kind.label(new)} 需要备注，请用 --note "
                             f"写明做了什么；needs a note saying what was done (--note \"...\")")
        old_severity = facility["severity"]
        new_severity = severity_named(kind, severity) if severity is not None else None
        at = clock.iso(now)
        store.set_facility_state(facility["id"], status=new, updated=at,
                                 last_inspected=inspected or facility["last_inspected"],
                                 due=due or facility["due"],
                                 severity=new_severity if new_severity is not None else old_severity)
        hid = store.append_history(facility["id"], at=at, by=by, old_status=old, new_status=new, note=note,
                                   inspected=inspected, due=due,
                                   old_severity=old_severity if new_severity is not None else None,
                                   new_severity=new_severity)
        return Change(hid, store.facility(facility["id"]), old, new, at, by, note,
                      old_severity=old_severity if new_severity is not None else None, new_severity=new_severity,
                      severity_changed=new_severity is not None)


def note(store: Store, ref: str, text: str, *, by: str, now: datetime | None = None) -> Change:
    """Record a note on a facility: a history entry whose status stays as it is; nothing else changes."""
    now = now or clock.now()
    by = clean(by, "--by", limit=MAX_BY)
    if not by:
        raise UsageError("--by 为空，请写明是谁做的变更；--by is empty; say who made the change")
    text = clean(text, "the note", limit=MAX_NOTE, newlines=True)
    if not text:
        raise UsageError("备注为空：请写下看到或做了什么；the note is empty: say what was found or done")
    with store.write():
        facility = find(store, ref)
        at = clock.iso(now)
        hid = store.append_history(facility["id"], at=at, by=by, old_status=facility["status"],
                                   new_status=facility["status"], note=text, inspected=None, due=None)
        return Change(hid, facility, facility["status"], facility["status"], at, by, text)


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
        raise UsageError("--by 为空，请写明是谁做的变更；--by is empty; say who made the change")
    note = clean(note, "--note", limit=MAX_NOTE, newlines=True)
    with store.write():
        facility = find(store, ref)
        rows = [e.as_dict() for e in store.history_entries(facility["id"])][::-1]  # oldest first
        undone = {r["undoes"] for r in rows if r["undoes"] is not None}
        target = next((r for r in reversed(rows) if r["undoes"] is None and r["id"] not in undone), None)
        if target is None or target["old_status"] is None:
            raise UsageError(f"#{facility['id']}: 没有可撤销的变更（只剩创建记录），要改请用 monitor facility update；"
                             "nothing left to undo (only its creation is left; `monitor facility update` records a "
                             "new change)")
        if facility["status"] != target["new_status"]:
            raise DataError(f"#{facility['id']}: 当前状态与最近一次变更不符，未撤销，请查看 monitor facility history；"
                            f"status is {facility['status']} but its latest change #{target['id']} set "
                            f"{target['new_status']}; not undoing")
        before = _state_before(rows, target["id"])
        inspected = before["inspected"] if target["inspected"] else facility["last_inspected"]
        due = before["due"] if target["due"] else facility["due"]
        # a change that set the damage degree recorded the one it replaced: put that back
        severity_changed = target.get("new_severity") is not None
        severity = target["old_severity"] if severity_changed else facility["severity"]
        at = clock.iso(now)
        store.set_facility_state(facility["id"], status=target["old_status"], updated=at,
                                 last_inspected=inspected, due=due, severity=severity)
        old_sev, new_sev = (facility["severity"], severity) if severity_changed else (None, None)
        hid = store.append_history(facility["id"], at=at, by=by, old_status=facility["status"],
                                   new_status=target["old_status"], note=note or f"撤销 undo #{target['id']}",
                                   inspected=inspected, due=due, undoes=target["id"],
                                   old_severity=old_sev, new_severity=new_sev)
        return Change(hid, store.facility(facility["id"]), facility["status"], target["old_status"], at, by,
                      note, undoes=target["id"], old_severity=old_sev, new_severity=new_sev,
                      severity_changed=severity_changed)


def history(store: Store, ref: str, limit: int | None = None) -> tuple[dict, list[dict]]:
    """The facility and its history, newest first, each row saying which later row undid it."""
    facility = find(store, ref)
    rows = [e.as_dict() for e in store.history_entries(facility["id"])]
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
        raise UsageError("--by 为空，请写明是谁添加的；--by is empty; say who added the facility")
    try:
        rec = normalise(fields, crs=crs)
    except ValueError as e:
        raise UsageError(shown(str(e), 200)) from None
    if store.count("townships") == 0:
        raise UsageError("数据库里还没有乡镇，请先运行 monitor init；no townships in the database yet; run `monitor init` "
                         "first")
    code = locate(store, [rec["lon"]], [rec["lat"]])[0]
    if code is None:
        from .facilities import outside_hints, outside_message

        (hint,) = outside_hints([rec["lon"]], [rec["lat"]], crs, lambda x, y: locate(store, x, y))
        raise UsageError(outside_message(rec["lon"], rec["lat"], hint))
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
        raise UsageError(f"--near「{shown(text)}」不是“经度,纬度”，如 116.63,40.32；--near '{shown(text)}' is not "
                         "LON,LAT (e.g. 116.63,40.32)") from None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise UsageError(f"--near {shown(text)} 超出范围（经度 -180..180，纬度 -90..90）；--near {shown(text)} is out "
                         "of range (lon -180..180, lat -90..90)")
    if crs == "gcj02":
        from .gcj02 import gcj_to_wgs

        lon, lat = gcj_to_wgs(lon, lat)
    return lon, lat


def _status_pairs(kinds: Iterable[K.Kind], status: str | None, open_only: bool) -> set[tuple[str, str]] | None:
    if status is None and not open_only:
        return None
    kinds = list(kinds)
    named: dict[str, str] = {}  # kind -> the status `status` names in it
    if status is not None:
        for k in kinds:
            try:
                named[k.code] = K.lookup_status(k, status)
            except K.UnknownName as e:
                if len(kinds) == 1:
                    raise UsageError(str(e)) from None
        if not named:
            raise UsageError(str(_unknown_status_of_any(kinds, status))) from None
    return {(k.code, s.code) for k in kinds for s in k.statuses.values()
            if (status is None or named.get(k.code) == s.code) and (s.open or not open_only)}


def _unknown_status_of_any(kinds: list[K.Kind], status: str) -> K.UnknownName:
    """The error for a status no kind has, suggesting the close ones of every kind."""
    from .matching import Unmatched, match

    choices = list({c.label: c for k in kinds for c in K.status_choices(k)}.values())
    choices.sort(key=lambda c: c.label)
    try:
        match(status, choices)
        suggestions = []
    except Unmatched as e:
        suggestions = e.suggestions or e.ambiguous
    return K.unknown("状态", "status", status, choices, suggestions=suggestions)


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
            raise UsageError(f"--within 须大于 0 且不超过 1000 公里；--within {f.within_km} km must be more than 0 and "
                             "at most 1000")
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
        raise UsageError("按距离排序需要 --near 经度,纬度；--sort distance needs --near LON,LAT")
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


# Each column's Chinese name: a CSV heads its columns `中文 english` (tables.heading), and the import
# reads the English name back (tables.english).
COLUMN_ZH = {"id": "系统编号", "ref": "台账编号", "name": "名称", "kind": "类别", "subtype": "子类", "status": "状态",
             "severity": "损毁程度", "lon": "经度", "lat": "纬度", "township": "乡镇", "responsible": "责任人",
             "phone": "电话", "households": "户数", "people": "人数", "last_inspected": "上次检查", "due": "期限",
             "notes": "备注", "blocks_heating": "阻断供暖", "source": "来源"}


def _export_row(r: dict) -> dict:
    return {c: (r.get("township_name") if c == "township" else r.get(c)) for c in EXPORT_COLUMNS}


def to_csv(rows: list[dict]) -> str:
    """CSV text that `facility import` reads back (lon/lat at full precision; formula-like text
    neutralised by `tables.cell`, which the import undoes); headers `中文 english`, blocks_heating
    是/否, both of which the import reads."""
    import csv
    import io

    from .tables import cell, heading, yes_no

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([heading(COLUMN_ZH[c], c) for c in EXPORT_COLUMNS])
    for r in rows:  # cell(): text that Excel would run as a formula gets a leading apostrophe
        row = _export_row(r)
        row["blocks_heating"] = yes_no(row["blocks_heating"])
        w.writerow([cell(row[c]) for c in EXPORT_COLUMNS])
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
    write_text(path, text, "csv" if fmt == "csv" else "geojson", encoding="utf-8-sig" if fmt == "csv" else "utf-8")
