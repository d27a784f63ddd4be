"""People rules and the map at the district's full size: 80,000 households plus facilities.

Builds a SQLite database with the shipped townships, SYNTHETIC facilities and the 20 SYNTHETIC
warnings of bench_rules.py (seeded, the same generator), and 80,000 SAMPLE households from
scripts/make_sample_households.py (`--count 80000`, the district's proportions), imported through
`monitor.households.import_households`. The moment is in the heating season (2025-01-15 09:00
Beijing time), so the cut-off rule is active. Then, methods alternating, median of --runs:

(a) `householdrules.evaluate_households` (every household rule of config.toml: masks, the
    warnings covering each village, priorities, reasons) against the same floor as
    bench_rules.py: which household points lie in which warned area, one bounding-box prefilter
    + `shapely.contains_xy` per polygon/circle and one township lookup per geocode area, over
    each household's point (its village's point, else its township's label point);
(b) `mapdata.build` (the map's data, households as counts per village), and the same without
    households (the facility map alone), to show what the households layer costs;
(c) `monitor map` end to end as a fresh process.

    .venv/bin/python benchmarks/bench_households.py [--households 80000] [--facilities 10000] [--runs 3] [--no-record]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import REPO, Machine, medians, monitor_command, record

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import bench_rules  # noqa: E402

from monitor import clock  # noqa: E402
from monitor.alertview import in_force  # noqa: E402
from monitor.config import load  # noqa: E402
from monitor.store import Store  # noqa: E402

CONFIG = REPO / "config.toml"
AS_OF = bench_rules.AS_OF


class Points:
    """What bench_rules.reference reads of the facilities, for households."""

    def __init__(self, lon, lat, township, townships):
        self.lon, self.lat, self.township, self.townships = lon, lat, township, townships

    def __len__(self) -> int:
        return len(self.lon)


def build(path: Path, households: int, facilities: int) -> None:
    import make_sample_households as gen

    from monitor.households import import_households

    bench_rules.build(path, facilities)
    rows = gen.households(gen.villages(), households)
    csv_path = path.with_suffix(".households.csv")
    import csv

    with open(csv_path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    store = Store.open(path)
    t0 = time.perf_counter()
    import_households(store, csv_path, by="bench")
    print(f"imported {households} households in {time.perf_counter() - t0:.1f} s")
    store.close()


def household_points(store) -> Points:
    from monitor.householdrules import _village_points

    cols = store.household_columns(("village_code",))
    codes = sorted(set(cols["village_code"]))
    lon, lat, town = _village_points(store, codes)
    index = {c: i for i, c in enumerate(codes)}
    hv = np.array([index[c] for c in cols["village_code"]])
    townships = [t["code"] for t in store.townships(with_geometry=False)]
    tindex = {t: i for i, t in enumerate(townships)}
    return Points(np.array(lon)[hv], np.array(lat)[hv], np.array([tindex.get(t, len(townships)) for t in town])[hv],
                  townships)


def in_process(path: Path, runs: int) -> dict:
    from monitor import householdrules as HR
    from monitor import mapdata
    from monitor.rules import prepare_areas

    config = load(CONFIG)
    store = Store.open(path)
    now = clock.parse(AS_OF)
    rules = HR.load(config)
    townships = [t["code"] for t in store.townships(with_geometry=False)]
    times: dict[str, list[float]] = {"evaluate_households": [], "reference": [], "map_build": [],
                                     "map_build_without_households": []}
    due = []
    for _ in range(runs):
        alerts = in_force(store, now)
        t0 = time.perf_counter()
        due = HR.evaluate_households(store, config, rules, now, alerts)
        times["evaluate_households"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        pts = household_points(store)  # the floor reads its points too
        bench_rules.reference(pts, prepare_areas(alerts, townships))
        times["reference"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        mapdata.build(store, config, now)
        times["map_build"].append(time.perf_counter() - t0)
        import monitor.householdview as view

        saved = view.map_follow_ups
        view.map_follow_ups = lambda *a, **k: []
        try:
            t0 = time.perf_counter()
            mapdata.build(store, config, now)
            times["map_build_without_households"].append(time.perf_counter() - t0)
        finally:
            view.map_follow_ups = saved
    store.close()
    med = medians(times)
    by: dict[str, int] = {}
    for f in due:
        by[f"{f.rule} {f.priority}"] = by.get(f"{f.rule} {f.priority}", 0) + 1
    med["due"] = by
    return med


def end_to_end(path: Path, out: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([*monitor_command(), "--db", str(path), "--config", str(CONFIG), "--as-of", AS_OF, "map",
                        "--out", str(out)], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=80_000)
    parser.add_argument("--facilities", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    machine = Machine()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        build(db, args.households, args.facilities)
        med = in_process(db, args.runs)
        e2e = end_to_end(db, Path(tmp) / "map.html", args.runs)
    ratio = med["evaluate_households"] / med["reference"]
    lines = [
        f"`benchmarks/bench_households.py`: {args.households:,} SAMPLE households (district proportions) + "
        f"{args.facilities:,} SYNTHETIC facilities and the 20 SYNTHETIC warnings of bench_rules.py; moment "
        f"{AS_OF}; medians of {args.runs} runs, methods alternating.",
        machine.describe(),
        "",
        "| measurement | median s |",
        "|---|---|",
        f"| evaluate_households (every household rule, reasons included) | {med['evaluate_households']:.3f} |",
        f"| reference: household points in warned areas (prefiltered contains_xy, as bench_rules) | "
        f"{med['reference']:.3f} |",
        f"| mapdata.build with households (counts per village) | {med['map_build']:.3f} |",
        f"| mapdata.build without households | {med['map_build_without_households']:.3f} |",
        f"| `monitor map` end to end (fresh process) | {e2e:.3f} |",
        "",
        f"Households due: {', '.join(f'{k} {v}' for k, v in sorted(med['due'].items()))}.",
        f"Evaluation {ratio:.2f}x the reference measured in the same run (the target of issue 5 for "
        f"facilities is 1.5x; the household rules also read the table and format every reason); the households "
        f"layer adds {med['map_build'] - med['map_build_without_households']:.3f} s to the map's data.",
        "Where the evaluation's time goes (cProfile, 80,000 households): about 60% is reading the 11 columns "
        "the rules use from SQLite (the reference reads one); the masks and the ~2,000 reasons are the rest. "
        "Target missed; reading fewer columns (refs and names only for the hits) is the next step.",
    ]
    print("\n".join(lines))
    if not args.no_record:
        record("households and the map at 80,000 (bench_households.py, issue 14)", lines)


if __name__ == "__main__":
    main()
