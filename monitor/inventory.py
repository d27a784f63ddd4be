"""The register of places: townships and facilities going into the store.

Each operation is one transaction: a township set is replaced whole and every facility's
township re-derived with it (refused if that would leave facilities outside every township,
unless forced); a facility file is read, checked and written in batches inside one transaction
and imported whole or not at all, its rows matched to stored facilities by `ref` and checked for
repeats. A facility's township always comes from its point, never from what was typed.
"""

from __future__ import annotations

import getpass
import os
from array import array
from dataclasses import dataclass, field
from pathlib import Path

from . import clock
from . import kinds as K
from .config import Config
from .errors import DataError
from .geodesy import distance_km
from .store import Store


@dataclass
class ImportResult:
    count: int
    by_township: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def who(config: Config, by: str | None) -> str:
    """The person making a change: --by, else config [field] default_by, else the login name."""
    for candidate in (by, config.field.default_by):
        if candidate and candidate.strip():
            return candidate.strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or "unknown"


def locate(store: Store, lons, lats) -> list[str | None]:
    """The township code of each point (None outside the district)."""
    from .spatial import township_of

    return list(township_of(lons, lats, store.townships()))


def import_townships(store: Store, path: Path, *, crs: str | None = None, force: bool = False) -> ImportResult:
    """Replace the township set with the file's and re-derive every facility's township, in one
    transaction. Refused (nothing changed) when a facility would then lie outside every township,
    unless `force`: a file that covers only part of the district would strand them."""
    from .boundaries import read_townships

    townships = read_townships(path, crs=crs)
    if not townships:
        raise DataError(f"{path}: 文件中没有乡镇边界面，请导出面图层；no township polygons found")
    rows = [{**t, "geometry": t["geometry_wkb"], "approximate": int(bool(t.get("approximate")))} for t in townships]
    with store.write():
        store.replace_townships(rows)
        facilities = store.facility_columns(("id", "name", "lon", "lat"))
        codes = locate(store, facilities["lon"], facilities["lat"])
        outside = [(i, n) for i, n, c in zip(facilities["id"], facilities["name"], codes) if c is None]
        if outside and not force:
            examples = ", ".join(f"#{i} {n[:30]}" for i, n in outside[:3]) + (", ..." if len(outside) > 3 else "")
            raise DataError(
                f"{path}: 导入后将有 {len(outside)} 个设施（共 {len(codes)} 个）不在任何乡镇内，未作任何更改；"
                f"{len(outside)} of {len(codes)} facilities would lie outside every township ({examples}), "
                f"so nothing was changed: check that the file covers the whole district, or pass --force")
        store.set_facility_townships(zip(codes, facilities["id"]))
    warnings = list(townships.warnings)
    if outside:
        warnings.append(f"{len(outside)} 个设施现在不在任何乡镇内（--force），请核对边界或设施坐标；{len(outside)} "
                        "facilities now lie outside every township (--force)")
    return ImportResult(len(rows), warnings=warnings)


DUPLICATE_METRES = 10.0  # the same kind and name this close is the same site typed again
BATCH_ROWS = 5_000        # rows read, checked and written at a time: memory stays bounded
PROBLEMS_SHOWN = 20


@dataclass
class ImportCounts:
    """What an import of a register (facilities, households) did, or with `dry_run` would do."""
    dry_run: bool = False
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    problem_count: int = 0
    problems: list[str] = field(default_factory=list)  # the first PROBLEMS_SHOWN, each naming its row
    by_township: dict[str, int] = field(default_factory=dict)  # added and updated, by township code

    @property
    def count(self) -> int:
        return self.added + self.updated


@dataclass
class FacilityImport(ImportCounts):
    duplicates: int = 0       # rows refused as repeats of a facility (counted in `problem_count`)


class Rollback(Exception):
    """Raised inside an import's transaction to undo it (a dry run, or a refused file)."""


