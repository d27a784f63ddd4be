"""The main CLI flows on PostgreSQL, through real `python -m monitor --db postgresql://...`
processes: init, import, update, undo, alerts import, refresh (a loopback feed), followups, map,
report, export. The same flow runs on a SQLite file, and every output that does not name the
database must be the same on both engines."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
from conftest import DEMO_AS_OF, GALE_2021, SAMPLE_2021
from loopback import make_config, serving

from monitor.store import open_store

CMA_BEIJING = GALE_2021


@pytest.fixture(scope="module")
def feed():
    with serving() as s:
        s.expect_request("/cma").respond_with_data(CMA_BEIJING.read_bytes(), content_type="application/json")
        yield s.url_for("/cma")


def run_flow(db: str, folder, feed_url: str) -> dict:
    """The flows, in order, on `db`; what each printed (JSON parsed), and the written files' text."""
    config = make_config(folder, [{"name": "cma", "kind": "cma", "url": feed_url}])
    env = {k: v for k, v in os.environ.items() if k not in ("MONITOR_DB", "MONITOR_NOW", "MONITOR_CONFIG")}

    def monitor(*args: str, as_of: str = DEMO_AS_OF) -> str:
        r = subprocess.run([sys.executable, "-m", "monitor", "--db", db, "--config", str(config), "--as-of", as_of,
                            *args], capture_output=True, text=True, encoding="utf-8", env=env, timeout=300)
        assert r.returncode == 0, f"monitor {' '.join(args)}: {r.stderr[-2000:]}"
        assert "Traceback" not in r.stderr
        return r.stdout

    out: dict = {}
    monitor("init")
    monitor("facility", "import", str(SAMPLE_2021))
    monitor("facility", "update", "2", "--status", "ok", "--note", "更换循环泵", "--by", "王磊")
    monitor("facility", "update", "3", "--status", "defect", "--note", "漏水", "--by", "李娜")
    monitor("facility", "undo", "3", "--by", "李娜")
    out["history"] = json.loads(monitor("facility", "history", "3", "--json"))
    monitor("alerts", "import", str(GALE_2021))
    out["refresh"] = json.loads(monitor("alerts", "refresh", "--json"))["sources"]
    out["alerts"] = json.loads(monitor("alerts", "list", "--json"))
    out["followups"] = json.loads(monitor("followups", "--json"))
    monitor("map", "--out", str(folder / "map.html"))
    monitor("report", "--month", "2021-10", "--format", "csv", "--out", str(folder / "report.csv"))
    monitor("report", "--month", "2021-10", "--out", str(folder / "report.html"))
    monitor("export", "--format", "csv", "--out", str(folder / "export.csv"))
    with open(folder / "report.csv", encoding="utf-8-sig") as f:
        out["report"] = list(csv.reader(f))
    with open(folder / "export.csv", encoding="utf-8-sig") as f:
        out["export"] = list(csv.reader(f))
    out["map"] = (folder / "map.html").stat().st_size > 0
    return out


@pytest.fixture(scope="module")
def on_sqlite(tmp_path_factory, feed):
    folder = tmp_path_factory.mktemp("sqlite")
    return run_flow(str(folder / "monitor.db"), folder, feed)


def test_the_main_flows_on_postgresql_match_sqlite(pg_url, tmp_path, feed, on_sqlite):
    out = run_flow(pg_url, tmp_path, feed)
    assert out["followups"] and out["alerts"] and out["map"]
    undo, change = out["history"]["history"][:2]
    assert change["new_status"] == "defect" and undo["undoes"] == change["id"]
    for key in ("history", "alerts", "followups", "report", "export"):
        assert out[key] == on_sqlite[key], key
    assert [(s["source"], s["ok"]) for s in out["refresh"]] == [("cma", True)]
    s = open_store(pg_url)
    try:
        assert s.facility(2)["status"] == "ok"
        assert s.meta("evaluated_at") is not None
    finally:
        s.close()


