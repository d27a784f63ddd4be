"""Is the alert data current? Per configured source, the age of its last successful refresh.

A refresh is successful when the source answered and what it gave was stored, or it answered
304 Not Modified (the data are as current as the feed). A source is stale when that is older
than its `max_age_minutes`, or it never succeeded. Disabled sources are not checked.
Ages are measured at `now`, which is --as-of when replaying, so a replay judges its own moment.
"""

from __future__ import annotations

from datetime import datetime

from . import clock
from .config import Config
from .redaction import redact
from .sources import configured, remember_secrets
from .store import Store



def source_status(store: Store, config: Config, now: datetime) -> list[dict]:
    """One entry per enabled source: last success, last attempt and its error, age, stale or not."""
    out = []
    sources = configured(config)
    remember_secrets(sources)  # an error stored by an older version may still hold one
    for src in sources:
        ok = store.fetch_record(src.name, ok=True)
        last = store.fetch_record(src.name)
        last_ok = ok.finished or ok.started if ok else None
        age = (now - clock.from_iso(last_ok)).total_seconds() / 60 if last_ok else None
        failed = last is not None and not last.succeeded
        out.append({
            "source": src.name, "kind": src.kind, "last_success": last_ok,
            "last_attempt": last.started if last else None,
            "last_error": redact(last.error) if failed else None,
            "last_error_at": last.started if failed else None,
            "age_minutes": round(age, 1) if age is not None else None, "max_age_minutes": src.max_age_minutes,
            "stale": age is None or age > src.max_age_minutes,
        })
    return out


def staleness(store: Store, config: Config, now: datetime) -> tuple[bool, str, str | None]:
    """(stale?, why, time of the latest successful refresh of any source)."""
    sources = source_status(store, config, now)
    stale = [s for s in sources if s["stale"]]
    successes = [s["last_success"] for s in sources if s["last_success"]]
    last_ok = max(successes) if successes else None
    if not stale:
        return False, "", last_ok
    why = "; ".join(
        f"{s['source']}: " + (f"last refreshed {s['age_minutes']:.0f} min ago (max {s['max_age_minutes']:.0f})"
                              if s["last_success"] else "never refreshed")
        for s in stale)
    return True, why, last_ok
