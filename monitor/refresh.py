"""The refresh job (`monitor alerts refresh`, the cron entry point): fetch every source, store
each one's result atomically, re-evaluate the follow-ups and rewrite the map.

The contract a cron job or systemd timer relies on:
- one run at a time: a lock file next to the database (filelock; the OS releases it if the
  process dies). A run that finds it held does nothing and exits 0 with a log line;
- the sources are fetched concurrently (monitor.fetch); as each one finishes, its alerts and its
  fetch_log row are committed in ONE transaction, so a kill -9 at any moment leaves every source
  either wholly stored or not at all, and a failed source (timeout, 5xx, garbage, oversize,
  wrong type, XXE) changes nothing but its own log row while the others still refresh;
- then the follow-ups are re-evaluated and the map is rewritten (atomically, by
  monitor.riskmap) once, when anything they derive from changed: a warning stored, updated or
  cancelled, a facility or township changed, a warning starting or expiring, the date, the rules
  (monitor.evaluation's inputs key), or for the map also which sources are stale (the STALE
  banner), its [map] or [district] settings, or a missing file. A run that changed none of
  these evaluates nothing and leaves the map as it is: its "last refresh" time is then the last
  run that changed something (`monitor status` has every source's latest success);
- exit status: 0 every source refreshed (or answered 304), 75 some source was unreachable
  (temporary: refused, timed out, truncated, 5xx/429 after retries), 1 some source gave bad data
  or could not be stored, or the evaluation or the map failed (needs a person; wins over 75).
"""

from __future__ import annotations

import asyncio
import logging
import os
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

from . import clock
from .config import Config
from .errors import ConfigError, DataError, UsageError
from .redaction import redact
from .sources import Source, configured, fetch_settings
from .store import Store

log = logging.getLogger(__name__)

LOCK_HELD = "another refresh holds the lock"
EXIT_OK, EXIT_DATA, EXIT_UNREACHABLE = 0, 1, 75


@dataclass
class SourceResult:
    """What one source's refresh did (one entry of `alerts refresh --json`)."""

    source: str
    kind: str
    ok: bool
    http_status: int | None
    not_modified: bool
    documents: int
    alerts: int
    new: int
    duplicate: int
    updated: int
    cancelled: int
    error: str | None
    problem: str | None  # None, 'unreachable', 'data'
    warnings: list[str]
    seconds: float


@dataclass
class Summary:
    started: str
    finished: str | None = None
    sources: list[SourceResult] = field(default_factory=list)
    changed: bool = False
    evaluated: bool = False      # the rules were evaluated (False: nothing had changed since the last time)
    follow_ups: dict | None = None
    map: str | None = None
    error: str | None = None  # the evaluation or the map failed (the alerts are stored)
    exit_code: int = EXIT_OK

    def as_dict(self) -> dict:
        return asdict(self)


# --- the lock ---------------------------------------------------------------------------------


def lock_path(config: Config, db_path: str | os.PathLike) -> Path:
    """[fetch] lock, else the database's path + '.refresh.lock'."""
    return config.fetch.lock or Path(str(db_path) + ".refresh.lock")