def test_the_refresh_lock_is_held_in_the_database(pg_url, tmp_path, feed):
    """A second refresh while one holds the advisory lock does nothing and says so (no lock file)."""
    config = make_config(tmp_path, [{"name": "cma", "kind": "cma", "url": feed}])
    env = {k: v for k, v in os.environ.items() if k not in ("MONITOR_DB", "MONITOR_NOW", "MONITOR_CONFIG")}
    holder = open_store(pg_url)
    try:
        with holder.refresh_lock() as held:
            assert held
            r = subprocess.run([sys.executable, "-m", "monitor", "--db", pg_url, "--config", str(config), "alerts",
                                "refresh", "--json"], capture_output=True, text=True, encoding="utf-8", env=env,
                               timeout=300)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == {"lock_held": True, "exit_code": 0}
    finally:
        holder.close()
    assert not list(tmp_path.glob("*.lock"))


def test_an_unreachable_server_is_one_clear_line(tmp_path, pg_server):
    url = pg_server.url("no_such_database")
    r = subprocess.run([sys.executable, "-m", "monitor", "--db", url, "status"], capture_output=True, text=True,
                       encoding="utf-8", timeout=120)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1
    assert "monitor db create" in r.stderr


def test_db_create_then_init_on_a_new_database(pg_server):
    """The README's one command: `monitor db create URL` makes the database (C collation, PostGIS,
    the tables); run again it changes nothing; then `init` loads the townships as on a file."""
    url = pg_server.url("created_by_monitor")
    env = {k: v for k, v in os.environ.items() if k not in ("MONITOR_DB", "MONITOR_NOW", "MONITOR_CONFIG")}

    def monitor(*args):
        return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True,
                              encoding="utf-8", env=env, timeout=300)

    r = monitor("db", "create", url)
    assert r.returncode == 0 and "created" in r.stdout, r.stderr
    r = monitor("db", "create", url)
    assert r.returncode == 0 and "already there" in r.stdout, r.stderr
    r = monitor("--db", url, "init")
    assert r.returncode == 0 and "16 townships" in r.stdout, r.stderr
    s = open_store(url)
    try:
        assert len(s.township_records()) == 16
        assert s.conn.execute("SELECT datcollate FROM pg_database WHERE datname = current_database()"
                              ).fetchone()[0] == "C"
    finally:
        s.close()
    r = monitor("db", "create", "monitor.db")
    assert r.returncode == 2 and "not a PostgreSQL URL" in r.stderr


def test_a_password_is_never_shown():
    from monitor.store.urls import shown_url

    assert shown_url("postgresql://monitor:s3cret@db.example/huairou") == "postgresql://monitor:***@db.example/huairou"
    assert shown_url("postgresql://monitor@db.example/huairou") == "postgresql://monitor@db.example/huairou"


def test_the_config_file_may_name_a_postgresql_database(pg_url, tmp_path):
    """[store] db = "postgresql://..." selects PostgreSQL as --db does (never a folder named
    'postgresql:' beside the config), and a URL handed to the SQLite engine is refused."""
    from conftest import CONFIG

    from monitor.errors import UsageError
    from monitor.store import Store

    text = CONFIG.read_text(encoding="utf-8").replace('db = "monitor.db"', f'db = "{pg_url}"', 1)
    text = text.replace('"geodata/', f'"{CONFIG.parent}/geodata/')
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("MONITOR_DB", "MONITOR_NOW", "MONITOR_CONFIG")}
    r = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "init"], capture_output=True,
                       text=True, encoding="utf-8", env=env, timeout=300, cwd=tmp_path)
    assert r.returncode == 0 and "16 townships" in r.stdout, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]
    s = open_store(pg_url)
    try:
        assert len(s.township_records(with_geometry=False)) == 16
    finally:
        s.close()
    with pytest.raises(UsageError, match="PostgreSQL URL"):
        Store.open(pg_url)
