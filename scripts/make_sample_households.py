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
    print(f"{len(rows)} households in {len({r['village_code'] for r in rows})} villages -> {args.out}")


if __name__ == "__main__":
    main()
