"""Is the alert data current? Per configured source, the age of its last successful refresh."""

from __future__ import annotations

from datetime import datetime

from . import clock
from .config import Config
from .store import Store

DEFAULT_MAX_AGE_MINUTES = 90


def source_status(store: Store, config: Config, now: datetime) -> list[dict]:
    """One entry per configured source: last success, last error, age in minutes, stale or not."""
    out = []
    for src in config.data.get("sources", []):
        name = src.get("name")
        max_age = float(src.get("max_age_minutes", DEFAULT_MAX_AGE_MINUTES))
        ok = store.last_fetch(name, ok=True)
        last = store.last_fetch(name)
        last_ok = ok["finished"] if ok else None
        age = (now - clock.from_iso(last_ok)).total_seconds() / 60 if last_ok else None
        out.append({
            "source": name, "kind": src.get("kind"), "last_success": last_ok,
            "last_attempt": last["started"] if last else None,
            "last_error": last["error"] if last and not last["ok"] else None,
            "age_minutes": round(age, 1) if age is not None else None, "max_age_minutes": max_age,
            "stale": age is None or age > max_age,
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
