"""Evaluate the rules against the store and record the follow-ups (the derived table).

The glue between the store (I/O) and `rules` (pure): check the rules, read whole columns and
the active warnings, evaluate, and make the follow_ups table match in one write transaction.
`explain` answers "why is (or isn't) this site on the list?" for one facility, read-only.
`run_site` re-evaluates one facility after a field update or undo, so that a repaired site
leaves the list at once instead of at the next full evaluation.

When: a full evaluation records its time in `meta` (evaluated_at, shown on the map and by
`monitor followups`); a site's re-evaluation records `site_evaluated_at` and the follow-ups it
opens or closes carry that time.

No work that nothing asked for: a full evaluation also records what it was evaluated from
(`meta.evaluation_inputs`: the store's change count, the district's date, the warnings in force
and the rules). `run` first compares that with the inputs now and, when they are the same, returns
the stored picture without evaluating or writing anything (`Outcome.skipped`): a cron refresh
that stored nothing new, or `monitor followups` run again, costs a few reads. When it does
evaluate, only the follow-ups that opened, closed or changed are written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from . import clock
from .alertview import in_force
from .config import Config
from .errors import UsageError
from .ruleset import households_steps, load_rules, season_at
from .store import Store


@dataclass
class Outcome:
    follow_ups: int
    new: int
    kept: int
    closed: int
    active_alerts: int
    by_priority: dict[str, int]
    at: str = ""                       # this evaluation's time (UTC ISO): `since` of the new ones
    previous: str | None = None        # the evaluation before it, None if this is the first
    changed: int = 0                   # kept, but priority, reason or causes changed
    timings: dict[str, float] = field(default_factory=dict)
    attempts: int = 1                  # evaluations it took (another process committed meanwhile)
    skipped: bool = False              # nothing changed since the last evaluation: nothing evaluated
    inputs: str = ""                   # what it was evaluated from (see `inputs_key`)


def run(store: Store, config: Config, now: datetime | None = None, *, attempts: int = 3,
        force: bool = False) -> Outcome:
    """Evaluate every rule at `now` and bring the follow_ups table up to date.

    The inputs are read in one snapshot and evaluated without holding the write lock (a city's
    evaluation takes seconds; field updates must not wait for it). If another process committed
    in between, say a status update, the evaluation is done again from the new state, up to
    `attempts` times; the last one is stored regardless, and the next run catches up.

    If nothing it reads has changed since the last evaluation (`inputs_key`), it evaluates and
    writes nothing and returns that evaluation's picture (`skipped`), unless `force`.
    """
    import time

    now = now or clock.now()
    rules = load_rules(config)  # a bad rule is refused here, before anything is read or written
    steps = households_steps(config)
    today = clock.local_date(now, config.timezone)
    season = season_at(config, today)
    at = clock.iso(now)
    rules_print = rules_fingerprint(config)
    for attempt in range(1, attempts + 1):
        t = [time.perf_counter()]
        with store.snapshot() as token:
            count = store.meta("change_count")
            alerts = in_force(store, now)
            key = inputs_key(count, today, alerts, rules_print)
            if not force and attempt == 1 and store.meta("evaluation_inputs") == key:
                return _unchanged(store, key, len(alerts))
            from .rules import Facilities, evaluate, follow_up_rows, prepare_areas  # numpy, shapely: only now

            townships = [t_["code"] for t_ in store.townships(with_geometry=False)]
            f = Facilities.from_store(store, townships, rules)
        areas = prepare_areas(alerts, townships)
        t.append(time.perf_counter())
        hits = evaluate(f, areas, rules, today=today, season=season, households_raise=steps)
        t.append(time.perf_counter())
        rows = follow_up_rows(hits, f, areas, today=today, season=season)
        t.append(time.perf_counter())
        with store.write():
            if store.change_token() != token and attempt < attempts:
                continue  # someone changed the inputs meanwhile: evaluate again (the lock is released)
            previous = store.last_evaluation()
            counts = store.sync_follow_up_rows(rows.tuples(), at=at)
            store.set_meta("evaluated_at", at)
            store.set_meta("evaluated_before", previous or "")
            # this transaction writes meta, so it bumps the change count by one when it commits:
            # record the count it will have, unless others committed since the inputs were read
            unchanged = store.meta("change_count") == count
            key = inputs_key(str(int(count or 0) + 1) if unchanged else count, today, alerts, rules_print)
            store.set_meta("evaluation_inputs", key)
        t.append(time.perf_counter())
        break
    timings = dict(zip(("read", "evaluate", "reasons", "store"), (b - a for a, b in zip(t, t[1:]))))
    return Outcome(len(rows), counts["new"], counts["kept"], counts["closed"], len(alerts), rows.by_priority(),
                   at=at, previous=previous, changed=counts["changed"], timings=timings,
                   attempts=attempt, inputs=key)


def rules_fingerprint(config: Config) -> str:
    """A digest of everything in config.toml the evaluation reads (rules, season, priorities,
    households steps, time zone): editing any of them makes the next run evaluate again."""
    import hashlib
    import json

    data = config.data
    parts = {k: data.get(k) for k in ("rules", "season", "priority", "households")}
    parts["timezone"] = config.timezone
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def inputs_key(change_count: str | None, today, alerts: list[dict], rules_print: str) -> str:
    """What a full evaluation depends on, as one comparable string: the store's change count
    (any committed change to facilities, townships, alerts or follow-ups moves it; a fetch that
    stored nothing does not), the district's date (the calendar, due dates), the ids of the
    warnings in force (one expiring or starting moves it without any write) and the rules."""
    ids = ",".join(str(i) for i in sorted(a["id"] for a in alerts))
    return f"{change_count or 0}|{today.isoformat()}|{ids}|{rules_print}"


def _unchanged(store: Store, key: str, active_alerts: int) -> Outcome:
    """The last evaluation's picture, read back (inside the caller's snapshot)."""
    by_priority = {p: n for p in ("P1", "P2", "P3")
                   if (n := store.count("follow_ups", "closed IS NULL AND priority = ?", (p,)))}
    total = sum(by_priority.values())
    return Outcome(total, 0, total, 0, active_alerts, by_priority, at=store.meta("evaluated_at") or "",
                   previous=store.meta("evaluated_before") or None, attempts=0, skipped=True, inputs=key)


@dataclass
class SiteOutcome:
    """One facility re-evaluated: its open follow-ups now, and how many opened or closed."""
    facility_id: int
    at: str
    open: list[str]             # its open follow-ups, "P1 rule" each, most urgent first
    new: int
    closed: int


FACILITY_FIELDS = ("id", "kind", "subtype", "status", "lon", "lat", "township", "households", "last_inspected",
                   "due", "blocks_heating")


def _one_facility(row: dict, townships: list[str]):
    from .rules import facility_arrays

    return facility_arrays({k: [row.get(k)] for k in FACILITY_FIELDS}, townships)


def run_site(store: Store, config: Config, facility_id: int, now: datetime | None = None) -> SiteOutcome:
    """Evaluate every rule for facility `facility_id` alone at `now` (the warnings in force, the
    calendar, its status and dates) and open or close its follow-ups to match, in one write
    transaction. The same rules and code as `run`, over one row: what a full evaluation would
    decide for this site, without reading the others. Township-wide follow-ups are left alone."""
    from .rules import evaluate, follow_up_rows, prepare_areas

    now = now or clock.now()
    rules = load_rules(config)
    today = clock.local_date(now, config.timezone)
    season = season_at(config, today)
    at = clock.iso(now)
    with store.write():  # the site cannot change between reading and recording it
        row = store.facility(facility_id)
        if row is None:
            raise UsageError(f"没有编号为 {facility_id} 的设施，设施见 `monitor facility list`；no facility "
                             f"{facility_id}; `monitor facility list` shows them")
        townships = [t["code"] for t in store.townships(with_geometry=False)]
        areas = prepare_areas(in_force(store, now), townships)
        f = _one_facility(row, townships)
        hits = evaluate(f, areas, rules, today=today, season=season, households_raise=households_steps(config))
        rows = follow_up_rows(hits, f, areas, today=today, season=season)
        tuples = list(rows.tuples())
        counts = store.sync_follow_up_rows(tuples, at=at, facility_id=facility_id)
        store.set_meta("site_evaluated_at", at)
    now_open = sorted(f"{t[3]} {t[2]}" for t in tuples)
    return SiteOutcome(facility_id, at, now_open, counts["new"], counts["closed"])


def explain(store: Store, config: Config, facility_id: int, now: datetime | None = None) -> dict:
    """Why each rule does or does not put facility `facility_id` on the list at `now` (read-only)."""
    from .rules import explain as explain_rules, prepare_areas

    now = now or clock.now()
    rules = load_rules(config)
    row = store.facility(facility_id)
    if row is None:
        raise UsageError(f"没有编号为 {facility_id} 的设施，设施见 `monitor facility list`；no facility {facility_id}; "
                         "`monitor facility list` shows them")
    today = clock.local_date(now, config.timezone)
    season = season_at(config, today)
    towns = store.townships(with_geometry=False)
    townships = [t["code"] for t in towns]
    alerts = in_force(store, now)
    areas = prepare_areas(alerts, townships)
    f = _one_facility(row, townships)
    results = explain_rules(f, areas, rules, today=today, season=season, households_raise=households_steps(config))
    open_ = {r["rule"]: r for r in store.follow_up_list(facility_id=facility_id)}
    for r in results:
        stored = open_.get(r["rule"])
        r["since"] = stored["since"] if stored else None
    return {"facility": row, "township_name": next((t["name"] for t in towns if t["code"] == row["township"]), None),
            "as_of": clock.iso(now), "today": today.isoformat(),
            "season": {"preseason_start": season.preseason_start.isoformat(), "start": season.start.isoformat(),
                       "end": season.end.isoformat()},
            "active_alerts": len(alerts), "rules": results}
