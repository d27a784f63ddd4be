"""A throwaway PostgreSQL cluster with PostGIS for the tests (and the benchmarks): started by us,
in a temporary folder, on a free port of 127.0.0.1, torn down at the end. No test needs a server
that the tests did not start.

    cluster = PgCluster.start()          # initdb, pg_ctl -w start, a template database with postgis
    url = cluster.new_database()         # postgresql://postgres@127.0.0.1:PORT/DB, a fresh copy
    cluster.close()                      # pg_ctl stop -m fast, then the folder is removed

The server binaries are Debian's (/usr/lib/postgresql/MAJOR/bin, the newest major; override
the folder with MONITOR_PG_BINDIR). initdb refuses to run as root, so as root the cluster is
created and run as user `nobody` (through `runuser`), in a folder chowned to it; the folder is
made directly under the system temporary folder, which `nobody` can traverse (pytest's own
tmp_path under /tmp/pytest-of-root is not).

Settings for speed, for throwaway clusters only: `fsync=off`, `synchronous_commit=off` and
`full_page_writes=off` (and `initdb --no-sync`) give up durability after an operating-system
crash or power loss, nothing else: what a committed transaction shows to other connections,
isolation, locking and constraints behave exactly as on a production server, so the tests and
the concurrency benchmark's lost-update count are unaffected (its latencies are those of a
server that does not wait for the disk: say so when quoting them). Authentication is `trust`
on 127.0.0.1 and the folder's unix socket, as user `postgres`.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

PG_LIB = Path("/usr/lib/postgresql")
PG_SHARE = Path("/usr/share/postgresql")
SUPERUSER = "postgres"
TEMPLATE = "monitor_template"
RUN_AS_WHEN_ROOT = "nobody"
SPEED_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


def server_bindir() -> Path | None:
    """The newest installed server's bin folder (the one holding initdb and pg_ctl), or None."""
    override = os.environ.get("MONITOR_PG_BINDIR")
    if override:
        return Path(override) if (Path(override) / "initdb").exists() else None
    found = []
    for bindir in PG_LIB.glob("*/bin"):
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists() and bindir.parent.name.isdigit():
            found.append((int(bindir.parent.name), bindir))
    return max(found)[1] if found else None


def server_missing() -> str | None:
    """Why no throwaway cluster can start here, or None if one can."""
    bindir = server_bindir()
    if bindir is None:
        return (f"no PostgreSQL server under {PG_LIB}/*/bin: install postgresql and its postgis package "
                "(scripts/setup.sh --test does, as root)")
    major = bindir.parent.name
    if not os.environ.get("MONITOR_PG_BINDIR") and not (PG_SHARE / major / "extension" / "postgis.control").exists():
        return f"PostGIS for PostgreSQL {major} is not installed: apt-get install postgresql-{major}-postgis-3"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root and runuser is missing: initdb refuses root and there is no way to drop to nobody"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -c constraints.txt psycopg psycopg-binary)"
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (start() retries if it is taken meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgCluster:
    """A running throwaway cluster; `close()` stops it and removes its folder."""

    root: Path            # the temporary folder: data/, the unix socket, server.log
    bindir: Path
    port: int
    run_as: str | None    # the user the server runs as (None: ourselves)
    _names: itertools.count = field(default_factory=lambda: itertools.count(1), repr=False)
    _closed: bool = field(default=False, repr=False)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    # -- starting -------------------------------------------------------------------------------

    @classmethod
    def start(cls, attempts: int = 3) -> PgCluster:
        """initdb into a new temporary folder and start the server on a free port; then a template
        database with the postgis extension, for new_database() to copy."""
        reason = server_missing()
        if reason:
            raise RuntimeError(reason)
        bindir = server_bindir()
        run_as = RUN_AS_WHEN_ROOT if os.geteuid() == 0 else None
        root = Path(tempfile.mkdtemp(prefix="monitor-pg-"))
        cluster = cls(root=root, bindir=bindir, port=0, run_as=run_as)
        try:
            if run_as:
                user = pwd.getpwnam(run_as)
                os.chown(root, user.pw_uid, user.pw_gid)
            cluster._run("initdb", "-D", str(cluster.data), "-U", SUPERUSER, "--auth=trust",
                         "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
            for attempt in range(attempts):
                cluster.port = free_port()
                cluster._write_settings()
                started = cluster._run("pg_ctl", "-D", str(cluster.data), "-l", str(cluster.log),
                                       "-w", "-t", "60", "start", check=False)
                if started.returncode == 0:
                    break
                if attempt == attempts - 1 or "could not bind" not in cluster._log_text():
                    raise RuntimeError(f"pg_ctl start failed ({started.returncode}): {started.stderr.strip()}\n"
                                       f"{cluster._log_text()[-2000:]}")
            cluster._make_template()
        except BaseException:
            cluster.close()
            raise
        atexit.register(cluster.close)  # if the session fixture's teardown never runs
        return cluster

    def _write_settings(self) -> None:
        # postgresql.auto.conf is read after postgresql.conf: later settings win; rewritten on a retry
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.root}'",
            **SPEED_SETTINGS,
        }
        text = "".join(f"{k} = {v}\n" for k, v in settings.items())
        path = self.data / "postgresql.auto.conf"
        if self.run_as:
            self._run("sh", "-c", 'cat > "$1"', "sh", str(path), input=text, bindir=False)
        else:
            path.write_text(text, encoding="utf-8")

    def _make_template(self) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        with psycopg.connect(self.url(TEMPLATE), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE {TEMPLATE} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")

    # -- databases ------------------------------------------------------------------------------

    def new_database(self, prefix: str = "test") -> str:
        """A fresh database copied from the postgis template; its URL."""
        import psycopg

        if not re.fullmatch(r"[a-z_][a-z0-9_]*", prefix):
            raise ValueError(f"database prefix {prefix!r}: lower-case letters, digits and _ only")
        name = f"{prefix}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by new_database(), closing whatever is still connected to it."""
        import psycopg

        name = url.rsplit("/", 1)[1]
        if self._closed or not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or name in ("postgres", TEMPLATE):
            return
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    # -- stopping -------------------------------------------------------------------------------

    def status(self) -> int:
        """pg_ctl status's exit code: 0 running, 3 not running, 4 no data folder."""
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode

    def stop(self) -> None:
        """pg_ctl stop -m fast (waits until the server has exited); the folder stays."""
        if self.data.exists() and self.status() == 0:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def close(self) -> None:
        """Stop the server and remove the folder. Safe to call twice."""
        if self._closed:
            return
        try:
            self.stop()
        finally:
            self._closed = True
            shutil.rmtree(self.root, ignore_errors=True)

    # -- helpers --------------------------------------------------------------------------------

    def _run(self, program: str, *args: str, check: bool = True, input: str | None = None,
             bindir: bool = True) -> subprocess.CompletedProcess:
        exe = str(self.bindir / program) if bindir else program
        argv = [exe, *args]
        if self.run_as:
            argv = ["runuser", "-u", self.run_as, "--", *argv]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
               "TZ": "UTC"}
        done = subprocess.run(argv, input=input, capture_output=True, text=True, env=env, cwd=self.root,
                              timeout=300)
        if check and done.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(args)} failed ({done.returncode}): "
                               f"{done.stderr.strip() or done.stdout.strip()}")
        return done

    def _log_text(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""


if __name__ == "__main__":  # for the benchmarks by hand: start one, print its URL, stop on Enter
    c = PgCluster.start()
    try:
        print(c.new_database("bench"), flush=True)
        input("PostgreSQL is running; press Enter to stop it and remove its folder. ")
    finally:
        c.close()
