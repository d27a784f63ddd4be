"""The main job on the shipped data: townships, sample facilities, real warnings, follow-ups, map.

Runs offline into its own database, marked as the demo's (meta `created_by = demo`): a rerun
recreates only a database so marked and refuses any other file at that path. It runs at a fixed
moment ([demo] as_of in config.toml) at which the bundled real warnings are in force, so every
run gives the same result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


def run(config: Config, *, db: Path | None = None, out: Path | None = None, top: int = 5) -> DemoSummary:
    from . import evaluation, inventory, mapdata
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
    _fresh(db)
    store = Store.open(db, busy_timeout_ms=config.busy_timeout_ms)
    try:
        store.set_meta(*DEMO_MARK)  # first of all: from now on a rerun may recreate this file
        inventory.import_townships(store, config.district.townships)
        inventory.import_facilities(store, config, demo.facilities, by="demo")
        docs = read_alert_files(list(demo.alerts))
        ingest.save(store, [a for d in docs for a in d.alerts])
        now = clock.now()
        outcome = evaluation.run(store, config, now)
        path = mapdata.write_map(store, config, out, now,
                                 replay="演示：预警为随包文件回放 demo: warnings replayed from bundled files")
        townships = store.townships(with_geometry=False)
        return DemoSummary(
            db=db, map=path, as_of=clock.local(now, config.timezone, "%Y-%m-%d %H:%M %Z"),
            townships=len(townships), approximate=sum(t["approximate"] for t in townships),
            facilities=store.facility_counts(),
            alerts=[{"headline": a.get("headline"), "colour": a.get("colour"), "hazard": a["hazard"],
                     "expires": clock.local(span(a)[1], config.timezone)}
                    for a in store.alerts_in_force(clock.iso(now))],
            by_priority=outcome.by_priority,
            top=store.follow_up_list(limit=top),
        )
    finally:
        store.close()
