"""Render the risk map: one self-contained HTML page, written atomically, from plain data.

`render_map(MapData, path)` is a pure function of its input: the store and the rules build the
MapData; nothing here reads the database. The page makes no network request when opened
(Leaflet and Leaflet.markercluster are inlined by monitor.mapassets) unless `basemap` names a
tile service.

How the page is put together:
- folium draws the frame: the map, one named layer per overlay, the layer control. It never sees
  a single facility; at 10^5 facilities one folium element each would take minutes to open.
- The small data (townships, warned areas, legend) travel as JSON in a `<script
  type="application/json">` element, with `<`, `>` and `&` escaped so that no text can close it.
- The sites travel as typed arrays (ids, fixed-point coordinates, kind, status, township and
  priority as codes) and the follow-ups likewise, in one binary "pack"; their names in a second;
  what only a popup shows (people, phones, dates, notes, history) in a third, unpacked the first
  time a popup opens. Large packs are deflated; the browser inflates them with its own
  DecompressionStream. At 10^6 sites the page is about 34 MB (benchmarks/RESULTS.md).
- assets/riskmap.js clusters the sites on a grid from those arrays each time the view changes
  and puts only what is in view on the map as markers; it draws the layers, legend, follow-up
  panel and search, putting every piece of text into the page with textContent, and sets
  `window.monitorMap` (counts of what it drew, `ready: true`) once the first view is drawn.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import secrets
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import quote

from monitor.errors import ConfigError, MonitorError
from monitor.kinds import KINDS

TOWNSHIP_KEYS = ("code", "name", "name_en", "kind", "approximate", "source", "score", "counts")
# zoom the map goes to when it shows one place (a follow-up, a search hit, a cluster): close
# enough to pick out a village, far enough to see the places around it
FOCUS_ZOOM = 14
ALERT_KEYS = (
    "id", "hazard", "hazard_zh", "colour", "headline", "description", "sender", "onset", "expires",
    "township_names",
)
# Text columns sent as codes into a list of their distinct values (see SiteColumns)
SITE_CODED = ("kind", "kind_zh", "status", "status_zh", "township_name")
FOLLOWUP_CODED = ("name", "township", "kind", "rule", "reason", "since")
HISTORY_FIELDS = ("at", "by", "old", "new", "note")
TEXT_FIELDS = ("responsible", "phone", "due", "last_inspected", "notes")
PRIORITIES = ("P1", "P2", "P3")
SCALE = 1_000_000  # coordinates travel as whole 10^-6 degrees (0.1 m) from the south-west corner
NONE = -(2**31)    # ... and this where a site has no location

# Symbols and colours. Facility shape = kind; fill = status; ring = follow-up priority.
KIND_SHAPES = {"heating": "circle", "fire": "triangle", "flood": "square"}
OTHER_KIND_SHAPE = "diamond"
STATUS_GROUPS = (  # colour, English label, statuses (codes; Chinese names from monitor.kinds)
    ("#c62828", "needs action", ("defect", "open", "damaged")),
    ("#795548", "in progress", ("under_repair", "rectifying")),
    ("#00838f", "temporarily restored", ("temporarily_restored",)),
    ("#212121", "out of service", ("out_of_service",)),
    ("#9e9e9e", "unchecked", ("unchecked",)),
    ("#43a047", "ok / fixed", ("ok", "rectified", "repaired")),
    ("#1b5e20", "verified / accepted", ("verified", "accepted")),
)
OTHER_STATUS_COLOUR = "#78909c"
PRIORITY_COLOURS = {"P1": "#d50000", "P2": "#ff6d00", "P3": "#ffd600"}
PRIORITY_LABELS = {"P1": "P1 一级 urgent", "P2": "P2 二级", "P3": "P3 三级"}
WARNING_COLOURS = {  # CMA signal colours
    "blue": ("#1e50cd", "蓝色预警 blue"),
    "yellow": ("#ffd700", "黄色预警 yellow"),
    "orange": ("#ff8c00", "橙色预警 orange"),
    "red": ("#e60012", "红色预警 red"),
}
UNKNOWN_WARNING = ("#757575", "颜色未知 colour unknown")
# township risk score classes: purples, so they never read as a warning colour
CHOROPLETH = ("#f7f7f7", "#dadaeb", "#bcbddc", "#9e9ac8", "#6a51a3")

# Without a base map there is nothing to see closer than zoom 16 (2 m a pixel), and each extra
# level costs the marker cluster about 10 % more work; with a base map, zoom 17-18 show single
# markers unclustered.
MAX_ZOOM = 16
MAX_ZOOM_BASEMAP = 18
COMPRESS_ABOVE = 2_000_000  # bytes of packed data; above this they are embedded compressed
ZLIB_LEVEL = 6
COORD_DIGITS = 6  # 0.1 m: more only makes the page bigger

TIANDITU_URL = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)


@dataclass
class MapData:
    """Everything the map shows, as plain data. Times are local-time strings, ready to print.

    townships: {code, name, name_en, kind, approximate, source, geometry (GeoJSON, WGS-84),
        score, counts: {"P1": n, "P2": n, "P3": n}, label_at: [lon, lat] (a point inside it where
        its name is drawn; optional, else the middle of its bounding box)}
    facilities: {id, kind, kind_zh, subtype_zh, name, status, status_zh, lon, lat,
        township_name, responsible, phone, households, due, last_inspected, notes,
        history: [{at, by, old, new, note}] (the last few), priority: "P1"|"P2"|"P3"|None,
        reasons: [str]}
    alerts: active warned areas {id, hazard, hazard_zh, colour ("blue"|"yellow"|"orange"|"red"|
        None), headline, description, sender, onset, expires, geometry (GeoJSON or None),
        township_names}; with no geometry the area is drawn from the named townships.
    followups: {facility_id, name, township, kind, rule, priority, reason, since, lon, lat}
    At city scale mapdata passes facilities and follow-ups as SiteColumns and FollowupColumns
    (numpy columns read straight from the store) instead of one dict per row.
    basemap: None (the townships are the map), {"type": "tianditu", "key": ...},
        {"type": "tiles", "path": "/dir/{z}/{x}/{y}.png"} or {"type": "gcj02", "url": ...};
        with gcj02 every overlay is shifted WGS-84 -> GCJ-02 for display.
    """

    title: str
    townships: list[dict]
    facilities: "list[dict] | SiteColumns"
    alerts: list[dict]
    followups: "list[dict] | FollowupColumns"
    data_time: str
    last_refresh: str | None
    stale: bool
    stale_reason: str = ""
    basemap: dict | None = None
    evaluated: str | None = None     # when the follow-ups were last evaluated (local time), None if never


@dataclass
class Coded:
    """A text column as codes (int32 per row, -1 for none) into its distinct values."""

    codes: Any  # numpy int32 array
    values: list

    @classmethod
    def of(cls, column: list) -> "Coded":
        import numpy as np

        distinct = dict.fromkeys(column)  # each value once, in order of first appearance
        distinct.pop(None, None)
        index = {v: i for i, v in enumerate(distinct)}
        index[None] = -1
        codes = np.fromiter(map(index.__getitem__, column), np.int32, len(column))
        return cls(codes, [v if isinstance(v, str) else str(v) for v in distinct])


@dataclass
class HistoryColumns:
    """The last few history entries of the sites, one row each, by site: `site` (index into the
    sites, ascending), and `at` (local time), `by`, `old`, `new` (status codes or names), `note`,
    each Coded or one value per entry (a list, or JSON array text)."""

    site: Any
    coded: dict[str, Any]


@dataclass
class SiteColumns:
    """Every facility on the map as columns, in one order (the page's site index).

    id (int64), lon/lat (float64, NaN where unknown), priority (int8: -1 none, 0 P1, 1 P2, 2 P3: the
    most urgent open follow-up), coded: kind, kind_zh, status, status_zh, township_name,
    subtype_zh; names: list of str or the JSON array text of them; households (int64, -1 none);
    texts: responsible, phone, due, last_inspected, notes, each Coded, a list or JSON array text;
    history: HistoryColumns."""

    id: Any
    lon: Any
    lat: Any
    priority: Any
    coded: dict[str, Coded]
    names: Any
    households: Any
    texts: dict[str, Any]
    history: HistoryColumns

    @classmethod
    def from_dicts(cls, rows: list[dict]) -> "SiteColumns":
        """From MapData's documented facility dicts (small maps and tests)."""
        import numpy as np

        def col(k):
            return [r.get(k) for r in rows]

        def num(k):
            return np.array([float(v) if _is_number(v) else np.nan for v in col(k)], dtype=np.float64)

        prio = np.array([PRIORITIES.index(p) if p in PRIORITIES else -1 for p in col("priority")], dtype=np.int8)
        hh = np.array([int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else -1
                       for v in col("households")], dtype=np.int64)
        h_site, h_cols = [], {k: [] for k in HISTORY_FIELDS}
        for i, r in enumerate(rows):
            for e in r.get("history") or []:
                h_site.append(i)
                for k in HISTORY_FIELDS:
                    h_cols[k].append(e.get(k))
        # kind, kind_zh, status, status_zh share one code (sent once)
        four = ("kind", "kind_zh", "status", "status_zh")
        index: dict = {}
        pair = np.fromiter((index.setdefault(tuple(r.get(k) for k in four), len(index)) for r in rows),
                           np.int32, len(rows))
        coded = {k: Coded(pair, [None if t[j] is None else str(t[j]) for t in index]) for j, k in enumerate(four)}
        coded.update({k: Coded.of(col(k)) for k in ("township_name", "subtype_zh")})
        return cls(
            id=np.array([int(v) for v in col("id")], dtype=np.int64), lon=num("lon"), lat=num("lat"),
            priority=prio, coded=coded,
            names=[v if v is None else str(v) for v in col("name")], households=hh,
            texts={k: [v if v is None else str(v) for v in col(k)] for k in TEXT_FIELDS},
            history=HistoryColumns(np.array(h_site, dtype=np.int32), {k: Coded.of(v) for k, v in h_cols.items()}),
        )


@dataclass
class FollowupColumns:
    """The open follow-ups as columns, in the order the panel lists them: site (int32 index into
    SiteColumns, -1 for a township's own), priority (int8 as in SiteColumns), coded: name (only
    where site is -1; else the site's), township (name), kind, rule, reason, since (local time)."""

    site: Any
    priority: Any
    coded: dict[str, Coded]

    @classmethod
    def from_dicts(cls, rows: list[dict], sites: SiteColumns) -> "FollowupColumns":
        import numpy as np

        index = {int(v): i for i, v in enumerate(sites.id.tolist())}
        site = np.array([index.get(r.get("facility_id"), -1) if r.get("facility_id") is not None else -1
                         for r in rows], dtype=np.int32)
        prio = np.array([PRIORITIES.index(r.get("priority")) if r.get("priority") in PRIORITIES else -1
                         for r in rows], dtype=np.int8)
        coded = {k: Coded.of([r.get(k) for r in rows]) for k in FOLLOWUP_CODED if k != "name"}
        coded["name"] = Coded.of([r.get("name") if s < 0 else None for r, s in zip(rows, site.tolist())])
        return cls(site, prio, coded)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def render_map(data: MapData, out: Path, *, compress: bool | None = None) -> Path:
    """Write the map for `data` to `out` atomically and return `out`.

    A failure at any point leaves an existing file at `out` as it was and no temporary file.
    `compress`: embed the data zlib-compressed (base64), unpacked by the browser's own
    DecompressionStream (Chrome/Edge 80+, Firefox 113+); None (the default) compresses only when
    the JSON is over COMPRESS_ABOVE characters, so that ordinary maps open in any browser.
    """
    return _write_atomic(Path(out), _page_parts(data, compress))


def build_html(data: MapData, *, compress: bool | None = None) -> str:
    """The page as one string (render_map writes the same text without joining it)."""
    return "".join(_page_parts(data, compress))


# ---- the page ------------------------------------------------------------------------------


def _page_parts(data: MapData, compress: bool | None = None) -> tuple[str, str, str]:
    """(before the data, the data, after): the frame is rendered and checked for network
    references with a placeholder where the data go, so that no user text is ever inspected as
    markup and the large JSON is never copied through a regular expression."""
    import folium  # heavy: only the map needs it

    from monitor.mapassets import OfflineMap, RiskLayers, inline_assets
    from monitor.outfile import GENERATOR_META

    shift = _display_shift(data.basemap)

    # folium's max_zoom/min_zoom only reach a tile layer; with none the map itself needs
    # maxZoom (and minZoom), or the marker cluster refuses to start
    view = _view(data)
    m = OfflineMap(tiles=None, control_scale=True, **view)
    for layer in _basemap_layers(data.basemap):
        layer.add_to(m)
    townships = folium.FeatureGroup(name="乡镇风险 Township risk").add_to(m)
    alerts = folium.FeatureGroup(name="预警区域 Warned areas").add_to(m)
    followups = folium.FeatureGroup(name="待跟进 Follow-ups").add_to(m)
    # riskmap.js clusters the sites itself, from the typed arrays, and puts only what is in view
    # (at most a few hundred clusters and sites) into this layer
    facilities = folium.FeatureGroup(name="设施 Facilities").add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)

    token = secrets.token_hex(16)
    data_marker, title_marker = f"@@monitor-data-{token}@@", f"@@monitor-title-{token}@@"
    layers = RiskLayers(
        data_marker, townships=townships, alerts=alerts, followups=followups, facilities=facilities
    ).add_to(m)
    fig = m.get_root()
    fig.title = title_marker
    page = inline_assets(fig.render()).replace("<html>", '<html lang="zh-CN">', 1)
    page = page.replace("<head>", "<head>\n    " + GENERATOR_META, 1)  # outfile: a page this tool may replace
    page = page.replace(title_marker, html.escape(data.title), 1)
    head, sep, tail = page.partition(data_marker)
    if not sep:
        raise MonitorError("the map page lost its data placeholder (a folium template changed?)")
    return head, "".join(_data_elements(data, shift, compress, layers.get_name())), tail


