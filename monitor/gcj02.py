"""Convert coordinates between GCJ-02 (Chinese phone map apps, AMap, Tencent) and WGS-84.

GCJ-02 is WGS-84 with a deliberate, position-dependent offset of a few hundred metres (about
500 m around Beijing). The forward transform is public; the inverse has no closed form and is
solved iteratively (prcoords' `gcj_wgs_bored`, accurate to millimetres).

Our API is (lon, lat), the GeoJSON order; prcoords works in (lat, lon). Outside mainland China
GCJ-02 is defined as WGS-84, so points there are returned unchanged, in both directions.
This module imports nothing heavy: the field CLI uses it to accept `--crs gcj02`.

    >>> lon, lat = wgs_to_gcj(116.63712, 40.73456)
    >>> round(lon, 4), round(lat, 4)
    (116.6431, 40.7359)
    >>> lon2, lat2 = gcj_to_wgs(lon, lat)
    >>> round(lon2, 7), round(lat2, 7)
    (116.63712, 40.73456)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import prcoords


def _in_china(lon: float, lat: float) -> bool:
    return prcoords.sanity_in_china_p(prcoords.Coords(lat, lon))


def wgs_to_gcj(lon: float, lat: float) -> tuple[float, float]:
    """WGS-84 (lon, lat) to GCJ-02 (lon, lat)."""
    if not _in_china(lon, lat):
        return (lon, lat)
    c = prcoords.wgs_gcj(prcoords.Coords(lat, lon), False)
    return (c.lon, c.lat)


def gcj_to_wgs(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 (lon, lat) to WGS-84 (lon, lat), by prcoords' exact iterative inverse."""
    if not _in_china(lon, lat):
        return (lon, lat)
    c = prcoords.gcj_wgs_bored(prcoords.Coords(lat, lon), False)
    return (c.lon, c.lat)


def gcj_to_wgs_coords(coords: Iterable[Sequence[float]]) -> list[tuple[float, float]]:
    """Convert a sequence of GCJ-02 (lon, lat) pairs (extra values such as Z are dropped)."""
    return [gcj_to_wgs(float(c[0]), float(c[1])) for c in coords]


def wgs_to_gcj_coords(coords: Iterable[Sequence[float]]) -> list[tuple[float, float]]:
    """Convert a sequence of WGS-84 (lon, lat) pairs to GCJ-02."""
    return [wgs_to_gcj(float(c[0]), float(c[1])) for c in coords]
