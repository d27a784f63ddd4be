"""The one check of a warned area's rings and circles, shared by every parser and by reading.

A feed's geometry reaches GEOS only through here: CAP, NWS and the rest pass each ring and
circle through `ring` / `circle` when parsing, and monitor.spatial passes stored ones through
again before building shapes (so a row stored before this check existed cannot freeze the
rules, the map or the export). Pure Python: no shapely, nothing heavy.

A ring (a list of (lon, lat)) is kept when every point is two finite numbers with lon in
-180..180 and lat in -90..90, it has at least three distinct points not all on one line, and it
is closed (an open ring is closed, with a warning). A circle (lon, lat, radius_km) is kept when
its centre passes the same test and its radius is finite, not negative and at most half the
Earth's circumference (a radius of 0 is CAP's way of naming a point: kept, covering nothing).
Anything else is dropped with a warning naming what is wrong; the alert then falls back to its
division codes (monitor.spatial).

>>> w = []
>>> ring([(116.5, 40.3), (116.7, 40.3), (116.6, 40.5)], "polygon", w), w
([(116.5, 40.3), (116.7, 40.3), (116.6, 40.5), (116.5, 40.3)], ['polygon was not closed; closed it'])
>>> ring([(116.5, 40.3), (float("nan"), 40.4), (116.6, 40.5), (116.5, 40.3)], "polygon", w) is None, w[-1]
(True, 'polygon ignored: point 2 (nan, 40.4) is not a finite longitude, latitude')
"""

from __future__ import annotations

import math

Ring = list[tuple[float, float]]

MAX_RADIUS_KM = 20_016.0  # half the Earth's circumference: a larger circle is no area on Earth


def ring(points: object, what: str, warnings: list[str]) -> Ring | None:
    """`points` as a closed ring of float (lon, lat), or None with a warning (see the module)."""
    if not isinstance(points, (list, tuple)):
        warnings.append(f"{what} ignored: not a list of points")
        return None
    out: Ring = []
    for n, p in enumerate(points, 1):
        xy = _point(p)
        if xy is None:
            warnings.append(f"{what} ignored: point {n} {_short(p)} is not a finite longitude, latitude")
            return None
        if not (-180 <= xy[0] <= 180 and -90 <= xy[1] <= 90):
            warnings.append(f"{what} ignored: point {n} ({xy[1]:g} N, {xy[0]:g} E) is outside "
                            "lat -90..90, lon -180..180")
            return None
        out.append(xy)
    distinct = list(dict.fromkeys(out))
    if len(distinct) < 3:
        warnings.append(f"{what} ignored: {len(distinct)} distinct points, an area needs at least 3")
        return None
    if not _spans_area(distinct):
        warnings.append(f"{what} ignored: all its points lie on one line (no area)")
        return None
    if out[0] != out[-1]:
        out.append(out[0])
        warnings.append(f"{what} was not closed; closed it")
    return out


def circle(lon: object, lat: object, radius_km: object, what: str, warnings: list[str]
           ) -> tuple[float, float, float] | None:
    """(lon, lat, radius_km) as floats, or None with a warning (see the module)."""
    centre = _point((lon, lat))
    r = _number(radius_km)
    if centre is None or r is None:
        warnings.append(f"{what} ignored: centre and radius must be finite numbers")
        return None
    if not (-180 <= centre[0] <= 180 and -90 <= centre[1] <= 90):
        warnings.append(f"{what} ignored: centre ({centre[1]:g} N, {centre[0]:g} E) is outside "
                        "lat -90..90, lon -180..180")
        return None
    if not 0 <= r <= MAX_RADIUS_KM:
        warnings.append(f"{what} ignored: radius {r:g} km is not between 0 and {MAX_RADIUS_KM:g} km")
        return None
    return (centre[0], centre[1], r)


def position(lon: object, lat: object) -> tuple[float, float] | None:
    """(lon, lat) as finite floats in range, else None (a forecast's grid point, say)."""
    xy = _point((lon, lat))
    return xy if xy is not None and -180 <= xy[0] <= 180 and -90 <= xy[1] <= 90 else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        f = float(value)
    except (ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None


def _point(p: object) -> tuple[float, float] | None:
    """A GeoJSON-style position (lon, lat[, z]) as two finite floats, else None."""
    if not isinstance(p, (list, tuple)) or len(p) < 2:
        return None
    x, y = _number(p[0]), _number(p[1])
    return None if x is None or y is None else (x, y)


def _spans_area(points: Ring) -> bool:
    """Not all on one line: some triangle of the first point, a far point and another has area."""
    x0, y0 = points[0]
    far = max(points, key=lambda p: (p[0] - x0) ** 2 + (p[1] - y0) ** 2)
    dx, dy = far[0] - x0, far[1] - y0
    size = math.hypot(dx, dy)
    # a cross product relative to the ring's size: 1e-9 of it is far below any real warned area
    return size > 0 and any(abs(dx * (y - y0) - dy * (x - x0)) > 1e-9 * size * size for x, y in points)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