def _basemap_layers(basemap: dict | None) -> list:
    import folium

    if not basemap:
        return []
    kind = basemap.get("type")
    opts = dict(max_zoom=MAX_ZOOM_BASEMAP, max_native_zoom=MAX_ZOOM_BASEMAP, overlay=False, control=True)
    if kind == "tianditu":
        key = _setting(basemap, "key")
        return [
            folium.TileLayer(
                TIANDITU_URL.format(layer="vec", key=key, s="{s}"), name="天地图 Tianditu",
                attr="天地图 Tianditu", subdomains="01234567", **opts,
            ),
            folium.TileLayer(
                TIANDITU_URL.format(layer="cva", key=key, s="{s}"), name="天地图注记 labels",
                attr="天地图 Tianditu", subdomains="01234567",
                **{**opts, "overlay": True},
            ),
        ]
    if kind == "tiles":
        url = _file_tile_url(_setting(basemap, "path"))
        return [folium.TileLayer(url, name="本地底图 local tiles", attr="local tiles", **opts)]
    if kind == "gcj02":
        return [
            folium.TileLayer(
                _setting(basemap, "url"), name="底图 base map (GCJ-02)",
                attr=basemap.get("attr", "GCJ-02 tiles"), **opts,
            )
        ]
    raise ConfigError(f"unknown basemap type {kind!r}: expected tianditu, tiles or gcj02")


