"""Township boundaries: the shipped approximate zones, reading boundary files, point-in-township."""

import csv
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, shape

from monitor import gcj02
from monitor.boundaries import normalise_code, read_townships
from monitor.errors import DataError
from monitor.geodesy import distance_km
from monitor.spatial import points_in, township_of

ROOT = Path(__file__).parent.parent
TOWNSHIPS = ROOT / "geodata" / "huairou_townships.geojson"
DISTRICT = ROOT / "geodata" / "huairou_district.geojson"
SEATS = Path(__file__).parent / "data" / "huairou_township_seats.csv"

OFFICIAL = {
    "110116001000": ("泉河街道", "街道"),
    "110116002000": ("龙山街道", "街道"),
    "110116003000": ("怀柔镇", "镇"),
    "110116004000": ("雁栖镇", "镇"),
    "110116005000": ("庙城镇", "镇"),
    "110116102000": ("北房镇", "镇"),
    "110116103000": ("杨宋镇", "镇"),
    "110116105000": ("桥梓镇", "镇"),
    "110116106000": ("怀北镇", "镇"),
    "110116107000": ("汤河口镇", "镇"),
    "110116108000": ("渤海镇", "镇"),
    "110116109000": ("九渡河镇", "镇"),
    "110116110000": ("琉璃庙镇", "镇"),
    "110116111000": ("宝山镇", "镇"),
    "110116211000": ("长哨营满族乡", "民族乡"),
    "110116213000": ("喇叭沟门满族乡", "民族乡"),
}


def metres(a, b):
    return distance_km(a[0], a[1], b[0], b[1]) * 1000


@pytest.fixture(scope="module")
def features():
    return json.loads(TOWNSHIPS.read_text(encoding="utf-8"))["features"]


@pytest.fixture(scope="module")
def townships():
    return read_townships(TOWNSHIPS)


@pytest.fixture(scope="module")
def outline():
    return shape(json.loads(DISTRICT.read_text(encoding="utf-8"))["features"][0]["geometry"])


# -- the shipped zones -------------------------------------------------------------------


def test_shipped_file_has_the_16_townships_with_official_names_and_codes(features):
    props = [f["properties"] for f in features]
    assert len(props) == 16
    assert {p["code"]: (p["name"], p["kind"]) for p in props} == OFFICIAL
    for p in props:
        assert len(p["code"]) == 12 and p["code"].isdigit()
        assert p["approximate"] is True
        assert "Approximate" in p["source"] and "monitor townships import" in p["source"]
        assert p["name_en"]
    names = {p["name"] for p in props}
    assert not any(n.endswith("办事处") for n in names)
    assert {"怀柔镇", "雁栖镇", "庙城镇", "喇叭沟门满族乡"} <= names


def test_shipped_zones_are_valid_and_do_not_overlap(features):
    geoms = [shape(f["geometry"]) for f in features]
    assert all(g.is_valid and not g.is_empty and g.geom_type in ("Polygon", "MultiPolygon") for g in geoms)
    total = sum(g.area for g in geoms)
    overlap = sum(shapely.intersection(geoms[i], geoms[j]).area
                  for i in range(len(geoms)) for j in range(i + 1, len(geoms)))
    assert overlap < 1e-9 * total


def test_shipped_zones_cover_the_district_outline(features, outline):
    union = shapely.union_all([shape(f["geometry"]) for f in features])
    assert shapely.symmetric_difference(union, outline).area < 0.01 * outline.area
    # about 2,122 km2 (the Tianditu outline); 1 degree2 is about 9,400 km2 at 40.5 N
    assert 0.2 < outline.area < 0.25


def test_read_townships_reads_the_shipped_file(townships, features):
    assert [t["code"] for t in townships] == [f["properties"]["code"] for f in features]
    assert townships.warnings == []
    for t, f in zip(townships, features):
        geom = shapely.from_wkb(t["geometry_wkb"])
        assert geom.equals_exact(shape(f["geometry"]), 1e-9)
        assert t["name"] == f["properties"]["name"] and t["kind"] == OFFICIAL[t["code"]][1]
        assert t["approximate"] is True and t["source"].startswith("Approximate zones")
        assert t["name_en"] == f["properties"]["name_en"]
        assert (t["minx"], t["miny"], t["maxx"], t["maxy"]) == pytest.approx(geom.bounds)
        assert geom.contains(Point(t["lon"], t["lat"]))


