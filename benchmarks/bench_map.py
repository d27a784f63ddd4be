"""Benchmark the risk map at 10^5 facilities against plain per-point folium.Marker.

Measures, in one run on one machine: build time (MapData -> file on disk), file size, and time to
load in headless Chromium with the network cut off (navigation start until window.monitorMap is
set, i.e. every marker is in the cluster; for the baseline, until the load event, after its one
big script has run). Ours: the median of --runs runs. The folium.Marker baseline takes minutes to
load at 10^5, so it is measured once at full size with a load cap, and again at --baseline-small
facilities without a cap. The baseline uses the same offline frame (Leaflet inlined), so both
pages open with no network.

    .venv/bin/python benchmarks/bench_map.py              # prints and records in RESULTS.md (its own section)
    .venv/bin/python benchmarks/bench_map.py --n 10000 --runs 3 --no-record

Targets (issue 6): build < 3 s, file < 10 MB, loaded < 3 s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, Machine, record

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # the shared Chromium launcher: tests/browser.py

from browser import chromium, chromium_missing, offline_page  # noqa: E402

from monitor.riskmap import MapData, render_map  # noqa: E402

BBOX = (116.35, 40.25, 116.95, 41.05)  # a Huairou-sized box, lon/lat
TARGETS = {"build_s": 3.0, "size_mb": 10.0, "load_s": 3.0}

TOWNSHIPS = ["泉河街道", "龙山街道", "怀柔镇", "雁栖镇", "庙城镇", "北房镇", "杨宋镇", "桥梓镇",
             "怀北镇", "汤河口镇", "渤海镇", "九渡河镇", "琉璃庙镇", "宝山镇", "长哨营满族乡", "喇叭沟门满族乡"]
KINDS = {
    "heating": ("供暖设施", ["锅炉房", "空气源热泵", "燃气壁挂炉", "供热管网", "村级供暖站"],
                [("unchecked", "未检查"), ("ok", "正常"), ("defect", "有缺陷"), ("under_repair", "维修中")]),
    "fire": ("消防隐患", ["林区边缘风险点", "燃料/煤炭存放点", "老旧电线", "堵塞安全出口"],
             [("open", "待整改"), ("rectifying", "整改中"), ("rectified", "已整改"), ("verified", "已验收")]),
    "flood": ("水毁设施", ["道路", "桥梁", "堤防", "供水设施", "电力线路"],
              [("damaged", "受损"), ("temporarily_restored", "已抢通"), ("under_repair", "修复中"), ("repaired", "已修复")]),
}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"
REASONS = {
    "P1": "寒潮蓝色预警区域内供暖设施有缺陷 heating defect inside a cold-wave warning",
    "P2": "道路结冰预警：水毁道路未修复 unrepaired flood-damaged road under road-icing warning",
    "P3": "供暖季开始后未检查 not inspected since the heating season opened",
}


def district(n: int, seed: int = 20251121) -> MapData:
    """A synthetic district: 16 township squares and n facilities with realistic text."""
    rnd = random.Random(seed)
    x0, y0, x1, y1 = BBOX
    dx, dy = (x1 - x0) / 4, (y1 - y0) / 4
    townships = []
    for i, name in enumerate(TOWNSHIPS):
        r, c = divmod(i, 4)
        lon, lat = x0 + c * dx, y0 + r * dy
        townships.append({
            "code": f"110116{i:06d}", "name": name, "name_en": "", "kind": "镇", "approximate": True,
            "source": "bench grid", "score": float(rnd.randint(0, 40)),
            "counts": {"P1": rnd.randint(0, 9), "P2": rnd.randint(0, 9), "P3": rnd.randint(0, 99)},
            "geometry": {"type": "Polygon", "coordinates": [[[lon, lat], [lon + dx, lat], [lon + dx, lat + dy], [lon, lat + dy], [lon, lat]]]},
        })
    people = [rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN) for _ in range(400)]
    facilities, followups = [], []
    for i in range(n):
        kind = ("heating", "fire", "flood")[i % 3]
        kind_zh, subtypes, statuses = KINDS[kind]
        status, status_zh = rnd.choice(statuses)
        lon, lat = rnd.uniform(x0, x1), rnd.uniform(y0, y1)
        t = TOWNSHIPS[min(3, int((lat - y0) / dy)) * 4 + min(3, int((lon - x0) / dx))]
        subtype = rnd.choice(subtypes)
        prio = rnd.choices(["P1", "P2", "P3", None], weights=[2, 4, 9, 85])[0]
        history = [
            {"at": f"2025-11-{rnd.randint(1, 20):02d} {rnd.randint(7, 18):02d}:{rnd.randint(0, 59):02d}",
             "by": rnd.choice(people), "old": statuses[0][0], "new": status,
             "note": rnd.choice(["", "更换循环泵", "已通知责任人整改", "临时抢通，待正式修复"])}
            for _ in range(rnd.choice([0, 0, 1, 1, 2, 3]))
        ]
        f = {
            "id": 100000 + i, "kind": kind, "kind_zh": kind_zh, "subtype_zh": subtype,
            "name": f"{t}{rnd.randint(1, 40)}村{subtype}{i % 97 + 1}号",
            "status": status, "status_zh": status_zh, "lon": lon, "lat": lat, "township_name": t,
            "responsible": rnd.choice(people), "phone": f"13{rnd.randint(100000000, 999999999)}",
            "households": rnd.randint(1, 400), "due": f"2025-12-{rnd.randint(1, 28):02d}",
            "last_inspected": f"2025-11-{rnd.randint(1, 20):02d}" if rnd.random() < 0.6 else None,
            "notes": rnd.choice(["", "", "", "入户检查发现管道老化，需更换", "靠近林区，注意防火"]),
            "history": history, "priority": prio, "reasons": [REASONS[prio]] if prio else [],
        }
        facilities.append(f)
        if prio:
            followups.append({"facility_id": f["id"], "name": f["name"], "township": t, "kind": kind,
                              "rule": "bench", "priority": prio, "reason": REASONS[prio],
                              "since": "2025-11-15", "lon": lon, "lat": lat})
    alerts = [{
        "id": "cold", "hazard": "cold_wave", "hazard_zh": "寒潮", "colour": "blue",
        "headline": "寒潮蓝色预警", "description": "未来48小时气温下降8℃以上", "sender": "怀柔区气象台",
        "onset": "2025-11-21 08:00", "expires": "2025-11-23 08:00", "township_names": TOWNSHIPS[:8],
        "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y0 + 2 * dy], [x0, y0 + 2 * dy], [x0, y0]]]},
    }]
    return MapData(title="基准 benchmark", townships=townships, facilities=facilities, alerts=alerts,
                   followups=followups, data_time="2025-11-21 14:00", last_refresh="2025-11-21 13:50",
                   stale=False)


def build_folium_markers(data: MapData, out: Path) -> Path:
    """The baseline: one folium.Marker per facility on the same offline frame."""
    import folium

    from monitor.mapassets import OfflineMap, inline_assets

    m = OfflineMap(location=[40.65, 116.65], zoom_start=10, tiles=None, maxZoom=18)
    for f in data.facilities:
        folium.Marker([f["lat"], f["lon"]]).add_to(m)
    out.write_text(inline_assets(m.get_root().render()), encoding="utf-8")
    return out


def timed(fn, *args) -> float:
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def load_ours(browser, path: Path, timeout_s: float) -> float:
    with offline_page(browser) as (page, log):
        page.goto(path.as_uri(), wait_until="commit", timeout=timeout_s * 1000)
        page.wait_for_function("window.monitorMap && window.monitorMap.ready === true", timeout=timeout_s * 1000)
        loaded = page.evaluate("window.monitorMap.loaded_ms") / 1000
        drawn = page.evaluate("window.monitorMap.facilities")
        if log.blocked or log.page_errors or log.console_errors:
            raise SystemExit(f"our page misbehaved: {log}")
    return loaded, drawn


def load_baseline(browser, path: Path, cap_s: float) -> float | None:
    """Seconds to the load event, or None if it did not come within cap_s."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with offline_page(browser) as (page, _):
        try:
            page.goto(path.as_uri(), wait_until="load", timeout=cap_s * 1000)
        except PlaywrightTimeout:
            return None
        return page.evaluate("performance.getEntriesByType('navigation')[0].loadEventStart") / 1000