def _setting(basemap: dict, key: str) -> str:
    value = basemap.get(key)
    if not value:
        raise ConfigError(f"basemap of type {basemap.get('type')!r} needs a {key!r}")
    return str(value)


def _file_tile_url(path: str) -> str:
    """A file:// URL template for a local tile folder, keeping Leaflet's {z}/{x}/{y}."""
    p = Path(path).expanduser()
    if not p.is_absolute():
        p = Path.cwd() / p
    posix = quote(p.as_posix(), safe="/{}:")
    return "file://" + ("" if posix.startswith("/") else "/") + posix


def _display_shift(basemap: dict | None) -> Callable[[float, float], tuple[float, float]] | None:
    if basemap and basemap.get("type") == "gcj02":
        from monitor.gcj02 import wgs_to_gcj

        return wgs_to_gcj
    return None


def _bounds(data: MapData) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) of the townships, else of the facilities; None if neither."""
    lons, lats = [], []
    for t in data.townships:
        for lon, lat in _positions(t.get("geometry")):
            lons.append(lon)
            lats.append(lat)
    if not lons:
        if isinstance(data.facilities, SiteColumns):
            import numpy as np

            ok = np.isfinite(data.facilities.lon) & np.isfinite(data.facilities.lat)
            lons, lats = data.facilities.lon[ok].tolist(), data.facilities.lat[ok].tolist()
        else:
            pts = [(f.get("lon"), f.get("lat")) for f in data.facilities]
            pts = [p for p in pts if _is_coord(*p)]
            lons, lats = [p[0] for p in pts], [p[1] for p in pts]
    if not lons:
        return None
    return min(lons), min(lats), max(lons), max(lats)


def _view(data: MapData) -> dict:
    """Map options for the starting view. The page fits the view to what it drew; the minimum
    zoom is one level out from the whole district, which spares the marker cluster the work of
    clustering for views nobody needs (each level down to zoom 3 would cost at 10^5 facilities
    another 10-30 % of the load time)."""
    bounds = _bounds(data)
    max_zoom = MAX_ZOOM_BASEMAP if data.basemap else MAX_ZOOM
    if bounds is None:
        return {"location": [0.0, 0.0], "zoom_start": 3, "minZoom": 3, "maxZoom": max_zoom}
    west, south, east, north = bounds

    def merc(lat: float) -> float:
        lat = max(-85.0, min(85.0, lat))
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / (2 * math.pi)

    # the zoom at which the bounds fill a 1024 x 768 window (256-pixel tiles)
    wx, wy = max((east - west) / 360, 1e-9), max(merc(north) - merc(south), 1e-9)
    fit = math.floor(min(math.log2(4 / wx), math.log2(3 / wy)))
    return {
        "location": [(south + north) / 2, (west + east) / 2],
        "zoom_start": max(3, min(fit, max_zoom)),
        "minZoom": max(3, min(fit - 1, 12)),
        "maxZoom": max_zoom,
    }


# ---- the data the page embeds ----------------------------------------------------------------
#
# The page carries four data elements:
# - "-data": the small things as JSON (title, times, townships, warned areas, legend, style);
# - "-sites": the sites and follow-ups as typed arrays (a "pack", below), read at once;
# - "-names": the sites' names, read at once (search, marker titles);
# - "-detail": what only a popup shows (people, phones, dates, notes, history), unpacked the
#   first time a popup opens.
# A pack is [u32 header length][header JSON][padding to 8][arrays], the arrays little-endian,
# their places named in the header; above COMPRESS_ABOVE bytes the whole pack is deflated (the
# browser inflates it with its own DecompressionStream), then base64.


def _encode(payload: bytes, compress: bool | None) -> tuple[str, str]:
    """(encoding, text) for a pack's element: "base64" as is, or "zlib+base64"."""
    if compress is None:
        compress = len(payload) > COMPRESS_ABOVE
    if compress:
        payload = zlib.compress(payload, ZLIB_LEVEL)
    return ("zlib+base64" if compress else "base64"), base64.b64encode(payload).decode("ascii")


