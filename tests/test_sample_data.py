"""The shipped SAMPLE facilities and their changes: valid codes, real places, the 2025 situation's
spread, changes that the normal update path accepts, reproducible."""

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
CHANGES = GEODATA / "sample_changes.csv"
COLUMNS = ("ref,name,kind,subtype,status,severity,lon,lat,responsible,phone,households,people,"
           "last_inspected,due,notes,blocks_heating,recorded,source").split(",")
CHANGE_COLUMNS = "at,ref,name,status,inspected,due,note,by".split(",")
DEMO_MOMENT = "2025-11-16T09:00:00+08:00"
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
def changes():
    with open(CHANGES, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == CHANGE_COLUMNS
        return list(reader)


def final(rows, changes):
    state = {r["ref"]: dict(r) for r in rows}
    for c in changes:
        s = state[c["ref"]]
        s.update(status=c["status"], last_inspected=c["inspected"] or s["last_inspected"], due=c["due"] or s["due"])
    return list(state.values())


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
    assert [r["ref"] for r in rows] == [f"HR-{n:04d}" for n in range(1, len(rows) + 1)]
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
        if r["last_inspected"]:
            assert r["last_inspected"] <= r["recorded"][:10]
        if r["due"]:
            assert date(2025, 9, 30) <= date.fromisoformat(r["due"]) <= date(2025, 12, 31)
        assert r["blocks_heating"] in ("0", "1")
        if r["blocks_heating"] == "1":
            assert r["kind"] == "flood" and r["subtype"] in ("road", "bridge", "power_line")
        # as first recorded: heating awaits its pre-season check, fire hazards are open, flood damaged
        assert r["status"] == kinds.KINDS[r["kind"]].initial
        assert r["recorded"] == ("2025-07-01T09:00:00+08:00" if r["kind"] != "flood" else r["recorded"])
        if r["kind"] == "flood":  # recorded as the reports came in after the night of 26-27 July
            assert "2025-07-27T07:00:00+08:00" <= r["recorded"] <= "2025-07-31T00:00:00+08:00"


def test_every_change_is_one_the_update_path_accepts_in_order(rows, changes):
    """Changes are in time order, after their site was recorded, before the demo moment, each an
    allowed transition (or the same status again: an inspection), with a note where one is needed."""
    by_ref = {r["ref"]: r for r in rows}
    assert [c["at"] for c in changes] == sorted(c["at"] for c in changes)
    status = {r["ref"]: r["status"] for r in rows}
    for c in changes:
        site = by_ref[c["ref"]]
        assert c["name"] == site["name"] and c["by"] == site["responsible"]
        assert site["recorded"] < c["at"] < DEMO_MOMENT
        kind, old, new = kinds.KINDS[site["kind"]], status[c["ref"]], c["status"]
        assert new == old or new in kind.transitions[old], (c["ref"], old, new)
        assert (old, new) not in kind.needs_note or c["note"]
        assert not c["inspected"] or c["inspected"] == c["at"][:10]
        status[c["ref"]] = new


def test_the_demo_moment_finds_the_districts_situation(rows, changes):
    """On 2025-11-16: some items overdue and some not; heating checked in October and some not;
    flood repairs done, under way and not begun; open damage blocking heating access; more
    heating checks missed and fire hazards open in 琉璃庙镇 than elsewhere."""
    now = final(rows, changes)
    dues = [r for r in now if r["due"] and kinds.KINDS[r["kind"]].statuses[r["status"]].open]
    assert sum(r["due"] < "2025-11-16" for r in dues) > 30 and sum(r["due"] >= "2025-11-16" for r in dues) > 10
    heating = [r for r in now if r["kind"] == "heating"]
    assert sum(r["last_inspected"] >= "2025-10-01" for r in heating) > 50
    assert sum(r["status"] == "unchecked" for r in heating) > 20
    flood = Counter(r["status"] for r in now if r["kind"] == "flood")
    assert all(flood[s] > 3 for s in kinds.FLOOD.statuses)
    assert any(r["blocks_heating"] == "1" and kinds.FLOOD.statuses[r["status"]].open for r in now)

    def share(town, pred, kind):
        sites = [r for r in now if r["kind"] == kind and r["name"].startswith(town)]
        others = [r for r in now if r["kind"] == kind and not r["name"].startswith(town)]
        return sum(map(pred, sites)) / len(sites), sum(map(pred, others)) / len(others)

    mine, rest = share("琉璃庙镇", lambda r: r["status"] == "unchecked", "heating")
    assert mine > rest
    mine, rest = share("琉璃庙镇", lambda r: r["status"] in ("open", "rectifying"), "fire")
    assert mine > rest


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
    out, again = tmp_path / "again.csv", tmp_path / "changes.csv"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_sample_facilities.py"), "--out", str(out),
                    "--changes", str(again)], check=True, capture_output=True, cwd=ROOT)
    assert out.read_bytes() == SAMPLE.read_bytes()
    assert again.read_bytes() == CHANGES.read_bytes()
