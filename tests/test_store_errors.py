"""What the disk, the permissions and other processes can do to the database, and what the user
reads: a read-only database (file or folder) serves every reading command and refuses a write in
words; a lock held past the busy timeout, a full disk and an I/O error each give one line and
change nothing. Real `python -m monitor` processes; as root, they run as the unprivileged user
nobody (root ignores file permissions), through setpriv."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import DEMO_AS_OF, REPO, SAMPLE_2021, table_dump
from loopback import make_config

ENV = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
ROOT = os.geteuid() == 0
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
ADD = ["facility", "add", "--kind", "fire", "--subtype", "old_wiring", "--name", "新隐患", "--lon", "116.63712",
       "--lat", "40.73456", "--by", "测试"]


def monitor(config: Path, db: Path, *args: str, unprivileged: bool = False, code: str | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
    entry = ["-c", code] if code else ["-m", "monitor"]
    argv = [sys.executable, *entry, "--db", str(db), "--config", str(config), "--as-of", DEMO_AS_OF, *args]
    if unprivileged and ROOT:
        argv = NOBODY + argv
    return subprocess.run(argv, env={**ENV, "HOME": "/tmp"}, capture_output=True, text=True, timeout=300,
                          cwd=cwd or "/tmp")


def one_clear_line(r: subprocess.CompletedProcess, words: str) -> None:
    assert "Traceback" not in r.stderr, r.stderr
    assert words in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.fixture(scope="module")
def shared():
    """A folder outside pytest's private tmp (which nobody cannot enter): a database with the
    townships and the sample facilities, and a config with no feeds (so status is not stale)."""
    if ROOT and not shutil.which("setpriv"):
        pytest.skip("setpriv is needed to run the CLI as an unprivileged user")
    folder = Path(tempfile.mkdtemp(prefix="monitor-ro-", dir="/tmp"))
    folder.chmod(0o755)
    config = make_config(folder, [])
    config.chmod(0o644)
    db = folder / "monitor.db"
    for args in (["init"], ["facility", "import", str(REPO / "geodata" / "sample_facilities.csv")], ["followups"]):
        r = monitor(config, db, *args)
        assert r.returncode == 0, r.stderr
    out = folder / "out"  # where the unprivileged user may write its outputs
    out.mkdir()
    out.chmod(0o777)
    yield folder, config, db, out
    for p in folder.rglob("*"):
        p.chmod(0o777) if p.is_dir() else None
    folder.chmod(0o777)
    shutil.rmtree(folder)


@pytest.fixture(params=["read-only folder", "read-only file"])
def readonly_db(shared, request):
    """The database as a user who may read but not write it: in a folder that user may not write
    (SQLite cannot create the -wal and -shm files), or a read-only file in a folder it may."""
    folder, config, db, out = shared
    assert not Path(str(db) + "-wal").exists()  # every commit is in the file
    if request.param == "read-only folder":
        target, where = db, folder
    else:
        where = out / "rofile"
        where.mkdir(exist_ok=True)
        where.chmod(0o777)
        target = where / "monitor.db"
        shutil.copy(db, target)
    target.chmod(0o444)
    if not ROOT:
        where.chmod(0o555) if where == folder else None
    yield config, target, out
    if not ROOT and where == folder:
        folder.chmod(0o755)
    target.chmod(0o644)


READING = [
    ["townships", "list"],
    ["facility", "list", "--township", "汤河口"],
    ["facility", "show", "1"],
    ["alerts", "list"],
    ["status"],
    ["map", "--out", "{out}/map.html"],
    ["report", "--month", "2021-10", "--out", "{out}/review.html"],
    ["export", "--format", "geojson", "--out", "{out}/all.geojson"],
]


def test_reading_commands_work_on_a_read_only_database(readonly_db):
    config, db, out = readonly_db
    before = table_dump(db)
    for args in READING:
        r = monitor(config, db, *[a.format(out=out) for a in args], unprivileged=True)
        assert r.returncode == 0, f"{args}: {r.stderr}"
        assert "Traceback" not in r.stderr
    assert table_dump(db) == before


def test_a_write_on_a_read_only_database_says_so(readonly_db):
    config, db, out = readonly_db
    before = table_dump(db)
    r = monitor(config, db, *ADD, unprivileged=True)
    assert r.returncode == 1
    one_clear_line(r, "is read-only")
    assert "只读" in r.stderr and "not a monitor database" not in r.stderr
    if db.parent.stat().st_mode & 0o002 == 0:
        # the cron job too: in a read-only folder it cannot even take its lock beside the database
        r = monitor(config, db, "alerts", "refresh", unprivileged=True)
        assert r.returncode == 1
        one_clear_line(r, "cannot create the refresh lock")
    assert table_dump(db) == before


def test_a_new_database_in_a_folder_it_may_not_write(shared):
    folder, config, db, out = shared
    if not ROOT:
        pytest.skip("needs a folder this user may not write")
    r = monitor(config, folder / "new.db", "init", unprivileged=True)
    assert r.returncode == 1
    one_clear_line(r, "cannot open the database")
    assert not (folder / "new.db").exists()


def test_a_lock_held_past_the_busy_timeout(shared, tmp_path):
    folder, _, db, _ = shared
    config = make_config(tmp_path, [])
    config.write_text(config.read_text(encoding="utf-8").replace("busy_timeout_ms = 30000", "busy_timeout_ms = 200"),
                      encoding="utf-8")
    before = table_dump(db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer that does not let go
    try:
        r = monitor(config, db, *ADD)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert r.returncode == 1
    one_clear_line(r, "is locked by another process for longer than 0.2 s")
    assert table_dump(db) == before


# Errors injected at the sqlite3 boundary, in the real CLI process: `monitor.store.sqlite._connect` is
# wrapped so that the connection it returns misbehaves as a failing disk would.
FULL = """
import sys, monitor.store.sqlite as store
real = store._connect
def connect(path, ms):
    conn = real(path, ms)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")  # the database may not grow: SQLITE_FULL
    return conn