def _list_json(values) -> str:
    """A list as JSON text; text that is already a JSON array (read from SQLite) passes as is."""
    if isinstance(values, str):
        return values
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)


def pack(arrays: dict[str, Any], lists: dict[str, Any], extra: dict | None = None, *,
         delta: Iterable[str] = ()) -> bytes:
    """Typed arrays and lists of values in one buffer (the layout above). `arrays`: name -> numpy
    integer or float array; `lists`: name -> list or JSON array text. Integer arrays go in the
    narrowest type that holds them; arrays named in `delta` (ascending ones) as differences; every
    array of more than one byte an element with its bytes grouped by position (all first bytes,
    then all second bytes, ...): deflate then finds the runs (the high bytes of codes and
    coordinates are mostly alike), which makes the packs about a third smaller."""
    import numpy as np

    places, blobs, offset = {}, [], 0
    for name, arr in arrays.items():
        arr = np.ascontiguousarray(arr)
        flags = ""
        if name in delta and arr.size:
            arr = np.diff(arr.astype(np.int64), prepend=0)
            flags += "d"
        if arr.dtype.kind in "iu":
            arr = _narrow(arr)
        dtype = arr.dtype.str[1:]
        if dtype not in ("i1", "u1", "i2", "i4", "f8"):
            raise MonitorError(f"cannot pack {name} as {arr.dtype}")
        pad = (-offset) % 8
        if pad:
            blobs.append(b"\0" * pad)
            offset += pad
        data = arr.astype("<" + dtype, copy=False)
        if data.itemsize > 1:
            data = data.view(np.uint8).reshape(-1, data.itemsize).T
            flags += "s"
        raw = np.ascontiguousarray(data).tobytes()
        places[name] = [dtype, offset, int(arr.size), flags]
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps({"arrays": places, **(extra or {})}, ensure_ascii=False, separators=(",", ":"))
    head = head[:-1] + ',"lists":{' + ",".join(
        json.dumps(k) + ":" + _list_json(v) for k, v in lists.items()) + "}}"
    hb = head.encode("utf-8")
    lead = len(hb).to_bytes(4, "little") + hb
    lead += b"\0" * ((-len(lead)) % 8)
    return lead + b"".join(blobs)