def chromium_version() -> str:
    try:
        return subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="facilities (default 10^5)")
    ap.add_argument("--runs", type=int, default=5, help="runs of ours; the median is reported (>= 3)")
    ap.add_argument("--baseline-cap", type=float, default=120.0, help="seconds to wait for the baseline page to load")
    ap.add_argument("--baseline-small", type=int, default=10_000, help="baseline also measured uncapped at this size (0: skip)")
    ap.add_argument("--no-record", action="store_true", help="print only; do not write benchmarks/RESULTS.md")
    args = ap.parse_args(argv)
    if (why := chromium_missing()) is not None:
        raise SystemExit(why)
    runs = max(3, args.runs)
    machine = Machine()
    chromium_txt = f"{chromium_version()} headless, network blocked"
    print(f"{chromium_txt}; load average (1 min) {machine.load_start:.2f} at the start")
    data = district(args.n)
    print(f"{args.n} facilities, {len(data.followups)} follow-ups, {len(data.townships)} townships")

    with tempfile.TemporaryDirectory() as d, chromium() as browser:
        d = Path(d)
        ours = d / "ours.html"
        builds = [timed(render_map, data, ours) for _ in range(runs)]
        size = ours.stat().st_size
        loads, drawn = [], None
        for _ in range(runs):
            t, drawn = load_ours(browser, ours, timeout_s=120)
            loads.append(t)
        assert drawn == args.n, (drawn, args.n)
        res = {"build_s": statistics.median(builds), "size_mb": size / 1e6, "load_s": statistics.median(loads)}
        print(f"ours      build {fmt(builds)}  size {size / 1e6:.2f} MB  load {fmt(loads)}")

        base_full = d / "markers_full.html"
        bf_build = timed(build_folium_markers, data, base_full)
        bf_size = base_full.stat().st_size
        bf_load = load_baseline(browser, base_full, args.baseline_cap)
        print(f"baseline  {args.n}: build {bf_build:.2f} s  size {bf_size / 1e6:.2f} MB  load "
              + (f"{bf_load:.2f} s" if bf_load is not None else f"> {args.baseline_cap:.0f} s (cap)"))

        small = None
        if args.baseline_small:
            sdata = district(args.baseline_small)
            base_small, ours_small = d / "markers_small.html", d / "ours_small.html"
            s_builds = [timed(build_folium_markers, sdata, base_small) for _ in range(3)]
            s_loads = [load_baseline(browser, base_small, args.baseline_cap) for _ in range(3)]
            o_builds = [timed(render_map, sdata, ours_small) for _ in range(3)]
            o_loads = [load_ours(browser, ours_small, 120)[0] for _ in range(3)]
            small = {
                "n": args.baseline_small,
                "base_build": statistics.median(s_builds), "base_size": base_small.stat().st_size / 1e6,
                "base_load": None if None in s_loads else statistics.median(s_loads),
                "ours_build": statistics.median(o_builds), "ours_size": ours_small.stat().st_size / 1e6,
                "ours_load": statistics.median(o_loads),
            }
            print(f"at {args.baseline_small}: baseline build {small['base_build']:.2f} s, {small['base_size']:.2f} MB, "
                  f"load {small['base_load']}; ours build {small['ours_build']:.2f} s, "
                  f"{small['ours_size']:.2f} MB, load {small['ours_load']:.2f} s")

    ok = {k: res[k] < TARGETS[k] for k in TARGETS}
    print("targets:", ", ".join(f"{k} {res[k]:.2f} < {TARGETS[k]} {'ok' if v else 'MISSED'}" for k, v in ok.items()))
    if not args.no_record:
        report(machine.describe(chromium_txt), args, runs, res, builds, loads, (bf_build, bf_size / 1e6, bf_load), small,
               len(data.followups))
    return 0 if all(ok.values()) else 1


