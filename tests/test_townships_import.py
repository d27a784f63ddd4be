"""`monitor townships import`: official boundaries replace the set and facilities follow."""

import json
import os
import sqlite3
import subprocess
import sys

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


def west_only(tmp_path):
    """One 'official' township: only the district's part west of 116.6 E."""
    minx, miny, maxx, maxy = OUTLINE.bounds
    west = OUTLINE.intersection(shapely.box(minx - 1, miny - 1, 116.6, maxy + 1))
    path = tmp_path / "west.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "110116901", "name": "西乡"},
         "geometry": json.loads(shapely.to_geojson(west))}]}, ensure_ascii=False), encoding="utf-8")
    return path


def test_an_import_that_strands_facilities_is_refused_unless_forced(sample, tmp_path):
    before = table_dump(sample.db)
    east = sqlite3.connect(sample.db).execute("SELECT count(*) FROM facilities WHERE lon >= 116.6").fetchone()[0]
    total = sqlite3.connect(sample.db).execute("SELECT count(*) FROM facilities").fetchone()[0]
    assert 0 < east < total
    r = run(sample.db, "townships", "import", west_only(tmp_path))
    assert r.returncode == 1
    assert f"{east} of {total} facilities would lie outside every township" in r.stderr
    assert "--force" in r.stderr and "nothing was changed" in r.stderr
    assert table_dump(sample.db) == before
    r = run(sample.db, "townships", "import", west_only(tmp_path), "--force")
    assert r.returncode == 0, r.stderr
    assert f"提示 warning: {east} 个设施现在不在任何乡镇内" in r.stderr
    assert f"{east} facilities now lie outside every township" in r.stderr
    assert sqlite3.connect(sample.db).execute("SELECT count(*) FROM facilities WHERE township IS NULL").fetchone()[0] \
        == east


def test_a_table_without_geometry_is_refused_with_a_message(sample, tmp_path):
    before = table_dump(sample.db)
    table = tmp_path / "codes.csv"
    table.write_text("code,name\n110116901,西乡\n", encoding="utf-8")
    r = run(sample.db, "townships", "import", table)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip() == (f"monitor: {table}: 文件中没有边界图形（只有表格列）；the file has no geometry, only "
                                "columns: township boundaries must be polygons (GeoJSON, Shapefile or GeoPackage)")
    assert table_dump(sample.db) == before


def test_a_file_over_the_size_limit_is_refused_unread(sample, tmp_path):
    big = tmp_path / "big.geojson"
    with open(big, "wb") as f:  # sparse: 250 MB that take no disk
        f.write(b'{"type": "FeatureCollection", "features": [')
        f.truncate(250 * 1024 * 1024)
    before = table_dump(sample.db)
    r = run(sample.db, "townships", "import", big)
    assert r.returncode == 1 and "file too large (262,144,000 bytes, the limit is 209,715,200)" in r.stderr
    assert table_dump(sample.db) == before


def run(db, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.run([sys.executable, "-m", "monitor", "--db", str(db), "--config", str(REPO / "config.toml"),
                           *map(str, args)], capture_output=True, text=True, env=env, cwd=REPO)