def _narrow(arr):
    """An integer array in the narrowest of int8, int16, int32 that holds its values."""
    import numpy as np

    if not arr.size:
        return arr.astype(np.int8)
    lo, hi = int(arr.min()), int(arr.max())
    for t in (np.int8, np.int16, np.int32):
        info = np.iinfo(t)
        if info.min <= lo and hi <= info.max:
            return arr.astype(t, copy=False)
    raise MonitorError(f"values from {lo} to {hi} do not fit the page's 32-bit arrays")


def _payload_json(data: MapData, shift) -> str:
    """The page's small data as JSON that is safe inside a <script> element."""
    scores = [float(t.get("score") or 0) for t in data.townships]
    classes = score_classes(scores)
    townships = []
    for t, score in zip(data.townships, scores):
        row = {k: t.get(k) for k in TOWNSHIP_KEYS}
        row["geometry"] = _geometry(t.get("geometry"), shift)
        row["colour"] = CHOROPLETH[score_class(score, classes)]
        at = t.get("label_at")
        row["label_at"] = _geometry({"type": "Point", "coordinates": at}, shift)["coordinates"] if at else None
        townships.append(row)
    alerts = []
    for a in data.alerts:
        row = {k: a.get(k) for k in ALERT_KEYS}
        hexcol, label = WARNING_COLOURS.get(a.get("colour") or "", UNKNOWN_WARNING)
        row.update(colour_hex=hexcol, colour_label=label, geometry=_geometry(a.get("geometry"), shift))
        alerts.append(row)
    doc = {
        "title": data.title,
        "data_time": data.data_time,
        "last_refresh": data.last_refresh,
        "evaluated": data.evaluated,
        "focus_zoom": FOCUS_ZOOM,
        "stale": bool(data.stale),
        "stale_reason": data.stale_reason,
        "townships": townships,
        "alerts": alerts,
        "style": {
            "kinds": KIND_SHAPES,
            "other_kind": OTHER_KIND_SHAPE,
            "status": {code: colour for colour, _, codes in STATUS_GROUPS for code in codes},
            "other_status": OTHER_STATUS_COLOUR,
            "priorities": PRIORITY_COLOURS,
            # history entries name statuses by code: their Chinese names, per kind
            "status_zh": {code: {s: st.zh for s, st in k.statuses.items()} for code, k in KINDS.items()},
        },
        "legend": _legend(classes),
    }
    return script_json(doc)


