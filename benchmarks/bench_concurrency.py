"""8 concurrent field writers plus a refresh loop for a bounded time: throughput, p50/p99 latency,
errors and lost updates (issue 10's measured section; run it on each engine).

The database is built through the real commands (`monitor init`, `monitor facility import` of the
shipped sample facilities, or of N generated ones with --facilities N). Then, for --seconds:

  writers   8 at once (--writers). In the default --mode cli each update is a fresh process of
            the real `monitor facility update ID --status ok|out_of_service --note TOKEN --by wN`
            (a quarter note-only: no --status), as a field worker runs it: an update counts as
            acknowledged when that process exited 0, i.e. after its own connection committed and
            the re-evaluation that follows a status change ran. That is the guarantee field staff
            get, so the lost-update check is about what they see; the price is that each update
            pays the interpreter's start-up, which on 2 cores dominates the throughput.
            --mode loop keeps 8 long-lived processes instead, each calling the same command line
            (monitor.cli.main, a new connection per call) in a loop: no start-up per update, so
            several times more updates press on the engine's locking at once.
            Half the updates go to 16 shared "hot" heating facilities (several writers on one row
            at the same moment), half to any heating facility. ok <-> out_of_service is allowed
            from every heating status, so no update is refused for its move.
  refresh   `monitor alerts refresh` back to back, against a loopback feed server started here
            (pytest-httpserver) that serves the shipped CAP gale warning, re-stamped to now with a
            new identifier each time: every round stores a new alert, re-evaluates and rewrites
            the map.

Each update's note carries a unique token. Afterwards every acknowledged token must be in the
history (lost updates, target 0); every change must start from the status the previous one left
(no change made from a stale read); each facility's status must be its last history row's.
Errors are non-zero exits (target 0). A baseline measured in the same run: one writer alone, no
refresh, for a quarter of --seconds (at most 15 s).

    .venv/bin/python benchmarks/bench_concurrency.py [--db PATH|postgresql://...] [--seconds 60]
        [--writers 8] [--mode cli|loop] [--facilities sample|N] [--start-pg] [--no-record]

Without --db a fresh SQLite file in a temporary folder is used. --db postgresql://... needs an
empty database (the PostgreSQL engine of issue 10); --start-pg starts a throwaway cluster for it
(tests/pgcluster.py: fsync off, so its latencies are those of a server that does not wait for
the disk). A --db that exists is refused: the benchmark writes thousands of history rows.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import REPO, Machine, monitor_command, record

sys.path.insert(0, str(REPO / "tests"))

SAMPLE = REPO / "geodata" / "sample_facilities.csv"
GALE = REPO / "geodata" / "alerts" / "beijing_gale_blue_2025-11-15.xml"
HOT = 16
STATUSES = ("ok", "out_of_service")  # each allowed from every heating status, and from each other
ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LOGNAME": "bench",
       "HOME": os.environ.get("HOME", "/tmp")}

# --mode loop: one long-lived writer process calling the real command line in a loop; one JSON
# line per update on stdout: [token, exit code, perf start, perf end, last error line, wall end]
LOOP_WRITER = textwrap.dedent("""
    import contextlib, io, json, sys, time
    from monitor.cli import main

    db, config, deadline = sys.argv[1], sys.argv[2], float(sys.argv[3])
    plan = json.loads(sys.stdin.read())
    for token, args in plan:
        if time.time() >= deadline:
            break
        err, code = io.StringIO(), 0
        t0 = time.perf_counter()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                main(["--db", db, "--config", config, "-q", "facility", "update", *args],
                     prog_name="monitor", standalone_mode=False)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except Exception as e:
            code, err = 1, io.StringIO(f"{type(e).__name__}: {e}")
        t1 = time.perf_counter()
        lines = err.getvalue().strip().splitlines()
        print(json.dumps([token, code, t0, t1, lines[-1] if code and lines else "", time.time()],
                         ensure_ascii=False), flush=True)
