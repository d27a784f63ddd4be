"""`monitor export`: GeoJSON, CSV and GeoPackage round trips against the review's test district.

The district (facilities, history, warnings, follow-ups) is the one test_report.py builds; the
follow-ups open now are those of its last evaluation (2021-10-31 20:00): X overdue P2 and
pre-season P3, O overdue P2; F3's access P1 closed when F3 was repaired on 11-03 (a field update
re-evaluates its site at once).
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest
import shapely
from conftest import csv_records
from test_report import BS, HOSTILE, QH, TH, district  # noqa: F401  (the module-scoped fixture)

LAYERS = ["townships", "facilities", "warned_areas", "follow_ups"]
A4_IN_FORCE = "2021-10-09T17:00+08:00"   # the gale: a polygon inside 宝山 (its 汤河口 code does not widen it)
A2_IN_FORCE = "2021-10-01T07:00+08:00"   # the rainstorm: 汤河口 by division code only


def db_counts(db) -> dict:
    conn = sqlite3.connect(db)
    try:
        return {
            "townships": conn.execute("SELECT count(*) FROM townships").fetchone()[0],
            "facilities": conn.execute("SELECT count(*) FROM facilities").fetchone()[0],
            "follow_ups": conn.execute("SELECT count(*) FROM follow_ups WHERE closed IS NULL").fetchone()[0],
            "names": {r[0] for r in conn.execute("SELECT name FROM facilities")},
            "township_names": {r[0] for r in conn.execute("SELECT name FROM townships")},
            "points": {r[0]: (r[1], r[2]) for r in conn.execute("SELECT id, lon, lat FROM facilities")},
            "th_polygon": shapely.from_wkb(conn.execute(
                "SELECT geometry FROM townships WHERE code = ?", (TH,)).fetchone()[0]),
        }
    finally:
        conn.close()


def export(district, fmt, name, as_of=A4_IN_FORCE):  # noqa: F811
    out = district.tmp / name
    r = district.cli("export", "--format", fmt, "--out", str(out), as_of=as_of)
    assert r.output.startswith(f"已导出 wrote {out}: ")
    return out, r.output


def test_geojson_one_collection_with_a_layer_property(district):  # noqa: F811
    out, said = export(district, "geojson", "all.geojson")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc  # RFC 7946: WGS-84 lon/lat
    by_layer: dict[str, list] = {}
    for f in doc["features"]:
        assert f["type"] == "Feature" and set(f) == {"type", "geometry", "properties"}
        by_layer.setdefault(f["properties"]["layer"], []).append(f)
    n = db_counts(district.cli.db)
    counts = {k: len(v) for k, v in by_layer.items()}
    assert counts == {"townships": n["townships"], "facilities": n["facilities"], "warned_areas": 1,
                      "follow_ups": n["follow_ups"]} == {"townships": 16, "facilities": 11, "warned_areas": 1,
                                                         "follow_ups": 3}
    assert said.strip().endswith("townships 16, facilities 11, warned_areas 1, follow_ups 3")
    for f in doc["features"]:
        g = shapely.geometry.shape(f["geometry"])
        assert g.is_valid and not g.is_empty
        minx, miny, maxx, maxy = g.bounds
        assert 116.2 < minx <= maxx < 117.0 and 40.2 < miny <= maxy < 41.1  # lon/lat order, in Huairou

    towns = {f["properties"]["code"]: f["properties"] for f in by_layer["townships"]}
    assert (towns[BS]["risk_score"], towns[BS]["followups_p1"], towns[BS]["followups_p2"]) == (3.0, 0, 1)
    assert towns[QH]["risk_score"] == 4.0 and towns[TH]["risk_score"] == 0.0
    assert all(t["approximate"] is True for t in towns.values()) and towns[TH]["name"] == "汤河口镇"

    facilities = {f["properties"]["id"]: f for f in by_layer["facilities"]}
    x = facilities[district.ids["X"]]
    assert x["properties"]["name"] == HOSTILE and x["properties"]["township_name"] == "泉河街道"
    assert (x["properties"]["followup_priority"], x["properties"]["followup_count"]) == ("P2", 2)
    assert x["properties"]["status_zh"] == "未检查" and x["properties"]["open"] is True
    assert tuple(x["geometry"]["coordinates"]) == db_counts(district.cli.db)["points"][district.ids["X"]]

    (area,) = by_layer["warned_areas"]
    p = area["properties"]
    assert (p["hazard"], p["hazard_zh"], p["colour"], p["area_from"]) == ("gale", "大风", "blue", "polygon")
    # its polygon lies in 宝山; the 汤河口 code it also carries does not widen the shape
    assert p["township_names"] == "宝山镇" and p["township_codes"] == BS
    assert shapely.geometry.shape(area["geometry"]).area == pytest.approx(0.01 * 0.01)

    rules = sorted((f["properties"]["facility_id"], f["properties"]["rule"]) for f in by_layer["follow_ups"])
    assert rules == sorted([(district.ids["X"], "overdue"), (district.ids["X"], "heating_preseason"),
                            (district.ids["O"], "overdue")])


def test_code_only_area_is_the_union_of_its_townships(district):  # noqa: F811
    out, _ = export(district, "geojson", "rain.geojson", as_of=A2_IN_FORCE)
    (area,) = [f for f in json.loads(out.read_text(encoding="utf-8"))["features"]
               if f["properties"]["layer"] == "warned_areas"]
    assert area["properties"]["area_from"] == "townships" and area["properties"]["township_names"] == "汤河口镇"
    g = shapely.geometry.shape(area["geometry"])
    th = db_counts(district.cli.db)["th_polygon"]
    assert g.symmetric_difference(th).area < 1e-9 * th.area


def test_csv_is_the_facilities_with_their_follow_ups(district):  # noqa: F811
    out, said = export(district, "csv", "facilities.csv")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = csv_records(raw.decode("utf-8-sig"))
    n = db_counts(district.cli.db)
    assert len(rows) == n["facilities"] and said.strip().endswith("facilities 11")
    assert {r["name"] for r in rows} == n["names"]
    by_id = {int(r["id"]): r for r in rows}
    for i, (lon, lat) in n["points"].items():
        assert (float(by_id[i]["lon"]), float(by_id[i]["lat"])) == (lon, lat)
    o = by_id[district.ids["O"]]
    assert (o["township_name"], o["responsible"], o["due"], o["followup_priority"], o["followup_rules"]) == \
        ("宝山镇", "李娜", "2021-10-15", "P2", "overdue")
    assert "[P2] 已逾期" in o["followup_reasons"]
    r = by_id[district.ids["R"]]
    assert (r["status"], r["status_zh"], r["open"], r["followup_count"], r["followup_priority"]) == \
        ("accepted", "已验收", "否", "0", "")


def test_geopackage_opens_with_one_layer_per_table(district):  # noqa: F811
    gpd = pytest.importorskip("geopandas")
    pyogrio = pytest.importorskip("pyogrio")
    out, _ = export(district, "gpkg", "district.gpkg")
    export(district, "gpkg", "district.gpkg")  # written again over the first: replaced, not appended
    layers = {name: kind for name, kind in pyogrio.list_layers(out)}
    assert layers == {"townships": "MultiPolygon", "facilities": "Point", "warned_areas": "MultiPolygon",
                      "follow_ups": "Point"}
    n = db_counts(district.cli.db)
    frames = {name: gpd.read_file(out, layer=name) for name in LAYERS}
    assert {k: len(v) for k, v in frames.items()} == {"townships": n["townships"], "facilities": n["facilities"],
                                                      "warned_areas": 1, "follow_ups": n["follow_ups"]}
    for frame in frames.values():
        assert frame.crs.to_epsg() == 4326
        assert frame.geometry.is_valid.all()
    t, f = frames["townships"], frames["facilities"]
    assert set(t["name"]) == n["township_names"] and set(f["name"]) == n["names"]  # Chinese intact
    assert HOSTILE in set(f["name"])
    assert t["approximate"].all() and t.set_index("code").loc[BS, "risk_score"] == 3.0
    x = f.set_index("id").loc[district.ids["X"]]
    assert (x["township_name"], x["followup_priority"], int(x["followup_count"])) == ("泉河街道", "P2", 2)
    assert (x.geometry.x, x.geometry.y) == n["points"][district.ids["X"]]
    assert frames["warned_areas"].iloc[0]["township_names"] == "宝山镇"
    assert sorted(frames["follow_ups"]["priority"]) == ["P2", "P2", "P3"]


def test_geopackage_keeps_an_empty_layer_with_its_fields(district):  # noqa: F811
    pyogrio = pytest.importorskip("pyogrio")
    out, said = export(district, "gpkg", "quiet.gpkg", as_of="2021-11-10T09:00+08:00")
    assert "warned_areas 0" in said
    info = pyogrio.read_info(out, layer="warned_areas")
    assert info["features"] == 0 and info["crs"] == "EPSG:4326" and info["geometry_type"] == "MultiPolygon"
    assert list(info["fields"])[:3] == ["id", "hazard", "hazard_zh"] and info["dtypes"][0] == "int64"


def test_a_failed_export_leaves_the_old_file(district, monkeypatch):  # noqa: F811
    out, _ = export(district, "gpkg", "kept.gpkg", as_of=A4_IN_FORCE)  # a GeoPackage of ours
    previous = out.read_bytes()

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("monitor.outfile.os.replace", fail)
    r = district.cli("export", "--format", "gpkg", "--out", str(out), as_of=A4_IN_FORCE, ok=False)
    assert r.exit_code == 1 and "cannot write" in r.output
    assert out.read_bytes() == previous
    assert not [p for p in district.tmp.iterdir() if p.name.startswith(".kept.gpkg")]


def test_format_is_required_and_checked(district):  # noqa: F811
    r = district.cli("export", "--out", str(district.tmp / "x"), ok=False)
    assert r.exit_code == 2 and "--format" in r.output
    r = district.cli("export", "--format", "shp", "--out", str(district.tmp / "x"), ok=False)
    assert r.exit_code == 2 and "'shp' is not one of" in r.output