def script_json(obj: Any) -> str:
    """JSON that cannot end the <script> element it sits in, nor open a comment or CDATA.

    >>> script_json({"name": "</script><script>alert(1)</script>"})
    '{"name":"\\\\u003c/script\\\\u003e\\\\u003cscript\\\\u003ealert(1)\\\\u003c/script\\\\u003e"}'
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    return (
        text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )


def _packs(data: MapData, shift) -> dict[str, bytes]:
    """The three packs ("sites", "names", "detail") for the page."""
    import numpy as np

    s = data.facilities if isinstance(data.facilities, SiteColumns) else SiteColumns.from_dicts(data.facilities)
    u = data.followups if isinstance(data.followups, FollowupColumns) else FollowupColumns.from_dicts(data.followups, s)
    lon, lat = s.lon, s.lat
    if shift is not None and len(lon):
        lon, lat = lon.copy(), lat.copy()
        ok = np.isfinite(lon) & np.isfinite(lat)
        moved = [shift(float(x), float(y)) for x, y in zip(lon[ok], lat[ok])]
        if moved:
            lon[ok], lat[ok] = zip(*moved)
    ok = np.isfinite(lon) & np.isfinite(lat)
    origin = [float(lon[ok].min()), float(lat[ok].min())] if ok.any() else [0.0, 0.0]
    # fixed point, 10^-6 degree (0.1 m), from the south-west corner; NONE where there is no point
    qlon = np.where(ok, np.round((np.where(ok, lon, origin[0]) - origin[0]) * SCALE), NONE).astype(np.int32)
    qlat = np.where(ok, np.round((np.where(ok, lat, origin[1]) - origin[1]) * SCALE), NONE).astype(np.int32)
    arrays = {"id": s.id.astype(np.int32), "lon": qlon, "lat": qlat, "priority": s.priority.astype(np.int8)}
    lists, via, sent = {}, {}, {}
    for name in SITE_CODED:
        c = s.coded[name]
        first = sent.setdefault(id(c.codes), name)
        if first == name:
            arrays[name] = c.codes
        else:  # the same codes as an earlier column (kind, kind_zh, status, status_zh): sent once
            via[name] = first
        lists[name] = c.values
    arrays["fu_site"], arrays["fu_priority"] = u.site.astype(np.int32), u.priority.astype(np.int8)
    for name in FOLLOWUP_CODED:
        c = u.coded[name]
        arrays["fu_" + name], lists["fu_" + name] = c.codes.astype(np.int32), c.values
    sites = pack(arrays, lists, {"n": int(len(s.id)), "origin": origin, "scale": SCALE, "none": NONE,
                                 "followups": int(len(u.site)), "via": via}, delta=("id",))
    names = pack({}, {"name": s.names})
    h = s.history
    d_arrays = {"households": s.households.astype(np.int32), "h_site": h.site.astype(np.int32)}
    d_lists = {}
    for name, c in s.texts.items():
        if isinstance(c, Coded):
            d_arrays[name], d_lists[name] = c.codes, c.values
        else:
            d_lists[name] = c
    for name in ("subtype_zh",):
        c = s.coded[name]
        d_arrays[name], d_lists[name] = c.codes.astype(np.int32), c.values
    for name in HISTORY_FIELDS:
        c = h.coded[name]
        if isinstance(c, Coded):
            d_arrays["h_" + name], d_lists["h_" + name] = c.codes, c.values
        else:  # one value per entry (a list, or JSON array text from SQLite)
            d_lists["h_" + name] = c
    detail = pack(d_arrays, d_lists, delta=("h_site",))
    return {"sites": sites, "names": names, "detail": detail}


def _data_elements(data: MapData, shift, compress: bool | None, name: str) -> Iterable[str]:
    """The page's data elements, one string each."""
    yield (f'<script type="application/json" id="{name}-data" data-encoding="json">'
           + _payload_json(data, shift) + "</script>\n")
    packs = _packs(data, shift)
    encoded = _encode_all(packs, compress)
    for key in ("sites", "names", "detail"):
        encoding, text = encoded[key]
        yield (f'<script type="application/octet-stream" id="{name}-{key}" data-encoding="{encoding}">'
               + text + "</script>\n")


