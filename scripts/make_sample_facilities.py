"""Generate the SAMPLE facilities of the demo: geodata/sample_facilities.csv (synthetic data).

Every site is invented, but it stands at a real place: a village or township seat from
geodata/huairou_places.csv, moved by at most 300 m and kept inside that place's own township
zone and the district. The mix follows the district's situation in autumn 2021 (the demo replays
a Beijing gale warning of 2021-10-10): flood damage from the July 2021 storm concentrated in the
northern mountain townships, heat pumps from coal-to-clean-energy in the villages, boiler rooms
and heating stations in the seats, forest-edge fire hazards in the northern and western
mountains. Every row says source=sample; geodata/SAMPLE_DATA.md explains the file.

Deterministic: random.Random(20251126), so the same inputs give the same bytes.

Run:  .venv/bin/python scripts/make_sample_facilities.py [--out FILE]
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sys
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import shapely
from shapely.geometry import Point

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor import kinds  # noqa: E402
from monitor.boundaries import read_townships  # noqa: E402

SEED = 20251126
MAX_JITTER_M = 300.0
COLUMNS = ["name", "kind", "subtype", "status", "severity", "lon", "lat", "responsible", "phone",
           "households", "people", "last_inspected", "due", "notes", "blocks_heating", "source", "ref"]

# Sites per township: (heating, fire, flood). The five northern mountain townships took the
# worst of the July flood; 渤海 and 九渡河 some; the plains and the town little.
COUNTS = {
    "泉河街道": (10, 4, 0),
    "龙山街道": (10, 4, 1),
    "怀柔镇": (12, 5, 2),
    "雁栖镇": (12, 7, 5),
    "庙城镇": (11, 3, 1),
    "北房镇": (10, 3, 1),
    "杨宋镇": (11, 3, 1),
    "桥梓镇": (10, 5, 2),
    "怀北镇": (9, 5, 3),
    "汤河口镇": (9, 8, 18),
    "渤海镇": (10, 8, 8),
    "九渡河镇": (9, 8, 7),
    "琉璃庙镇": (12, 9, 20),
    "宝山镇": (9, 8, 16),
    "长哨营满族乡": (9, 8, 17),
    "喇叭沟门满族乡": (9, 9, 16),
}
MOUNTAIN = {"汤河口镇", "琉璃庙镇", "宝山镇", "长哨营满族乡", "喇叭沟门满族乡", "渤海镇", "九渡河镇", "雁栖镇"}
URBAN = {"泉河街道", "龙山街道"}
G111 = {"琉璃庙镇", "汤河口镇", "长哨营满族乡"}  # the national road up the Bai river valley

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程魏苏吕丁任沈姚卢"
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "军", "强", "涛", "明", "超", "秀英",
         "华", "平", "刚", "桂英", "建国", "建华", "国强", "志刚", "海燕", "春梅", "玉兰", "德胜", "文彬",
         "立新", "永利", "宝山", "长青", "凤霞", "淑珍", "振华", "红梅", "金生", "海涛", "晓东"]

NOTES = {
    ("heating", "heat_pump"): ["煤改电空气源热泵，入冬前需检修", "室外机结霜除霜不良", "村民反映去年制热不足", ""],
    ("heating", "boiler_room"): ["燃气锅炉房，供暖季前需压力试验", "循环泵待更换", "锅炉年检", ""],
    ("heating", "gas_heater"): ["燃气壁挂炉，需检查排烟管", "燃气管线入户检查", ""],
    ("heating", "pipeline"): ["供热管网打压试验", "7月暴雨后管沟进水，需排查", ""],
    ("heating", "heating_station"): ["村级供暖站，换热器清洗", "备用电源检查", ""],
    ("fire", "forest_edge"): ["林下可燃物堆积，需清理", "坟头祭扫区域，防火重点", "林区边缘柴草堆放", ""],
    ("fire", "fuel_store"): ["院内堆放燃煤和柴草", "液化气瓶存放不规范", ""],
    ("fire", "old_wiring"): ["老旧线路私拉乱接", "电动车室内充电", ""],
    ("fire", "blocked_exit"): ["楼道堆放杂物堵塞通道", "安全出口上锁", ""],
    ("flood", "road"): ["2021年7月暴雨冲毁路基", "路面塌陷，已设警示", "边坡塌方阻断道路"],
    ("flood", "bridge"): ["桥台冲刷，限载通行", "2021年7月暴雨冲毁漫水桥", "桥面护栏损毁"],
    ("flood", "embankment"): ["河道护岸冲毁", "堤防局部坍塌"],
    ("flood", "water_supply"): ["水源井被淹，临时送水", "供水管线冲断"],
    ("flood", "power_line"): ["10kV线路倒杆", "低压线路冲断，临时架设"],
    ("flood", "telecom"): ["通信光缆中断", "基站断电"],
    ("flood", "housing"): ["房屋墙体开裂", "院墙倒塌，人员已转移"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "geodata" / "sample_facilities.csv"))
    args = parser.parse_args()
    rows = generate()
    assert len({r["name"] for r in rows}) == len(rows), "site names must be unique"
    write(Path(args.out), rows)
    print(f"wrote {args.out}: {len(rows)} sample sites")
    print("  per kind:", dict(sorted(Counter(r["kind"] for r in rows).items())))
    per_township = Counter(next(t for t in COUNTS if r["name"].startswith(t)) for r in rows)
    for t in COUNTS:
        print(f"  {t:<8} {per_township[t]}")


def generate() -> list[dict]:
    rnd = random.Random(SEED)
    townships = read_townships(ROOT / "geodata" / "huairou_townships.geojson")
    zones = {t["name"]: t["geometry"] if "geometry" in t else shapely.from_wkb(t["geometry_wkb"]) for t in townships}
    code_to_name = {t["code"]: t["name"] for t in townships}
    district = shapely.from_geojson(_feature_geometry(ROOT / "geodata" / "huairou_district.geojson"))
    shapely.prepare(district)
    for z in zones.values():
        shapely.prepare(z)
    places = defaultdict(list)
    with open(ROOT / "geodata" / "huairou_places.csv", encoding="utf-8", newline="") as f:
        for p in csv.DictReader(f):
            places[code_to_name[p["township_code"]]].append(p)

    rows: list[dict] = []
    for township, (n_heat, n_fire, n_flood) in COUNTS.items():
        for kind_code, n in (("heating", n_heat), ("fire", n_fire), ("flood", n_flood)):
            for _ in range(n):
                p = rnd.choice(places[township])
                subtype = pick_subtype(rnd, kind_code, township, p["kind"])
                lon, lat = jitter(rnd, float(p["lon"]), float(p["lat"]), zones[township], district)
                label = township if p["kind"] == "seat" else township + p["name"]
                row = {"kind": kind_code, "subtype": subtype, "lon": f"{lon:.6f}", "lat": f"{lat:.6f}"}
                row["name"] = site_name(label, township, p["kind"], kind_code, subtype)
                row.update(condition(rnd, kind_code, subtype, p["kind"]))
                row["responsible"] = rnd.choice(SURNAMES) + rnd.choice(GIVEN)
                row["phone"] = f"1380000{rnd.randrange(10000):04d}"
                row["notes"] = rnd.choice(NOTES[(kind_code, subtype)]) + row.pop("note_suffix", "")
                row["source"] = "sample"
                rows.append(row)
    number_names(rows)
    return rows


def number_names(rows: list[dict]) -> None:
    """Sites that would share a name get " #1", " #2", ... in file order."""
    total = Counter(r["name"] for r in rows)
    seen: Counter = Counter()
    for r in rows:
        if total[r["name"]] > 1:
            seen[r["name"]] += 1
            r["name"] = f"{r['name']} #{seen[r['name']]}"


def pick_subtype(rnd: random.Random, kind_code: str, township: str, place_kind: str) -> str:
    if kind_code == "heating":
        if township in URBAN:
            options = {"boiler_room": 4, "pipeline": 3, "gas_heater": 3, "heating_station": 1}
        elif place_kind == "seat":
            options = {"boiler_room": 4, "heating_station": 3, "pipeline": 2, "gas_heater": 1, "heat_pump": 2}
        else:  # coal-to-clean-energy villages: mostly air-source heat pumps
            options = {"heat_pump": 10, "heating_station": 2, "gas_heater": 1 if township in MOUNTAIN else 3}
    elif kind_code == "fire":
        if township in URBAN:
            options = {"blocked_exit": 3, "old_wiring": 3, "fuel_store": 1}
        elif township in MOUNTAIN:
            options = {"forest_edge": 8, "fuel_store": 2, "old_wiring": 2}
        else:
            options = {"fuel_store": 3, "old_wiring": 3, "forest_edge": 1, "blocked_exit": 1}
    else:
        options = {"road": 8, "bridge": 4, "embankment": 3, "water_supply": 3, "power_line": 3,
                   "telecom": 2, "housing": 3}
    codes = sorted(options)
    return rnd.choices(codes, weights=[options[c] for c in codes])[0]


def jitter(rnd, lon, lat, zone, district) -> tuple[float, float]:
    """A point within MAX_JITTER_M of (lon, lat), strictly inside the zone and the district."""
    for _ in range(100):
        r = MAX_JITTER_M * math.sqrt(rnd.random())
        a = rnd.uniform(0, 2 * math.pi)
        x = round(lon + r * math.sin(a) / (111320 * math.cos(math.radians(lat))), 6)
        y = round(lat + r * math.cos(a) / 110574, 6)
        pt = Point(x, y)
        if zone.contains(pt) and district.contains(pt):
            return x, y
    raise SystemExit(f"no point within {MAX_JITTER_M} m of ({lon}, {lat}) inside its zone")


def site_name(label, township, place_kind, kind_code, subtype) -> str:
    zh = kinds.kind(kind_code).subtypes[subtype][0]
    if kind_code == "flood":
        if subtype == "road":
            if place_kind == "village":
                base = f"{label} 村道水毁点"
            else:
                base = f"{township} G111 路段水毁点" if township in G111 else f"{township} 镇区道路水毁点"
        elif subtype == "bridge":
            base = f"{label}桥" if place_kind == "village" else f"{label} 镇区桥"
        else:
            base = f"{label} {zh}水毁点" if subtype != "housing" else f"{label} 受损房屋"
    elif kind_code == "fire" and subtype == "forest_edge":
        base = f"{label} 林缘风险点"
    else:
        base = f"{label} {zh}"
    return base


def _day(rnd, first: str, last: str) -> str:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    return (a + timedelta(days=rnd.randrange((b - a).days + 1))).isoformat()


def _weighted(rnd, options: dict[str, float]) -> str:
    codes = list(options)
    return rnd.choices(codes, weights=[options[c] for c in codes])[0]


def condition(rnd, kind_code: str, subtype: str, place_kind: str) -> dict:
    """Status, severity, dates, people and the heating-access flag of one site."""
    out = {"severity": "", "last_inspected": "", "due": "", "blocks_heating": "0"}
    if kind_code == "heating":
        status = _weighted(rnd, {"unchecked": 45, "ok": 30, "defect": 12, "under_repair": 8, "out_of_service": 5})
        if status != "unchecked":
            out["last_inspected"] = _day(rnd, "2021-08-01", "2021-10-09")
        if status == "unchecked":
            out["due"] = _day(rnd, "2021-09-15", "2021-11-14")
        elif status in ("defect", "under_repair"):
            out["due"] = _day(rnd, "2021-09-20", "2021-11-30")
        elif status == "out_of_service":
            out["due"] = _day(rnd, "2021-10-15", "2021-12-31")
        low, high = (100, 400) if subtype in ("boiler_room", "heating_station", "pipeline") else (20, 200)
        households = rnd.randint(low, high)
        out.update(households=str(households), people=str(round(households * rnd.uniform(2.1, 2.8))))
    elif kind_code == "fire":
        status = _weighted(rnd, {"open": 45, "rectifying": 30, "rectified": 20, "verified": 5})
        if rnd.random() < 0.6:
            out["last_inspected"] = _day(rnd, "2021-08-15", "2021-10-09")
        out["due"] = _day(rnd, "2021-09-01", "2021-12-31")
        people = rnd.randint(0, 50)
        out.update(households=str(min(people, rnd.randint(0, 20))), people=str(people))
    else:
        status = _weighted(rnd, {"damaged": 25, "temporarily_restored": 25, "under_repair": 30, "repaired": 20})
        out["severity"] = _weighted(rnd, {"destroyed": 10, "major": 30, "minor": 40, "affected": 20})
        out["due"] = _day(rnd, "2021-09-01", "2021-12-31")
        people = rnd.randint(5, 300) if subtype != "housing" else rnd.randint(2, 40)
        out.update(households=str(max(1, round(people / 2.5))), people=str(people))
        out["note_suffix"] = {"temporarily_restored": "，已抢通", "under_repair": "，正在修复",
                              "repaired": "，已修复"}.get(status, "")
        if subtype in ("road", "bridge", "power_line") and status != "repaired" and rnd.random() < 0.4:
            out["blocks_heating"] = "1"
    out["status"] = status
    k = kinds.kind(kind_code)
    assert status in k.statuses and subtype in k.subtypes
    assert not out["severity"] or out["severity"] in k.severities
    return out


def write(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        # ref: a stable identifier, as an office's asset number, so that a re-import updates
        w.writerows({**r, "ref": f"SAMPLE-{i:04d}"} for i, r in enumerate(rows, start=1))


def _feature_geometry(path: Path) -> str:
    import json

    with open(path, encoding="utf-8") as f:
        return json.dumps(json.load(f)["features"][0]["geometry"])


if __name__ == "__main__":
    main()
