"""The throwaway PostgreSQL cluster the tests start themselves (tests/pgcluster.py): it starts,
PostGIS works in it, each test gets a database of its own, and nothing runs after teardown."""

from __future__ import annotations

import os

import pytest

import pgcluster

psycopg = pytest.importorskip("psycopg")

_seen: list[str] = []


def _running(pid: int) -> bool:
    """Whether a process runs: exists and is not a zombie (a daemon's exited postmaster is left
    to PID 1 to reap, and some containers' PID 1 never does)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            state = next(line for line in f if line.startswith("State:"))
    except FileNotFoundError:
        return False
    return "Z" not in state.split()[1]


def test_the_server_answers_on_loopback_with_the_test_settings(pg_url):
    assert pg_url.startswith("postgresql://postgres@127.0.0.1:")
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        assert conn.execute("SHOW fsync").fetchone() == ("off",)
        assert conn.execute("SELECT current_setting('server_version_num')::int").fetchone()[0] >= 150000


def test_postgis_works(pg_url):
    with psycopg.connect(pg_url) as conn:
        (inside,) = conn.execute(
            "SELECT ST_Contains(ST_GeomFromText('POLYGON((116 40, 117 40, 117 41, 116 41, 116 40))', 4326),"
            " ST_SetSRID(ST_MakePoint(116.63, 40.32), 4326))").fetchone()
        (metres,) = conn.execute(
            "SELECT ST_Distance(ST_MakePoint(116, 40)::geography, ST_MakePoint(116, 41)::geography)").fetchone()
    assert inside is True
    assert 110_000 < metres < 112_000  # one degree of latitude


@pytest.mark.parametrize("turn", [1, 2])
def test_each_test_gets_a_fresh_database_of_its_own(pg_url, turn):
    with psycopg.connect(pg_url) as conn:
        # what the other turn left behind is not here
        assert conn.execute("SELECT to_regclass('public.left_behind')").fetchone() == (None,)
        conn.execute("CREATE TABLE left_behind (x int)")
        (name,) = conn.execute("SELECT current_database()").fetchone()
    assert name not in _seen
    _seen.append(name)


def test_the_fixture_database_is_dropped_afterwards(pg_server):
    url = pg_server.new_database()
    pg_server.drop_database(url)
    with psycopg.connect(pg_server.url()) as conn:
        rows = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (url.rsplit("/", 1)[1],)).fetchall()
    assert rows == []


def test_teardown_leaves_no_server_running_and_no_folder(pg_server):
    # a second cluster of our own, so that the session's stays up for the other tests
    cluster = pgcluster.PgCluster.start()
    try:
        assert cluster.status() == 0
        pid = int((cluster.data / "postmaster.pid").read_text().split()[0])
        assert _running(pid)
        with psycopg.connect(cluster.new_database()) as conn:  # a client still connected: -m fast ends it
            cluster.stop()
            assert cluster.status() == 3  # pg_ctl: no server running
    finally:
        cluster.close()
    assert not _running(pid)
    assert not cluster.root.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(cluster.url(), connect_timeout=5)
    cluster.close()  # twice is fine


def test_as_root_the_server_runs_as_nobody(pg_server):
    if os.geteuid() != 0:
        pytest.skip("not running as root: the server runs as ourselves")
    pid = int((pg_server.data / "postmaster.pid").read_text().split()[0])
    assert os.stat(f"/proc/{pid}").st_uid == pgcluster.pwd.getpwnam("nobody").pw_uid
