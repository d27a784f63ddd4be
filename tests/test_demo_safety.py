"""`monitor demo` only ever (re)creates a database it made itself, never the one --db or
MONITOR_DB names, and the next steps it prints run as printed. Real `python -m monitor` processes."""

from __future__ import annotations

import os
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Cli, table_dump
from loopback import make_config

from monitor import outfile

BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}


def run(args: list[str], *, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture
def office(tmp_path):
    """An office's live database (MONITOR_DB in its shell), and a config whose [demo] db is in tmp."""
    config = make_config(tmp_path, [])
    text = config.read_text(encoding="utf-8")
    demo_db = next(line for line in text.splitlines() if line.startswith("db = ") and "demo" in line)
    config.write_text(text.replace(demo_db, 'db = "demo/demo.db"'), encoding="utf-8")
    cli = Cli(tmp_path / "office.db", config)
    cli("init")
    cli("facility", "add", "--kind", "fire", "--subtype", "old_wiring", "--name", "办公室的真实记录",
        "--lon", "116.63712", "--lat", "40.73456", "--by", "值班员")
    outfile.unprotect_all()
    env = {**BASE_ENV, "MONITOR_DB": str(cli.db), "MONITOR_CONFIG": str(config)}
    return cli, env


def test_the_demo_never_touches_monitor_db_and_its_next_steps_run_as_printed(office, tmp_path):
    cli, env = office
    before = table_dump(cli.db)
    work = tmp_path / "work"
    work.mkdir()
    r = run(["demo"], cwd=work, env=env)  # the README's first command, with MONITOR_DB set
    assert r.returncode == 0, r.stderr
    assert table_dump(cli.db) == before
    demo_db = tmp_path / "demo" / "demo.db"  # [demo] db, beside config.toml
    assert sqlite3.connect(demo_db).execute("SELECT value FROM meta WHERE key = 'created_by'").fetchone() == ("demo",)
    assert f"database: {demo_db}" in r.stdout

    steps = r.stdout.split("next steps", 1)[1].splitlines()[1:]
    commands = [shlex.split(line) for line in steps if line.startswith("  monitor ")]
    assert len(commands) >= 4 and any("report" in c and "--month" in c for c in commands)
    for argv in commands:
        assert argv[:3] == ["monitor", "--db", str(demo_db)]
        s = run(argv[1:], cwd=work, env=env)  # MONITOR_DB still names the office's database
        assert s.returncode == 0, f"{' '.join(argv)}: {s.stderr}"
    assert table_dump(cli.db) == before

    # and it runs again, recreating its own database
    r = run(["demo"], cwd=work, env=env)
    assert r.returncode == 0, r.stderr
    assert table_dump(cli.db) == before


@pytest.mark.parametrize("target", ["office", "text", "sqlite", "config-default"])
def test_the_demo_refuses_any_database_it_did_not_make(office, tmp_path, target):
    cli, env = office
    before = table_dump(cli.db)
    if target == "office":
        args, path = ["demo", "--demo-db", str(cli.db)], cli.db
    elif target == "text":
        path = tmp_path / "notes.db"
        path.write_text("not a database", encoding="utf-8")
        args = ["demo", "--demo-db", str(path)]
    elif target == "sqlite":
        path = tmp_path / "other.db"
        sqlite3.connect(path).execute("CREATE TABLE t (x)")
        args = ["demo", "--demo-db", str(path)]
    else:  # [demo] db in config.toml names the office's database
        config = Path(env["MONITOR_CONFIG"])
        config.write_text(config.read_text(encoding="utf-8").replace('db = "demo/demo.db"', f'db = "{cli.db}"'),
                          encoding="utf-8")
        args, path = ["demo"], cli.db
    content = path.read_bytes()
    r = run(args, cwd=tmp_path, env=env)
    assert r.returncode == 2, r.stderr
    assert "拒绝重建" in r.stderr and "refusing to recreate" in r.stderr and "Traceback" not in r.stderr
    assert path.read_bytes() == content if target != "office" else table_dump(cli.db) == before
    assert not (tmp_path / "demo").exists()


def test_the_demo_map_may_not_overwrite_its_own_database(office, tmp_path):
    cli, env = office
    db = tmp_path / "d.db"
    r = run(["demo", "--demo-db", str(db), "--out", str(db)], cwd=tmp_path, env=env)
    assert r.returncode == 2 and "拒绝覆盖" in r.stderr, r.stderr


def test_a_refused_map_leaves_the_demo_database_as_it_was(office, tmp_path):
    from monitor.store import Store

    cli, env = office
    db = tmp_path / "mine.db"
    s = Store.open(db)
    s.set_meta("created_by", "demo")  # a demo database from an earlier run
    s.conn.execute("CREATE TABLE earlier (x)")
    s.close()
    notes = tmp_path / "notes.html"
    notes.write_text("<html>not ours</html>", encoding="utf-8")
    r = run(["demo", "--demo-db", str(db), "--out", str(notes)], cwd=tmp_path, env=env)
    assert r.returncode == 2 and "拒绝覆盖" in r.stderr, r.stderr
    assert "earlier" in table_dump(db)  # not recreated
    assert notes.read_text(encoding="utf-8") == "<html>not ours</html>"