def _encode_all(packs: dict[str, bytes], compress: bool | None) -> dict[str, tuple[str, str]]:
    """Each pack encoded; zlib lets go of the GIL, so the three compress side by side."""
    if compress is False or sum(map(len, packs.values())) <= COMPRESS_ABOVE and compress is None:
        return {k: _encode(v, False) for k, v in packs.items()}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(3, os.cpu_count() or 1)) as pool:
        futures = {k: pool.submit(_encode, v, True) for k, v in packs.items()}
        return {k: f.result() for k, f in futures.items()}


def _is_coord(lon, lat) -> bool:
    return (
        isinstance(lon, (int, float)) and isinstance(lat, (int, float))
        and math.isfinite(lon) and math.isfinite(lat)
    )


def _geometry(geom: dict | None, shift) -> dict | None:
    """GeoJSON geometry with positions rounded (and shifted for a GCJ-02 base map)."""
    if not geom:
        return None
    if geom.get("type") == "GeometryCollection":
        return {"type": "GeometryCollection", "geometries": [_geometry(g, shift) for g in geom["geometries"]]}

    def walk(c):
        if c and isinstance(c[0], (int, float)):
            lon, lat = (shift(c[0], c[1]) if shift else (c[0], c[1]))
            return [round(lon, COORD_DIGITS), round(lat, COORD_DIGITS)]
        return [walk(x) for x in c]

    return {"type": geom["type"], "coordinates": walk(geom["coordinates"])}


