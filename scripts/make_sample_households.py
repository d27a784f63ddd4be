"""Generate the SAMPLE households of the demo (synthetic people in real villages), and the
village list they refer to.

    python scripts/make_sample_households.py                     # geodata/huairou_villages.csv and
                                                                 # geodata/sample_households.csv (3,000)
    python scripts/make_sample_households.py --count 80000 --out /tmp/h80k.csv   # the full district

The villages are real: the 284 village committees (村委会) of Huairou with their 12-digit codes,
from geodata/sources/vonng_adcode_110116_townships_villages.csv (Vonng/adcode, CC BY 4.0); a
village's township is the first 9 digits of its code. Everything about the households is
invented, in the proportions the district reported for its coal-to-clean-energy programme
(../shared/data/huairou_2025/README.md): 284 villages; 216 villages and 57,000 households
coal-to-electricity (air-source heat pumps, electric heaters), 14 villages and 5,000+ gas
wall heaters, 17 villages and 5,000+ moved into flats and 18 villages and 13,000 on central
heating (both `central`), and the last 19 villages, in 长哨营满族乡, still on coal stoves.
Names (样例户主 N) and phones (000-0000-NNNN) are obviously not real. Seeded: the same files each run.
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "geodata" / "sources" / "vonng_adcode_110116_townships_villages.csv"
VILLAGES = ROOT / "geodata" / "huairou_villages.csv"
OUT = ROOT / "geodata" / "sample_households.csv"
SEED = 20251116

# (mode, villages, households) as reported; the rest of the 284 villages are electric
MODES = (("coal", 19, 1_500), ("central_flats", 17, 5_000), ("central", 18, 13_000), ("gas", 14, 5_000),
         ("electric", 216, 57_000))
CENTRAL_TOWNSHIPS = ("110116003", "110116004", "110116005", "110116102", "110116103", "110116105")


def villages() -> list[dict]:
    from monitor.gcj02 import gcj_to_wgs

    out = []
    with open(SOURCE, encoding="utf-8") as f:
        for row in csv.reader(f):
            code, name, level, lon, lat = row[0], row[2], row[3], row[12], row[13]
            if level != "village" or not name.endswith("村委会"):
                continue
            wlon, wlat = gcj_to_wgs(float(lon), float(lat)) if lon and lat else (None, None)
            out.append({"code": code, "township_code": code[:9] + "000", "name": _village_name(name),
                        "full_name": name, "lon": f"{wlon:.6f}" if wlon else "", "lat": f"{wlat:.6f}" if wlat else ""})
    return out


def _village_name(full: str) -> str:
    """宰相庄村委会 -> 宰相庄村; 西三村村委会 -> 西三村 (the committee of the village 西三村)."""
    name = full[:-2]
    return name[:-1] if name.endswith("村村") else name


def modes(vs: list[dict], rng: random.Random) -> dict[str, str]:
    """Each village's heating mode: coal in 长哨营, central near the town, gas and electric elsewhere."""
    rest = list(vs)
    chosen: dict[str, str] = {}
    changshaoying = [v for v in rest if v["code"].startswith("110116211")]
    for v in rng.sample(changshaoying, min(19, len(changshaoying))):
        chosen[v["code"]] = "coal"
    near_town = [v for v in rest if v["code"][:9] in CENTRAL_TOWNSHIPS and v["code"] not in chosen]
    rng.shuffle(near_town)
    for v in near_town[:35]:
        chosen[v["code"]] = "central"
    others = [v for v in rest if v["code"] not in chosen]
    for v in rng.sample(others, 14):
        chosen[v["code"]] = "gas"
    for v in rest:
        chosen.setdefault(v["code"], "electric")
    return chosen


def households(vs: list[dict], count: int, seed: int = SEED) -> list[dict]:
    rng = random.Random(seed)
    mode = modes(vs, rng)
    share = {"coal": 1_500 / 81_500, "central": 18_000 / 81_500, "gas": 5_000 / 81_500, "electric": 57_000 / 81_500}
    by_mode: dict[str, list[dict]] = {}
    for v in vs:
        by_mode.setdefault(mode[v["code"]], []).append(v)
    rows = []
    n = 0
    for m, share_of in share.items():
        want = round(count * share_of) if m != "electric" else None
        if want is None:
            want = count - len(rows)
        for _ in range(want):
            n += 1
            v = rng.choice(by_mode[m])
            heating = {"coal": "coal_stove", "central": "central", "gas": "gas_heater"}.get(m) or (
                "heat_pump" if rng.random() < 0.7 else "electric_heater")
            r = rng.random()
            device = "fault" if r < 0.03 else "under_repair" if r < 0.05 else "replaced" if r < 0.07 else "working"
            visit = rng.random()
            if visit < 0.15:
                last = ""                                                      # never visited
            elif visit < 0.35:
                last = f"2025-{rng.randint(3, 9):02d}-{rng.randint(1, 28):02d}"  # long ago
            else:
                last = f"2025-11-{rng.randint(1, 15):02d}" if rng.random() < 0.5 else f"2025-10-{rng.randint(1, 31):02d}"
            age = rng.random()
            rows.append({
                "ref": f"HH-{n:06d}", "village_code": v["code"], "village": v["name"], "heating": heating,
                "device": device, "last_visit": last,
                "elderly_alone": "是" if age < 0.08 else "否", "disabled": "是" if rng.random() < 0.03 else "否",
                "low_income": "是" if rng.random() < 0.04 else "否",
                "infants": "是" if age > 0.95 else "否",
                "contact": f"样例户主{n:06d}", "phone": f"000-0000-{n % 10000:04d}", "notes": "",
            })
    rows.sort(key=lambda r: r["ref"])
    return rows


