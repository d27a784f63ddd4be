"""Gather what the risk map shows from the store, as plain data for `riskmap.render_map`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from . import clock
from . import kinds as K
from .config import Config
from .errors import MonitorError
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
    from .riskmap import FollowupColumns, MapData
    from .spatial import warned_area

    now = now or clock.now()
    tz = config.timezone
    townships = store.townships()
    geoms = {t["code"]: shapely.from_wkb(t["geometry"]) for t in townships}
    codes, polygons = list(geoms), list(geoms.values())
    names = {t["code"]: t["name"] for t in townships}
    sites, followups, scores = read_sites(store, config, names)
    t_rows = [{
        "code": t["code"], "name": t["name"], "name_en": t["name_en"], "kind": t["kind"],
        "approximate": bool(t["approximate"]), "source": t["source"],
        "geometry": shapely.geometry.mapping(geoms[t["code"]]),
        "score": scores.get(t["code"], {}).get("score", 0.0),
        "counts": scores.get(t["code"], {}).get("counts", {"P1": 0, "P2": 0, "P3": 0}),
        "label_at": label_point(geoms[t["code"]]),
    } for t in townships]

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

    from .householdview import map_follow_ups

    people = map_follow_ups(store, config, now, in_force(store, now), include_personal=include_personal)
    if people:  # households and calls, counts per village, after the sites' follow-ups
        followups = _joined(followups, FollowupColumns.from_dicts(people, sites))

    stale, reason, last_ok = (False, "", None) if replay else staleness(store, config, now)
    evaluated = store.last_evaluation()
    return MapData(
        title=config.map.title, townships=t_rows, facilities=sites,
        alerts=a_rows, followups=followups, data_time=clock.local(now, tz),
        last_refresh=replay or (clock.local(last_ok, tz) if last_ok else None), stale=stale, stale_reason=reason,
        basemap=_basemap(config), evaluated=clock.local(evaluated, tz) if evaluated else None,
    )


def _joined(first, second):
    """Two FollowupColumns as one, `first`'s rows then `second`'s (codes renumbered into one
    table of values per column)."""
    import numpy as np

    from .riskmap import Coded, FollowupColumns

    coded = {}
    for key in first.coded.keys() | second.coded.keys():
        a = first.coded.get(key) or Coded(np.full(len(first.site), -1, np.int32), [])
        b = second.coded.get(key) or Coded(np.full(len(second.site), -1, np.int32), [])
        values = list(dict.fromkeys([*a.values, *b.values]))
        index = {v: i for i, v in enumerate(values)}
        remap_b = np.array([index[v] for v in b.values] + [-1], dtype=np.int32)  # -1 stays -1 (last entry)
        remap_a = np.array([index[v] for v in a.values] + [-1], dtype=np.int32)
        coded[key] = Coded(np.concatenate([remap_a[a.codes], remap_b[b.codes]]).astype(np.int32), values)
    return FollowupColumns(np.concatenate([first.site, second.site]).astype(np.int32),
                           np.concatenate([first.priority, second.priority]).astype(np.int8), coded)


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


# ---- reading the store in columns ----------------------------------------------------------------
#
# The one place the map reads facilities, follow-ups and history. At city scale (10^6 sites) one
# Python object per row costs seconds and gigabytes (Store.select_facilities, recent_history and
# follow_up_list took 0.7 s each at 10^5 and grow linearly), so SQLite hands over whole columns:
# numbers as one comma-separated text each (parsed by numpy at C speed), text as one JSON array
# each (passed to the page as is), repeated text as codes. SQL here, outside the store, is a stop
# gap until the store's read model offers these columns (monitor/store is being split).


def _ints(text: str | None, dtype="i8"):
    import numpy as np

    if not text:
        return np.empty(0, dtype)
    return np.fromstring(text, dtype=np.int64, sep=",").astype(dtype, copy=False)  # text mode: not deprecated


def _sql_local(column: str, tz: str) -> str | None:
    """An SQL expression for a stored UTC time as local "YYYY-MM-DD HH:MM" where the zone has one
    fixed offset (China's has); None where it has daylight saving (then Python converts)."""
    from datetime import datetime as dt
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    offsets = {dt(2025, m, 1, tzinfo=zone).utcoffset() for m in (1, 7)}
    if len(offsets) != 1:
        return None
    minutes = int(offsets.pop().total_seconds() // 60)
    return f"strftime('%Y-%m-%d %H:%M', {column}, '{minutes:+d} minutes')"


def read_sites(store: Store, config: Config, town_names: dict[str, str]):
    """(SiteColumns, FollowupColumns, scores) of every facility and open follow-up, by columns;
    scores: per township code, {score, counts: {P1, P2, P3}} of its open follow-ups (as
    township_scores, counted from the columns rather than from one object per follow-up)."""
    import json

    import numpy as np

    from .riskmap import PRIORITIES, Coded, FollowupColumns, HistoryColumns, SiteColumns
    from .ruleset import score_weights

    conn = store.conn
    tz = config.timezone
    town_codes = [r[0] for r in conn.execute("SELECT code FROM townships ORDER BY code")]
    town_values = [town_names.get(code, code) for code in town_codes]  # a township's number: its place here

    def case(expr: str, values: list[str]) -> str:
        if not values:
            return "-1"
        quoted = (v.replace("'", "''") for v in values)  # SQL string literals (a code is data)
        return f"CASE {expr} " + " ".join(f"WHEN '{v}' THEN {i}" for i, v in enumerate(quoted)) + " ELSE -1 END"

    kinds = list(K.KINDS)
    status_pairs = [(k, s) for k in kinds for s in K.KINDS[k].statuses]
    subtype_pairs = [(k, s) for k in kinds for s in K.KINDS[k].subtypes]
    cur = conn.cursor()
    cur.row_factory = None
    row = cur.execute(
        "SELECT count(*), group_concat(id), group_concat(CAST(round(lon * 1e6) AS INTEGER)),"
        " group_concat(CAST(round(lat * 1e6) AS INTEGER)), group_concat(ks),"
        " group_concat(st), group_concat(coalesce(t, -1)), group_concat(coalesce(households, -1)),"
        " json_group_array(name), json_group_array(responsible), json_group_array(phone), json_group_array(due),"
        " json_group_array(last_inspected), json_group_array(notes)"
        " FROM (SELECT f.id, f.lon, f.lat, f.name, f.responsible, f.phone, f.due, f.last_inspected, f.notes,"
        f" f.households, {case('f.township', town_codes)} AS t,"
        f" {case(chr(39).join(['f.kind || ', '/', ' || f.status']), [a + '/' + b for a, b in status_pairs])} AS ks,"
        f" {case(chr(39).join(['f.kind || ', '/', ' || f.subtype']), [a + '/' + b for a, b in subtype_pairs])} AS st"
        " FROM facilities f ORDER BY f.id) AS rows_in_order"
    ).fetchone()
    n = row[0]
    ids = _ints(row[1])
    if n and not (len(ids) == n and np.all(np.diff(ids) > 0)):
        raise MonitorError("the facilities came out of the database out of order; map not written")
    lon = _ints(row[2]).astype(np.float64) / 1e6
    lat = _ints(row[3]).astype(np.float64) / 1e6
    pair_i, sub_i, town_i = _ints(row[4], "i4"), _ints(row[5], "i4"), _ints(row[6], "i4")
    coded = {
        # one code for the four: (kind, status) pairs are few
        "kind": Coded(pair_i, [k for k, _ in status_pairs]),
        "kind_zh": Coded(pair_i, [K.KINDS[k].zh for k, _ in status_pairs]),
        "status": Coded(pair_i, [s for _, s in status_pairs]),
        "status_zh": Coded(pair_i, [K.KINDS[k].statuses[s].zh for k, s in status_pairs]),
        "subtype_zh": Coded(sub_i, [K.KINDS[k].subtypes[s][0] for k, s in subtype_pairs]),
        "township_name": Coded(town_i, town_values),
    }
    texts = dict(zip(("responsible", "phone", "due", "last_inspected", "notes"), row[9:14]))
    for k in ("responsible", "due", "last_inspected"):  # few distinct values: codes are smaller
        texts[k] = Coded.of(json.loads(texts[k] or "[]"))
    history = _read_history(conn, ids, config.map.history_entries, tz)
    sites = SiteColumns(id=ids, lon=lon, lat=lat, priority=np.full(n, -1, dtype=np.int8), coded=coded,
                        names=row[8] or "[]", households=_ints(row[7]), texts=texts, history=history)

    local = _sql_local("u.since", tz) or "u.since"
    row = cur.execute(
        "SELECT count(*), group_concat(coalesce(fid, 0)), group_concat(p), group_concat(coalesce(t, -1)),"
        " group_concat(k), json_group_array(rule), json_group_array(reason), json_group_array(since)"
        " FROM (SELECT u.facility_id AS fid, coalesce(CAST(substr(u.priority, 2) AS INTEGER) - 1, -1) AS p,"
        f" {case('coalesce(u.township, f.township)', town_codes)} AS t, {case('f.kind', kinds)} AS k,"
        f" u.rule, u.reason, {local} AS since"
        " FROM follow_ups u LEFT JOIN facilities f ON f.id = u.facility_id"
        " WHERE u.closed IS NULL ORDER BY u.priority, coalesce(f.households, 0) DESC, u.facility_id, u.rule) AS rows_in_order"
    ).fetchone()
    m = row[0]
    fid = _ints(row[1])
    at = np.searchsorted(ids, fid) if len(ids) else np.zeros(m, dtype=np.int64)
    found = (at < len(ids)) & (ids[np.minimum(at, max(len(ids) - 1, 0))] == fid) if len(ids) else np.zeros(m, bool)
    site = np.where(found, at, -1).astype(np.int32)
    u_town_i = _ints(row[3], "i4")
    u_prio = _ints(row[2], "i1")
    # each site's most urgent open follow-up (ranks: 0 = P1)
    rank = np.full(n, 9, dtype=np.int8)
    placed = (site >= 0) & (u_prio >= 0)
    np.minimum.at(rank, site[placed], u_prio[placed])
    sites.priority = np.where(rank < 9, rank, -1).astype(np.int8)
    # per township: open follow-ups by priority, and the risk score (rules.risk_scores)
    weights = score_weights(config)
    counts = np.zeros((len(town_values) + 1, 3), dtype=np.int64)
    ok = u_prio >= 0
    np.add.at(counts, (u_town_i[ok], u_prio[ok]), 1)  # -1 (no township) lands in the last row
    scores = {}
    for i, code in enumerate(town_codes):
        c = counts[i]
        if c.any():
            scores[code] = {
                "score": float(sum(float(weights.get(p, 0)) * int(c[j]) for j, p in enumerate(PRIORITIES))),
                "counts": {p: int(c[j]) for j, p in enumerate(PRIORITIES)}}
    since = json.loads(row[7] or "[]")
    if local == "u.since":
        since = [clock.local(v, tz) for v in since]
    followups = FollowupColumns(
        site=site, priority=_ints(row[2], "i1"),
        coded={"name": Coded(np.full(m, -1, dtype=np.int32), []), "township": Coded(u_town_i, town_values),
               "kind": Coded(_ints(row[4], "i4"), kinds),
               "rule": Coded.of(json.loads(row[5] or "[]")), "reason": Coded.of(json.loads(row[6] or "[]")),
               "since": Coded.of(since)},
    )
    return sites, followups, scores


def _read_history(conn, ids, per_site: int, tz: str):
    """The last `per_site` history entries of every facility, newest first."""
    import json

    import numpy as np

    from .riskmap import Coded, HistoryColumns

    if per_site <= 0:
        return HistoryColumns(np.empty(0, np.int32), {k: [] for k in ("at", "by", "old", "new", "note")})
    local = _sql_local("h.at", tz) or "h.at"
    cur = conn.cursor()
    cur.row_factory = None
    row = cur.execute(
        "SELECT group_concat(facility_id), json_group_array(at), json_group_array(by),"
        " json_group_array(old_status), json_group_array(new_status), json_group_array(note)"
        f" FROM (SELECT h.facility_id, {local} AS at, h.by, h.old_status, h.new_status, h.note"
        # one index probe per facility for the id of its per_site-th newest entry
        " FROM facilities f JOIN status_history h ON h.facility_id = f.id AND h.id >= coalesce("
        "(SELECT id FROM status_history h2 WHERE h2.facility_id = f.id ORDER BY id DESC LIMIT 1 OFFSET ?), 0)"
        " ORDER BY f.id, h.id DESC) AS rows_in_order", (int(per_site) - 1,)).fetchone()
    fid = _ints(row[0])
    site = np.searchsorted(ids, fid).astype(np.int32)
    keep = (site < len(ids)) & (ids[np.minimum(site, max(len(ids) - 1, 0))] == fid) if len(ids) else np.zeros(len(fid), bool)
    at = json.loads(row[1] or "[]")
    if local == "h.at":
        at = [clock.local(v, tz) for v in at]
    cols = {"at": at, "by": json.loads(row[2] or "[]"), "old": json.loads(row[3] or "[]"),
            "new": json.loads(row[4] or "[]"), "note": row[5]}
    if not keep.all():  # entries of facilities no longer there: leave them out
        idx = np.flatnonzero(keep).tolist()
        cols = {k: [(json.loads(v) if isinstance(v, str) else v)[i] for i in idx] for k, v in cols.items()}
        site = site[keep]
    return HistoryColumns(site, {**{k: Coded.of(cols[k]) for k in ("at", "by", "old", "new")}, "note": cols["note"]})
