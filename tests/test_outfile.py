"""Output files never destroy data: `--out` may not name the database, its -wal/-shm/-journal,
the config file, or an existing file of another kind; a killed write's temporary file is cleaned
up by the next write of the same target. CLI behaviour through real `python -m monitor` processes."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DEMO_AS_OF, REPO, Cli, table_dump
from loopback import make_config

from monitor import outfile
from monitor.errors import UsageError

ENV = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}


def monitor(site: Cli, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor", "--db", str(site.db), "--config", str(site.config),
                           "--as-of", DEMO_AS_OF, *args], env=ENV, capture_output=True, text=True, timeout=300)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A database with the townships and the sample facilities, and a config.toml of its own."""
    tmp = tmp_path_factory.mktemp("outfile")
    cli = Cli(tmp / "monitor.db", make_config(tmp, []))
    cli("init")
    cli("facility", "import", str(REPO / "geodata" / "sample_facilities.csv"), as_of=DEMO_AS_OF)
    cli("followups", as_of=DEMO_AS_OF)
    outfile.unprotect_all()  # the in-process runs above registered these paths; the tests use processes
    return cli


REFUSING = [
    ("map", "--out"),
    ("report", "--month", "2021-10", "--out"),
    ("report", "--month", "2021-10", "--format", "csv", "--out"),
    ("export", "--format", "gpkg", "--out"),
    ("export", "--format", "csv", "--out"),
    ("export", "--format", "geojson", "--out"),
    ("facility", "export", "--format", "csv", "--out"),
    ("facility", "export", "--format", "geojson", "--out"),
]


@pytest.mark.parametrize("command", REFUSING, ids=lambda c: "-".join(c[:-1]).replace("--", ""))
def test_out_may_not_name_the_database_or_the_config(site, command):
    db, config = site.db, site.config
    before = table_dump(db), digest(config)
    for target in (db, config):
        r = monitor(site, *command, str(target))
        assert r.returncode == 2, r.stderr
        assert "拒绝覆盖" in r.stderr and "refusing to" in r.stderr and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    assert (table_dump(db), digest(config)) == before
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_out_may_not_name_the_databases_wal_or_shm(site):
    for suffix in ("-wal", "-shm", "-journal"):
        target = Path(str(site.db) + suffix)
        r = monitor(site, "map", "--out", str(target))
        assert r.returncode == 2 and "database or config file in use" in r.stderr, r.stderr


@pytest.mark.parametrize("command,existing", [
    (("map", "--out"), "<!DOCTYPE html><html><head><title>本单位主页</title></head><body>our own page</body></html>"),
    (("report", "--month", "2021-10", "--out"), "<html>someone's notes</html>"),
    (("export", "--format", "csv", "--out"), "# minutes of the meeting\nnothing in columns here\n"),
    (("export", "--format", "geojson", "--out"), '{"name": "not geojson", "values": [1, 2]}'),
    (("facility", "export", "--format", "csv", "--out"), '[store]\ndb = "office.db"\n'),
])
def test_an_existing_file_of_another_kind_is_kept(site, tmp_path, command, existing):
    target = tmp_path / "existing.out"
    target.write_text(existing, encoding="utf-8")
    r = monitor(site, *command, str(target))
    assert r.returncode == 2 and "拒绝覆盖" in r.stderr and "move it away" in r.stderr, r.stderr
    assert target.read_text(encoding="utf-8") == existing
    assert [p.name for p in tmp_path.iterdir()] == ["existing.out"]


def test_another_sqlite_database_is_never_replaced_by_a_geopackage(site, tmp_path):
    other = tmp_path / "other.gpkg"
    with sqlite3.connect(other) as copy:  # a monitor database named like a GeoPackage
        sqlite3.connect(site.db).backup(copy)
    r = monitor(site, "export", "--format", "gpkg", "--out", str(other))
    assert r.returncode == 2 and "a monitor database" in r.stderr, r.stderr
    plain = tmp_path / "plain.gpkg"
    sqlite3.connect(plain).execute("CREATE TABLE t (x)")
    r = monitor(site, "export", "--format", "gpkg", "--out", str(plain))
    assert r.returncode == 2 and "a SQLite database" in r.stderr, r.stderr