# -- other formats and CRSs --------------------------------------------------------------


@pytest.fixture()
def in_3857(features):
    gdf = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")[["code", "name", "geometry"]]
    return gdf.to_crs("EPSG:3857")


def assert_same_as_shipped(read, features, tol=1e-6):
    assert [t["code"] for t in read] == [f["properties"]["code"] for f in features]
    assert [t["name"] for t in read] == [f["properties"]["name"] for f in features]
    for t, f in zip(read, features):
        original = shape(f["geometry"])
        got = shapely.from_wkb(t["geometry_wkb"])
        assert shapely.hausdorff_distance(got, original) < tol, t["name"]
        assert t["approximate"] is False


def test_shapefile_in_web_mercator_is_reprojected(tmp_path, in_3857, features):
    path = tmp_path / "towns.shp"
    in_3857.to_file(path)
    read = read_townships(path)
    assert_same_as_shipped(read, features)
    assert read[0]["source"] == "towns.shp"


def test_zipped_shapefile(tmp_path, in_3857, features):
    in_3857.to_file(tmp_path / "towns.shp")
    with zipfile.ZipFile(tmp_path / "towns.zip", "w") as z:
        for ext in ("shp", "shx", "dbf", "prj", "cpg"):
            z.write(tmp_path / f"towns.{ext}", f"towns.{ext}")
    assert_same_as_shipped(read_townships(tmp_path / "towns.zip"), features)


def test_geopackage_in_web_mercator_is_reprojected(tmp_path, in_3857, features):
    path = tmp_path / "towns.gpkg"
    in_3857.to_file(path, layer="townships")
    assert_same_as_shipped(read_townships(path), features)


def test_gbk_shapefile_without_cpg_is_read_with_a_warning(tmp_path, in_3857):
    in_3857.to_file(tmp_path / "gbk.shp", encoding="gbk")
    (tmp_path / "gbk.cpg").unlink(missing_ok=True)
    read = read_townships(tmp_path / "gbk.shp")
    assert read[0]["name"] == "泉河街道"
    assert any("gbk" in w for w in read.warnings)


def test_gcj02_input_is_converted_vertex_by_vertex(tmp_path, features):
    original = [shape(f["geometry"]) for f in features[:3]]
    shifted = [shapely.transform(g, lambda xy: np.array(gcj02.wgs_to_gcj_coords(xy))) for g in original]
    gdf = gpd.GeoDataFrame({"code": [f["properties"]["code"] for f in features[:3]],
                            "name": [f["properties"]["name"] for f in features[:3]]},
                           geometry=shifted, crs="EPSG:4326")
    path = tmp_path / "gcj.geojson"
    gdf.to_file(path)

    as_gcj = read_townships(path, crs="gcj02")
    as_wgs = read_townships(path)
    for g, t_gcj, t_wgs in zip(original, as_gcj, as_wgs):
        converted = shapely.from_wkb(t_gcj["geometry_wkb"])
        raw = shapely.from_wkb(t_wgs["geometry_wkb"])
        assert shapely.hausdorff_distance(converted, g) < 2e-6  # 0.2 m
        c0, c1 = raw.centroid, converted.centroid
        assert 400 < metres((c0.x, c0.y), (c1.x, c1.y)) < 700


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_a_named_crs_overrides_a_missing_prj(tmp_path, in_3857, features):
    in_3857.set_crs(None, allow_override=True).to_file(tmp_path / "noprj.shp")
    assert_same_as_shipped(read_townships(tmp_path / "noprj.shp", crs="EPSG:3857"), features)


# -- repairs and refusals ----------------------------------------------------------------


def write_features(path, rows, crs="EPSG:4326"):
    gdf = gpd.GeoDataFrame([{k: v for k, v in r.items() if k != "geometry"} for r in rows],
                           geometry=[r["geometry"] for r in rows], crs=crs)
    gdf.to_file(path)
    return path


