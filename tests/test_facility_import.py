"""`monitor facility import`: all rows checked first, all or nothing, township from the point."""

import json
import sqlite3

import pytest
from conftest import REPO, SAMPLE_2021, sample_rows, table_dump

from monitor.gcj02 import wgs_to_gcj

HEADER = "name,kind,subtype,status,lon,lat,due\n"
# 汤河口镇 seat (GeoNames, WGS-84) and 庙城镇 seat
TANGHEKOU = (116.63712, 40.73456)
MIAOCHENG = (116.62281, 40.29209)


def township_of(db, name):
    conn = sqlite3.connect(db)
    return conn.execute(
        "SELECT t.name FROM facilities f JOIN townships t ON t.code = f.township WHERE f.name = ?", (name,)
    ).fetchone()[0]


def test_sample_imports_with_townships(sample):
    rows = sample_rows()
    conn = sqlite3.connect(sample.db)
    assert conn.execute("SELECT count(*) FROM facilities").fetchone()[0] == len(rows)
    assert conn.execute("SELECT count(*) FROM facilities WHERE township IS NULL").fetchone()[0] == 0
    # every facility has one history row recording its initial status, at the --as-of time
    assert conn.execute(
        "SELECT count(*) FROM status_history WHERE old_status IS NULL AND at = '2021-10-10T01:00:00Z'"
    ).fetchone()[0] == len(rows)


def test_township_comes_from_the_point(district, tmp_path):
    f = tmp_path / "f.csv"
    f.write_text(HEADER + f"汤河口 锅炉房,heating,boiler_room,ok,{TANGHEKOU[0]},{TANGHEKOU[1]},\n"
                 f"庙城 旧线路,fire,old_wiring,open,{MIAOCHENG[0]},{MIAOCHENG[1]},2021-12-01\n", encoding="utf-8")
    district("facility", "import", str(f))
    assert township_of(district.db, "汤河口 锅炉房") == "汤河口镇"
    assert township_of(district.db, "庙城 旧线路") == "庙城镇"


def test_a_bad_row_imports_nothing(sample, tmp_path):
    before = table_dump(sample.db)
    f = tmp_path / "bad.csv"
    f.write_text(HEADER
                 + f"good,heating,boiler_room,ok,{TANGHEKOU[0]},{TANGHEKOU[1]},\n"
                 + f"typo,heating,boiler_room,brokn,{TANGHEKOU[0]},{TANGHEKOU[1]},\n"
                 + "nowhere,fire,old_wiring,open,121.47,31.23,\n"
                 + f"nan,flood,road,damaged,abc,{TANGHEKOU[1]},\n"
                 + f"kind,boat,hull,ok,{TANGHEKOU[0]},{TANGHEKOU[1]},\n"
                 + f"date,fire,old_wiring,open,{TANGHEKOU[0]},{TANGHEKOU[1]},2021-13-45\n", encoding="utf-8")
    r = sample("facility", "import", str(f), ok=False)
    assert r.exit_code == 1
    assert "row 3 (typo): 未知状态“brokn”（供暖设施）" in r.output and "unknown status 'brokn' for heating" in r.output
    assert "row 5 (nan): lon「abc」不是数字；lon 'abc' is not a number" in r.output
    assert "row 6 (kind): 未知类别“boat”" in r.output and "unknown kind 'boat'" in r.output
    assert "row 7 (date): due「2021-13-45」不是日期，请写成 YYYY-MM-DD；due '2021-13-45' is not a date" in r.output
    assert "nothing imported" in r.output
    assert table_dump(sample.db) == before
    # once the field errors are fixed, the point outside the district is named
    f.write_text(HEADER + f"good,heating,boiler_room,ok,{TANGHEKOU[0]},{TANGHEKOU[1]},\n"
                 + "nowhere,fire,old_wiring,open,121.47,31.23,\n", encoding="utf-8")
    r = sample("facility", "import", str(f), ok=False)
    assert r.exit_code == 1 and "row 3 (nowhere): 坐标 121.470000,31.230000 不在本区内；point 121.470000,31.230000 is outside the district" in r.output
    assert table_dump(sample.db) == before


