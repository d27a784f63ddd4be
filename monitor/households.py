"""Household heating: what each converted household heats with, whether it works, who lives
there and whether they are vulnerable; importing the register and changing it in the field.

A household is personal data (contact, phone, vulnerability flags): it is kept in its own table
(monitor.store.households says why), read only by the commands of the office, and leaves it
only as counts per village unless `--include-personal` is given.

Heating types and device states are data (`HEATING`, `DEVICES`), matched forgivingly
(code, Chinese or English). Villages are the real village committees of the district
(geodata/huairou_villages.csv, 12-digit codes); a row names its village by code or by name
(`宰相庄`, `宰相庄村`, `宰相庄村委会`), and the township follows from the code.

`import_households` is all-or-nothing and matches rows to stored households by `ref`, as the
facility import does: a known ref updates the household (a device change or a visit goes into
the history), a new ref adds one, a ref twice in a file is refused. `update` and `undo` change
one household in one transaction, appending to its history, never editing it. Nothing heavy is
imported here.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from . import clock
from .errors import DataError, UsageError
from .facilities import clean_text, parse_date_field
from .inventory import ImportCounts as HouseholdImport  # the same counts as a facility import
from .inventory import Rollback as _Rollback

VILLAGES_FILE = Path(__file__).resolve().parent.parent / "geodata" / "huairou_villages.csv"

HEATING = {  # code -> (zh, en)
    "heat_pump": ("空气源热泵", "air-source heat pump"),
    "electric_heater": ("电暖器", "electric heater"),
    "gas_heater": ("燃气壁挂炉", "gas wall heater"),
    "central": ("集中供暖", "central heating"),
    "coal_stove": ("燃煤炉（未改造）", "coal stove (not yet converted)"),
}
ELECTRIC = ("heat_pump", "electric_heater")
COMBUSTION = ("gas_heater", "coal_stove")   # carbon-monoxide risk
DEVICES = {  # code -> (zh, en, heating works)
    "working": ("正常", "working", True),
    "fault": ("故障", "fault", False),
    "under_repair": ("维修中", "under repair", False),
    "replaced": ("已更换", "replaced", True),
}
FLAG_NAMES = {
    "elderly_alone": ("独居老人", "elderly living alone"),
    "disabled": ("残疾人", "disabled"),
    "low_income": ("低保/特困供养", "low-income"),
    "infants": ("婴幼儿", "infants"),
}
FLAGS = tuple(FLAG_NAMES)
YES = ("1", "true", "yes", "y", "是", "有", "√")
NO = ("", "0", "false", "no", "n", "否", "无")
BATCH_ROWS = 5_000
PROBLEMS_SHOWN = 20


def heating_label(code: str | None) -> str:
    return " ".join(HEATING.get(code or "", (code or "-",)))


def device_label(code: str | None) -> str:
    return " ".join(DEVICES.get(code or "", (code or "-",))[:2])


def flags_label(row: dict) -> str:
    return "、".join(FLAG_NAMES[f][0] for f in FLAGS if row.get(f)) or "-"


def _named(table: dict, text: str, what: str, what_zh: str) -> str:
    from .matching import normalise

    t = normalise(text).strip().lower()
    for code, names in table.items():
        if t in (code, names[0].lower(), names[1].lower()) or t == code.replace("_", " "):
            return code
    choices = "、".join(f"{c}（{v[0]}）" for c, v in table.items())
    raise ValueError(f"{what_zh}「{text}」不认识，可填：{choices}；unknown {what} '{text}': use one of {', '.join(table)}")


def heating_named(text: str) -> str:
    return _named(HEATING, text, "heating", "供暖方式 heating")


def device_named(text: str) -> str:
    return _named(DEVICES, text, "device status", "设备状态 device")


# --- villages --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Village:
    code: str
    township: str       # the township's 12-digit code
    name: str           # 宰相庄村
    full_name: str      # 宰相庄村委会
    lon: float | None = None
    lat: float | None = None


@dataclass
class Villages:
    by_code: dict[str, Village]
    by_name: dict[str, list[Village]] = field(default_factory=dict)

    def find(self, code: str | None, name: str | None) -> Village:
        if code:
            v = self.by_code.get(code.strip())
            if v is None:
                raise ValueError(f"村代码 village_code {code} 不是本区的村，请核对（见 geodata/huairou_villages.csv）；"
                                 f"village_code {code} is not a village of the district")
            return v
        if not name:
            raise ValueError("村 village 为空，请填写村名或村代码；village is empty: give its name or village_code")
        found = self.by_name.get(_village_key(name), [])
        if len(found) == 1:
            return found[0]
        if found:
            raise ValueError(f"村名「{name}」不唯一，请填写村代码 village_code（{'、'.join(v.code for v in found)}）；"
                             f"village '{name}' is ambiguous: give its village_code")
        raise ValueError(f"没有叫「{name}」的村，请核对村名或填写村代码；no village named '{name}': check the name "
                         f"or give the village_code")


def _village_key(name: str) -> str:
    from .matching import normalise

    n = normalise(name).strip()
    for suffix in ("村民委员会", "村委会", "村"):
        if n.endswith(suffix) and len(n) > len(suffix):
            return n[: -len(suffix)]
    return n


@lru_cache(maxsize=1)
def villages(path: Path = VILLAGES_FILE) -> Villages:
    by_code: dict[str, Village] = {}
    with open(path, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            by_code[r["code"]] = Village(r["code"], r["township_code"], r["name"], r["full_name"],
                                         float(r["lon"]) if r["lon"] else None, float(r["lat"]) if r["lat"] else None)
    out = Villages(by_code)
    for v in by_code.values():
        out.by_name.setdefault(_village_key(v.name), []).append(v)
    return out


# --- rows ------------------------------------------------------------------------------------

def _flag(value, name: str) -> int:
    t = str(value or "").strip().lower()
    if t in YES:
        return 1
    if t in NO:
        return 0
    raise ValueError(f"{FLAG_NAMES[name][0]} {name}「{value}」应填 是 或 否；{name} '{value}' must be 是/否, yes/no or 1/0")


def normalise(row: dict) -> dict:
    """One household row as stored (ValueError naming the field when a value is bad)."""
    ref = clean_text(row.get("ref"), "编号 ref", required=True)
    village = villages().find(clean_text(row.get("village_code"), "village_code"), clean_text(row.get("village"),
                                                                                              "village"))
    rec = {
        "ref": ref, "village_code": village.code, "village": village.name, "township": village.township,
        "heating": heating_named(clean_text(row.get("heating"), "供暖方式 heating", required=True)),
        "device": device_named(clean_text(row.get("device"), "设备状态 device") or "working"),
        "last_visit": parse_date_field(row.get("last_visit"), "上次走访 last_visit"),
        "contact": clean_text(row.get("contact"), "联系人 contact"),
        "phone": clean_text(row.get("phone"), "电话 phone"),
        "notes": clean_text(row.get("notes"), "备注 notes"),
    }
    for name in FLAGS:
        rec[name] = _flag(row.get(name), name)
    return rec




_REPLACED = ("village_code", "village", "township", "heating", "contact", "phone", "notes") + FLAGS


def import_households(store, path: Path, *, by: str, dry_run: bool = False) -> HouseholdImport:
    """Import a household file (CSV in UTF-8 or GB18030, or .xlsx) in one transaction, all of it
    or nothing, matching rows to stored households by `ref`."""
    from .tables import read_table

    result = HouseholdImport(dry_run=dry_run)
    at = clock.iso(clock.now())
    note = f"导入 imported from {path.name}"
    seen: dict[str, str] = {}

    def problem(text: str) -> None:
        result.problem_count += 1
        if len(result.problems) < PROBLEMS_SHOWN:
            result.problems.append(text)

    def batch(rows: list[dict]) -> None:
        recs = []
        for row in rows:
            result.rows += 1
            where = row.get("_where", "row")
            try:
                rec = normalise(row)
            except ValueError as e:
                problem(f"{where}: {e}")
                continue
            if rec["ref"] in seen:
                problem(f"{where}: 编号 ref '{rec['ref']}' 在文件中出现两次（先见于 {seen[rec['ref']]}）；"
                        f"ref '{rec['ref']}' is given twice (first in {seen[rec['ref']]})")
                continue
            seen[rec["ref"]] = where
            rec["_given"] = frozenset(k for k in row if not k.startswith("_"))
            recs.append(rec)
        known = store.households_by_ref([r["ref"] for r in recs])
        adds, updates = [], []
        for rec in recs:
            old = known.get(rec["ref"])
            if old is None:
                rec["source"] = path.name
                adds.append(rec)
                result.by_township[rec["township"]] = result.by_township.get(rec["township"], 0) + 1
                continue
            changes = {c: rec[c] for c in _REPLACED if (c in rec["_given"] or c in ("village", "township"))
                       and rec[c] != old[c]}
            device_given = "device" in rec["_given"] and rec["device"] != old["device"]
            visited = rec["last_visit"] if rec["last_visit"] and rec["last_visit"] != old["last_visit"] else None
            if device_given:
                changes["device"] = rec["device"]
            if visited:
                changes["last_visit"] = visited
            if not changes:
                result.unchanged += 1
                continue
            changes["updated"] = at
            updates.append((old["id"], changes))
            if device_given or visited:
                store.append_household_history(old["id"], at=at, by=by, old_device=old["device"],
                                               new_device=changes.get("device", old["device"]), visited=visited,
                                               note=note)
            result.updated += 1
            result.by_township[rec["township"]] = result.by_township.get(rec["township"], 0) + 1
        store.insert_households(adds, at=at, by=by, note=note)
        store.update_households(updates)
        result.added += len(adds)

    try:
        with store.write():
            with read_table(path, header=("ref",)) as table:
                rows: list[dict] = []
                for row in table.rows:
                    rows.append(row)
                    if len(rows) >= BATCH_ROWS:
                        batch(rows)
                        rows = []
                batch(rows)
            if result.rows == 0:
                raise DataError(f"{path}: 没有可导入的行；no rows to import")
            if result.problem_count or dry_run:
                raise _Rollback
    except _Rollback:
        pass
    if result.problem_count and not dry_run:
        more = result.problem_count - len(result.problems)
        raise DataError(f"{path}: {result.problem_count} 行有问题，未导入任何数据；{result.problem_count} bad row(s), "
                        f"nothing imported:\n  " + "\n  ".join(result.problems + ([f"... and {more} more"] if more > 0
                                                                                   else [])))
    return result


# --- one household in the field ----------------------------------------------------------------

def find(store, ref: str) -> dict:
    """A household by its ref (HH-000123) or its id (#12)."""
    text = (ref or "").strip()
    if text.startswith(("#", "＃")) and text[1:].strip().isdigit():
        row = store.household(int(text[1:].strip()))
    else:
        row = store.households_by_ref([text]).get(text)
    if row is None:
        raise UsageError(f"没有编号为「{text[:40]}」的住户，编号见 `monitor households list`；no household with ref "
                         f"'{text[:40]}'; `monitor households list` shows them")
    return row


def update(store, ref: str, *, device: str | None, visited: str | None, note: str | None, by: str) -> tuple[int, dict]:
    """Record a device change and/or a visit to one household: (history id, household as now)."""
    from .fieldwork import clean, typed_date

    note = clean(note, "备注 --note", limit=500)
    visited = typed_date(visited, "走访日期 --visited")
    try:
        new = device_named(device) if device else None
    except ValueError as e:
        raise UsageError(str(e)) from None
    if new is None and visited is None and note is None:
        raise UsageError("请给出 --device、--visited 或 --note；give --device, --visited or --note")
    at = clock.iso(clock.now())
    with store.write():
        h = find(store, ref)
        changes = {"updated": at}
        if new:
            changes["device"] = new
        if visited:
            changes["last_visit"] = visited
        store.update_households([(h["id"], changes)])
        hid = store.append_household_history(h["id"], at=at, by=by, old_device=h["device"],
                                             new_device=new or h["device"], visited=visited, note=note)
        return hid, store.household(h["id"])


def undo(store, ref: str, *, by: str, note: str | None = None) -> tuple[int, dict]:
    """Reverse the household's latest change not yet undone, by a compensating entry: the device
    state before it, and the last visit recorded before it."""
    from .fieldwork import clean

    note = clean(note, "备注 --note", limit=500)
    at = clock.iso(clock.now())
    with store.write():
        h = find(store, ref)
        rows = list(reversed(store.household_history(h["id"])))  # oldest first
        undone = {r.undoes for r in rows if r.undoes} | {r.id for r in rows if r.undoes}
        live = [r for r in rows if r.id not in undone]
        if len(live) <= 1:
            raise UsageError(f"住户 {h['ref']} 没有可撤销的变更；household {h['ref']} has no change left to undo")
        target, before = live[-1], live[:-1]
        visits = [r.visited for r in before if r.visited]
        visit = visits[-1] if visits else None
        store.update_households([(h["id"], {"device": before[-1].new_device, "last_visit": visit, "updated": at})])
        hid = store.append_household_history(h["id"], at=at, by=by, old_device=h["device"],
                                             new_device=before[-1].new_device, visited=visit,
                                             note=note or f"撤销 undo #{target.id}", undoes=target.id)
        return hid, store.household(h["id"])
