"""Shared fixtures: the real CLI, real SQLite files under tmp_path, the shipped data."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
CONFIG = REPO / "config.toml"
DEMO_AS_OF = "2021-10-10T09:00:00+08:00"   # the 2021 fixture's moment: the Beijing gale of 2021-10-09 in force
# The 2021 SAMPLE facilities (the demo's data until it moved to 2025), kept as the fixture the
# field, list and follow-up tests are written against; the real gale of 2021-10-09 that goes with
# it is DATA/alerts/cn/weather-warning-zh-json__c1871d8.json.
SAMPLE_2021 = DATA / "sample_facilities_2021.csv"
GALE_2021 = DATA / "alerts" / "cn" / "weather-warning-zh-json__c1871d8.json"


class Cli:
    """Runs the real `monitor` command (in process, through click) against one database."""

    def __init__(self, db: Path, config: Path = CONFIG):
        self.db = db
        self.config = config
        self.runner = CliRunner()

    def __call__(self, *args: str, as_of: str | None = None, ok: bool = True, input: str | None = None):
        from monitor.cli import main

        argv = ["--db", str(self.db), "--config", str(self.config)]
        if as_of:
            argv += ["--as-of", as_of]
        env = {k: None for k in ("MONITOR_NOW", "MONITOR_DB", "MONITOR_CONFIG")}
        result = self.runner.invoke(main, argv + list(args), env=env, input=input, catch_exceptions=False)
        if ok and result.exit_code != 0:
            raise AssertionError(f"monitor {' '.join(args)} exited {result.exit_code}:\n{result.output}")
        return result


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path / "monitor.db")


@pytest.fixture
def district(cli) -> Cli:
    """A database with the shipped Huairou townships."""
    cli("init")
    return cli


@pytest.fixture
def sample(district) -> Cli:
    """... and the sample facilities."""
    district("facility", "import", str(SAMPLE_2021), as_of=DEMO_AS_OF)
    return district


def sample_rows() -> list[dict]:
    with open(SAMPLE_2021, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def table_dump(db: Path) -> dict[str, list[tuple]]:
    """Every row of every table, to show that nothing changed."""
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}
    finally:
        conn.close()


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL cluster with PostGIS for the whole session (tests/pgcluster.py);
    skips when no server binaries are installed (scripts/setup.sh --test installs them)."""
    import pgcluster

    reason = pgcluster.server_missing()
    if reason:
        pytest.skip(reason)
    cluster = pgcluster.PgCluster.start()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh PostGIS database of its own for one test: postgresql://postgres@127.0.0.1:PORT/DB."""
    url = pg_server.new_database()
    yield url
    pg_server.drop_database(url)


def csv_records(text: str) -> list[dict]:
    """The rows of a CSV this tool wrote (headers `中文 english`), keyed by the English names."""
    import io

    from monitor.tables import english

    text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    header = [english(h) for h in next(reader)]
    return [dict(zip(header, row)) for row in reader]


# The slow part of the suite (real Chromium, a PostgreSQL server, hypothesis searches, process
# races): `pytest -m "not slow"` is the quick subset, under half the time; CI runs all.
SLOW_MODULES = {"test_map_browser", "test_demo_map_browser", "test_report_print", "test_postgres_cli",
                "test_db_copy", "test_rules_properties", "test_fuzz_alerts", "test_fuzz_imports",
                "test_field_concurrency", "test_refresh_processes", "test_pgcluster"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if getattr(item, "module", None) else ""
        if module in SLOW_MODULES or {"pg_server", "pg_url"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
