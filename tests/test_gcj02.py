"""GCJ-02 <-> WGS-84: exact round trips, the real ~500 m offset, and a light import."""

import csv
import statistics
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.gcj02 import gcj_to_wgs, gcj_to_wgs_coords, wgs_to_gcj, wgs_to_gcj_coords
from monitor.geodesy import distance_km

DATA = Path(__file__).parent / "data"
HUAIROU_LON = st.floats(min_value=116.3, max_value=116.95)
HUAIROU_LAT = st.floats(min_value=40.2, max_value=41.1)


def metres(a, b):
    return distance_km(a[0], a[1], b[0], b[1]) * 1000


@settings(max_examples=300, deadline=None)
@given(HUAIROU_LON, HUAIROU_LAT)
def test_wgs_to_gcj_and_back_within_a_decimetre(lon, lat):
    assert metres((lon, lat), gcj_to_wgs(*wgs_to_gcj(lon, lat))) < 0.1


@settings(max_examples=300, deadline=None)
@given(HUAIROU_LON, HUAIROU_LAT)
def test_gcj_to_wgs_and_back_within_a_decimetre(lon, lat):
    assert metres((lon, lat), wgs_to_gcj(*gcj_to_wgs(lon, lat))) < 0.1


def seat_rows():
    with open(DATA / "huairou_township_seats.csv", encoding="utf-8", newline="") as f:
        return [r for r in csv.DictReader(f) if r["adcode_center_lon_gcj02"]]


def test_adcode_seat_centres_move_by_the_known_offset():
    rows = seat_rows()
    assert len(rows) == 13
    for r in rows:
        gcj = (float(r["adcode_center_lon_gcj02"]), float(r["adcode_center_lat_gcj02"]))
        wgs = gcj_to_wgs(*gcj)
        assert 400 < metres(gcj, wgs) < 700, r["name_zh"]
        # Around Beijing GCJ-02 lies east and north of WGS-84.
        assert wgs[0] < gcj[0] and wgs[1] < gcj[1], r["name_zh"]


def test_conversion_brings_adcode_centres_towards_the_geonames_seats():
    """Converting in the wrong direction would double the offset instead of removing it."""
    raw, converted = [], []
    for r in seat_rows():
        gcj = (float(r["adcode_center_lon_gcj02"]), float(r["adcode_center_lat_gcj02"]))
        seat = (float(r["geonames_lon_wgs84"]), float(r["geonames_lat_wgs84"]))
        raw.append(metres(gcj, seat))
        converted.append(metres(gcj_to_wgs(*gcj), seat))
    assert statistics.median(converted) < statistics.median(raw) - 150


def test_sequence_helpers_match_the_point_functions():
    pts = [(116.63712, 40.73456), (116.4616, 40.36126, 512.0)]
    assert gcj_to_wgs_coords(pts) == [gcj_to_wgs(*p[:2]) for p in pts]
    assert wgs_to_gcj_coords(pts) == [wgs_to_gcj(*p[:2]) for p in pts]


def test_points_outside_china_are_unchanged():
    assert gcj_to_wgs(-74.0, 40.7) == (-74.0, 40.7)
    assert wgs_to_gcj(2.35, 48.85) == (2.35, 48.85)


def test_importing_it_pulls_in_nothing_heavy():
    code = ("import sys, monitor.gcj02; "
            "heavy = {'numpy', 'shapely', 'geopandas', 'pyproj'} & set(sys.modules); "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)
