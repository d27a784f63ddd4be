"""Gather what the risk map shows from the store, as plain data for `riskmap.render_map`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from . import clock
from . import kinds as K
from .config import Config
from .readmodel import township_scores  # the read model's, shared with export
from .store import Store


def build(store: Store, config: Config, now: datetime | None = None, *, replay: str | None = None,
          include_personal: bool = False):
    """replay: the alerts were loaded from files, not refreshed (the demo): this text stands in
    for the last-refresh time and the sources' freshness is not judged. Households and calls
    join the follow-ups as counts per village (monitor.householdview); their refs, contacts and
    phones only with `include_personal`."""
    import shapely

    from .alertview import in_force, span
    from .freshness import staleness
    from .riskmap import MapData
    from .spatial import warned_area

    now = now or clock.now()
    tz = config.timezone
    townships = store.townships()
    geoms = {t["code"]: shapely.from_wkb(t["geometry"]) for t in townships}
    codes, polygons = list(geoms), list(geoms.values())
    names = {t["code"]: t["name"] for t in townships}
    follow = store.follow_up_list()
    scores = township_scores(follow, config)
    t_rows = [{
        "code": t["code"], "name": t["name"], "name_en": t["name_en"], "kind": t["kind"],
        "approximate": bool(t["approximate"]), "source": t["source"],
        "geometry": shapely.geometry.mapping(geoms[t["code"]]),
        "score": scores.get(t["code"], {}).get("score", 0.0),
        "counts": scores.get(t["code"], {}).get("counts", {"P1": 0, "P2": 0, "P3": 0}),
        "label_at": label_point(geoms[t["code"]]),
    } for t in townships]

    best: dict[int, dict] = {}
    for r in follow:
        if r["facility_id"] is not None:
            b = best.setdefault(r["facility_id"], {"priority": r["priority"], "reasons": []})
            b["priority"] = min(b["priority"], r["priority"])
            b["reasons"].append(f"[{r['priority']}] {r['reason']}")
    history = store.recent_history(config.map.history_entries)
    f_rows = []
    for f in store.select_facilities():
        kind = K.KINDS[f["kind"]]
        f_rows.append({
            "id": f["id"], "kind": f["kind"], "kind_zh": kind.zh, "subtype_zh": kind.subtypes[f["subtype"]][0],
            "name": f["name"], "status": f["status"], "status_zh": kind.statuses[f["status"]].zh,
            "lon": f["lon"], "lat": f["lat"], "township_name": f["township_name"],
            "responsible": f["responsible"], "phone": f["phone"], "households": f["households"],
            "due": f["due"], "last_inspected": f["last_inspected"], "notes": f["notes"],
            "history": [{"at": clock.local(h["at"], tz), "by": h["by"],
                         "old": kind.statuses[h["old_status"]].zh if h["old_status"] in kind.statuses else h["old_status"],
                         "new": kind.statuses[h["new_status"]].zh if h["new_status"] in kind.statuses else h["new_status"],
                         "note": h["note"]} for h in history.get(f["id"], [])],
            "priority": best.get(f["id"], {}).get("priority"),
            "reasons": best.get(f["id"], {}).get("reasons", []),
        })

    a_rows = []
    for a in in_force(store, now):
        covered, geom, _ = warned_area(a, codes, polygons)
        a_rows.append({
            "id": a["id"], "hazard": a["hazard"], "hazard_zh": a["hazard_zh"], "colour": a.get("colour"),
            "headline": a.get("headline") or a.get("event"), "description": a.get("description"),
            "sender": a.get("sender_name") or a.get("sender"),
            "onset": clock.local(span(a)[0], tz),
            "expires": clock.local(span(a)[1], tz),
            "geometry": shapely.geometry.mapping(geom) if geom is not None else None,
            "township_names": sorted(names[c] for c in covered),
        })

    u_rows = [{
        "facility_id": r["facility_id"], "name": r["name"], "township": r["township_name"], "kind": r["kind"],
        "rule": r["rule"], "priority": r["priority"], "reason": r["reason"],
        "since": clock.local(r["since"], tz), "lon": r["lon"], "lat": r["lat"],
    } for r in follow]
    from .householdview import map_follow_ups

    u_rows += map_follow_ups(store, config, now, in_force(store, now), include_personal=include_personal)

    stale, reason, last_ok = (False, "", None) if replay else staleness(store, config, now)
    evaluated = store.last_evaluation()
    return MapData(
        title=config.map.title, townships=t_rows, facilities=f_rows,
        alerts=a_rows, followups=u_rows, data_time=clock.local(now, tz),
        last_refresh=replay or (clock.local(last_ok, tz) if last_ok else None), stale=stale, stale_reason=reason,
        basemap=_basemap(config), evaluated=clock.local(evaluated, tz) if evaluated else None,
    )


def label_point(geom) -> list[float] | None:
    """Where a township's name is drawn: the point of its (largest) polygon farthest from the
    edges, so that the label sits well inside (a concave township's centroid can lie outside);
    None for an empty geometry."""
    import shapely
    from shapely.ops import polylabel

    if geom is None or geom.is_empty:
        return None
    polygons = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and not g.is_empty]
    if not polygons:
        p = shapely.point_on_surface(geom)
    else:
        largest = max(polygons, key=lambda g: g.area)
        p = polylabel(largest, tolerance=max(largest.length / 2000, 1e-6))
    return [round(p.x, 6), round(p.y, 6)]


def _basemap(config: Config) -> dict | None:
    """[map] basemap, checked, with a local tile folder taken relative to config.toml (config.py)."""
    return config.map.basemap


def write_map(store: Store, config: Config, out: Path, now: datetime | None = None, *,
              replay: str | None = None, include_personal: bool = False) -> Path:
    from .riskmap import render_map

    return render_map(build(store, config, now, replay=replay, include_personal=include_personal), out)
