"""What leaves the office about households and calls: counts per village, never names.

Household names, phones and vulnerability flags are personal data. The map and the exports
that leave the office show households only as counts per village (how many, heating, faults,
flags counted, how many need a visit and how urgently) and open heating calls counted per
village, unless `include_personal` is given, which adds each household's ref, contact and
phone. The report lists households by ref, never by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from . import clock
from .households import FLAG_NAMES, FLAGS, HEATING, villages


@dataclass
class VillageCount:
    """One village's households and what is due there, as counts."""
    township: str
    township_name: str
    village_code: str
    village: str
    lon: float | None
    lat: float | None
    households: int = 0
    heating: dict[str, int] = field(default_factory=dict)
    not_working: int = 0
    flags: dict[str, int] = field(default_factory=dict)
    due: dict[str, int] = field(default_factory=dict)      # P1/P2/P3 -> households due
    open_calls: int = 0
    reasons: list[str] = field(default_factory=list)        # distinct reasons, without refs or names
    refs: list[str] = field(default_factory=list)           # refs due (only with include_personal)


def village_counts(store, config, now: datetime, alerts: list[dict], *, include_personal: bool = False
                   ) -> list[VillageCount]:
    from . import householdrules as HR

    rules = HR.load(config)
    due = HR.evaluate_households(store, config, rules, now, alerts)
    calls = HR.evaluate_calls(store, config, rules, now)
    towns = {t.code: t for t in store.township_records(with_geometry=False)}
    vs = villages()
    out: dict[str, VillageCount] = {}

    def of(code: str) -> VillageCount:
        if code not in out:
            v = vs.by_code.get(code)
            t = towns.get(v.township if v else "")
            out[code] = VillageCount(v.township if v else "", t.name if t else "", code, v.name if v else code,
                                     v.lon if v and v.lon is not None else (t.lon if t else None),
                                     v.lat if v and v.lat is not None else (t.lat if t else None))
        return out[code]

    cols = store.household_columns(("village_code", "heating", "device") + FLAGS)
    for i, code in enumerate(cols["village_code"]):
        c = of(code)
        c.households += 1
        c.heating[cols["heating"][i]] = c.heating.get(cols["heating"][i], 0) + 1
        c.not_working += cols["device"][i] in ("fault", "under_repair")
        for f in FLAGS:
            if cols[f][i]:
                c.flags[f] = c.flags.get(f, 0) + 1
    by_ref = {}
    if include_personal:
        by_ref = store.households_by_ref([f.ref for f in due])
    seen: dict[str, str] = {}
    for f in due:
        code = (by_ref.get(f.ref) or {}).get("village_code") or _village_of(store, f.ref, seen)
        c = of(code)
        c.due[f.priority] = c.due.get(f.priority, 0) + 1
        if f.rule not in c.reasons:
            c.reasons.append(f.rule)
        if include_personal:
            h = by_ref[f.ref]
            c.refs.append(f"{f.ref} {h['contact'] or ''} {h['phone'] or ''}".strip())
    tickets = store.known_tickets([c.ref for c in calls])
    for f in calls:
        code = tickets[f.ref]["village_code"]
        if code:
            of(code).open_calls += 1
    return sorted(out.values(), key=lambda c: (c.township, c.village_code))


def _village_of(store, ref: str, cache: dict) -> str:
    if ref not in cache:
        cache.update((r, h["village_code"]) for r, h in store.households_by_ref([ref]).items())
    return cache[ref]


def map_follow_ups(store, config, now: datetime, alerts: list[dict], *, include_personal: bool = False) -> list[dict]:
    """The map's follow-up rows for households and calls: one per village that has any, at the
    village's point (its township's label point when the village has none), counts only."""
    rows = []
    for c in village_counts(store, config, now, alerts, include_personal=include_personal):
        n_due = sum(c.due.values())
        if c.lon is None or (not n_due and not c.open_calls):
            continue
        flags = "、".join(f"{FLAG_NAMES[f][0]} {n}" for f, n in c.flags.items())
        if n_due:
            prio = min(c.due)
            text = (f"{c.village}：{n_due} 户需上门（" + "、".join(f"{p} {n}" for p, n in sorted(c.due.items()))
                    + f"；全村 {c.households} 户，设备故障或维修 {c.not_working} 户，{flags or '无困难标记'}）；"
                    f"{n_due} households to visit ({', '.join(c.reasons)})")
            if include_personal:
                text += "：" + "；".join(c.refs)
            rows.append({"facility_id": None, "name": f"{c.village} 住户 households", "township": c.township_name,
                         "kind": "household", "rule": ",".join(c.reasons), "priority": prio, "reason": text,
                         "since": clock.local(now, config.timezone), "lon": c.lon, "lat": c.lat})
        if c.open_calls:
            rows.append({"facility_id": None, "name": f"{c.village} 接诉即办 calls", "township": c.township_name,
                         "kind": "call", "rule": "heating_calls", "priority": "P2",
                         "reason": f"{c.village}：{c.open_calls} 件供暖诉求未办结；{c.open_calls} open heating calls",
                         "since": clock.local(now, config.timezone), "lon": c.lon, "lat": c.lat})
    return rows


EXPORT_HEADER = (("乡镇", "township"), ("村", "village"), ("村代码", "village_code"), ("户数", "households"),
                 *((HEATING[h][0], h) for h in HEATING), ("设备故障或维修", "not_working"),
                 *((FLAG_NAMES[f][0], f) for f in FLAGS), ("需上门P1", "due_p1"), ("需上门P2", "due_p2"),
                 ("需上门P3", "due_p3"), ("未办结供暖诉求", "open_calls"))
PERSONAL_HEADER = (("编号", "ref"), ("乡镇", "township"), ("村", "village"), ("取暖", "heating"), ("设备", "device"),
                   ("上次走访", "last_visit"), *((FLAG_NAMES[f][0], f) for f in FLAGS), ("联系人", "contact"),
                   ("电话", "phone"))


def export_csv(store, config, now: datetime, alerts: list[dict], *, include_personal: bool = False) -> str:
    """Counts per village (CSV, `中文 english` headers); with include_personal, one row per household."""
    import csv
    import io

    from .tables import cell, heading, yes_no

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    if include_personal:
        w.writerow([heading(zh, en) for zh, en in PERSONAL_HEADER])
        for h in store.select_households():
            w.writerow([cell(x) for x in (h["ref"], h["township_name"], h["village"], h["heating"], h["device"],
                                          h["last_visit"], *(yes_no(h[f]) for f in FLAGS), h["contact"], h["phone"])])
        return "\ufeff" + buf.getvalue()
    w.writerow([heading(zh, en) for zh, en in EXPORT_HEADER])
    for c in village_counts(store, config, now, alerts):
        w.writerow([cell(x) for x in (c.township_name, c.village, c.village_code, c.households,
                                      *(c.heating.get(h, 0) for h in HEATING), c.not_working,
                                      *(c.flags.get(f, 0) for f in FLAGS), c.due.get("P1", 0), c.due.get("P2", 0),
                                      c.due.get("P3", 0), c.open_calls)])
    return "\ufeff" + buf.getvalue()