SQUARE = Polygon([(116.60, 40.30), (116.61, 40.30), (116.61, 40.31), (116.60, 40.31)])


def test_bow_tie_is_repaired_with_a_warning(tmp_path):
    bow_tie = Polygon([(116.60, 40.30), (116.62, 40.32), (116.62, 40.30), (116.60, 40.32)])
    assert not bow_tie.is_valid
    path = write_features(tmp_path / "t.geojson", [
        {"code": "110116001", "name": "泉河街道办事处", "geometry": SQUARE},
        {"code": "110116107", "name": "汤河口镇", "geometry": bow_tie},
    ])
    read = read_townships(path)
    repaired = shapely.from_wkb(read[1]["geometry_wkb"])
    assert repaired.is_valid and repaired.geom_type == "MultiPolygon"
    assert repaired.area == pytest.approx(0.0002)  # two triangles of 0.01 x 0.01 / 2 each
    assert len(read.warnings) == 1
    assert "feature 2 (汤河口镇)" in read.warnings[0] and "repaired" in read.warnings[0]
    # 9-digit codes get '000'; the kind comes from the name
    assert [t["code"] for t in read] == ["110116001000", "110116107000"]
    assert [t["kind"] for t in read] == ["街道", "镇"]


def refusal(tmp_path, bad, crs="EPSG:4326", **read_kw):
    path = write_features(tmp_path / "t.geojson" if crs else tmp_path / "t.shp", [
        {"code": "110116001000", "name": "泉河街道", "geometry": SQUARE}, bad], crs=crs)
    with pytest.raises(DataError) as e:
        read_townships(path, **read_kw)
    message = str(e.value)
    assert "\n" not in message
    return message


def test_a_linestring_is_refused_naming_the_feature(tmp_path):
    msg = refusal(tmp_path, {"code": "110116107000", "name": "汤河口镇",
                             "geometry": LineString([(116.6, 40.7), (116.7, 40.8)])})
    assert "feature 2 (汤河口镇)" in msg and "LineString" in msg and "Polygon" in msg


def test_a_missing_code_is_refused_naming_the_feature(tmp_path):
    msg = refusal(tmp_path, {"code": None, "name": "汤河口镇", "geometry": SQUARE.buffer(-0.001)})
    assert "feature 2 (汤河口镇)" in msg and "code" in msg


def test_a_missing_name_is_refused_naming_the_feature(tmp_path):
    msg = refusal(tmp_path, {"code": "110116107000", "name": None, "geometry": SQUARE.buffer(-0.001)})
    assert "feature 2" in msg and "name" in msg


def test_a_duplicate_code_is_refused(tmp_path):
    msg = refusal(tmp_path, {"code": "110116001", "name": "泉河", "geometry": SQUARE.buffer(-0.001)})
    assert "feature 2 (泉河)" in msg and "110116001000" in msg and "feature 1" in msg


def test_a_polygon_with_no_area_is_refused(tmp_path):
    flat = Polygon([(116.6, 40.3), (116.7, 40.3), (116.65, 40.3)])
    msg = refusal(tmp_path, {"code": "110116107000", "name": "汤河口镇", "geometry": flat})
    assert "feature 2 (汤河口镇)" in msg and "invalid" in msg


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_projected_coordinates_without_a_crs_are_refused(tmp_path):
    projected = Polygon([(449000, 4470000), (450000, 4470000), (450000, 4471000), (449000, 4471000)])
    msg = refusal(tmp_path, {"code": "110116107000", "name": "汤河口镇", "geometry": projected}, crs=None)
    assert not (tmp_path / "t.prj").exists()
    assert "feature 2 (汤河口镇)" in msg and ".prj" in msg and "--crs" in msg


