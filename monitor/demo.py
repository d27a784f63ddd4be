"""The main job on the shipped data: townships, sample facilities, real warnings, follow-ups, map.

Runs offline into its own database, marked as the demo's (meta `created_by = demo`): a rerun
recreates only a database so marked and refuses any other file at that path. It replays the
district's 2025 up to a fixed moment ([demo] as_of in config.toml, 2025-11-16 09:00, when the
two November warnings are in force), each event at its own time through the normal paths, so
that the history, the follow-ups and the monthly reviews of the months before read as they
would have:

- the sample facilities ([demo] facilities) enter the register at their `recorded` time (the
  heating and fire sites on 1 July, the flood damage as it was reported from 27 July);
- their later changes ([demo] changes: status, inspection, new deadline, note, who) are applied
  as `monitor facility update` applies them, at their `at`;
- each warning file ([demo] alerts; reconstructed from published text, see geodata/alerts/)
  arrives at its `sent` time;
- the rules are evaluated each morning at 09:00, and whenever a warning arrives.

Every run gives the same result.
"""

from __future__ import annotations

import csv
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from . import clock
from .config import Config
from .store import Store


@dataclass
class DemoSummary:
    db: Path
    map: Path
    as_of: str
    townships: int
    approximate: int
    facilities: dict[str, int]
    alerts: list[dict]
    by_priority: dict[str, int]
    top: list[dict] = field(default_factory=list)
    by_rule: dict[str, int] = field(default_factory=dict)   # open follow-ups per rule at as_of
    replayed: dict[str, int] = field(default_factory=dict)  # what the replay applied: imports, changes, ...
    households: int = 0                                      # SAMPLE households in the register
    households_due: dict[str, int] = field(default_factory=dict)  # households to visit at as_of, by priority
    calls_due: dict[str, int] = field(default_factory=dict)       # open heating calls at as_of, by priority


DEMO_MARK = ("created_by", "demo")  # the meta row that makes a database the demo's own


def _fresh(path: Path) -> None:
    """Remove the demo database at `path` so it can be built again, but only a database the demo
    made itself (marked with DEMO_MARK); any other file at `path` is refused, never touched."""
    from .errors import DataError, UsageError
    from .store import read_meta

    if not path.exists():
        return
    try:
        mark = read_meta(path, DEMO_MARK[0]) if path.is_file() else None
    except DataError:
        mark = None
    if mark != DEMO_MARK[1]:
        raise UsageError(
            f"拒绝重建 {path}：它不是 monitor demo 创建的演示数据库，演示不会删除它；请用 --demo-db 指定一个新路径，"
            f"或改 config.toml 的 [demo] db；refusing to recreate {path}: it is not a database `monitor demo` "
            "created, and the demo never deletes another; pass --demo-db NEW_PATH or change [demo] db")
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = Path(str(path) + suffix)
        if p.exists():
            p.unlink()


@contextmanager
def _clock_at(at: datetime):
    """The clock fixed at `at` inside the block (imports and ingest stamp their rows with it)."""
    saved = clock.now() if clock.fixed() else None
    clock.set_now(at)
    try:
        yield
    finally:
        clock.set_now(saved)


def _read_csv(path: Path) -> tuple[list[str], list[dict]]:
    from .errors import DataError

    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            return list(reader.fieldnames or []), list(reader)
    except OSError as e:
        raise DataError(f"{path}: 无法读取 cannot read ({e.strerror})") from None