CALLS = ROOT / "geodata" / "sample_calls.csv"
TOWNSHIP_NAMES = {"110116001": "泉河街道", "110116002": "龙山街道", "110116003": "怀柔镇", "110116004": "雁栖镇",
                  "110116005": "庙城镇", "110116102": "北房镇", "110116103": "杨宋镇", "110116105": "桥梓镇",
                  "110116106": "怀北镇", "110116107": "汤河口镇", "110116108": "渤海镇", "110116109": "九渡河镇",
                  "110116110": "琉璃庙镇", "110116111": "宝山镇", "110116211": "长哨营满族乡", "110116213": "喇叭沟门满族乡"}
CATEGORIES = (("供暖", 0.35, ("家里暖气不热，室温不到十度", "空气源热泵不启动，老人独居", "壁挂炉点不着火", "电暖器跳闸")),
              ("道路", 0.25, ("村道水毁后还没修好，车进不去", "路面结冰，请撒融雪剂")),
              ("用电", 0.15, ("村里停电一天了", "电压不稳，热泵带不动")),
              ("消防", 0.10, ("山脚下堆放柴草，担心起火", "楼道堆放杂物")),
              ("其他", 0.15, ("垃圾清运不及时", "路灯不亮")))


def sample_calls(vs: list[dict], homes: list[dict], seed: int = SEED, count: int = 400) -> list[dict]:
    """SAMPLE 12345 tickets from 2025-10-01 to the demo's moment (2025-11-16 09:00 Beijing time):
    heating calls rising from the season's start on 11-15; older calls answered and mostly
    resolved; the newest heating calls still open, a few unanswered for over a day."""
    from datetime import datetime, timedelta

    rng = random.Random(seed + 1)
    start, end = datetime(2025, 10, 1, 8), datetime(2025, 11, 16, 8, 30)
    rows = []
    for n in range(1, count + 1):
        r = rng.random()
        cat = next(c for c, cum in _cumulative() if r < cum)
        texts = dict((c, t) for c, _, t in CATEGORIES)[cat]
        if cat == "供暖" and rng.random() < 0.6:
            received = end - timedelta(minutes=rng.randint(10, 60 * 40))   # the season's first day and a half
        else:
            received = start + timedelta(minutes=rng.randint(0, int((end - start).total_seconds() // 60)))
        v = rng.choice(vs)
        text = rng.choice(texts)
        if cat == "供暖" and rng.random() < 0.3:
            h = rng.choice(homes)
            v = next(x for x in vs if x["code"] == h["village_code"])
            text += f"（住户编号 {h['ref']}）"
        age = (end - received).total_seconds() / 3600
        responded = received + timedelta(hours=rng.uniform(0.2, 6)) if age > 30 or rng.random() < 0.6 else None
        if responded and responded > end:
            responded = None
        resolved = responded + timedelta(hours=rng.uniform(2, 72)) if responded and rng.random() < 0.85 else None
        if resolved and resolved > end:
            resolved = None
        satisfaction = rng.choices(("满意", "基本满意", "不满意"), (0.8, 0.12, 0.08))[0] if resolved else ""
        rows.append({"工单编号": f"SAMPLE-{received:%Y%m%d}-{n:04d}", "受理时间": f"{received:%Y-%m-%d %H:%M}",
                     "所属街乡": TOWNSHIP_NAMES[v["code"][:9]], "地址": f"{v['name']}（样例地址）", "诉求类别": cat,
                     "诉求内容": text, "响应时间": f"{responded:%Y-%m-%d %H:%M}" if responded else "",
                     "办结时间": f"{resolved:%Y-%m-%d %H:%M}" if resolved else "", "满意度": satisfaction})
    rows.sort(key=lambda x: x["受理时间"])
    return rows


def _cumulative():
    total = 0.0
    for c, share, _ in CATEGORIES:
        total += share
        yield c, total if c != CATEGORIES[-1][0] else 1.01


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    vs = villages()
    if args.out == OUT:
        with open(VILLAGES, "w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, ["code", "township_code", "name", "full_name", "lon", "lat"], lineterminator="\n")
            w.writeheader()
            w.writerows(vs)
    rows = households(vs, args.count, args.seed)
    with open(args.out, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    if args.out == OUT:
        calls = sample_calls(vs, rows, args.seed)
        with open(CALLS, "w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, list(calls[0]), lineterminator="\n")
            w.writeheader()
            w.writerows(calls)
        print(f"{len(calls)} calls -> {CALLS}")
    print(f"{len(rows)} households in {len({r['village_code'] for r in rows})} villages -> {args.out}")


if __name__ == "__main__":
    main()