def test_the_code_and_name_columns_are_found_under_other_names(tmp_path):
    gdf = gpd.GeoDataFrame({"区划代码": [110116213], "名称": ["喇叭沟门满族乡"], "approximate": ["是"],
                            "source": ["县民政局 2024"]}, geometry=[SQUARE], crs="EPSG:4326")
    gdf.to_file(tmp_path / "t.gpkg")
    (t,) = read_townships(tmp_path / "t.gpkg")
    assert (t["code"], t["name"], t["kind"], t["approximate"], t["source"]) == (
        "110116213000", "喇叭沟门满族乡", "民族乡", True, "县民政局 2024")


def test_codes_are_normalised():
    assert normalise_code(110116107) == "110116107000"
    assert normalise_code("110116") == "110116000000"
    assert normalise_code(110116107000.0) == "110116107000"
    assert normalise_code(" 110116107000 ") == "110116107000"
    assert normalise_code("156110116") == "110116000000"  # Tianditu's gb
    assert normalise_code("NYZ072") == "NYZ072"  # not a GB/T 2260 code: kept as written
    assert normalise_code(None) is None and normalise_code(float("nan")) is None


def test_real_tianditu_districts_in_cgcs2000(outline):
    """A real file from another source: EPSG:4490, a `gb` code column with the 156 prefix."""
    read = read_townships(Path(__file__).parent / "data" / "fastgeocn_tianditu_beijing_16_districts.geojson")
    assert len(read) == 16 and read.warnings == []
    by_code = {t["code"]: t for t in read}
    huairou = by_code["110116000000"]
    assert huairou["name"] == "怀柔区" and huairou["kind"] is None
    geom = shapely.from_wkb(huairou["geometry_wkb"])
    assert shapely.intersection(geom, outline).area / shapely.union(geom, outline).area > 0.95
    assert township_of([116.397], [39.909], read).tolist() == ["110101000000"]  # Tiananmen: 东城区


# -- which township is a point in --------------------------------------------------------


def test_every_seat_lies_in_its_own_township(townships):
    with open(SEATS, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 14
    got = township_of([float(r["geonames_lon_wgs84"]) for r in rows],
                      [float(r["geonames_lat_wgs84"]) for r in rows], townships)
    assert got.tolist() == [r["code12"] for r in rows]
    adcode = [r for r in rows if r["adcode_center_lon_gcj02"]]
    wgs = [gcj02.gcj_to_wgs(float(r["adcode_center_lon_gcj02"]), float(r["adcode_center_lat_gcj02"]))
           for r in adcode]
    got = township_of([p[0] for p in wgs], [p[1] for p in wgs], townships)
    assert got.tolist() == [r["code12"] for r in adcode]


def test_points_outside_every_township_get_none(townships):
    got = township_of([116.397, 116.63, float("nan")], [39.909, 40.32, 40.5], townships)
    assert got[0] is None and got[1] is not None and got[2] is None


def test_a_point_on_a_shared_border_goes_to_exactly_the_first_township(townships):
    a, b = townships[0], townships[1]  # 泉河街道 and 龙山街道 share a border
    shared = shapely.intersection(shapely.from_wkb(a["geometry_wkb"]).boundary,
                                  shapely.from_wkb(b["geometry_wkb"]).boundary)
    x, y = shapely.get_coordinates(shared)[0]
    assert township_of([x], [y], [a, b]).tolist() == [a["code"]]
    assert township_of([x], [y], [b, a]).tolist() == [b["code"]]


def test_township_of_agrees_with_a_plain_point_by_point_test(townships, outline):
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = outline.bounds
    x = rng.uniform(minx, maxx, 3000)
    y = rng.uniform(miny, maxy, 3000)
    got = township_of(x, y, townships)
    geoms = [(t["code"], shapely.from_wkb(t["geometry_wkb"])) for t in townships]
    expected = [next((c for c, g in geoms if g.intersects(Point(px, py))), None) for px, py in zip(x, y)]
    assert got.tolist() == expected
    assert 0 < sum(e is None for e in expected) < 3000  # the sample reaches outside the district too


def test_points_in_outline(townships, outline):
    import numpy as np

    lons, lats = np.array([116.63, 116.397, 116.62]), np.array([40.32, 39.909, 40.90])
    assert points_in(outline, lons, lats).tolist() == [True, False, True]
    assert [c is not None for c in township_of(lons, lats, townships)] == [True, False, True]