def fmt(xs: list[float]) -> str:
    return f"median {statistics.median(xs):.2f} s (runs: {', '.join(f'{x:.2f}' for x in xs)})"


def report(machine_txt, args, runs, res, builds, loads, base, small, n_followups) -> None:
    bf_build, bf_size, bf_load = base
    load_txt = f"{bf_load:.2f} s" if bf_load is not None else f"did not finish within the {args.baseline_cap:.0f} s cap"
    ratio_load = f"{bf_load / res['load_s']:.0f}x" if bf_load is not None else f"> {args.baseline_cap / res['load_s']:.0f}x"
    lines = [
        machine_txt,
        f"Data: {args.n:,} facilities uniformly over 116.35-116.95 E, 40.25-41.05 N, 16 townships, "
        f"{n_followups:,} follow-ups, 1 warned area, 0-3 history entries each.",
        "Load = navigation start until `window.monitorMap` is set (every marker in the cluster); for the "
        "baseline, until the load event.",
        "",
        "| page | build | file | load |",
        "|---|---|---|---|",
        f"| monitor.riskmap (median of {runs}) | {res['build_s']:.2f} s | {res['size_mb']:.2f} MB | {res['load_s']:.2f} s |",
        f"| folium.Marker per point (1 run) | {bf_build:.2f} s | {bf_size:.2f} MB | {load_txt} |",
        f"| ratio baseline / ours | {bf_build / res['build_s']:.0f}x | {bf_size / res['size_mb']:.1f}x | {ratio_load} |",
    ]
    if small:
        bl = f"{small['base_load']:.2f} s" if small["base_load"] is not None else "capped"
        lines += [
            f"| at {small['n']:,}: monitor.riskmap (median of 3) | {small['ours_build']:.2f} s | {small['ours_size']:.2f} MB | {small['ours_load']:.2f} s |",
            f"| at {small['n']:,}: folium.Marker per point (median of 3) | {small['base_build']:.2f} s | {small['base_size']:.2f} MB | {bl} |",
        ]
    lines += [
        "",
        f"Runs of ours: build {', '.join(f'{x:.2f}' for x in builds)} s (the first includes importing folium); "
        f"load {', '.join(f'{x:.2f}' for x in loads)} s.",
        "Targets (issue 6): build < 3 s, file < 10 MB, loaded < 3 s: "
        + ", ".join(f"{k} {'met' if res[k] < TARGETS[k] else 'MISSED'}" for k in TARGETS) + ".",
        "The baseline carries no popups or data (plain markers, default icon) on the same inlined Leaflet frame; "
        "ours carries every facility's details, history, the follow-up panel and search.",
    ]
    record(f"Risk map, {args.n:,} facilities, against folium.Marker (bench_map.py, issue 6)", lines)


if __name__ == "__main__":
    sys.exit(main())
