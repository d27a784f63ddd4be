"""Benchmark `monitor map` end to end at 10^4, 10^5 and 10^6 facilities, against folium's
FastMarkerCluster of the same points and names read from the same database.

For each size: SYNTHETIC facilities (benchmarks/mapsites.py) are written as a CSV and loaded the
way an office would, `monitor init` then `monitor facility import`, and evaluated once with
`monitor followups --json` (at 2025-11-21 14:00, in the heating season). Then, alternating:
- ours: `monitor map --out FILE` as a fresh process: wall time and peak memory (ru_maxrss of the
  process from os.wait4), the file's size, and the time until the page is ready in headless
  Chromium (network blocked): navigation start until the page's own ready flag
  (`window.monitorMap.ready`, set once the first view of clusters, follow-ups, panel and legend is
  drawn; `monitorMap.loaded_ms`);
- the reference: a fresh Python process that reads lon, lat and name of every facility from the
  same SQLite file (sqlite3) and writes a folium map with one FastMarkerCluster (a popup with the
  name per marker) on the same inlined Leaflet frame, so that it opens offline too; its ready
  time is navigation start until the load event (its one script has then added every marker to
  the cluster).
Pages that are not ready within --cap seconds are recorded as such.

    .venv/bin/python benchmarks/bench_map.py                     # 10^4, 10^5 (3 runs), 10^6 (1 run)
    .venv/bin/python benchmarks/bench_map.py --sizes 10000 --runs 3 --no-record

Targets (issue 12): `monitor map` <= 1.2x the reference at 10^5; at 10^6 under 10 s to build,
under 1.5 GB, a file under 25 MB, ready in under 5 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, Machine, monitor_command, record

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # the shared Chromium launcher: tests/browser.py

from browser import chromium, chromium_missing, offline_page  # noqa: E402
from mapsites import write_csv  # noqa: E402

AS_OF = "2025-11-21T14:00:00+08:00"
TARGETS = {"ratio_1e5": 1.2, "build_s": 10.0, "peak_mb": 1500.0, "size_mb": 25.0, "ready_s": 5.0}

REFERENCE = r'''
import sqlite3, sys
import folium
from folium.plugins import FastMarkerCluster
from monitor.mapassets import OfflineMap, inline_assets
db, out = sys.argv[1], sys.argv[2]
conn = sqlite3.connect(db)
rows = conn.execute("SELECT lat, lon, name FROM facilities ORDER BY id").fetchall()
m = OfflineMap(location=[40.6, 116.6], zoom_start=10, tiles=None, maxZoom=16, minZoom=8)
FastMarkerCluster(rows, callback="function (row) { var m = L.marker(new L.LatLng(row[0], row[1]));"
                  " m.bindPopup(String(row[2])); return m; }").add_to(m)
with open(out, "w", encoding="utf-8") as fh:
    fh.write(inline_assets(m.get_root().render()))
'''


def run(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Run a fresh process; (wall seconds, peak RSS in MB, stderr tail). Fails on a non-zero exit."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=REPO)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    err = p.stderr.read().decode("utf-8", "replace")
    p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {p.returncode}: {err[-2000:]}")
    return wall, usage.ru_maxrss / 1024, err


def build_db(d: Path, n: int, env: dict) -> tuple[Path, dict]:
    csv_path, db = d / f"sites-{n}.csv", d / f"map-{n}.db"
    write_csv(csv_path, n)
    mon = monitor_command()
    run(mon + ["--db", str(db), "init"], env)
    imp = run(mon + ["--db", str(db), "facility", "import", str(csv_path), "--by", "bench"], env)
    ev = run(mon + ["--db", str(db), "--as-of", AS_OF, "followups", "--json"], env)
    csv_path.unlink()
    import sqlite3

    conn = sqlite3.connect(db)
    facts = {"import_s": imp[0], "import_mb": imp[1], "evaluate_s": ev[0],
             "followups": conn.execute("SELECT count(*) FROM follow_ups WHERE closed IS NULL").fetchone()[0],
             "history": conn.execute("SELECT count(*) FROM status_history").fetchone()[0]}
    conn.close()
    return db, facts


def ready_ours(browser, path: Path, cap_s: float) -> tuple[float | None, int]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with offline_page(browser) as (page, log):
        page.goto(path.as_uri(), wait_until="commit", timeout=cap_s * 1000)
        try:
            page.wait_for_function("window.monitorMap && window.monitorMap.ready === true", timeout=cap_s * 1000,
                                   polling=100)
        except PlaywrightTimeout:
            return None, 0
        if log.blocked or log.page_errors or log.console_errors:
            raise SystemExit(f"our page misbehaved: {log}")
        return page.evaluate("window.monitorMap.loaded_ms") / 1000, page.evaluate("window.monitorMap.facilities")


def ready_reference(browser, path: Path, cap_s: float) -> float | None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with offline_page(browser) as (page, log):
        try:
            page.goto(path.as_uri(), wait_until="load", timeout=cap_s * 1000)
        except PlaywrightTimeout:
            return None
        if log.page_errors:
            raise SystemExit(f"the reference page failed: {log.page_errors}")
        return page.evaluate("performance.getEntriesByType('navigation')[0].loadEventStart") / 1000


def chromium_version() -> str:
    try:
        return subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def measure(browser, d: Path, n: int, runs: int, cap_s: float, env: dict) -> dict:
    db, facts = build_db(d, n, env)
    print(f"{n:,}: imported in {facts['import_s']:.1f} s ({facts['import_mb']:.0f} MB), "
          f"{facts['followups']:,} open follow-ups", flush=True)
    ours_out, ref_out = d / f"ours-{n}.html", d / f"ref-{n}.html"
    mon = monitor_command() + ["--db", str(db), "--as-of", AS_OF, "map", "--out", str(ours_out)]
    ref = [sys.executable, "-c", REFERENCE, str(db), str(ref_out)]
    r = {k: [] for k in ("ours_s", "ours_mb", "ours_ready", "ref_s", "ref_mb", "ref_ready")}
    for i in range(runs):  # alternating, each a fresh process
        for name, cmd, out in (("ours", mon, ours_out), ("ref", ref, ref_out)):
            wall, peak, _ = run(cmd, env)
            r[f"{name}_s"].append(wall)
            r[f"{name}_mb"].append(peak)
            if name == "ours":
                ready, drawn = ready_ours(browser, out, cap_s)
                if ready is not None and drawn != n:
                    raise SystemExit(f"our page drew {drawn} of {n} facilities")
            else:
                ready = ready_reference(browser, out, cap_s)
            r[f"{name}_ready"].append(ready)
            print(f"  run {i + 1} {name}: build {wall:.2f} s, {peak:.0f} MB, "
                  f"{out.stat().st_size / 1e6:.1f} MB file, ready "
                  + (f"{ready:.2f} s" if ready is not None else f"> {cap_s:.0f} s"), flush=True)
    res = {k: med(v) for k, v in r.items()}
    res.update(runs=runs, n=n, raw=r, ours_size=ours_out.stat().st_size / 1e6, ref_size=ref_out.stat().st_size / 1e6,
               **facts)
    db.unlink()
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="facility counts (comma-separated)")
    ap.add_argument("--runs", type=int, default=3, help="runs at sizes below 10^6 (medians reported)")
    ap.add_argument("--runs-large", type=int, default=1, help="runs at 10^6 and above")
    ap.add_argument("--cap", type=float, default=120.0, help="seconds to wait for a page to be ready")
    ap.add_argument("--no-record", action="store_true", help="print only; do not write benchmarks/RESULTS.md")
    args = ap.parse_args(argv)
    if (why := chromium_missing()) is not None:
        raise SystemExit(why)
    sizes = [int(s) for s in args.sizes.split(",")]
    machine = Machine()
    env = {**os.environ, "MONITOR_CONFIG": str(REPO / "config.toml"), "PYTHONPATH": str(REPO)}
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-map-") as d, chromium() as browser:
        for n in sizes:
            results.append(measure(browser, Path(d), n, args.runs if n < 1_000_000 else args.runs_large,
                                   args.cap, env))
    if not args.no_record:
        report(machine.describe(f"{chromium_version()} headless, network blocked"), args, results)
    return 0


def fmt(x, unit="s", spec=".2f"):
    return "—" if x is None else f"{x:{spec}} {unit}"


def report(machine_txt: str, args, results: list[dict]) -> None:
    lines = [
        machine_txt,
        f"`benchmarks/bench_map.py --sizes {args.sizes} --runs {args.runs} --runs-large {args.runs_large}`. "
        "SYNTHETIC facilities around Huairou's villages (benchmarks/mapsites.py), loaded with `monitor init` + "
        "`monitor facility import` and evaluated once (`monitor followups --json` at 2025-11-21 14:00).",
        "Build = the command as a fresh process, wall time; peak = its ru_maxrss (os.wait4). Ready = navigation "
        "start until `window.monitorMap.ready` (ours: the first view of clusters, rings, panel and legend drawn; "
        "popup detail unpacked later, on the first popup) or until the load event (reference: every marker "
        f"added to its cluster); pages not ready within {args.cap:.0f} s show as '> cap'. Medians; runs alternate.",
        "",
        "| facilities | open follow-ups | `monitor map` build | peak | file | ready | FastMarkerCluster build | peak "
        "| file | ready | build ratio ours/ref |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = r["ours_s"] / r["ref_s"]
        lines.append(
            f"| {r['n']:,} ({r['runs']} run{'s' if r['runs'] > 1 else ''}) | {r['followups']:,} | {fmt(r['ours_s'])} "
            f"| {r['ours_mb']:.0f} MB | {r['ours_size']:.1f} MB | {fmt(r['ours_ready']) if r['ours_ready'] else '> cap'} "
            f"| {fmt(r['ref_s'])} | {r['ref_mb']:.0f} MB | {r['ref_size']:.1f} MB "
            f"| {fmt(r['ref_ready']) if r['ref_ready'] else '> cap'} | {ratio:.2f}x |")
    lines.append("")
    for r in results:
        raw = r["raw"]
        lines.append(f"Runs at {r['n']:,}: ours build " + ", ".join(f"{x:.2f}" for x in raw["ours_s"])
                     + " s, ready " + ", ".join(fmt(x) for x in raw["ours_ready"])
                     + "; reference build " + ", ".join(f"{x:.2f}" for x in raw["ref_s"])
                     + " s, ready " + ", ".join(fmt(x) if x else "> cap" for x in raw["ref_ready"])
                     + f". Import {r['import_s']:.1f} s, {r['history']:,} history rows.")
    by_n = {r["n"]: r for r in results}
    verdicts = []
    if 100_000 in by_n:
        x = by_n[100_000]["ours_s"] / by_n[100_000]["ref_s"]
        verdicts.append(f"at 10^5 {x:.2f}x the reference (target <= 1.2x): {'met' if x <= 1.2 else 'MISSED'}")
    if 1_000_000 in by_n:
        r = by_n[1_000_000]
        for label, value, target, unit in (("build", r["ours_s"], 10.0, "s"), ("peak", r["ours_mb"], 1500, "MB"),
                                           ("file", r["ours_size"], 25.0, "MB"), ("ready", r["ours_ready"], 5.0, "s")):
            ok = value is not None and value < target
            verdicts.append(f"at 10^6 {label} {fmt(value, unit, '.1f') if value is not None else '> cap'} "
                            f"(target < {target:g} {unit}): {'met' if ok else 'MISSED'}")
    lines.append("")
    lines.append("Targets (issue 12): " + "; ".join(verdicts) + ".")
    record("Risk map at 10^4, 10^5, 10^6 facilities, against folium FastMarkerCluster (bench_map.py, issue 12)", lines)


if __name__ == "__main__":
    sys.exit(main())