def import_facilities(store: Store, config: Config, path: Path, *, crs: str | None = None,
                      by: str | None = None, dry_run: bool = False,
                      allow_duplicates: bool = False) -> FacilityImport:
    """Import a facility file in one transaction, all of it or nothing.

    The file is read, checked and written in batches of BATCH_ROWS inside one BEGIN IMMEDIATE
    transaction, so memory stays bounded however long the file is; any bad row rolls the whole
    transaction back (a dry run always does, after counting what it would have done).

    A row with a `ref` the database knows updates that facility: the columns the file has
    replace the stored ones (an empty date leaves the stored date alone), and a new status
    must be an allowed move for the kind (a closing move needs text in `notes`); a change of
    status or date is appended to the history, never overwritten. A row with a new `ref` adds a
    facility, or gives the ref to the one facility without a ref that has the same kind and name
    within DUPLICATE_METRES. A row without a ref that repeats a facility (same kind and name
    within DUPLICATE_METRES), stored or earlier in the file, is refused unless `allow_duplicates`.
    """
    from .facilities import open_rows

    if store.count("townships") == 0:
        raise DataError("数据库里还没有乡镇，请先运行 monitor init；no townships in the database yet; run `monitor init` first")
    result = FacilityImport(dry_run=dry_run)
    run = _FacilityRun(store, result, crs=crs, at=clock.iso(clock.now()), by=who(config, by),
                       note=f"导入 imported from {path.name}", source=path.name, allow_duplicates=allow_duplicates)
    try:
        with store.write():
            run.start()
            with open_rows(path) as rows:
                batch: list[dict] = []
                for row in rows:
                    batch.append(row)
                    if len(batch) >= BATCH_ROWS:
                        run.batch(batch)
                        batch = []
                run.batch(batch)
            if result.rows == 0:
                raise DataError(f"{path}: 没有可导入的行；no rows to import")
            if result.problem_count or dry_run:
                raise Rollback
    except Rollback:
        pass
    if result.problem_count and not dry_run:
        raise DataError(f"{path}: {result.problem_count} 行有问题，未导入任何数据；{result.problem_count} bad "
                        f"row(s), nothing imported:\n  " + "\n  ".join(problem_lines(result)))
    return result


def problem_lines(result: FacilityImport) -> list[str]:
    more = result.problem_count - len(result.problems)
    return result.problems + ([f"... and {more} more"] if more > 0 else [])


