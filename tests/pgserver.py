"""A throwaway PostgreSQL + PostGIS server for the tests: initdb in a temporary folder, a free
loopback port, torn down at the end of the session; as `nobody` when the tests run as root (the
server refuses to run as root). Tests that need it are skipped when PostgreSQL 15 and PostGIS
are not installed (scripts/setup.sh installs them with apt-get).

    from pgserver import pg_server, pg_url   # fixtures: the server, and a fresh database per test

(Stands in for tests/pgcluster.py, which another branch adds; the lead may fold them together.)
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

BIN = Path("/usr/lib/postgresql/15/bin")
POSTGIS = Path("/usr/share/postgresql/15/extension/postgis.control")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "nobody", "--", *argv] if os.geteuid() == 0 else argv


class Server:
    def __init__(self, folder: Path):
        self.folder = folder
        self.data = folder / "data"
        self.port = _free_port()

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "nobody")
        subprocess.run(_as_server_user([str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                                        "--auth=trust", "--encoding=UTF8", "--locale=C"]),
                       check=True, capture_output=True)
        subprocess.run(_as_server_user([str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"),
                                        "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
                                              " -c fsync=off", "-w", "start"]),
                       check=True, capture_output=True)

    def stop(self) -> None:
        subprocess.run(_as_server_user([str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
                       capture_output=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database (created as `monitor db create` would); its URL."""
        from monitor.store.postgres import create_database

        url = self.url("t_" + uuid.uuid4().hex[:12])
        create_database(url)
        return url


@pytest.fixture(scope="session")
def pg_server():
    if not (BIN / "initdb").exists() or not POSTGIS.exists():
        pytest.skip("PostgreSQL 15 with PostGIS is not installed (scripts/setup.sh installs it)")
    pytest.importorskip("psycopg")
    folder = Path(tempfile.mkdtemp(prefix="monitor-pg-"))
    server = Server(folder)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server) -> str:
    return pg_server.new_database()
