"""Render the risk map: one self-contained HTML page, written atomically, from plain data.

`render_map(MapData, path)` is a pure function of its input: the store and the rules build the
MapData; nothing here reads the database. The page makes no network request when opened
(Leaflet and Leaflet.markercluster are inlined by monitor.mapassets) unless `basemap` names a
tile service.

How the page is put together:
- folium draws the frame: the map, one named layer per overlay, the marker cluster, the layer
  control. It never sees a single facility; at 10^5 facilities one folium element each would take
  minutes to open.
- All data travel once, as JSON in a `<script type="application/json">` element, with `<`, `>`
  and `&` escaped so that no text can close the element. Facilities and follow-ups are packed as
  rows of columns, with repeated strings (kinds, statuses, townships, people) interned in one
  table. Above COMPRESS_ABOVE the JSON goes in zlib-compressed and base64-encoded, and the
  browser unpacks it with its own DecompressionStream: 10^5 facilities make about 18 MB of JSON
  and a 7 MB page.
- assets/riskmap.js draws the layers, legend, follow-up panel and search from that JSON, putting
  every piece of text into the page with textContent, and sets `window.monitorMap` (counts of
  what it actually drew) when the last marker is in.
"""

from __future__ import annotations

import base64
import gc
import html
import json
import math
import os
import secrets
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
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
# Facility and follow-up columns as they are packed into the page; INTERNED ones are indexes into
# the page's string table (they repeat across thousands of rows).
FACILITY_COLUMNS = (
    "id", "kind", "kind_zh", "subtype_zh", "name", "status", "status_zh", "township_name",
    "responsible", "phone", "households", "due", "last_inspected", "notes", "history",
    "priority", "reasons", "lon", "lat",
)
FACILITY_INTERNED = (
    "kind", "kind_zh", "subtype_zh", "status", "status_zh", "township_name", "responsible",
    "due", "last_inspected", "priority", "reasons",
)
FOLLOWUP_COLUMNS = (
    "facility_id", "name", "township", "kind", "rule", "priority", "reason", "since", "lon", "lat",
)
FOLLOWUP_INTERNED = ("township", "kind", "rule", "priority", "reason", "since")

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
COMPRESS_ABOVE = 2_000_000  # characters of JSON; above this the data are embedded compressed
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
    basemap: None (the townships are the map), {"type": "tianditu", "key": ...},
        {"type": "tiles", "path": "/dir/{z}/{x}/{y}.png"} or {"type": "gcj02", "url": ...};
        with gcj02 every overlay is shifted WGS-84 -> GCJ-02 for display.
    """

    title: str
    townships: list[dict]
    facilities: list[dict]
    alerts: list[dict]
    followups: list[dict]
    data_time: str
    last_refresh: str | None
    stale: bool
    stale_reason: str = ""
    basemap: dict | None = None
    evaluated: str | None = None     # when the follow-ups were last evaluated (local time), None if never


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
    from folium.plugins import MarkerCluster
    from folium.utilities import JsCode

    from monitor.mapassets import OfflineMap, RiskLayers, inline_assets
    from monitor.outfile import GENERATOR_META

    shift = _display_shift(data.basemap)
    encoding, payload = _encode(_payload(data, shift), compress)

    # folium's max_zoom/min_zoom only reach a tile layer; with none the map itself needs
    # maxZoom (and minZoom), or the marker cluster refuses to start
    view = _view(data)
    m = OfflineMap(tiles=None, control_scale=True, **view)
    for layer in _basemap_layers(data.basemap):
        layer.add_to(m)
    townships = folium.FeatureGroup(name="乡镇风险 Township risk").add_to(m)
    alerts = folium.FeatureGroup(name="预警区域 Warned areas").add_to(m)
    followups = folium.FeatureGroup(name="待跟进 Follow-ups").add_to(m)
    facilities = MarkerCluster(
        name="设施 Facilities",
        icon_create_function="MonitorRiskMap.clusterIcon",
        chunked_loading=True, chunk_interval=250, chunk_delay=10,
        animate=False, show_coverage_on_hover=False,
        # 60 px out to the district; at the closest two zooms only markers that overlap cluster
        max_cluster_radius=JsCode(
            f"function (z) {{ return z >= {view['maxZoom']} ? 22 : z >= {view['maxZoom'] - 1} ? 40 : 60; }}"
        ),
        spiderfy_on_max_zoom=True, remove_outside_visible_bounds=True,
        # riskmap.js zooms in a few levels at a time and spiderfies from FOCUS_ZOOM on, instead
        # of jumping straight to the zoom where the cluster's markers part (often the closest)
        zoom_to_bounds_on_click=False,
    ).add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)

    token = secrets.token_hex(16)
    data_marker, title_marker = f"@@monitor-data-{token}@@", f"@@monitor-title-{token}@@"
    RiskLayers(
        data_marker, encoding, townships=townships, alerts=alerts, followups=followups, facilities=facilities
    ).add_to(m)
    fig = m.get_root()
    fig.title = title_marker
    page = inline_assets(fig.render()).replace("<html>", '<html lang="zh-CN">', 1)
    page = page.replace("<head>", "<head>\n    " + GENERATOR_META, 1)  # outfile: a page this tool may replace
    page = page.replace(title_marker, html.escape(data.title), 1)
    head, sep, tail = page.partition(data_marker)
    if not sep:
        raise MonitorError("the map page lost its data placeholder (a folium template changed?)")
    return head, payload, tail


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


def _encode(payload: str, compress: bool | None) -> tuple[str, str]:
    """(encoding, text) for the data element: "json" as is, or "zlib+base64"."""
    if compress is None:
        compress = len(payload) > COMPRESS_ABOVE
    if not compress:
        return "json", payload
    packed = zlib.compress(payload.encode("utf-8"), ZLIB_LEVEL)
    return "zlib+base64", base64.b64encode(packed).decode("ascii")


def _payload(data: MapData, shift) -> str:
    """The page's data as JSON that is safe inside a <script> element."""
    # ~10^6 short-lived lists and tuples, no cycles: the cyclic GC would only re-traverse the
    # caller's 10^5 facility dicts again and again (measured: 1.5 s -> 0.4 s at 10^5)
    with _gc_paused():
        return _payload_json(data, shift)


