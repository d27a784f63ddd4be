"""`monitor townships import`: official boundaries replace the set and facilities follow."""

import json
import sqlite3

import shapely
from conftest import REPO, table_dump

OUTLINE = shapely.from_geojson((REPO / "geodata" / "huairou_district.geojson").read_text(encoding="utf-8"))


def halves(tmp_path, **extra):
    """Two 'official' townships: the district split at 116.6 E."""
    minx, miny, maxx, maxy = OUTLINE.bounds
    west = OUTLINE.intersection(shapely.box(minx - 1, miny - 1, 116.6, maxy + 1))
    east = OUTLINE.intersection(shapely.box(116.6, miny - 1, maxx + 1, maxy + 1))
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "110116901", "name": "西乡", **extra},
         "geometry": json.loads(shapely.to_geojson(west))},
        {"type": "Feature", "properties": {"code": "110116902", "name": "东镇", **extra},
         "geometry": json.loads(shapely.to_geojson(east))},
    ]}
    path = tmp_path / "official.geojson"
    path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    return path


def test_import_replaces_townships_and_rederives_facilities(sample, tmp_path):
    sample("townships", "import", str(halves(tmp_path)))
    conn = sqlite3.connect(sample.db)
    assert conn.execute("SELECT code, name, approximate FROM townships ORDER BY code").fetchall() == [
        ("110116901000", "西乡", 0), ("110116902000", "东镇", 0)]
    wrong = conn.execute(
        "SELECT count(*) FROM facilities WHERE township != CASE WHEN lon < 116.6 THEN '110116901000' "
        "ELSE '110116902000' END OR township IS NULL").fetchone()[0]
    assert wrong == 0


def test_bad_file_changes_nothing(sample, tmp_path):
    before = table_dump(sample.db)
    bad = tmp_path / "lines.geojson"
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "110116901", "name": "线"},
         "geometry": {"type": "LineString", "coordinates": [[116.5, 40.5], [116.6, 40.6]]}}]}), encoding="utf-8")
    r = sample("townships", "import", str(bad), ok=False)
    assert r.exit_code == 1 and "线" in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert table_dump(sample.db) == before
