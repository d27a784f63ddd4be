"""The shipped SAMPLE facilities: valid codes, real places, the situation's spread, reproducible."""

import csv
import json
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import shape

from monitor import kinds
from monitor.boundaries import read_townships
from monitor.geodesy import distance_km
from monitor.spatial import points_in, township_of

ROOT = Path(__file__).parent.parent
GEODATA = ROOT / "geodata"
SAMPLE = GEODATA / "sample_facilities.csv"
COLUMNS = ("name,kind,subtype,status,severity,lon,lat,responsible,phone,households,people,"
           "last_inspected,due,notes,blocks_heating,source,ref").split(",")
NORTH = {"汤河口镇", "琉璃庙镇", "宝山镇", "长哨营满族乡", "喇叭沟门满族乡"}


def metres(a, b):
    return distance_km(a[0], a[1], b[0], b[1]) * 1000


@pytest.fixture(scope="module")
def rows():
    with open(SAMPLE, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == COLUMNS
        return list(reader)


@pytest.fixture(scope="module")
def townships():
    return read_townships(GEODATA / "huairou_townships.geojson")


@pytest.fixture(scope="module")
def places(townships):
    """Place label (as it starts a site name) -> (township code, [(lon, lat), ...])."""
    names = {t["code"]: t["name"] for t in townships}
    out = {}
    with open(GEODATA / "huairou_places.csv", encoding="utf-8", newline="") as f:
        for p in csv.DictReader(f):
            town = names[p["township_code"]]
            label = town if p["kind"] == "seat" else town + p["name"]
            out.setdefault(label, (p["township_code"], []))[1].append((float(p["lon"]), float(p["lat"])))
    return out


def source_place(name, places):
    """The place a site was generated at: the longest place label its name starts with."""
    label = max((lb for lb in places if name.startswith(lb)), key=len, default=None)
    assert label is not None, f"{name}: not named after a known place"
    return label


def test_a_few_hundred_sample_sites_all_labelled_sample(rows):
    assert 300 <= len(rows) <= 400
    assert {r["source"] for r in rows} == {"sample"}
    assert len({r["name"] for r in rows}) == len(rows)
    text = (GEODATA / "SAMPLE_DATA.md").read_text(encoding="utf-8")
    assert "SAMPLE DATA" in text and "synthetic" in text


def test_every_row_uses_the_codes_of_monitor_kinds(rows):
    for r in rows:
        k = kinds.KINDS[r["kind"]]
        assert r["subtype"] in k.subtypes, r["name"]
        assert r["status"] in k.statuses, r["name"]
        if r["kind"] == "flood":
            assert r["severity"] in k.severities, r["name"]
        else:
            assert r["severity"] == "", r["name"]
    assert Counter(r["kind"] for r in rows).keys() == {"heating", "fire", "flood"}


def test_fields_are_well_formed(rows):
    for r in rows:
        assert r["phone"].startswith("1380000") and len(r["phone"]) == 11
        assert 2 <= len(r["responsible"]) <= 3
        households, people = int(r["households"]), int(r["people"])
        if r["kind"] == "heating":
            assert 20 <= households <= 400
        if r["kind"] == "fire":
            assert 0 <= people <= 50
        assert people >= 0 and households >= 0
        for field in ("last_inspected", "due"):
            if r[field]:
                assert date(2021, 8, 1) <= date.fromisoformat(r[field]) <= date(2021, 12, 31)
        if r["kind"] == "heating" and r["last_inspected"]:
            assert date.fromisoformat(r["last_inspected"]) <= date(2021, 10, 9)
        assert r["blocks_heating"] in ("0", "1")
        if r["blocks_heating"] == "1":
            assert r["kind"] == "flood" and r["subtype"] in ("road", "bridge", "power_line")
            assert kinds.FLOOD.statuses[r["status"]].open, r["name"]  # not yet repaired


def test_the_demo_day_finds_some_items_overdue_and_some_not(rows):
    demo_day = date(2021, 10, 10)
    dues = [date.fromisoformat(r["due"]) for r in rows if r["due"]]
    assert sum(d < demo_day for d in dues) > 30 and sum(d >= demo_day for d in dues) > 30
    heating = [r for r in rows if r["kind"] == "heating"]
    assert any(r["last_inspected"] for r in heating) and any(not r["last_inspected"] for r in heating)
    assert any(r["blocks_heating"] == "1" for r in rows)


def test_every_site_is_in_the_district_and_in_the_zone_of_its_place(rows, townships, places):
    lons = [float(r["lon"]) for r in rows]
    lats = [float(r["lat"]) for r in rows]
    district = shape(json.loads((GEODATA / "huairou_district.geojson").read_text(encoding="utf-8"))
                     ["features"][0]["geometry"])
    assert points_in(district, np.array(lons), np.array(lats)).all()
    got = township_of(lons, lats, townships)
    for r, lon, lat, code in zip(rows, lons, lats, got):
        label = source_place(r["name"], places)
        township, points = places[label]
        assert code == township, r["name"]
        assert min(metres((lon, lat), p) for p in points) <= 310, r["name"]


def test_flood_damage_is_concentrated_in_the_northern_mountains(rows, townships):
    names = {t["code"]: t["name"] for t in townships}
    flood = [r for r in rows if r["kind"] == "flood"]
    where = township_of([float(r["lon"]) for r in flood], [float(r["lat"]) for r in flood], townships)
    north = sum(names[c] in NORTH for c in where)
    assert north > len(flood) / 2
    heating_towns = {names[c] for c in township_of(
        [float(r["lon"]) for r in rows if r["kind"] == "heating"],
        [float(r["lat"]) for r in rows if r["kind"] == "heating"], townships)}
    assert len(heating_towns) == 16
    forest = [r for r in rows if r["subtype"] == "forest_edge"]
    in_mountains = township_of([float(r["lon"]) for r in forest], [float(r["lat"]) for r in forest], townships)
    assert sum(names[c] in NORTH | {"渤海镇", "九渡河镇"} for c in in_mountains) > 0.7 * len(forest)


def test_the_generator_is_deterministic(tmp_path):
    out = tmp_path / "again.csv"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_sample_facilities.py"), "--out", str(out)],
                   check=True, capture_output=True, cwd=ROOT)
    assert out.read_bytes() == SAMPLE.read_bytes()