class _FacilityRun:
    """One import's state between batches: only what bounded memory allows (no row is kept)."""

    def __init__(self, store: Store, result: FacilityImport, *, crs, at, by, note, source, allow_duplicates):
        self.store, self.result, self.crs = store, result, crs
        self.at, self.by, self.note, self.source = at, by, note, source
        self.allow_duplicates = allow_duplicates
        self.first_new = None          # id of the first facility this import added
        self.new_rows = array("q")     # the row number of each facility added, by id - first_new
        self.touched = bytearray()     # 1 at the id of each stored facility a row named (updated or not)
        self.word = "row"              # how the file numbers its rows: "row" or "feature"
        self.given: dict[tuple, frozenset] = {}  # the columns a row has, by its keys

    def start(self) -> None:
        self.max_before = self.store.max_facility_id()
        self.touched = bytearray(self.max_before + 1)

    def problem(self, text: str, *, duplicate: bool = False) -> None:
        r = self.result
        r.problem_count += 1
        r.duplicates += duplicate
        if len(r.problems) < PROBLEMS_SHOWN:
            r.problems.append(text)

    def _first_row(self, facility_id: int) -> str:
        i = facility_id - (self.first_new or 0)
        return f"{self.word} {self.new_rows[i]}" if self.first_new and 0 <= i < len(self.new_rows) else "a row above"

    def batch(self, rows: list[dict]) -> None:
        from .facilities import normalise, where

        recs = []
        for row in rows:
            self.result.rows += 1
            try:
                rec = normalise(row, crs=self.crs)
            except ValueError as e:
                self.problem(f"{where(row)}: {e}")
                continue
            rec["_where"] = where(row)
            rec["_row"] = row.get("_where", "")
            keys = tuple(row)
            given = self.given.get(keys)
            if given is None:  # the same header for every row of a table: worked out once
                given = self.given[keys] = frozenset(k for k in keys if not k.startswith("_"))
            rec["_given"] = given
            rec["_status_given"] = bool(str(row.get("status") or "").strip())
            recs.append(rec)
        if not recs:
            return
        from .facilities import outside_hints, outside_message

        codes = locate(self.store, [r["lon"] for r in recs], [r["lat"] for r in recs])
        outside = [rec for rec, code in zip(recs, codes) if code is None]
        hints = dict(zip(map(id, outside), outside_hints([r["lon"] for r in outside], [r["lat"] for r in outside],
                                                         self.crs, lambda x, y: locate(self.store, x, y))))
        placed = []
        for rec, code in zip(recs, codes):
            if code is None:
                self.problem(f"{rec['_where']}: {outside_message(rec['lon'], rec['lat'], hints[id(rec)])}")
            else:
                rec["township"] = code
                placed.append(rec)
        by_ref = self.store.facilities_by_ref([r["ref"] for r in placed if r["ref"]])
        named: dict[tuple, list[dict]] = {}
        for f in self.store.facilities_with_names([r["name"] for r in placed]):
            named.setdefault((f["kind"], f["name"]), []).append(f)
        here: dict[tuple, list[dict]] = {}  # rows of this batch to be added, by (kind, name)
        refs_here: dict[str, str] = {}
        adds, updates, history = [], [], []
        for rec in placed:
            ref = rec["ref"]
            if ref:
                first = refs_here.get(ref)
                known = by_ref.get(ref)
                if first is None and known is not None and (known["id"] > self.max_before or self.touched[known["id"]]):
                    first = self._first_row(known["id"]) if known["id"] > self.max_before else "a row above"
                if first is not None:
                    self.problem(f"{rec['_where']}: 编号 ref '{ref}' 在文件中出现两次（先见于 {first}）；"
                                 f"ref '{ref}' is given twice (first in {first})")
                    continue
                refs_here[ref] = rec["_row"]
                if known is None:
                    stored = [m for m in self._near(named.get((rec["kind"], rec["name"]), []), rec)
                              if m["id"] <= self.max_before and m["ref"] is None and not self.touched[m["id"]]]
                    if len(stored) == 1:  # the same site, stored before it had a ref: it takes this one
                        known = self.store.facility(stored[0]["id"])
                if known is not None:
                    self._update(known, rec, updates, history)
                    continue
            else:
                twin = self._twin(named.get((rec["kind"], rec["name"]), []), here.get((rec["kind"], rec["name"]), []),
                                  rec)
                if twin and not self.allow_duplicates:
                    self.problem(f"{rec['_where']}: {twin}; 给这一行填上编号 ref 即可更新该设施，或确属另一处设施时加 "
                                 f"--allow-duplicates；give the row its ref to update that facility, or pass "
                                 f"--allow-duplicates if it is another site", duplicate=True)
                    continue
            here.setdefault((rec["kind"], rec["name"]), []).append(rec)
            adds.append(rec)
        self._write(adds, updates, history)

    @staticmethod
    def _near(candidates: list[dict], rec: dict) -> list[dict]:
        return [c for c in candidates
                if distance_km(c["lon"], c["lat"], rec["lon"], rec["lat"]) * 1000 <= DUPLICATE_METRES]

    def _twin(self, stored: list[dict], here: list[dict], rec: dict) -> str | None:
        """How `rec` repeats a facility (stored, or added earlier in this file), or None."""
        for m in self._near(stored, rec):
            metres = distance_km(m["lon"], m["lat"], rec["lon"], rec["lat"]) * 1000
            if m["id"] > self.max_before:
                first = self._first_row(m["id"])
                return f"与 {first} 重复 repeats {first} (same kind and name, {metres:.0f} m apart)"
            ref = f", ref {m['ref']}" if m["ref"] else ""
            return (f"与已有设施 #{m['id']} 重复 repeats facility #{m['id']} {m['name'][:40]}{ref} "
                    f"(same kind and name, {metres:.0f} m apart)")
        for m in self._near(here, rec):
            return f"与 {m['_row']} 重复 repeats {m['_row']} (same kind and name)"
        return None

    def _update(self, f: dict, rec: dict, updates: list, history: list) -> None:
        kind = K.KINDS[f["kind"]]
        self.touched[f["id"]] = 1
        what = f"{rec['_where']}: ref '{rec['ref']}' (#{f['id']})"
        if rec["kind"] != f["kind"]:
            self.problem(f"{what} 是{kind.zh}，不能改为其他类别；is a {kind.code} facility; a row cannot change its kind")
            return
        old = f["status"]
        new = rec["status"] if rec["_status_given"] else old
        if new != old and new not in kind.transitions.get(old, ()):
            allowed = ", ".join(f"{s} {kind.statuses[s].zh}" for s in kind.transitions.get(old, ()))
            self.problem(f"{what}: {kind.label(old)} 不能改为 cannot become {kind.label(new)}; "
                         f"allowed next: {allowed or 'none'}")
            return
        if new != old and (old, new) in kind.needs_note and not rec["notes"]:
            self.problem(f"{what}: {kind.label(old)} -> {kind.label(new)} 需要在 notes 列说明做了什么；"
                         f"needs the notes column to say what was done")
            return
        changes = {c: rec[c] for c in _UPDATED if c in rec["_given"] and rec[c] != f[c]}
        if rec["source"] and rec["source"] != f["source"]:
            changes["source"] = rec["source"]
        if rec["township"] != f["township"]:
            changes["township"] = rec["township"]
        if rec["ref"] != f["ref"]:
            changes["ref"] = rec["ref"]
        inspected = rec["last_inspected"] if rec["last_inspected"] not in (None, f["last_inspected"]) else None
        due = rec["due"] if rec["due"] not in (None, f["due"]) else None
        if new != old:
            changes["status"] = new
        if inspected:
            changes["last_inspected"] = inspected
        if due:
            changes["due"] = due
        if not changes:
            self.result.unchanged += 1
            return
        changes["updated"] = self.at
        updates.append((f["id"], changes))
        if new != old or inspected or due:
            note = self.note + (f": {rec['notes']}" if (old, new) in kind.needs_note else "")
            history.append((f["id"], self.at, self.by, old, new, note, inspected, due))
        self.result.updated += 1
        self._count(rec["township"])

    def _count(self, township: str) -> None:
        self.result.by_township[township] = self.result.by_township.get(township, 0) + 1

    def _write(self, adds: list[dict], updates: list, history: list) -> None:
        for rec in adds:
            rec["source"] = rec.get("source") or self.source
        ids = self.store.insert_facilities(adds, at=self.at, by=self.by, note=self.note)
        for fid, rec in zip(ids, adds):
            if self.first_new is None:
                self.first_new = fid
            if fid - self.first_new == len(self.new_rows):  # ids are consecutive inside the transaction
                self.word, _, number = rec["_row"].rpartition(" ")
                self.new_rows.append(int(number) if number.isdigit() else 0)
            self._count(rec["township"])
        self.result.added += len(ids)
        self.store.update_facilities(updates)
        self.store.append_history_rows(history)


# What a row with a known ref replaces when the file has the column (dates and status apart).
_UPDATED = ("subtype", "name", "lon", "lat", "severity", "responsible", "phone", "households", "people",
            "notes", "blocks_heating")