def _mornings(first: datetime, last: datetime, tz: str) -> list[datetime]:
    """09:00 local on every day from the day of `first` to `last` (inclusive, up to `last`)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    day = first.astimezone(zone).date()
    out = []
    while True:
        t = datetime(day.year, day.month, day.day, 9, tzinfo=zone)
        if t > last:
            return out
        out.append(t)
        day += timedelta(days=1)


HOUSEHOLDS_AT = "2025-10-01T09:00:00+08:00"   # the register as the season's pre-checks began


def _people(store, config: Config, folder: Path, now: datetime, replayed: dict) -> None:
    """The SAMPLE households (entered on 2025-10-01) and the hotline's export (read at `now`),
    when they are shipped beside the sample facilities."""
    from .calls import import_calls
    from .households import import_households

    homes, calls = folder / "sample_households.csv", folder / "sample_calls.csv"
    if homes.exists():
        with _clock_at(min(clock.parse(HOUSEHOLDS_AT), now)):
            replayed["households"] = import_households(store, homes, by="demo").added
    if calls.exists():
        with _clock_at(now):
            replayed["calls"] = import_calls(store, calls, tz=config.timezone).added


def _people_summary(store, config: Config, now: datetime) -> dict:
    from . import householdrules as HR
    from .alertview import in_force

    rules = HR.load(config)
    due: dict[str, int] = {}
    for f in HR.evaluate_households(store, config, rules, now, in_force(store, now)):
        due[f.priority] = due.get(f.priority, 0) + 1
    calls: dict[str, int] = {}
    for f in HR.evaluate_calls(store, config, rules, now):
        calls[f.priority] = calls.get(f.priority, 0) + 1
    return {"households": store.count("households"), "households_due": due, "calls_due": calls}


def run(config: Config, *, db: Path | None = None, out: Path | None = None, top: int = 5) -> DemoSummary:
    from . import evaluation, fieldwork, inventory, mapdata
    from .alertview import span
    from .alerts import ingest
    from .alerts.files import read_alert_files

    from .errors import ConfigError

    demo = config.demo
    db = db or demo.db
    out = out or demo.map
    if demo.facilities is None or config.district.townships is None:
        raise ConfigError(f"{config.path}: 演示需要 [district] townships 和 [demo] facilities；"
                          "the demo needs [district] townships and [demo] facilities")
    now = clock.now()
    facilities_path = demo.facilities
    columns, rows = _read_csv(facilities_path)
    changes = _read_csv(demo.changes)[1] if demo.changes else []
    docs = read_alert_files(list(demo.alerts))

    # the timeline: (when, order at equal times, what)
    events: list[tuple[datetime, int, str, object]] = []
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r.get("recorded") or "", []).append(r)
    for recorded, group in groups.items():
        events.append((clock.parse(recorded, what="recorded") if recorded else now, 0, "import", group))
    for c in changes:
        events.append((clock.parse(c["at"], what="change at"), 1, "change", c))
    for d in docs:
        sent = min((a.sent for a in d.alerts if a.sent), default=None)
        events.append((clock.parse(sent) if sent else now, 2, "alerts", d.alerts))
    events = [e for e in events if e[0] <= now]
    first = min((e[0] for e in events), default=now)
    events += [(t, 3, "evaluate", None) for t in _mornings(first, now, config.timezone)]
    events += [(e[0], 3, "evaluate", None) for e in events if e[2] == "alerts"]
    events.sort(key=lambda e: (e[0], e[1]))
    replayed = {"imports": 0, "changes": 0, "warnings": 0, "evaluations": 0}

    _fresh(db)
    store = Store.open(db, busy_timeout_ms=config.busy_timeout_ms)
    try:
        store.set_meta(*DEMO_MARK)  # first of all: from now on a rerun may recreate this file
        inventory.import_townships(store, config.district.townships)
        ids: dict[str, int] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for at, _, what, item in events:
                with _clock_at(at):
                    if what == "import":
                        part = Path(tmp) / facilities_path.name  # the history names the shipped file
                        with open(part, "w", encoding="utf-8", newline="") as f:
                            w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
                            w.writeheader()
                            w.writerows(item)
                        inventory.import_facilities(store, config, part, by="demo")
                        got = store.facility_columns(("id", "name"))
                        ids = dict(zip(got["name"], got["id"]))
                        replayed["imports"] += 1
                    elif what == "change":
                        fieldwork.update(store, f"#{ids[item['name']]}", item["status"], by=item["by"] or "demo",
                                         note=item.get("note") or None, inspected=item.get("inspected") or None,
                                         due=item.get("due") or None, now=at, tz=config.timezone)
                        replayed["changes"] += 1
                    elif what == "alerts":
                        ingest.save(store, item)
                        replayed["warnings"] += len(item)
                    elif at < now:
                        evaluation.run(store, config, at)
                        replayed["evaluations"] += 1
        _people(store, config, facilities_path.parent, now, replayed)
        outcome = evaluation.run(store, config, now)
        replayed["evaluations"] += 1
        path = mapdata.write_map(store, config, out, now,
                                 replay="演示：2025年真实预警据公开报道重建，随包文件回放 demo: real 2025 "
                                        "warnings reconstructed from published text, replayed from bundled files")
        townships = store.townships(with_geometry=False)
        by_rule: dict[str, int] = {}
        for r in store.follow_up_list():
            by_rule[r["rule"]] = by_rule.get(r["rule"], 0) + 1
        return DemoSummary(
            db=db, map=path, as_of=clock.local(now, config.timezone, "%Y-%m-%d %H:%M %Z"),
            townships=len(townships), approximate=sum(t["approximate"] for t in townships),
            facilities=store.facility_counts(),
            alerts=[{"headline": a.get("headline"), "colour": a.get("colour"), "hazard": a["hazard"],
                     "expires": clock.local(span(a)[1], config.timezone)}
                    for a in store.alerts_in_force(clock.iso(now))],
            by_priority=outcome.by_priority,
            top=store.follow_up_list(limit=top),
            by_rule=by_rule, replayed=replayed, **_people_summary(store, config, now),
        )
    finally:
        store.close()
