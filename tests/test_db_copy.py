"""`monitor db copy`: the demo database SQLite -> PostgreSQL -> SQLite, identical table by table,
through real `python -m monitor` processes; a target holding data is refused and left as it was."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import CONFIG

from monitor.store import open_store
from monitor.store.copy import TABLES, dump


def monitor(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MONITOR_DB", "MONITOR_NOW", "MONITOR_CONFIG")}
    return subprocess.run([sys.executable, "-m", "monitor", "--config", str(CONFIG), *args],
                          capture_output=True, text=True, encoding="utf-8", env=env, timeout=600)


def contents(target: str) -> dict[str, list[tuple]]:
    s = open_store(target)
    try:
        with s.snapshot():
            return {table: [r for rows in dump(s, table, columns) for r in rows] for table, columns in TABLES}
    finally:
        s.close()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("copy")
    db = folder / "demo.db"
    r = monitor("demo", "--demo-db", str(db), "--out", str(folder / "demo.html"))
    assert r.returncode == 0, r.stderr[-2000:]
    return db


def test_the_demo_round_trips_sqlite_postgresql_sqlite(demo_db, pg_url, tmp_path):
    original = contents(str(demo_db))
    assert all(original[t] for t in ("townships", "facilities", "status_history", "alerts", "follow_ups", "meta"))
    r = monitor("db", "copy", str(demo_db), pg_url)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"{len(original['status_history'])} status_history" in r.stdout
    assert contents(pg_url) == original
    back = tmp_path / "back.db"
    r = monitor("db", "copy", pg_url, str(back))
    assert r.returncode == 0, r.stderr[-2000:]
    assert contents(str(back)) == original
    # the copy is a working database: a field update on PostgreSQL appends to the copied history
    r = monitor("--db", pg_url, "facility", "update", "1", "--status", "ok", "--note", "复查 rechecked", "--by", "测试")
    assert r.returncode == 0, r.stderr[-2000:]
    s = open_store(pg_url)
    try:
        assert s.history_entries(1)[0].id == max(row[0] for row in original["status_history"]) + 1
    finally:
        s.close()


def test_a_target_holding_data_is_refused_and_unchanged(demo_db, pg_url, tmp_path):
    assert monitor("db", "copy", str(demo_db), pg_url).returncode == 0
    before = contents(pg_url)
    r = monitor("db", "copy", str(demo_db), pg_url)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "already holds data" in r.stderr and "Traceback" not in r.stderr
    assert contents(pg_url) == before
    # and into a SQLite file holding data: the same
    other = tmp_path / "other.db"
    assert monitor("db", "copy", pg_url, str(other)).returncode == 0
    r = monitor("db", "copy", str(demo_db), str(other))
    assert r.returncode == 2 and "already holds data" in r.stderr


def test_a_missing_source_is_one_line(tmp_path):
    r = monitor("db", "copy", str(tmp_path / "nothing.db"), str(tmp_path / "new.db"))
    assert r.returncode == 2 and "no source database" in r.stderr
    assert not (tmp_path / "new.db").exists()