store._connect = connect
from monitor.cli import main
main(prog_name="monitor")
"""

IOERR = """
import sqlite3, monitor.store.sqlite as store
class Failing(sqlite3.Connection):
    def execute(self, sql, *args):
        if sql == "COMMIT":
            e = sqlite3.OperationalError("disk I/O error")
            e.sqlite_errorcode, e.sqlite_errorname = 4874, "SQLITE_IOERR_WRITE"
            raise e
        return super().execute(sql, *args)
real = sqlite3.connect
store.sqlite3.connect = lambda *a, **k: real(*a, factory=Failing, **k)
from monitor.cli import main
main(prog_name="monitor")
"""


@pytest.mark.parametrize("code,words", [(FULL, "is full"), (IOERR, "disk I/O error")], ids=["full", "ioerr"])
def test_a_failing_disk_changes_nothing_and_says_so(shared, code, words):
    folder, config, db, _ = shared
    before = table_dump(db)
    # other sites than the database holds (the 2021 sample, its own refs): the import must write
    r = monitor(config, db, "facility", "import", str(SAMPLE_2021), code=code)
    assert r.returncode == 1
    one_clear_line(r, words)
    assert "nothing was changed" in r.stderr
    assert table_dump(db) == before
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_full_filesystem(tmp_path):
    """A real full disk: a small tmpfs (root only, where mounting is allowed)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if not ROOT or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)],
                                  capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        config = make_config(tmp_path, [])
        db = mnt / "monitor.db"
        assert monitor(config, db, "init").returncode == 0
        before = table_dump(db)
        filler = mnt / "filler"
        try:
            with open(filler, "wb") as f:  # fill what is left
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()
        except OSError:
            pass
        r = monitor(config, db, "facility", "import", str(REPO / "geodata" / "sample_facilities.csv"))
        assert r.returncode == 1
        one_clear_line(r, "is full")
        filler.unlink()
        assert table_dump(db) == before
        assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_not_a_database(tmp_path):
    config = make_config(tmp_path, [])
    notes = tmp_path / "notes.db"
    notes.write_text("会议记录 minutes", encoding="utf-8")
    r = monitor(config, notes, "townships", "list")
    assert r.returncode == 1
    one_clear_line(r, "not a monitor database")
    assert notes.read_text(encoding="utf-8") == "会议记录 minutes"
