"""4 processes x 100 updates at once through the real CLI, while a refresh writes: nothing lost, nothing locked."""

import json
import sqlite3
import subprocess
import sys
import textwrap
import time

from conftest import REPO
from test_field_update import add_facilities

WORKERS = 4
UPDATES = 100

# Each worker runs the real command line (monitor.cli.main, as the console script does) in a loop,
# so that 400 updates fit in seconds; each call opens its own connection, as a fresh process would.
WORKER = textwrap.dedent("""
    import json, sys
    from monitor.cli import main

    db, config, plan = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    failures = []
    for args in plan:
        try:
            main(["--db", db, "--config", config, "-q", "facility", "update", *args], prog_name="monitor",
                 standalone_mode=False)
        except SystemExit as e:
            if e.code:
                failures.append([args, e.code])
        except Exception as e:
            failures.append([args, repr(e)])
    print(json.dumps(failures))
""")

# The refresh: `monitor followups` (reads everything, rewrites follow_ups in BEGIN IMMEDIATE) and a
# fetch_log entry per round, as `alerts refresh` writes, until the updaters are done.
REFRESH = textwrap.dedent("""
    import json, os, sys
    from monitor.cli import main
    from monitor.store import Store

    db, config, stop, ready = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    store = Store.open(db)
    rounds, failures = 0, []
    while not os.path.exists(stop) or rounds < 2:
        try:
            main(["--db", db, "--config", config, "-q", "followups", "--json"], prog_name="monitor",
                 standalone_mode=False)
            with store.write():
                store.log_fetch({"source": "test", "started": "2021-10-10T01:00:00Z", "ok": 1, "new": rounds})
        except SystemExit as e:
            if e.code:
                failures.append(e.code)
        except Exception as e:
            failures.append(repr(e))
        rounds += 1
        if rounds == 1:
            open(ready, "w").close()  # warmed up (imports done): the updaters may start
    sys.stderr.write(json.dumps({"rounds": rounds, "failures": failures}))
""")

CYCLE = [("defect", None), ("under_repair", None), ("ok", "修好了")]  # heating: round and round


def plan_for(w: int) -> tuple[list[list[str]], dict[str, str]]:
    """Half the updates on the worker's own two heaters, half on the shared fire hazard."""
    plan, final = [], {}
    own = {f"w{w}a": 0, f"w{w}b": 0}
    for i in range(UPDATES):
        if i % 2:
            plan.append(["火险点-共用", "--status", "rectifying" if (i // 2 + w) % 2 else "open", "--by", f"w{w}"])
            continue
        name = f"w{w}a" if i % 4 == 0 else f"w{w}b"
        status, note = CYCLE[own[name] % len(CYCLE)]
        own[name] += 1
        final[name] = status
        plan.append([f"热泵-{name}", "--status", status, "--by", f"w{w}"] + (["--note", note] if note else []))
    return plan, final


def test_four_writers_and_a_refresh(district, tmp_path):
    rows = [(f"热泵-w{w}{x}", "heating", "ok") for w in range(WORKERS) for x in "ab"]
    add_facilities(district, tmp_path, rows + [("火险点-共用", "fire", "open")])
    db, config = str(district.db), str(REPO / "config.toml")
    conn = sqlite3.connect(db)
    history_before = conn.execute("SELECT count(*) FROM status_history").fetchone()[0]
    stop, ready = tmp_path / "stop", tmp_path / "ready"
    plans = [plan_for(w) for w in range(WORKERS)]

    refresh = subprocess.Popen([sys.executable, "-c", REFRESH, db, config, str(stop), str(ready)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not ready.exists() and refresh.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.exists(), refresh.stderr.read() if refresh.poll() is not None else "the refresh never started"
    started = time.monotonic()
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, db, config, json.dumps(plan)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
               for plan, _ in plans]
    outputs = [p.communicate(timeout=120) for p in workers]
    stop.touch()
    _, refresh_err = refresh.communicate(timeout=120)
    elapsed = time.monotonic() - started
    print(f"\n{WORKERS} x {UPDATES} updates with a refresh running: {elapsed:.1f} s")

    for p, (out, err) in zip(workers, outputs):
        assert p.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1]) == [], out[-2000:]
        assert "locked" not in err, err
    refreshed = json.loads(refresh_err.strip().splitlines()[-1])
    # it ran before, during and after the updates (it goes on until they are done, two rounds at least)
    assert refresh.returncode == 0 and refreshed["failures"] == [] and refreshed["rounds"] >= 2, refresh_err

    # every update is in the history ...
    assert conn.execute("SELECT count(*) FROM status_history").fetchone()[0] == history_before + WORKERS * UPDATES
    assert conn.execute("SELECT count(*) FROM status_history WHERE by LIKE 'w_'").fetchone()[0] == WORKERS * UPDATES
    # ... each worker's own heaters end where its plan ended ...
    for w, (_, final) in enumerate(plans):
        for name, status in final.items():
            got = conn.execute("SELECT status FROM facilities WHERE name = ?", (f"热泵-{name}",)).fetchone()[0]
            assert got == status, (name, got, status)
    # ... and no change was made from a stale status: each row starts where the previous one ended
    for fid, status in conn.execute("SELECT id, status FROM facilities"):
        chain = conn.execute("SELECT old_status, new_status FROM status_history WHERE facility_id = ? ORDER BY id",
                             (fid,)).fetchall()
        assert all(b[0] == a[1] for a, b in zip(chain, chain[1:])), (fid, chain)
        assert chain[-1][1] == status
    shared = conn.execute("SELECT count(*) FROM status_history h JOIN facilities f ON f.id = h.facility_id"
                          " WHERE f.name = '火险点-共用' AND h.old_status IS NOT NULL").fetchone()[0]
    assert shared == WORKERS * UPDATES // 2
    assert conn.execute("SELECT count(*) FROM fetch_log WHERE source = 'test'").fetchone()[0] == refreshed["rounds"]