def test_our_own_files_are_replaced(site, tmp_path):
    for command, name in [(("map", "--out"), "risk.html"), (("report", "--month", "2021-10", "--out"), "r.html"),
                          (("report", "--month", "2021-10", "--format", "csv", "--out"), "r.csv"),
                          (("export", "--format", "gpkg", "--out"), "x.gpkg"),
                          (("export", "--format", "csv", "--out"), "x.csv"),
                          (("facility", "export", "--format", "geojson", "--out"), "x.geojson")]:
        target = tmp_path / name
        for _ in range(2):  # written, then replaced
            r = monitor(site, *command, str(target))
            assert r.returncode == 0, r.stderr
        assert not [p for p in tmp_path.iterdir() if ".part" in p.name]
    # an empty file holds nothing to lose
    empty = tmp_path / "empty.html"
    empty.touch()
    assert monitor(site, "map", "--out", str(empty)).returncode == 0


def test_a_killed_writes_temporary_file_is_removed_by_the_next_write(site, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer runs
    stale = tmp_path / f".risk.html.{dead.pid}.part.html"
    stale.write_text("<!DOCTYPE html><html><head>half a ma", encoding="utf-8")
    running = tmp_path / f".risk.html.{os.getpid()}.part.html"  # a write still going on (this process)
    running.write_text("<!DOCTYPE html>", encoding="utf-8")
    other = tmp_path / f".other.html.{dead.pid}.part.html"  # another target's: not this write's business
    other.write_text("x", encoding="utf-8")
    r = monitor(site, "map", "--out", str(tmp_path / "risk.html"))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["risk.html", running.name, other.name])


def test_the_map_and_the_review_carry_the_generator_marker(site, tmp_path):
    for command, name in [(("map", "--out"), "m.html"), (("report", "--month", "2021-10", "--out"), "r.html")]:
        assert monitor(site, *command, str(tmp_path / name)).returncode == 0
        head = (tmp_path / name).read_text(encoding="utf-8")[:2000]
        assert outfile.GENERATOR_META in head


def test_sniffing(tmp_path):
    def kind_of(name: str, content: str | bytes) -> str:
        p = tmp_path / name
        p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return outfile._sniff(p)

    assert kind_of("a.csv", "\ufeffid,name,lon\n1,\"a, b\",116.1\n2,c,116.2\n") == "csv"
    assert kind_of("b.csv", "a,b\n1,2,3\n") == "other"
    assert kind_of("c.geojson", '{"type": "FeatureCollection", "features": []}') == "geojson"
    assert kind_of("d.json", '{"a": 1}') == "other"
    assert kind_of("e.toml", 'x = 1') == "toml"
    assert kind_of("e.txt", '[store]\ndb = "x.db"\n') == "toml"
    assert kind_of("f.pdf", b"%PDF-1.7\n...") == "pdf"
    assert kind_of("g.bin", b"\x00\x01\x02") == "other"
    old_map = "<!DOCTYPE html>\n<html>\n<head>" + "x" * 100_000 + "window.MonitorRiskMap = {}</html>"
    assert kind_of("old.html", old_map) == "html"  # a map written before the marker existed
    with pytest.raises(ValueError):
        outfile.check_target(tmp_path / "new.x", "docx")


def test_protect_covers_links_to_the_same_file(tmp_path):
    db = tmp_path / "m.db"
    db.write_bytes(b"")
    link = tmp_path / "link.html"
    os.link(db, link)
    outfile.protect(db, database=True)
    try:
        with pytest.raises(UsageError, match="in use"):
            outfile.check_target(link, "html")
        with pytest.raises(UsageError, match="in use"):
            outfile.check_target(tmp_path / "m.db-wal", "html")
    finally:
        outfile.unprotect_all()
