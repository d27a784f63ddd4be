"""The demo's own map, built through the real CLI from its database, opened in headless chromium
with every non-file request blocked: what is drawn matches the database.

Skipped only when /usr/bin/chromium is missing (scripts/setup.sh --test installs it).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from browser import chromium, chromium_missing, load_map, offline_page
from conftest import csv_records, Cli

pytestmark = pytest.mark.skipif(chromium_missing() is not None, reason=chromium_missing() or "")

ARTIFACTS = Path(__file__).parent / "artifacts"
HOSTILE = "<script>alert(1)</script>"
DEMO_AS_OF = "2025-11-16T09:00:00+08:00"  # [demo] as_of: the 2025 scenario


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo-map")
    cli = Cli(tmp / "demo.db")
    cli("demo", "--demo-db", str(cli.db), "--out", str(tmp / "demo.html"))
    # a name typed by someone hostile, then the map again (at the demo's moment)
    cli("facility", "add", "--kind", "fire", "--subtype", "old_wiring", "--name", HOSTILE,
        "--lon", "116.63712", "--lat", "40.73456", "--by", "test", as_of=DEMO_AS_OF)
    cli("followups", "--json", as_of=DEMO_AS_OF)
    # `monitor map` with the shipped config: its forecast source has never been refreshed here
    cli("map", "--out", str(tmp / "live.html"), as_of=DEMO_AS_OF)
    return cli, tmp


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def db_counts(db: Path) -> dict:
    conn = sqlite3.connect(db)
    one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    return {"townships": one("SELECT count(*) FROM townships"),
            "facilities": one("SELECT count(*) FROM facilities"),
            "followups": one("SELECT count(*) FROM follow_ups WHERE closed IS NULL")}


def test_the_demo_map_matches_its_database(demo, browser):
    cli, tmp = demo
    want = db_counts(cli.db)
    with offline_page(browser) as (page, log):
        load_map(page, tmp / "demo.html", log)
        got = page.evaluate("({t: monitorMap.townships, a: monitorMap.alerts, f: monitorMap.facilities,"
                            " u: monitorMap.followups, stale: monitorMap.stale})")
        # the demo map was written before the hostile facility was added
        assert (got["t"], got["f"] + 1) == (want["townships"], want["facilities"]) and got["t"] == 16
        assert got["a"] == 2  # the Beijing gale and cold wave of 2025-11-15, drawn over the townships they cover
        assert got["stale"] is False and page.locator("#mm-stale").count() == 0
        assert page.locator("#mm-legend").count() == 1 and page.locator("#mm-panel .mm-followups").count() == 1
        assert "近似" in page.inner_text("#mm-legend")
        assert log.blocked == [] and log.page_errors == [] and log.console_errors == []
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "demo_map.png"))


def test_the_live_map_is_stale_and_shows_typed_text_as_text(demo, browser):
    cli, tmp = demo
    want = db_counts(cli.db)
    with offline_page(browser) as (page, log):
        load_map(page, tmp / "live.html", log)
        got = page.evaluate("({t: monitorMap.townships, f: monitorMap.facilities, u: monitorMap.followups})")
        # households and calls join the map as one row per village with households to visit and one
        # per village with open heating calls (counts only: monitor.householdview)
        cli("households", "export", str(tmp / "villages.csv"), as_of=DEMO_AS_OF)
        villages = csv_records((tmp / "villages.csv").read_text(encoding="utf-8"))
        people = sum(1 for v in villages if int(v["due_p1"]) + int(v["due_p2"]) + int(v["due_p3"])) + \
            sum(1 for v in villages if int(v["open_calls"]))
        assert people > 100
        assert (got["t"], got["f"], got["u"]) == (want["townships"], want["facilities"], want["followups"] + people)
        banner = page.locator("#mm-stale")
        assert banner.is_visible() and "STALE" in banner.inner_text() and "open-meteo" in banner.inner_text()
        page.fill("#mm-search", "alert(1)")
        hit = page.locator("#mm-search-results button").first
        hit.wait_for(timeout=5_000)
        assert hit.inner_text() == HOSTILE
        hit.click()
        page.wait_for_selector(".leaflet-popup-content", timeout=10_000)
        assert HOSTILE in page.inner_text(".leaflet-popup-content")
        assert page.locator(".leaflet-popup-content script").count() == 0
        assert log.dialogs == [] and log.blocked == [] and log.page_errors == [] and log.console_errors == []
        page.screenshot(path=str(ARTIFACTS / "live_map_stale.png"))
