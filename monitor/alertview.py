"""Stored alerts as people and scripts see them (`alerts list/show --json`, `status`).

Lifecycle state names: the store keeps active / updated / cancelled (what superseded a message
and how); shown, an `updated` message is "superseded", a message whose end (NWS `ends`, else
`expires`) has passed is "expired", and a Cancel message itself is "cancelled" (it announces
that nothing is in force), and one a person retired (`monitor alerts withdraw`) is "withdrawn".
So every alert is one of: active, superseded, cancelled, expired, withdrawn.

Townships: those its polygons and circles overlap where it has a shape, else those its division
codes cover (a district or city code covers all its townships): see monitor.spatial.
"""

from __future__ import annotations

from datetime import datetime

from . import clock
from .divisions import covered_townships

STATES = ("active", "superseded", "cancelled", "expired", "withdrawn")
_STORED = {"active": "active", "updated": "superseded", "cancelled": "cancelled"}
FIELDS = (
    "id", "source", "format", "sender", "sender_name", "identifier", "sent", "msg_type", "status", "event",
    "event_en", "hazard", "colour", "cma_type", "severity", "urgency", "certainty", "onset", "effective",
    "expires", "ends", "headline", "headline_en", "area_desc", "division_codes", "refs", "superseded_by",
    "warnings", "received", "withdrawn", "withdrawn_by", "withdrawn_note",
)


def in_force(store, now: datetime) -> list[dict]:
    """The warnings in force at `now`, each `named`."""
    return [named(a) for a in store.alerts_in_force(clock.iso(now))]


def named(alert: dict) -> dict:
    """The alert with hazard_zh / hazard_en for reasons and labels (a forecast-derived one says
    so: 寒潮（预报）)."""
    from .alerts.hazards import HAZARDS

    h = HAZARDS.get(alert.get("hazard"))
    zh, en = (h.zh, h.en) if h else (alert.get("event"), alert.get("event_en") or alert.get("event"))
    if alert.get("format") == "forecast":
        zh, en = f"{zh}（预报）", f"forecast {en}"
    return {**alert, "hazard_zh": zh, "hazard_en": en}


def span(alert: dict) -> tuple[str | None, str | None]:
    """(from, until) of a stored warning, UTC ISO: onset, else effective, else sent; NWS `ends`
    (when the hazard is over), else `expires`. until None = open-ended."""
    return (alert.get("onset") or alert.get("effective") or alert.get("sent") or None,
            alert.get("ends") or alert.get("expires"))


def state(alert: dict, now_iso: str) -> str:
    """One of STATES at `now_iso`."""
    stored = _STORED.get(alert["state"], alert["state"])
    if stored != "active":
        return stored
    if alert.get("msg_type") == "Cancel":
        return "cancelled"
    end = span(alert)[1]
    return "expired" if end and end <= now_iso else "active"


def township_codes(alerts: list[dict], townships: list[dict]) -> list[list[str]]:
    """For each alert, the codes of the townships it covers (spatial.warned_townships)."""
    codes = [t["code"] for t in townships]
    geoms = None
    out = []
    for a in alerts:
        if not _has_geometry(a):  # codes only: no geometry library needed
            out.append(sorted(covered_townships(a.get("division_codes"), codes)))
            continue
        import shapely

        from .spatial import warned_townships

        if geoms is None:
            geoms = shapely.from_wkb([t["geometry"] for t in townships])
        out.append(sorted(warned_townships(a, codes, geoms)))
    return out


def alert_json(alerts: list[dict], now_iso: str, townships: list[dict]) -> list[dict]:
    """The JSON objects of `alerts list --json`: every FIELDS key, state, townships (names)."""
    names = {t["code"]: t["name"] for t in townships}
    covered = township_codes(alerts, townships)
    return [{k: (a.get(k) or None) if k == "sent" else a.get(k) for k in FIELDS}
            | {"state": state(a, now_iso), "townships": [names[c] for c in codes], "township_codes": codes}
            for a, codes in zip(alerts, covered)]


def _has_geometry(alert: dict) -> bool:
    area = alert.get("area") or {}
    return bool(area.get("polygons") or area.get("circles"))