@contextmanager
def holding_lock(path: Path) -> Iterator[bool]:
    """Try once to take the refresh lock; yields whether this process holds it."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        yield False
        return
    except OSError as e:  # a read-only folder: the refresh could not store anything there either
        raise DataError(f"无法创建刷新锁 {path}（{e.strerror or e}），未做任何更改；请检查文件夹权限或设置 [fetch] lock；"
                        f"cannot create the refresh lock {path} ({e.strerror or e}): nothing was changed; check "
                        "the folder's permissions or set [fetch] lock") from None
    try:
        yield True
    finally:
        lock.release()


# --- the run ----------------------------------------------------------------------------------


def select(config: Config, only: list[str] | tuple[str, ...] = ()) -> list[Source]:
    """The enabled sources, or the named ones (a disabled source may be named explicitly)."""
    every = configured(config, include_disabled=True)
    if not every:
        raise ConfigError(f"{config.path}: 没有配置 [[sources]] 预警来源，无可刷新，请在 config.toml 中添加；no [[sources]] "
                          "configured; nothing to refresh")
    if not only:
        return [s for s in every if s.enabled]
    names = {s.name: s for s in every}
    unknown = [n for n in only if n not in names]
    if unknown:
        raise UsageError(f"没有名为 {', '.join(unknown)} 的来源，已配置：{', '.join(names)}；no source named "
                         f"{', '.join(unknown)}; configured: {', '.join(names)}")
    return [names[n] for n in dict.fromkeys(only)]


def run(store: Store, config: Config, *, only: list[str] | tuple[str, ...] = (), transport=None,
        map_out: Path | None = None, evaluate: bool = True) -> Summary:
    """One refresh (the caller holds the lock). See the module docstring for what it promises."""
    sources = select(config, only)
    settings = fetch_settings(config)  # checks [fetch] before anything is fetched
    summary = Summary(started=clock.iso(clock.now()))
    conditions = {}
    for s in sources:
        last = store.fetch_record(s.name, ok=True) if s.kind != "forecast" else None
        conditions[s.name] = {"etag": last.etag, "last_modified": last.last_modified} if last else {}
    townships = store.townships(with_geometry=False) if any(s.kind == "forecast" for s in sources) else []
    thresholds = config.forecast.thresholds() or None
    summary.sources = asyncio.run(_fetch_and_save(store, sources, settings, conditions, townships, thresholds,
                                                  transport))
    summary.changed = any(r.new or r.updated or r.cancelled for r in summary.sources)
    problems = {r.problem for r in summary.sources}
    summary.exit_code = EXIT_DATA if "data" in problems else EXIT_UNREACHABLE if "unreachable" in problems else EXIT_OK
    if evaluate:
        try:
            _evaluate_and_draw(store, config, summary, map_out)
        except Exception as e:  # loud (traceback, exit 1), but the sources' results still get reported
            log.exception("alerts stored, but the follow-ups or the map were not updated")
            summary.error, summary.exit_code = redact(f"{type(e).__name__}: {e}"), EXIT_DATA
    summary.finished = clock.iso(clock.now())
    return summary


async def _fetch_and_save(store, sources, settings, conditions, townships, thresholds, transport):
    from .fetch import Fetcher

    results: dict[str, SourceResult] = {}
    async with Fetcher(settings, townships=townships, thresholds=thresholds, transport=transport) as fetcher:
        tasks = [asyncio.ensure_future(fetcher.fetch(s, conditions.get(s.name))) for s in sources]
        for next_done in asyncio.as_completed(tasks):
            fetched = await next_done
            results[fetched.source.name] = _store(store, fetched)  # commit as each source finishes
    return [results[s.name] for s in sources]


def _store(store: Store, fetched) -> SourceResult:
    from .alerts.ingest import IngestCounts
    from .fetch import log_row, save

    name = fetched.source.name
    try:
        counts = save(store, fetched)
    except Exception as e:  # the source's transaction rolled back; say so in its own log row
        log.exception("%s: could not store what was fetched", name)
        fetched.error, fetched.problem, fetched.alerts = redact(f"could not store: {type(e).__name__}: {e}"), "data", []
        counts = IngestCounts()
        with store.write():
            store.log_fetch(log_row(fetched))
    result = SourceResult(
        source=name, kind=fetched.source.kind, ok=fetched.ok, http_status=fetched.http_status,
        not_modified=fetched.not_modified, documents=fetched.documents, alerts=len(fetched.alerts),
        new=counts.new, duplicate=counts.duplicate, updated=counts.updated, cancelled=counts.cancelled,
        error=redact(fetched.error), problem=fetched.problem, warnings=[redact(w) for w in fetched.warnings],
        seconds=fetched.seconds,
    )
    _log_result(result)
    return result


def _log_result(r: SourceResult) -> None:
    if r.problem:
        what = "unreachable" if r.problem == "unreachable" else "bad data"
        log.warning("%s: FAILED (%s): %s; stored alerts unchanged", r.source, what, r.error)
        return
    if r.not_modified:
        log.info("%s: not modified%s (%.2f s)", r.source, f" (HTTP {r.http_status})" if r.http_status else "",
                 r.seconds)
    else:
        log.info("%s: %d alerts in %d documents: %d new, %d already stored, %d updated, %d cancelled (%.2f s)",
                 r.source, r.alerts, r.documents, r.new, r.duplicate, r.updated, r.cancelled, r.seconds)
    for w in r.warnings:
        log.warning("%s: %s", r.source, w)


def _evaluate_and_draw(store: Store, config: Config, summary: Summary, map_out: Path | None) -> None:
    from . import evaluation, mapdata
    from .freshness import source_status

    now = clock.now()
    outcome = evaluation.run(store, config, now)
    summary.evaluated = not outcome.skipped
    summary.follow_ups = {"open": outcome.follow_ups, "new": outcome.new, "closed": outcome.closed,
                          "active_alerts": outcome.active_alerts, "by_priority": outcome.by_priority}
    if outcome.skipped:
        log.info("follow-ups: nothing changed since the evaluation of %s: %d open, %d warnings in force",
                 outcome.at, outcome.follow_ups, outcome.active_alerts)
    else:
        log.info("follow-ups: %d open (%d new, %d closed), %d warnings in force", outcome.follow_ups, outcome.new,
                 outcome.closed, outcome.active_alerts)
    out = Path(map_out or config.map.out)
    stale = ",".join(s["source"] for s in source_status(store, config, now) if s["stale"])
    import hashlib
    import json

    settings = json.dumps([config.data.get("map"), config.data.get("district")], sort_keys=True, default=str)
    drawn = f"{outcome.inputs}|stale:{stale}|map:{hashlib.sha256(settings.encode()).hexdigest()[:16]}"
    record = "map_inputs:" + str(out.resolve())
    if outcome.skipped and out.exists() and store.meta(record) == drawn:
        summary.map = str(out)
        log.info("map unchanged: %s", summary.map)
        return
    summary.map = str(mapdata.write_map(store, config, out, now))
    with store.write():
        store.set_meta(record, drawn)
        store.leave_uncounted()  # the map's own record: not an input of anything
    log.info("map written: %s", summary.map)
