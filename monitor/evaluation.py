"""Evaluate the rules against the store and record the follow-ups (the derived table).

The glue between the store (I/O) and `rules` (pure): read whole columns, read the active
warnings, evaluate, and make the follow_ups table match in one write transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from . import clock
from .config import Config
from .rules import (FACILITY_FIELDS, evaluate, facility_arrays, follow_ups, load_rules, prepare_areas,
                    season_at, today_in)
from .store import Store


@dataclass
class Outcome:
    follow_ups: int
    new: int
    kept: int
    closed: int
    active_alerts: int
    by_priority: dict[str, int]


def active_alerts(store: Store, now: datetime) -> list[dict]:
    """Warnings in force at `now`: Actual, not superseded or cancelled, sent by then, not expired."""
    at = clock.iso(now)
    return store.alerts(
        where="state = 'active' AND coalesce(status, 'Actual') = 'Actual' AND sent <= ?"
              " AND (coalesce(ends, expires) IS NULL OR coalesce(ends, expires) > ?) AND coalesce(msg_type, 'Alert') != 'Cancel'",
        params=(at, at),
    )


def hazard_names(alerts: list[dict]) -> list[dict]:
    from .alerts.hazards import HAZARDS

    return [{**a, "hazard_zh": HAZARDS[a["hazard"]].zh if a.get("hazard") in HAZARDS else a.get("event"),
             "hazard_en": HAZARDS[a["hazard"]].en if a.get("hazard") in HAZARDS else a.get("event")}
            for a in alerts]


def run(store: Store, config: Config, now: datetime | None = None) -> Outcome:
    now = now or clock.now()
    rules = load_rules(config)
    today = today_in(now, config.timezone)
    season = season_at(config, today)
    townships = [t["code"] for t in store.townships(with_geometry=False)]
    alerts = hazard_names(active_alerts(store, now))
    areas = prepare_areas(alerts, townships)
    f = facility_arrays(store.facility_columns(FACILITY_FIELDS))
    hits = evaluate(f, areas, rules, today=today, season=season,
                    households_raise=int(config.get("priority", "households_raise", 0)))
    rows = follow_ups(hits, f, areas, today=today, season=season)
    with store.write():
        counts = store.sync_follow_ups(rows, at=clock.iso(now))
    by_priority: dict[str, int] = {}
    for r in rows:
        by_priority[r["priority"]] = by_priority.get(r["priority"], 0) + 1
    return Outcome(len(rows), counts["new"], counts["kept"], counts["closed"], len(alerts), by_priority)
