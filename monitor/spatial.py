"""Vectorised geometry: which points lie in which areas, and what area a warning covers.

Points are whole numpy arrays of longitudes and latitudes (WGS-84); each test is one
`shapely.intersects_xy` call over the points inside the area's bounding box, never a Python
loop per point.

Warned areas come as polygons, circles and division codes. One rule everywhere (rules, map,
report, export, `alerts list`): a warning with a polygon or circle applies inside that shape
(its division codes, often just the sender's district, do not widen it); a warning with no
shape covers every township its division codes prefix (110000000000, Beijing, covers
110116107000).
"""

from __future__ import annotations

import logging
import math

import numpy as np
import shapely

from .divisions import covered_townships
from .geodesy import EARTH_RADIUS_KM

log = logging.getLogger(__name__)


def points_in(geom, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Boolean mask of the points inside (or on the boundary of) `geom`.

    >>> import shapely, numpy as np
    >>> points_in(shapely.box(0, 0, 1, 1), np.array([0.5, 2.0]), np.array([0.5, 0.5])).tolist()
    [True, False]
    """
    mask = np.zeros(len(lon), dtype=bool)
    if geom is None or geom.is_empty or len(lon) == 0:
        return mask
    minx, miny, maxx, maxy = geom.bounds
    cand = np.flatnonzero((lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy))
    if len(cand):
        shapely.prepare(geom)
        mask[cand] = shapely.intersects_xy(geom, lon[cand], lat[cand])
    return mask


def circle(lon: float, lat: float, radius_km: float, segments: int = 72):
    """A circle of `radius_km` around a point, as a lon/lat polygon (local equirectangular)."""
    theta = np.linspace(0, 2 * math.pi, segments, endpoint=False)
    dlat = math.degrees(radius_km / EARTH_RADIUS_KM)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    return shapely.Polygon(np.column_stack([lon + dlon * np.cos(theta), lat + dlat * np.sin(theta)]))


def area_geometry(polygons: list | None, circles: list | None, *, what: str = "warning"):
    """The union of a warning's polygons (rings of (lon, lat)) and circles ((lon, lat, km)); None if neither.

    Each ring and circle is checked again (monitor.alerts.geometry) before GEOS sees it: one that
    is not finite, out of range or without area is left out with a logged warning, and a shape
    GEOS still cannot build gives None, so that one bad stored alert falls back to its division
    codes instead of stopping the rules, the map, the export and the report for everyone.
    """
    from .alerts import geometry as check

    problems: list[str] = []
    parts = []
    for ring in polygons or []:
        if (ok := check.ring(ring, "stored polygon", problems)) is not None:
            poly = shapely.Polygon(ok)
            parts.append(poly if poly.is_valid else shapely.make_valid(poly))
    for c in circles or []:
        if not isinstance(c, (list, tuple)) or len(c) != 3:
            problems.append(f"stored circle {str(c)[:40]} ignored: not (lon, lat, radius_km)")
        elif (ok := check.circle(*c, "stored circle", problems)) is not None and ok[2] > 0:
            parts.append(circle(*ok))
    shape = None
    if parts:
        try:
            shape = shapely.union_all(parts)
        except (shapely.errors.GEOSException, ValueError) as e:
            problems.append(f"area cannot be built ({e})")
    for p in problems:
        log.warning("%s: %s; its area is left out (division codes only)", what, p)
    return shape


def alert_shape(alert: dict):
    """The union of a stored alert's polygons and circles, or None (see area_geometry)."""
    area = alert.get("area") or {}
    if not isinstance(area, dict):
        return None
    return area_geometry(area.get("polygons"), area.get("circles"), what=f"alert {alert.get('id')}")


def warned_townships(alert: dict, codes: list[str], geoms) -> set[str]:
    """The townships a warning covers: those its shape overlaps (touching a border is not
    covering) when it has a shape, else those its division codes cover.

    `geoms`: the township polygons, in the order of `codes`.
    """
    return _covered(alert, alert_shape(alert), codes, geoms)


def warned_area(alert: dict, codes: list[str], geoms) -> tuple[set[str], object, str | None]:
    """(townships covered, what to draw, where that came from) for a warning, its shape built once:
    its own shape ("polygon"), else the union of the townships its division codes cover
    ("townships"), else nothing (None, None)."""
    shape = alert_shape(alert)
    covered = _covered(alert, shape, codes, geoms)
    if shape is not None:
        return covered, shape, "polygon"
    if covered:
        return covered, shapely.union_all([g for c, g in zip(codes, geoms) if c in covered]), "townships"
    return covered, None, None


def _covered(alert: dict, shape, codes: list[str], geoms) -> set[str]:
    if shape is None:
        return covered_townships(alert.get("division_codes"), codes)
    if not len(codes):
        return set()
    shapely.prepare(shape)
    mask = shapely.intersects(shape, geoms) & ~shapely.touches(shape, geoms)
    return {c for c, m in zip(codes, mask) if m}


def township_of(lon, lat, townships) -> np.ndarray:
    """Each point's township code (object array; None outside all and for NaN coordinates).

    `townships`: dicts with "code" and "geometry" (shapely) or "geometry_wkb". A point on a
    shared border belongs to the first township in the given order.

    >>> t = [{"code": "A", "geometry": shapely.box(0, 0, 1, 1)}, {"code": "B", "geometry": shapely.box(1, 0, 2, 1)}]
    >>> township_of([0.5, 1.0, 1.5, 3.0], [0.5, 0.5, 0.5, 0.5], t).tolist()
    ['A', 'A', 'B', None]
    """
    lon = np.asarray(lon, dtype=float).ravel()
    lat = np.asarray(lat, dtype=float).ravel()
    out = np.full(len(lon), None, dtype=object)
    free = np.isfinite(lon) & np.isfinite(lat)
    for t in townships:
        geom = t.get("geometry")
        if geom is None or isinstance(geom, (bytes, bytearray)):
            geom = shapely.from_wkb(t.get("geometry_wkb") or geom)
        hit = points_in(geom, lon, lat) & free
        out[hit] = t["code"]
        free &= ~hit
    return out
