"""Cold start of `monitor facility update` against the floor: the same update done by `python -c` with sqlite3.

Each run is a fresh process. The two commands alternate (monitor, floor, monitor, floor, ...) so
that both see the same machine state; the medians and their ratio are printed and recorded in
benchmarks/RESULTS.md (replacing this benchmark's section). The target (issue 4) is a ratio of at most 6.

The floor does what the command does underneath and nothing else: open the database with the
store's pragmas (busy timeout, WAL, synchronous=FULL, foreign keys), BEGIN IMMEDIATE, read the
status, update the facility, append the history row, COMMIT. The interpreter's bare start
(`python -c pass`) is measured too, for reference.

On PostgreSQL too (issue 10: the same floor as on SQLite) when a server is given: --pg URL (an
empty database; the benchmark builds it with `monitor init` and the import, which needs the
PostgreSQL engine) or --start-pg (a throwaway cluster from tests/pgcluster.py, fsync off). Its
floor is a bare psycopg connect, SELECT ... FOR UPDATE of the status, UPDATE, history INSERT and
COMMIT in a fresh process. The PostgreSQL pair joins the same alternation and gets its own
section in RESULTS.md; the SQLite section is written as before.

    .venv/bin/python benchmarks/bench_update_startup.py [--runs 15] [--pg URL | --start-pg] [--no-record]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, Machine, monitor_command, record

CONFIG = REPO / "config.toml"
FACILITY = 4  # 泉河街道 供热管网, heating, ok in the sample: ok <-> defect are both allowed moves

FLOOR = """
import sqlite3, sys
from datetime import datetime, timezone
db, fid, status = sys.argv[1], int(sys.argv[2]), sys.argv[3]
conn = sqlite3.connect(db, timeout=30, isolation_level=None)
conn.execute("PRAGMA busy_timeout=30000")
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA synchronous=FULL")
conn.execute("PRAGMA foreign_keys=ON")
at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
conn.execute("BEGIN IMMEDIATE")
old = conn.execute("SELECT status FROM facilities WHERE id = ?", (fid,)).fetchone()[0]
conn.execute("UPDATE facilities SET status = ?, updated = ? WHERE id = ?", (status, at, fid))
conn.execute("INSERT INTO status_history (facility_id, at, by, old_status, new_status, note)"
             " VALUES (?, ?, ?, ?, ?, ?)", (fid, at, "bench", old, status, "bench"))
conn.execute("COMMIT")
print(f"{fid}: {old} -> {status}")
"""

PG_FLOOR = """
import sys
from datetime import datetime, timezone
import psycopg
url, fid, status = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with psycopg.connect(url) as conn:  # one transaction, committed when the block ends
    at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    old = conn.execute("SELECT status FROM facilities WHERE id = %s FOR UPDATE", (fid,)).fetchone()[0]
    conn.execute("UPDATE facilities SET status = %s, updated = %s WHERE id = %s", (status, at, fid))
    conn.execute("INSERT INTO status_history (facility_id, at, by, old_status, new_status, note)"
                 " VALUES (%s, %s, %s, %s, %s, %s)", (fid, at, "bench", old, status, "bench"))