""")


@dataclass
class Op:
    """One finished command: an update (token set) or a refresh round."""

    token: str | None
    code: int
    seconds: float
    error: str = ""
    ended: float = 0.0  # time.time() when it finished


@dataclass
class Phase:
    """What one timed phase produced."""

    updates: list[Op] = field(default_factory=list)
    refreshes: list[Op] = field(default_factory=list)

    @staticmethod
    def window(ops: list[Op]) -> float:
        """From the first of these commands' start to the last one's end (the rate's denominator;
        a loop writer's imports before its first update are left out)."""
        if not ops:
            return 0.0
        return max(op.ended for op in ops) - min(op.ended - op.seconds for op in ops)


# -- the database -------------------------------------------------------------------------------


def is_url(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://"))


def facilities_csv(folder: Path, n: int | None) -> Path:
    """The shipped sample, or n facilities generated from it (same real points, new names, no ref)."""
    if n is None:
        return SAMPLE
    with open(SAMPLE, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    path = folder / f"facilities_{n}.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.DictWriter(f, fieldnames=[k for k in rows[0] if k != "ref"])
        out.writeheader()
        for i in range(n):
            row = {k: v for k, v in rows[i % len(rows)].items() if k != "ref"}
            row["name"] = f"{row['name']} #{i + 1}"
            out.writerow(row)
    return path


def run_cli(base: list[str], *args: str, cwd: Path) -> subprocess.CompletedProcess:
    r = subprocess.run([*base, *args], capture_output=True, text=True, env=ENV, cwd=cwd)
    if r.returncode != 0:
        raise SystemExit(f"failed ({r.returncode}): monitor {' '.join(args)}\n{r.stderr.strip()}")
    return r


def query(db: str, sql: str) -> list[tuple]:
    """Rows of a read-only query, on either engine (the SQL holds no parameters)."""
    if is_url(db):
        import psycopg

        with psycopg.connect(db) as conn:
            return conn.execute(sql).fetchall()
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# -- the feed -----------------------------------------------------------------------------------


def start_feed():
    """A loopback server answering /gale with the shipped CAP warning, re-stamped to now, a new id each time."""
    import logging

    from loopback import server
    from werkzeug import Response

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    template = GALE.read_text(encoding="utf-8")
    counter = iter(range(1, 10**9))
    lock = threading.Lock()

    def gale(request):
        with lock:
            n = next(counter)
        now = datetime.now(UTC).astimezone()
        stamp = lambda t: t.isoformat(timespec="seconds")  # noqa: E731
        doc = re.sub(r"<identifier>[^<]*</identifier>", f"<identifier>BENCH-{uuid.uuid4().hex[:8]}-{n}</identifier>",
                     template)
        doc = re.sub(r"<(sent|onset)>[^<]*</\1>", lambda m: f"<{m[1]}>{stamp(now - timedelta(minutes=10))}</{m[1]}>", doc)
        doc = re.sub(r"<expires>[^<]*</expires>", f"<expires>{stamp(now + timedelta(days=2))}</expires>", doc)
        return Response(doc.encode("utf-8"), content_type="application/xml")

    http = server()
    http.expect_request("/gale").respond_with_handler(gale)
    return http


# -- the load -----------------------------------------------------------------------------------


def plans(writers: int, hot: list[int], heating: list[int], run: str, count: int, seed: int) -> list[list]:
    """Per writer, a list of [token, argv after `facility update`]; longer than any run will use."""
    rnd = random.Random(seed)
    out = []
    for w in range(writers):
        plan = []
        for i in range(count):
            fid = rnd.choice(hot) if rnd.random() < 0.5 else rnd.choice(heating)
            token = f"bench-{run}-w{w}-{i}"
            args = [str(fid), "--note", f"基准测试 {token}", "--by", f"w{w}"]
            if rnd.random() < 0.75:
                args += ["--status", rnd.choice(STATUSES)]
            plan.append([token, args])
        out.append(plan)
    return out


def cli_writer(base: list[str], plan: list, deadline: float, out: list[Op]) -> None:
    """Fresh `monitor facility update` processes one after another until the deadline."""
    for token, args in plan:
        if time.time() >= deadline:
            return
        t0 = time.perf_counter()
        r = subprocess.run([*base, "-q", "facility", "update", *args], capture_output=True, text=True, env=ENV)
        seconds = time.perf_counter() - t0
        lines = r.stderr.strip().splitlines()
        out.append(Op(token, r.returncode, seconds, lines[-1] if r.returncode and lines else "", time.time()))


def loop_writer(db: str, config: Path, plan: list, deadline: float, out: list[Op]) -> None:
    """One long-lived writer process (LOOP_WRITER); its JSON lines become Ops."""
    p = subprocess.run([sys.executable, "-c", LOOP_WRITER, db, str(config), repr(deadline)],
                       input=json.dumps(plan, ensure_ascii=False), capture_output=True, text=True,
                       env={**ENV, "PYTHONPATH": str(REPO)})
    for line in p.stdout.splitlines():
        token, code, t0, t1, err, ended = json.loads(line)
        out.append(Op(token, code, t1 - t0, err, ended))
    if p.returncode != 0:
        out.append(Op(None, p.returncode, 0.0, f"writer process died: {p.stderr.strip()[-300:]}", time.time()))


def refresher(base: list[str], deadline: float, out: list[Op]) -> None:
    while time.time() < deadline:
        t0 = time.perf_counter()
        r = subprocess.run([*base, "alerts", "refresh", "--quiet"], capture_output=True, text=True, env=ENV)
        lines = (r.stderr.strip() or r.stdout.strip()).splitlines()
        out.append(Op(None, r.returncode, time.perf_counter() - t0, lines[-1] if r.returncode and lines else "",
                      time.time()))


def guarded(target, out: list[Op], *args) -> threading.Thread:
    """A thread running target(*args, out) whose crash is counted as an error, not lost in stderr."""
    def body():
        try:
            target(*args, out)
        except Exception as e:  # noqa: BLE001 - reported as an error row of the benchmark
            out.append(Op(None, -1, 0.0, f"benchmark thread failed: {e!r}", time.time()))
    return threading.Thread(target=body)


def run_phase(args, db: str, config: Path, base: list[str], writer_plans: list, seconds: float,
              refresh: bool) -> Phase:
    phase = Phase()
    results: list[list[Op]] = [[] for _ in writer_plans]
    deadline = time.time() + seconds
    threads = []
    for plan, out in zip(writer_plans, results):
        if args.mode == "cli":
            threads.append(guarded(cli_writer, out, base, plan, deadline))
        else:
            threads.append(guarded(loop_writer, out, db, config, plan, deadline))
    if refresh:
        threads.append(guarded(refresher, phase.refreshes, base, deadline))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    phase.updates = [op for out in results for op in out]
    return phase


# -- checking and reporting ---------------------------------------------------------------------


@dataclass
class Check:
    acknowledged: int
    lost: list[str]             # acknowledged, not in the history
    unacknowledged_stored: int  # failed or cut off, yet in the history (not an error: a late ack)
    stale: list[str]            # history rows that do not start where the previous one ended
    mismatched: list[int]       # facilities whose status is not their last history row's


def check(db: str, run: str, phases: list[Phase]) -> Check:
    ops = [op for p in phases for op in p.updates if op.token]
    acked = {op.token for op in ops if op.code == 0}
    stored = set()
    touched = set()
    for fid, note in query(db, f"SELECT facility_id, note FROM status_history WHERE note LIKE '%bench-{run}-%'"):
        m = re.search(rf"bench-{run}-w\d+-\d+", note or "")
        if m:
            stored.add(m[0])
            touched.add(int(fid))
    ids = ",".join(str(i) for i in sorted(touched)) or "NULL"
    chains: dict[int, list[tuple]] = {}
    for fid, old, new in query(db, "SELECT facility_id, old_status, new_status FROM status_history"
                                   f" WHERE facility_id IN ({ids}) ORDER BY id"):
        chains.setdefault(int(fid), []).append((old, new))
    stale = [f"facility {fid}: {a[1]} then {b[0]} -> {b[1]}" for fid, chain in chains.items()
             for a, b in zip(chain, chain[1:]) if b[0] is not None and b[0] != a[1]]
    status = dict(query(db, f"SELECT id, status FROM facilities WHERE id IN ({ids})"))
    mismatched = [fid for fid, chain in chains.items() if status.get(fid) != chain[-1][1]]
    return Check(len(acked), sorted(acked - stored), len(stored - acked), stale, mismatched)


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank; 0 when empty."""
    if not values:
        return 0.0
    v = sorted(values)
    return v[min(len(v) - 1, max(0, round(q / 100 * len(v) + 0.5) - 1))]


def summary_row(label: str, ops: list[Op]) -> str:
    ok = [op.seconds for op in ops if op.code == 0]
    errors = sum(1 for op in ops if op.code != 0)
    elapsed = Phase.window([op for op in ops if op.code == 0])
    rate = len(ok) / elapsed if elapsed else 0.0
    return (f"| {label} | {len(ok)} | {rate:.2f} | {pct(ok, 50) * 1000:.0f} | {pct(ok, 99) * 1000:.0f} | "
            f"{max(ok, default=0) * 1000:.0f} | {errors} |")


def error_lines(ops: list[Op], limit: int = 5) -> list[str]:
    counts: dict[str, int] = {}
    for op in ops:
        if op.code != 0:
            key = f"exit {op.code}: {op.error[:160]}"
            counts[key] = counts.get(key, 0) + 1
    return [f"- {n} x {k}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1])[:limit]]


# -- main ---------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="a new SQLite file or an empty postgresql:// database (default: a temporary file)")
    ap.add_argument("--seconds", type=float, default=60.0, help="how long the writers and the refresh run")
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--mode", choices=("cli", "loop"), default="cli",
                    help="cli: a fresh `monitor facility update` process per update; loop: long-lived writer processes")
    ap.add_argument("--facilities", default="sample", help="'sample' (the shipped 377) or a number to generate")
    ap.add_argument("--start-pg", action="store_true", help="start a throwaway PostgreSQL (tests/pgcluster.py) for --db")
    ap.add_argument("--no-baseline", action="store_true", help="skip the one-writer baseline")
    ap.add_argument("--no-record", action="store_true", help="do not write benchmarks/RESULTS.md")
    args = ap.parse_args()
    n = None if args.facilities == "sample" else int(args.facilities)
    machine = Machine()
    run = uuid.uuid4().hex[:8]

    cluster = None
    with tempfile.TemporaryDirectory(prefix="bench-concurrency-") as tmp:
        folder = Path(tmp)
        if args.start_pg:
            import pgcluster

            cluster = pgcluster.PgCluster.start()
            db = cluster.new_database("bench")
        else:
            db = args.db or str(folder / "bench.db")
        if not is_url(db) and Path(db).exists():
            raise SystemExit(f"{db} exists: give a new file (the benchmark fills it with history rows)")
        http = start_feed()
        try:
            from loopback import make_config

            config = make_config(folder, [{"name": "bench-gale", "kind": "cap", "url": http.url_for("/gale")}])
            base = [*monitor_command(), "--db", db, "--config", str(config)]
            t0 = time.perf_counter()
            run_cli(base, "init", cwd=folder)
            if is_url(db) and query(db, "SELECT to_regclass('public.facilities')")[0][0] is None:
                raise SystemExit("monitor init left the PostgreSQL database empty: this monitor has no PostgreSQL"
                                 " engine yet (issue 10), it took the URL for a file name")
            run_cli(base, "facility", "import", str(facilities_csv(folder, n)), cwd=folder)
            built = time.perf_counter() - t0
            heating = [int(r[0]) for r in query(db, "SELECT id FROM facilities WHERE kind = 'heating' ORDER BY id")]
            total = query(db, "SELECT count(*) FROM facilities")[0][0]
            hot = heating[:HOT]
            engine = "PostgreSQL" if is_url(db) else "SQLite"
            print(f"{engine}: {total} facilities ({len(heating)} heating) built in {built:.1f} s; run {run}")

            writer_plans = plans(args.writers + 1, hot, heating, run, # more than a writer can use
                                 count=int(max(args.seconds, 10) * (300 if args.mode == "loop" else 30)),
                                 seed=int(run, 16))
            phases: list[Phase] = []
            baseline = None
            if not args.no_baseline:
                seconds = min(15.0, args.seconds / 4)
                print(f"baseline: 1 writer alone for {seconds:.0f} s ...")
                baseline = run_phase(args, db, config, base, writer_plans[-1:], seconds, refresh=False)
                phases.append(baseline)
            print(f"{args.writers} writers ({args.mode}) and a refresh loop for {args.seconds:.0f} s ...")
            loaded = run_phase(args, db, config, base, writer_plans[: args.writers], args.seconds, refresh=True)
            phases.append(loaded)
            result = check(db, run, phases)
        finally:
            http.stop()
            if cluster:
                cluster.close()

    table = ["| what | done | per s | p50 ms | p99 ms | max ms | errors |", "|---|---|---|---|---|---|---|"]
    if baseline:
        table.append(summary_row("baseline: 1 writer alone, no refresh", baseline.updates))
    table.append(summary_row(f"{args.writers} writers' updates", loaded.updates))
    table.append(summary_row("refresh rounds, meanwhile", loaded.refreshes))
    errors = error_lines([op for p in phases for op in p.updates + p.refreshes])
    verdict = [
        f"Lost updates (acknowledged, missing from the history): {len(result.lost)} of {result.acknowledged}"
        f" (target 0){': ' + ', '.join(result.lost[:5]) if result.lost else ''}.",
        f"Changes made from a stale status: {len(result.stale)}; facilities whose status is not their last"
        f" history row's: {len(result.mismatched)}. Stored but not acknowledged: {result.unacknowledged_stored}.",
        f"Errors (non-zero exits; target 0): {sum(1 for p in phases for op in p.updates + p.refreshes if op.code)}.",
    ]
    print("\n".join(table + [""] + verdict + errors))
    if args.no_record:
        return
    shown_db = re.sub(r"//[^@/]*@", "//", db) if is_url(db) else "a new SQLite file"
    what = "sample" if n is None else f"{n} generated"
    record(f"Concurrent field writers and a refresh on {engine}, {args.mode} mode (bench_concurrency.py, issue 10)", [
        f"`benchmarks/bench_concurrency.py --seconds {args.seconds:g} --writers {args.writers} --mode {args.mode}"
        f" --facilities {args.facilities}`: {shown_db}, {total} {what} facilities ({len(heating)} heating, {HOT} of"
        " them hot) imported through `monitor facility import`.",
        machine.describe(f"{engine}" + (" (throwaway cluster, fsync off)" if cluster else "")),
        "",
        ("Each update is a fresh `monitor facility update` process (interpreter start-up included in its latency)."
         if args.mode == "cli" else
         "Each writer is one long-lived process calling the command line in a loop (a new connection per update).")
        + " The refresh is `monitor alerts refresh` back to back against a loopback CAP feed (a new warning each round,"
        " then the re-evaluation and the map). Latencies are of acknowledged commands.",
        "",
        *table,
        "",
        *verdict,
        *errors,
        "",
        "Targets (issue 10): errors 0, lost updates 0. The baseline (one writer, nothing else running) was measured"
        " in the same run.",
    ])


if __name__ == "__main__":
    main()