@contextmanager
def _gc_paused():
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _payload_json(data: MapData, shift) -> str:
    strings = _Interner()
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
        "facilities": _facility_table(data.facilities, strings, shift),
        "followups": _table(data.followups, FOLLOWUP_COLUMNS, FOLLOWUP_INTERNED, strings, shift),
        "style": {
            "kinds": KIND_SHAPES,
            "other_kind": OTHER_KIND_SHAPE,
            "status": {code: colour for colour, _, codes in STATUS_GROUPS for code in codes},
            "other_status": OTHER_STATUS_COLOUR,
            "priorities": PRIORITY_COLOURS,
        },
        "legend": _legend(classes),
        "strings": strings.table,
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


class _Interner:
    """The page's table of strings that repeat (kinds, statuses, townships, people, reasons)."""

    def __init__(self) -> None:
        self.table: list[str] = []
        self.index: dict[Any, int | None] = {None: None}

    def many(self, values: list) -> list[int | None]:
        """Each value's index in the table (None stays None); non-strings are interned as text."""
        index = self.index
        for v in dict.fromkeys(values):  # each distinct value once, at C speed
            if v not in index:
                text = str(v)
                if text not in index:
                    index[text] = len(self.table)
                    self.table.append(text)
                index[v] = index[text]
        return [index[v] for v in values]


def _facility_table(rows: list[dict], strings: _Interner, shift) -> dict:
    return _table(rows, FACILITY_COLUMNS, FACILITY_INTERNED, strings, shift)


def _table(rows: list[dict], columns, interned, strings: _Interner, shift) -> dict:
    """Rows of dicts as {columns, interned, rows}, built a column at a time (10^5 rows in well
    under a second): interned cells hold indexes into `strings`."""
    get_all = itemgetter(*columns)
    try:
        cells = [get_all(r) for r in rows]
    except KeyError:  # some row lacks a key: the slow way
        cells = [tuple(r.get(c) for c in columns) for r in rows]
    cols = []
    for c, values in zip(columns, zip(*cells) if cells else [()] * len(columns)):
        values = list(values)
        if c == "reasons":
            strings.many([x for rs in values if rs for x in rs])
            ix = strings.index
            values = [[ix[x] for x in rs] if rs else [] for rs in values]
        elif c == "history":
            values = _history(values, strings)
        elif c in interned:
            values = strings.many(values)
        cols.append(values)
    lon_i, lat_i = columns.index("lon"), columns.index("lat")
    cols[lon_i], cols[lat_i] = _coordinates(cols[lon_i], cols[lat_i], shift)
    return {"columns": list(columns), "interned": list(interned), "rows": list(zip(*cols))}


def _history(values: list, strings: _Interner) -> list:
    """[{at, by, old, new, note}] per facility as [[at, by, old, new, note]], by/old/new interned."""
    keys = ("at", "by", "old", "new", "note")
    get_all = itemgetter(*keys)
    try:
        values = [[get_all(e) for e in h] if h else None for h in values]
    except KeyError:
        values = [[tuple(e.get(k) for k in keys) for e in h] if h else None for h in values]
    strings.many([x for h in values if h for e in h for x in e[1:4]])
    ix = strings.index
    return [[(at, ix[by], ix[old], ix[new], note) for at, by, old, new, note in h] if h else [] for h in values]


def _coordinates(lons: list, lats: list, shift) -> tuple[list, list]:
    """Rounded (and, for a GCJ-02 base map, shifted) coordinates; None where there is no point."""
    out_lon, out_lat = [], []
    for lon, lat in zip(lons, lats):
        if _is_coord(lon, lat):
            if shift:
                lon, lat = shift(lon, lat)
            out_lon.append(round(lon, COORD_DIGITS))
            out_lat.append(round(lat, COORD_DIGITS))
        else:
            out_lon.append(None)
            out_lat.append(None)
    return out_lon, out_lat


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
