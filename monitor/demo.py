"""The main job on the shipped data: townships, sample facilities, real warnings, follow-ups, map.

Runs offline into its own database at a fixed moment ([demo] as_of in config.toml) at which the
bundled real warnings are in force, so every run gives the same result.
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


def _fresh(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(path) + suffix)
        if p.exists():
            p.unlink()


def run(config: Config, *, db: Path | None = None, out: Path | None = None, top: int = 5) -> DemoSummary:
    from . import evaluation, inventory, mapdata
    from .alertview import span
    from .alerts import ingest
    from .alerts.files import read_alert_files

    demo = config.section("demo")
    db = db or config.resolve(demo.get("db", "demo/demo.db"))
    out = out or config.resolve(demo.get("map", "maps/demo.html"))
    _fresh(db)
    store = Store.open(db, busy_timeout_ms=config.busy_timeout_ms)
    try:
        inventory.import_townships(store, config.resolve(config.get("district", "townships")))
        inventory.import_facilities(store, config, config.resolve(demo["facilities"]), by="demo")
        docs = read_alert_files([config.resolve(p) for p in demo.get("alerts", [])])
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
