"""The refresh as cron runs it: real `python -m monitor` processes against a loopback server.

Two runs at once, a run that finds the lock held, and kill -9 at the worst moments: while a
response is still on its way, and inside a source's write transaction. After a kill the
database must pass PRAGMA integrity_check and hold every source wholly or not at all.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import Cli
from filelock import FileLock
from loopback import NWS_SNAPSHOT, make_config, rows, serving, source_rows
from werkzeug import Response

from monitor.refresh import LOCK_HELD

ENV = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}


@pytest.fixture
def http():
    with serving() as s:
        yield s


@pytest.fixture
def site(tmp_path, http):
    """An initialised database whose config has a fast NWS source and a slow one."""
    release = threading.Event()
    requests = []

    def nws(request):
        requests.append(("nws", time.monotonic()))
        return Response(NWS_SNAPSHOT.read_bytes(), content_type="application/geo+json")

    def slow(request):
        requests.append(("slow", time.monotonic()))
        release.wait(30)  # held until the test says so
        return Response(b'{"code": "200", "warning": []}', content_type="application/json")

    http.expect_request("/nws").respond_with_handler(nws)
    http.expect_request("/slow").respond_with_handler(slow)
    config = make_config(tmp_path, [
        {"name": "nws", "kind": "nws", "url": http.url_for("/nws"), "max_bytes": 4_000_000},
        {"name": "slow", "kind": "cma", "url": http.url_for("/slow"), "area_codes": ["110116000000"]},
    ], {"read_timeout": 60, "total_timeout": 60})
    cli = Cli(tmp_path / "monitor.db", config)
    cli("init")
    yield cli, requests, release
    release.set()


def start(cli: Cli, *args: str, code: str | None = None) -> subprocess.Popen:
    """`python -m monitor ... alerts refresh` (or `python -c code` with the same argv)."""
    argv = ["--db", str(cli.db), "--config", str(cli.config), "alerts", "refresh", *args]
    head = [sys.executable, "-c", code, *argv] if code else [sys.executable, "-m", "monitor", *argv]
    return subprocess.Popen(head, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout=30.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def check_whole(db: Path) -> dict[str, tuple[int, int]]:
    """integrity_check passes and each source is wholly stored or absent: its (log rows, alerts)."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()
    nws, slow = source_rows(db, "nws"), source_rows(db, "slow")
    assert nws[1] == (498 if nws[0] else 0), nws  # the log row(s) and all 498 alerts, or neither
    assert slow[1] == 0, slow  # its answer holds no warnings
    return {"nws": nws, "slow": slow}


def test_a_held_lock_means_exit_0_and_nothing_done(site):
    cli, requests, _ = site
    with FileLock(str(cli.db) + ".refresh.lock", timeout=0):
        p = start(cli)
        out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert LOCK_HELD in err
    assert requests == [] and rows(cli.db, "SELECT * FROM fetch_log") == []


def test_two_refreshes_started_at_once(site):
    cli, requests, release = site
    a, b = start(cli), start(cli)
    # whichever got the lock is waiting on /slow; the other must already have given up
    wait_for(lambda: a.poll() is not None or b.poll() is not None, what="one run to stop")
    first = a if a.poll() is not None else b
    other = b if first is a else a
    out, err = first.communicate(timeout=10)
    assert first.returncode == 0 and LOCK_HELD in err
    release.set()
    out, err = other.communicate(timeout=60)
    assert other.returncode == 0, err
    assert LOCK_HELD not in err
    assert sorted(name for name, _ in requests) == ["nws", "slow"]  # each fetched once, by one run
    assert check_whole(cli.db) == {"nws": (1, 498), "slow": (1, 0)}


def test_kill_9_while_a_response_is_on_its_way(site):
    cli, requests, release = site
    p = start(cli)
    # the NWS source is committed as soon as it arrives; the slow one is still pending
    wait_for(lambda: source_rows(cli.db, "nws")[0] == 1 and any(n == "slow" for n, _ in requests),
             what="nws stored while slow is pending")
    p.send_signal(signal.SIGKILL)
    p.wait(10)
    assert p.returncode == -signal.SIGKILL
    assert check_whole(cli.db) == {"nws": (1, 498), "slow": (0, 0)}
    release.set()
    # the next run is not blocked by the dead one's lock and completes the picture
    q = start(cli, "--source", "slow")
    out, err = q.communicate(timeout=60)
    assert q.returncode == 0, err
    assert check_whole(cli.db) == {"nws": (1, 498), "slow": (1, 0)}


# The child slows down every alert insert (fault injection in the test's child process only), so
# that its NWS transaction is open for seconds, and says when it is inside it.
SLOW_WRITER = """
import sys, time
from pathlib import Path
from monitor.store import Store
marker = Path(sys.argv[2] + ".inside")
real = Store.insert_alert
def insert_alert(self, row):
    marker.touch()
    time.sleep(0.005)
    return real(self, row)
Store.insert_alert = insert_alert
from monitor.cli import main
main(prog_name="monitor")
"""


def test_kill_9_inside_a_write_transaction(site):
    cli, requests, release = site
    release.set()  # this time only the write is slow
    inside = Path(str(cli.db) + ".inside")
    p = start(cli, code=SLOW_WRITER)
    wait_for(inside.exists, what="the child to be inside the NWS transaction")
    time.sleep(0.3)  # some hundreds of inserts into it, none committed
    p.send_signal(signal.SIGKILL)
    p.wait(10)
    whole = check_whole(cli.db)
    assert whole["nws"] == (0, 0)  # rolled back: neither its log row nor any of its alerts
    q = start(cli, "--source", "nws")
    out, err = q.communicate(timeout=60)
    assert q.returncode == 0, err
    assert check_whole(cli.db)["nws"] == (1, 498)


def test_cron_output_and_exit_status(site):
    cli, _, release = site
    release.set()
    p = start(cli, "--quiet")
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0 and out == "" and err == ""  # nothing for cron to mail
    p = start(cli)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0 and "nws: 498 alerts in 1 documents: 0 new, 498 already stored" in err