def test_dry_run_writes_nothing(sample):
    before = table_dump(sample.db)
    r = sample("facility", "import", "--dry-run", str(SAMPLE_2021))
    assert "would import" in r.output
    assert table_dump(sample.db) == before


def test_gcj02_coordinates_are_converted(district, tmp_path):
    glon, glat = wgs_to_gcj(*TANGHEKOU)
    f = tmp_path / "phone.csv"
    f.write_text(HEADER + f"手机定位,heating,heat_pump,unchecked,{glon},{glat},\n", encoding="utf-8")
    district("facility", "import", "--crs", "gcj02", str(f))
    lon, lat = sqlite3.connect(district.db).execute("SELECT lon, lat FROM facilities").fetchone()
    assert abs(lon - TANGHEKOU[0]) < 1e-6 and abs(lat - TANGHEKOU[1]) < 1e-6


def test_geojson_points(district, tmp_path):
    f = tmp_path / "f.geojson"
    f.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(MIAOCHENG)},
         "properties": {"name": "庙城桥", "kind": "水毁设施", "subtype": "桥梁", "status": "受损", "severity": "major"}},
    ]}, ensure_ascii=False), encoding="utf-8")
    district("facility", "import", str(f))
    row = sqlite3.connect(district.db).execute("SELECT kind, subtype, status, severity FROM facilities").fetchone()
    assert row == ("flood", "bridge", "damaged", "major")
    assert township_of(district.db, "庙城桥") == "庙城镇"


def test_import_before_init_says_what_to_do(cli, tmp_path):
    f = tmp_path / "f.csv"
    f.write_text(HEADER, encoding="utf-8")
    r = cli("facility", "import", str(f), ok=False)
    assert r.exit_code == 2 and "monitor init" in r.output


def test_geojson_problems_name_the_feature(district, tmp_path):
    before = table_dump(district.db)
    point = {"type": "Point", "coordinates": list(MIAOCHENG)}
    f = tmp_path / "f.geojson"
    f.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": point, "properties": {"name": "好", "kind": "fire", "subtype": "old_wiring"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.47, 31.23]},
         "properties": {"name": "上海", "kind": "fire", "subtype": "old_wiring"}},
    ]}, ensure_ascii=False), encoding="utf-8")
    r = district("facility", "import", str(f), ok=False)
    assert r.exit_code == 1 and "feature 2 (上海): 坐标 121.470000,31.230000 不在本区内；point 121.470000,31.230000 is outside the district" in r.output
    f.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": point, "properties": {"name": "好", "kind": "fire", "subtype": "old_wiring"}},
        {"type": "Feature", "geometry": point, "properties": {"name": "坏", "kind": "fire", "subtype": "oops"}},
    ]}, ensure_ascii=False), encoding="utf-8")
    r = district("facility", "import", str(f), ok=False)
    assert "feature 2 (坏): 未知子类“oops”" in r.output and "unknown subtype 'oops'" in r.output
    assert table_dump(district.db) == before


@pytest.mark.parametrize("name", ["两行\n名字", "a\u202egnp.exe", "a\x85b", "a\x00b"])
def test_names_with_control_characters_are_refused(district, tmp_path, name):
    before = table_dump(district.db)
    f = tmp_path / "f.geojson"  # GeoJSON, because a CSV cell cannot easily carry every one of these
    f.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(MIAOCHENG)},
         "properties": {"name": name, "kind": "fire", "subtype": "old_wiring", "notes": "第一行\n第二行"}},
    ]}), encoding="utf-8")
    r = district("facility", "import", str(f), ok=False)
    assert r.exit_code == 1 and "name contains control characters" in r.output
    assert table_dump(district.db) == before


def test_notes_may_hold_line_breaks(district, tmp_path):
    f = tmp_path / "f.geojson"
    f.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(MIAOCHENG)},
         "properties": {"name": "n", "kind": "fire", "subtype": "old_wiring", "notes": "第一行\n第二行"}},
    ]}), encoding="utf-8")
    district("facility", "import", str(f))
    assert sqlite3.connect(district.db).execute("SELECT notes FROM facilities").fetchone()[0] == "第一行\n第二行"