def _positions(geom: dict | None) -> Iterable[tuple[float, float]]:
    if not geom:
        return
    if geom.get("type") == "GeometryCollection":
        for g in geom["geometries"]:
            yield from _positions(g)
        return
    stack = [geom.get("coordinates") or []]
    while stack:
        c = stack.pop()
        if c and isinstance(c[0], (int, float)):
            yield c[0], c[1]
        else:
            stack.extend(c)


# ---- the legend --------------------------------------------------------------------------------


def score_classes(scores: list[float]) -> list[float]:
    """Upper bounds of the risk classes after class 0 (score 0): four equal steps up to the max,
    rounded up to whole numbers when every score is whole (as with the default weights), so
    that the legend reads "1 – 24", not "0 – 23.5". Fewer classes when the top score is small."""
    top = max(scores, default=0.0)
    if top <= 0:
        return []
    if all(float(s).is_integer() for s in scores):
        return sorted({math.ceil(top * k / 4) for k in (1, 2, 3, 4)})
    return [top * k / 4 for k in (1, 2, 3, 4)]


def score_class(score: float, classes: list[float]) -> int:
    if score <= 0 or not classes:
        return 0
    for i, upper in enumerate(classes, start=1):
        if score <= upper + 1e-9:
            return i
    return len(classes)


def class_labels(classes: list[float]) -> list[str]:
    whole = all(float(c).is_integer() for c in classes)
    labels, lower = [], 0.0
    for upper in classes:
        if whole:
            first = int(lower) + 1
            labels.append(f"{first}" if first == int(upper) else f"{first} – {int(upper)}")
        else:
            labels.append(f"{lower:.3g} – {upper:.3g}")
        lower = upper
    return labels


def _legend(classes: list[float]) -> dict:
    choropleth = [{"colour": CHOROPLETH[0], "label": "0 无待跟进 none"}]
    for i, label in enumerate(class_labels(classes), start=1):
        choropleth.append({"colour": CHOROPLETH[i], "label": label})
    status_names: dict[str, list[str]] = {}
    for k in KINDS.values():
        for s in k.statuses.values():
            status_names.setdefault(s.code, [])
            if s.zh not in status_names[s.code]:
                status_names[s.code].append(s.zh)
    status = []
    for colour, label, codes in STATUS_GROUPS:
        names = list(dict.fromkeys(n for c in codes for n in status_names.get(c, [])))
        status.append({"colour": colour, "label": f"{'、'.join(names)} {label}".strip()})
    status.append({"colour": OTHER_STATUS_COLOUR, "label": "其他 other"})
    return {
        "choropleth": choropleth,
        "boundaries": [
            {"approximate": False, "label": "乡镇边界 township boundary"},
            {"approximate": True, "label": "近似边界 approximate boundary"},
        ],
        "warnings": [{"colour": c, "label": label} for c, label in WARNING_COLOURS.values()]
        + [{"colour": UNKNOWN_WARNING[0], "label": UNKNOWN_WARNING[1]}],
        "kinds": [
            {"shape": KIND_SHAPES.get(code, OTHER_KIND_SHAPE), "label": f"{k.zh} {k.en}"}
            for code, k in KINDS.items()
        ],
        "status": status,
        "priorities": [{"colour": PRIORITY_COLOURS[p], "label": PRIORITY_LABELS[p]} for p in PRIORITY_COLOURS],
    }


# ---- writing -------------------------------------------------------------------------------------


def _write_atomic(out: Path, parts: Iterable[str]) -> Path:
    # the parts are written one after the other: at 10^5 facilities the page is several MB and
    # is never joined into one string
    from monitor.outfile import replacing

    with replacing(out, "html") as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            for part in parts:
                fh.write(part)
            fh.flush()
            os.fsync(fh.fileno())
    return out
