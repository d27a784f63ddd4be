"""The one notion of "now", and time parsing and formatting.

`--as-of` / MONITOR_NOW replace the wall clock everywhere, so a past moment can be replayed
exactly: evaluations, stored change times and staleness all read `now()`.
Times are stored as UTC ISO strings ("2021-10-10T02:00:00Z") and shown in the district's zone.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from .errors import UsageError

_override: datetime | None = None


def set_now(value: str | datetime | None) -> None:
    """Fix the clock (for --as-of); None returns to the environment or the wall clock."""
    global _override
    _override = parse(value) if isinstance(value, str) else value


def fixed() -> bool:
    """Whether --as-of or MONITOR_NOW fixes the clock."""
    return _override is not None or bool(os.environ.get("MONITOR_NOW"))


def now() -> datetime:
    if _override is not None:
        return _override
    env = os.environ.get("MONITOR_NOW")
    if env:
        return parse(env, what="MONITOR_NOW")
    return datetime.now(timezone.utc).replace(microsecond=0)


def parse(text: str, *, what: str = "time", tz: str = "Asia/Shanghai") -> datetime:
    """Parse an ISO 8601 time (or a bare date) to an aware UTC datetime.

    A time without an offset is taken in the district's zone `tz`.
    """
    t = text.strip()
    if t.endswith("Z") or t.endswith("z"):
        t = t[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        raise UsageError(f"{what}「{text}」不是时间，请写成如 2021-10-10T08:00+08:00；{what}: '{text}' is not a time; "
                         "use e.g. 2021-10-10T08:00+08:00") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return dt.astimezone(timezone.utc)


def parse_date(text: str, *, what: str = "date") -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{what}「{text}」不是日期，请写成 YYYY-MM-DD；{what}: '{text}' is not a date; use YYYY-MM-DD") from None


def iso(dt: datetime | None) -> str | None:
    """UTC ISO string as stored."""
    if dt is None:
        return None
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def local(text_or_dt: str | datetime | None, tz: str = "Asia/Shanghai", fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time shown in the district's zone."""
    if not text_or_dt:
        return ""
    dt = from_iso(text_or_dt) if isinstance(text_or_dt, str) else text_or_dt
    return dt.astimezone(ZoneInfo(tz)).strftime(fmt)


def local_date(dt: datetime, tz: str = "Asia/Shanghai") -> date:
    return dt.astimezone(ZoneInfo(tz)).date()
