"""`monitor status`: counts and per-source freshness, and the exit status a monitoring check reads;
and the demo, whose replayed warnings must not look stale."""

from __future__ import annotations

import json

import pytest
from conftest import SAMPLE_2021, Cli
from loopback import ALERTS, closed_port, make_config, serving

CMA_BEIJING = ALERTS / "cn" / "weather-warning-zh-json__c1871d8.json"
T0 = "2021-10-10T09:00:00+08:00"


@pytest.fixture(scope="module")
def http():
    with serving() as s:
        s.expect_request("/cma").respond_with_data(CMA_BEIJING.read_bytes(), content_type="application/json")
        yield s


def status(cli, as_of, code):
    r = cli("status", "--json", as_of=as_of, ok=False)
    assert r.exit_code == code, r.output
    return json.loads(r.stdout)


def test_fresh_then_stale_then_failing(tmp_path, http):
    url = http.url_for("/cma")
    cli = Cli(tmp_path / "m.db", make_config(tmp_path, [
        {"name": "cma", "kind": "cma", "url": url, "max_age_minutes": 30},
        {"name": "off", "kind": "cma", "url": url, "enabled": False}]))
    cli("init")
    cli("facility", "import", str(SAMPLE_2021), as_of=T0)

    never = status(cli, T0, 1)
    assert [(s["source"], s["stale"], s["last_success"]) for s in never["sources"]] == [("cma", True, None)]

    cli("alerts", "refresh", as_of=T0)
    fresh = status(cli, "2021-10-10T09:20:00+08:00", 0)
    (s,) = fresh["sources"]
    assert (s["last_success"], s["age_minutes"], s["max_age_minutes"], s["stale"]) == (
        "2021-10-10T01:00:00Z", 20.0, 30.0, False)
    assert fresh["stale"] == [] and fresh["townships"] == 16 and fresh["facilities"] > 100
    assert (fresh["alerts_active"], fresh["alerts_total"]) == (1, 1) and fresh["follow_ups_open"] > 0

    old = status(cli, "2021-10-10T09:31:00+08:00", 1)
    assert old["stale"] == ["cma"] and old["sources"][0]["age_minutes"] == 31.0

    # the feed goes away: the error is shown, the last success stays what it was
    dead = make_config(tmp_path, [{"name": "cma", "kind": "cma", "url": f"http://127.0.0.1:{closed_port()}/",
                                   "max_age_minutes": 30}], {"retries": 0})
    cli = Cli(cli.db, dead)
    assert cli("alerts", "refresh", as_of="2021-10-10T09:40:00+08:00", ok=False).exit_code == 75
    failing = status(cli, "2021-10-10T09:40:00+08:00", 1)
    (s,) = failing["sources"]
    assert s["last_success"] == "2021-10-10T01:00:00Z" and "cannot connect" in s["last_error"]
    assert s["last_error_at"] == "2021-10-10T01:40:00Z"

    table = cli("status", as_of="2021-10-10T09:40:00+08:00", ok=False)
    assert table.exit_code == 1 and "STALE" in table.output and "cma" in table.output


def test_no_sources_is_not_stale(tmp_path):
    cli = Cli(tmp_path / "m.db", make_config(tmp_path, []))
    cli("init")
    assert status(cli, T0, 0)["sources"] == []
    assert "no alert sources configured" in cli("status").output


def test_the_shipped_config_is_stale_until_refreshed(district):
    r = district("status", "--json", ok=False)
    assert r.exit_code == 1
    # the QWeather source ships disabled (it needs a key), so only the keyless forecast counts
    assert {s["source"] for s in json.loads(r.stdout)["sources"]} == {"open-meteo"}


def test_the_demo_replays_bundled_warnings_and_is_not_stale(tmp_path):
    pytest.importorskip("monitor.riskmap")
    cli = Cli(tmp_path / "demo.db")
    cli("demo", "--demo-db", str(cli.db), "--out", str(tmp_path / "demo.html"))
    page = (tmp_path / "demo.html").read_text(encoding="utf-8")
    assert '"stale":false' in page and "replayed from bundled files" in page
    # the same database drawn as a live map is honest about never having been refreshed
    cli("map", "--out", str(tmp_path / "live.html"))
    live = (tmp_path / "live.html").read_text(encoding="utf-8")
    assert '"stale":true' in live and "never refreshed" in live
