"""Generate the SAMPLE facilities of the demo and their history: geodata/sample_facilities.csv and
geodata/sample_changes.csv (synthetic data).

Every site is invented, but it stands at a real place: a village or township seat from
geodata/huairou_places.csv, moved by at most 300 m and kept inside that place's own township
zone and the district. The mix and the dates follow the district's real situation in 2025 (the
demo replays 2025-11-16 09:00, ../shared/data/huairou_2025/README.md): flood damage from the
"25·7" Haihe flood concentrated in the northern mountain townships along the river valleys
(roads, bridges, water, power), recorded from 2025-07-27 as reports came in, repair deadlines
before and during the heating season, some repaired by November, some overdue; heating sites
(heat pumps from coal-to-clean-energy in the villages, boiler rooms and heating stations in the
seats) with pre-season checks done or missed in October; fire hazards at the forest edge in the
northern and western mountains. 琉璃庙镇, which the review of 2025-10-31 found short on heating
upkeep and fire-hazard rectification, misses more checks and rectifies less.

sample_facilities.csv holds each site as it was first recorded (`recorded`, Beijing time);
sample_changes.csv the later status changes, inspections and new deadlines, in time order,
which `monitor demo` applies through the normal update path at their own times. Every row says
source=sample; geodata/SAMPLE_DATA.md explains the files.

Deterministic: random.Random(20251126), so the same inputs give the same bytes.

Run:  .venv/bin/python scripts/make_sample_facilities.py [--out FILE] [--changes FILE]
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
COLUMNS = ["ref", "name", "kind", "subtype", "status", "severity", "lon", "lat", "responsible", "phone",
           "households", "people", "last_inspected", "due", "notes", "blocks_heating", "recorded", "source"]
CHANGE_COLUMNS = ["at", "ref", "name", "status", "inspected", "due", "note", "by"]
# When sites entered the register (Beijing time): heating and fire sites with the register as it
# stood before the flood; flood damage as the reports came in after the night of 26-27 July
REGISTER = "2025-07-01T09:00:00+08:00"
FLOOD_REPORTS = {"2025-07-27T07:00:00+08:00": 5, "2025-07-28T12:00:00+08:00": 3, "2025-07-30T17:00:00+08:00": 2}
DEMO_MOMENT = "2025-11-16T09:00:00+08:00"  # [demo] as_of: nothing later is written
SHORT = {"琉璃庙镇"}  # the review of 2025-10-31: heating upkeep and fire-hazard rectification lagging

# Sites per township: (heating, fire, flood). The five northern mountain townships took the
# worst of the July 2025 flood (琉璃庙镇 the most); 渤海 and 九渡河 some; the plains and the town little.
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
    ("heating", "pipeline"): ["供热管网打压试验", "“25·7”洪水后管沟进水，需排查", ""],
    ("heating", "heating_station"): ["村级供暖站，换热器清洗", "备用电源检查", ""],
    ("fire", "forest_edge"): ["林下可燃物堆积，需清理", "坟头祭扫区域，防火重点", "林区边缘柴草堆放", ""],
    ("fire", "fuel_store"): ["院内堆放燃煤和柴草", "液化气瓶存放不规范", ""],
    ("fire", "old_wiring"): ["老旧线路私拉乱接", "电动车室内充电", ""],
    ("fire", "blocked_exit"): ["楼道堆放杂物堵塞通道", "安全出口上锁", ""],
    ("flood", "road"): ["“25·7”洪水冲毁路基", "路面塌陷，已设警示", "边坡塌方阻断道路"],
    ("flood", "bridge"): ["桥台冲刷，限载通行", "“25·7”洪水冲毁漫水桥", "桥面护栏损毁"],
    ("flood", "embankment"): ["河道护岸冲毁", "堤防局部坍塌"],
    ("flood", "water_supply"): ["水源井被淹，临时送水", "供水管线冲断"],
    ("flood", "power_line"): ["10kV线路倒杆", "低压线路冲断，临时架设"],
    ("flood", "telecom"): ["通信光缆中断", "基站断电"],
    ("flood", "housing"): ["房屋墙体开裂", "院墙倒塌，人员已转移"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "geodata" / "sample_facilities.csv"))
    parser.add_argument("--changes", default=str(ROOT / "geodata" / "sample_changes.csv"))
    args = parser.parse_args()
    rows, changes = generate()
    assert len({r["name"] for r in rows}) == len(rows), "site names must be unique"
    write(Path(args.out), rows, COLUMNS)
    write(Path(args.changes), changes, CHANGE_COLUMNS)
    print(f"wrote {args.out}: {len(rows)} sample sites; {args.changes}: {len(changes)} changes")
    print("  per kind:", dict(sorted(Counter(r["kind"] for r in rows).items())))
    per_township = Counter(next(t for t in COUNTS if r["name"].startswith(t)) for r in rows)
    for t in COUNTS:
        print(f"  {t:<8} {per_township[t]}")


def generate() -> tuple[list[dict], list[dict]]:
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
                row.update(condition(rnd, kind_code, subtype, township))
                row["responsible"] = rnd.choice(SURNAMES) + rnd.choice(GIVEN)
                row["phone"] = f"1380000{rnd.randrange(10000):04d}"
                row["notes"] = rnd.choice(NOTES[(kind_code, subtype)])
                row["source"] = "sample"
                rows.append(row)
    number_names(rows)
    changes = []
    for n, row in enumerate(rows, start=1):
        row["ref"] = f"HR-{n:04d}"
        for c in row.pop("story"):
            changes.append({"ref": row["ref"], "name": row["name"], "by": row["responsible"], **c})
    changes.sort(key=lambda c: (c["at"], c["ref"]))
    return rows, changes


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


def _at(rnd, first: str, last: str) -> str:
    """A working-hours moment (Beijing time) on a day from `first` to `last`."""
    return f"{_day(rnd, first, last)}T{rnd.randint(10, 17):02d}:{rnd.choice(('00', '15', '30', '45'))}:00+08:00"


def _later(rnd, after: str, last: str) -> str:
    """A moment on a day after the day of `after`, up to `last` (or the day after `after` if none is left)."""
    first = (date.fromisoformat(after[:10]) + timedelta(days=1)).isoformat()
    return _at(rnd, first, max(first, last))


def condition(rnd, kind_code: str, subtype: str, township: str) -> dict:
    """Status, severity, dates, people, the heating-access flag as first recorded, and the `story`:
    the changes that follow, each {at, status, inspected, due, note}, in time order."""
    out = {"severity": "", "last_inspected": "", "due": "", "blocks_heating": "0", "recorded": REGISTER}
    story: list[dict] = []

    def change(at, status, note="", inspected=True, due=""):
        story.append({"at": at, "status": status, "inspected": at[:10] if inspected else "", "due": due,
                      "note": note})

    short = township in SHORT
    if kind_code == "heating":
        status = "unchecked"  # awaiting the pre-season check (供暖季前检修)
        if rnd.random() < 0.6:
            out["last_inspected"] = _day(rnd, "2025-03-01", "2025-03-31")  # the end of last season
        out["due"] = rnd.choice(["2025-10-31", "2025-11-10", "2025-11-14"])
        fate = _weighted(rnd, {"ok": 45, "defect_fixed": 12, "defect_open": 10, "missed": 40 if short else 25,
                               "retired": 3})
        if fate == "ok":
            at = _at(rnd, "2025-10-01", "2025-11-12")
            change(at, "ok", "供暖季前检查正常")
            if rnd.random() < 0.45:  # checked again as the season opened
                change(_at(rnd, "2025-11-15", "2025-11-15"), "ok", "开栓供暖后复查正常")
        elif fate == "defect_fixed":
            at = _at(rnd, "2025-10-01", "2025-10-25")
            change(at, "defect", "检查发现故障，待维修", due=_day(rnd, "2025-10-25", "2025-11-10"))
            at = _later(rnd, at, "2025-11-05")
            change(at, "under_repair", "已安排维修", inspected=False)
            change(_later(rnd, at, "2025-11-14"), "ok", rnd.choice(["更换循环泵", "清洗换热器", "更换室外机风扇",
                                                                    "更换排烟管"]))
        elif fate == "defect_open":
            at = _at(rnd, "2025-10-10", "2025-11-12")
            change(at, "defect", "检查发现故障，待维修", due=_day(rnd, "2025-11-05", "2025-11-30"))
            if rnd.random() < 0.5:
                change(_later(rnd, at, "2025-11-14"), "under_repair", "维修中，等配件", inspected=False)
        elif fate == "retired":
            change(_at(rnd, "2025-10-01", "2025-10-31"), "out_of_service", "设备报废，住户改用电暖器",
                   due="2025-12-31")
        low, high = (100, 400) if subtype in ("boiler_room", "heating_station", "pipeline") else (20, 200)
        households = rnd.randint(low, high)
        out.update(households=str(households), people=str(round(households * rnd.uniform(2.1, 2.8))))
    elif kind_code == "fire":
        status = "open"
        if rnd.random() < 0.6:
            out["last_inspected"] = _day(rnd, "2025-05-15", "2025-06-30")
        # forest-edge hazards are due before the fire-prevention period opens (11-01)
        out["due"] = "2025-10-31" if subtype == "forest_edge" else _day(rnd, "2025-09-30", "2025-11-30")
        fate = _weighted(rnd, {"verified": 8 if short else 25, "rectified": 15 if short else 20,
                               "rectifying": 25, "open": 52 if short else 30})
        if fate in ("verified", "rectified"):
            at = _at(rnd, "2025-08-15", "2025-10-10")
            change(at, "rectifying", "开始整改")
            at = _later(rnd, at, "2025-11-14")
            change(at, "rectified", rnd.choice(["已清理林下可燃物", "柴草已搬离", "线路已更换", "通道已清理"]))
            if fate == "verified":
                change(_later(rnd, at, "2025-11-15"), "verified", "乡镇复查验收合格")
        elif fate == "rectifying":
            change(_at(rnd, "2025-09-01", "2025-11-10"), "rectifying", "整改中")
        people = rnd.randint(0, 50)
        out.update(households=str(min(people, rnd.randint(0, 20))), people=str(people))
    else:
        status = "damaged"
        out["recorded"] = _weighted(rnd, FLOOD_REPORTS)
        out["severity"] = _weighted(rnd, {"destroyed": 10, "major": 30, "minor": 40, "affected": 20})
        out["last_inspected"] = out["recorded"][:10]
        big = out["severity"] in ("destroyed", "major")
        out["due"] = (_day(rnd, "2025-11-01", "2025-12-31") if big else _day(rnd, "2025-09-30", "2025-11-14"))
        people = rnd.randint(5, 300) if subtype != "housing" else rnd.randint(2, 40)
        out.update(households=str(max(1, round(people / 2.5))), people=str(people))
        access = subtype in ("road", "bridge", "power_line") and rnd.random() < 0.45
        if access:
            out["blocks_heating"] = "1"
        fate = _weighted(rnd, {"accepted": 15, "repaired": 20, "under_repair": 30 if access else 25,
                               "restored": 20 if access else 15, "damaged": 15 if big else 5})
        start = (date.fromisoformat(out["recorded"][:10]) + timedelta(days=1)).isoformat()
        if fate != "damaged":
            at = _at(rnd, start, "2025-08-20")
            change(at, "temporarily_restored", {"road": "抢通便道", "bridge": "架设临时便桥", "power_line": "临时架线恢复供电",
                                                "water_supply": "临时管线恢复供水"}.get(subtype, "应急处置完成"))
            if fate in ("under_repair", "repaired", "accepted"):
                at = _later(rnd, max(at, "2025-08-24"), "2025-10-20")
                change(at, "under_repair", "开始灾后重建施工")
                if fate in ("repaired", "accepted"):
                    at = _later(rnd, at, "2025-11-12")
                    change(at, "repaired", "修复完成")
                    if fate == "accepted":
                        change(_later(rnd, at, "2025-11-15"), "accepted", "区水务、交通部门验收合格")
    out["status"] = status
    out["story"] = [c for c in story if c["at"] < DEMO_MOMENT]  # the demo replays up to that moment
    k = kinds.kind(kind_code)
    assert status in k.statuses and subtype in k.subtypes
    assert not out["severity"] or out["severity"] in k.severities
    return out


def write(path: Path, rows: list[dict], columns: list[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def _feature_geometry(path: Path) -> str:
    import json

    with open(path, encoding="utf-8") as f:
        return json.dumps(json.load(f)["features"][0]["geometry"])


if __name__ == "__main__":
    main()