print(f"{fid}: {old} -> {status}")
"""


def timed(argv: list[str], env: dict) -> float:
    start = time.perf_counter()
    r = subprocess.run(argv, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{r.stderr}")
    return elapsed


def build(pg_base: list[str], env: dict, cwd: str) -> None:
    """`monitor init` and the sample import on the PostgreSQL database (needs issue 10's engine)."""
    for args in (["init"], ["facility", "import", str(REPO / "geodata" / "sample_facilities.csv")]):
        r = subprocess.run([*pg_base, *args], capture_output=True, text=True, env=env, cwd=cwd)
        if r.returncode != 0:
            raise SystemExit(f"monitor {' '.join(args)} on PostgreSQL failed ({r.returncode}): {r.stderr.strip()}\n"
                             "(the PostgreSQL engine of issue 10 must be there, and the database empty)")
    import psycopg

    with psycopg.connect(pg_base[pg_base.index("--db") + 1]) as conn:
        made = conn.execute("SELECT to_regclass('public.facilities')").fetchone()[0]
    if made is None:
        raise SystemExit("monitor init left the PostgreSQL database empty: this monitor has no PostgreSQL engine yet"
                         " (issue 10), it took the URL for a file name")


def pg_report(machine: Machine, runs: int, pg_cli: list[float], pg_floor: list[float], m_bare: float, *,
              from_cluster: bool, write: bool) -> None:
    m_cli, m_floor = (statistics.median(x) * 1000 for x in (pg_cli, pg_floor))
    ratio = m_cli / m_floor
    print(f"PostgreSQL: monitor facility update: median {m_cli:.1f} ms (min {min(pg_cli) * 1000:.1f}, "
          f"max {max(pg_cli) * 1000:.1f})")
    print(f"PostgreSQL floor (python -c psycopg): median {m_floor:.1f} ms (min {min(pg_floor) * 1000:.1f}, "
          f"max {max(pg_floor) * 1000:.1f})")
    print(f"PostgreSQL ratio {ratio:.2f}x the floor ({'within' if ratio <= 6 else 'MISSES'} the 6x target)")
    if not write:
        return
    record("facility update cold start on PostgreSQL (bench_update_startup.py, issue 10)", [
        f"`benchmarks/bench_update_startup.py --pg ...`, {runs} fresh processes each, alternating with the SQLite"
        " runs of the same invocation; medians.",
        machine.describe("PostgreSQL " + ("(throwaway cluster from tests/pgcluster.py, fsync off)" if from_cluster
                                          else "(a server given by URL)")),
        "",
        "| command | median ms |",
        "|---|---|",
        f"| `monitor --db postgresql://... facility update {FACILITY} --status ... --note ... --by bench` | {m_cli:.1f} |",
        f"| floor (baseline): `python -c` psycopg connect, SELECT FOR UPDATE, UPDATE, history INSERT | {m_floor:.1f} |",
        f"| bare `python -c pass` | {m_bare:.1f} |",
        "",
        f"Ratio {ratio:.2f}x the floor measured in the same run; target (issues 4 and 10): within 6x: "
        f"{'met' if ratio <= 6 else 'MISSED'}.",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (at least 10)")
    parser.add_argument("--no-record", action="store_true", help="do not write benchmarks/RESULTS.md")
    parser.add_argument("--pg", metavar="URL", help="also on PostgreSQL: an empty postgresql:// database")
    parser.add_argument("--start-pg", action="store_true", help="also on PostgreSQL, in a throwaway cluster")
    args = parser.parse_args()
    machine = Machine()
    runs = max(args.runs, 10)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LOGNAME": "bench"}

    cluster = None
    pg_url = args.pg
    if args.start_pg and not pg_url:
        sys.path.insert(0, str(REPO / "tests"))
        import pgcluster

        cluster = pgcluster.PgCluster.start()
        pg_url = cluster.new_database("bench")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-update-") as tmp:
            db = str(Path(tmp) / "bench.db")
            base = [*monitor_command(), "--db", db, "--config", str(CONFIG)]
            subprocess.run([*base, "init"], check=True, capture_output=True, env=env)
            subprocess.run([*base, "facility", "import", str(REPO / "geodata" / "sample_facilities.csv")],
                           check=True, capture_output=True, env=env)
            pg_base = [*monitor_command(), "--db", pg_url, "--config", str(CONFIG)] if pg_url else []
            if pg_url:
                build(pg_base, env, tmp)
            statuses = ["defect", "ok"]  # defect -> ok needs a note: the command gets one every time
            pg_statuses = ["defect", "ok"]
            cli, floor, bare, pg_cli, pg_floor = [], [], [], [], []
            for i in range(runs):
                cli.append(timed([*base, "facility", "update", str(FACILITY), "--status", statuses[0],
                                  "--note", "基准测试 bench", "--by", "bench"], env))
                statuses.reverse()
                floor.append(timed([sys.executable, "-c", FLOOR, db, str(FACILITY), statuses[0]], env))
                statuses.reverse()
                bare.append(timed([sys.executable, "-c", "pass"], env))
                if pg_url:
                    pg_cli.append(timed([*pg_base, "facility", "update", str(FACILITY), "--status", pg_statuses[0],
                                         "--note", "基准测试 bench", "--by", "bench"], env))
                    pg_statuses.reverse()
                    pg_floor.append(timed([sys.executable, "-c", PG_FLOOR, pg_url, str(FACILITY), pg_statuses[0]],
                                          env))
                    pg_statuses.reverse()
    finally:
        if cluster:
            cluster.close()

    m_cli, m_floor, m_bare = (statistics.median(x) * 1000 for x in (cli, floor, bare))
    ratio = m_cli / m_floor
    verdict = "within" if ratio <= 6 else "MISSES"
    print(f"monitor facility update: median {m_cli:.1f} ms (min {min(cli) * 1000:.1f}, max {max(cli) * 1000:.1f})")
    print(f"floor (python -c sqlite3): median {m_floor:.1f} ms (min {min(floor) * 1000:.1f}, "
          f"max {max(floor) * 1000:.1f})")
    print(f"bare interpreter (python -c pass): median {m_bare:.1f} ms")
    print(f"ratio {ratio:.2f}x the floor ({verdict} the 6x target); {runs} runs each, alternating")

    if pg_url:
        pg_report(machine, runs, pg_cli, pg_floor, m_bare, from_cluster=cluster is not None,
                  write=not args.no_record)
    if args.no_record:
        return
    record("facility update cold start (bench_update_startup.py, issue 4)", [
        f"`benchmarks/bench_update_startup.py`, {runs} fresh processes each, alternating; medians.",
        machine.describe(),
        "",
        "| command | median ms |",
        "|---|---|",
        f"| `monitor facility update {FACILITY} --status ... --note ... --by bench` | {m_cli:.1f} |",
        f"| floor (baseline): `python -c` sqlite3 update + history insert | {m_floor:.1f} |",
        f"| bare `python -c pass` | {m_bare:.1f} |",
        "",
        f"Ratio {ratio:.2f}x the floor measured in the same run; target (issue 4): within 6x: "
        f"{'met' if ratio <= 6 else 'MISSED'}.",
    ])


if __name__ == "__main__":
    main()
