"""config.toml is parsed once, into typed settings, and checked whole before any command runs:
a bad value is refused with its line (exit 2) and nothing is changed; a key left out takes its
documented default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CONFIG, DEMO_AS_OF, Cli, table_dump
from loopback import make_config

from monitor.config import MapSettings, load
from monitor.errors import ConfigError

ENV = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}


def monitor(config: Path, db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor", "--db", str(db), "--config", str(config),
                           "--as-of", DEMO_AS_OF, *args], env=ENV, capture_output=True, text=True, timeout=300)


def edited(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """A copy of a working config (one forecast feed) with `old` replaced by `new`, and the line
    `new` is on."""
    path = make_config(tmp_path, [{"name": "open-meteo", "kind": "forecast",
                                   "url": "http://127.0.0.1:9/f?latitude={lat}&longitude={lon}"}])
    text = path.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return path, text[:text.index(new)].count("\n") + 1


@pytest.fixture
def site(tmp_path):
    cli = Cli(tmp_path / "monitor.db", make_config(tmp_path, []))
    cli("init")
    cli("facility", "add", "--kind", "heating", "--subtype", "boiler_room", "--name", "锅炉房", "--lon", "116.63712",
        "--lat", "40.73456", "--by", "测试", as_of=DEMO_AS_OF)
    return cli


@pytest.mark.parametrize("old,new,words", [
    ('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"', "[district] timezone = 'Mars/Olympus'"),
    ("busy_timeout_ms = 30000", 'busy_timeout_ms = "soon"', "[store] busy_timeout_ms = 'soon'"),
    ('hazards = ["gale", "forest_fire"]', 'hazards = ["gale", "forest_fyre"]', "unknown hazard 'forest_fyre'"),
    ('name = "open-meteo"', 'name = ""', "needs a name"),
    ("retries = 2", "retries = -1", "[fetch] retries"),
], ids=["timezone", "busy-timeout", "rule", "source", "fetch"])
def test_a_bad_value_is_refused_with_its_line_before_anything_is_written(site, tmp_path, old, new, words):
    (tmp_path / "bad").mkdir()
    config, line = edited(tmp_path / "bad", old, new)
    if "name" in old:  # a [[sources]] entry is reported at its header
        line -= 1
    before = table_dump(site.db)
    r = monitor(config, site.db, "facility", "update", "1", "--status", "defect", "--note", "漏水", "--by", "王磊")
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"config.toml:{line}:" in r.stderr and words in r.stderr, r.stderr
    assert table_dump(site.db) == before  # refused before the change, not after it


def test_a_missing_optional_key_takes_its_default(site, tmp_path):
    config, _ = edited(tmp_path, 'out = "maps/risk.html"', "")
    r = monitor(config, site.db, "map")
    assert r.returncode == 0, r.stderr
    assert (config.parent / "maps" / "risk.html").is_file()


@pytest.mark.parametrize("section,body,words", [
    ("store", 'busy_timeout_ms = -1', "must be a whole number of milliseconds from 0 to 3600000"),
    ("store", 'busy_timeout_ms = true', "must be a whole number"),
    ("store", 'db = 5', "must be a file path"),
    ("district", 'code = "11011"', "division code"),
    ("district", 'name = 3', "must be text"),
    ("map", 'history_entries = 1.5', "from 0 to 100"),
    ("map", 'basemap = { type = "osm" }', "basemap"),
    ("map", 'basemap = { type = "tianditu" }', "needs key"),
    ("demo", 'as_of = "tomorrow"', "is not a time"),
    ("demo", 'alerts = "one.json"', "must be a list of file paths"),
    ("forecast", 'gust_ms = "strong"', "must be a number"),
    ("field", 'default_by = ["a"]', "must be text"),
])
def test_each_value_is_checked(tmp_path, section, body, words):
    path = tmp_path / "config.toml"
    path.write_text(f"# a comment\n[{section}]\n{body}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load(path)
    assert f"config.toml:3: [{section}] " in str(e.value) and words in str(e.value)


def test_typed_settings_of_the_shipped_config():
    c = load(CONFIG)
    assert c.district.timezone == "Asia/Shanghai" and c.district.code == "110116000000"
    assert c.store.busy_timeout_ms == 30_000 and c.busy_timeout_ms == 30_000
    assert c.map.out == CONFIG.parent / "maps" / "risk.html" and c.map.history_entries == 5
    assert c.demo.db == CONFIG.parent / "demo" / "demo.db" and len(c.demo.alerts) == 6
    assert c.demo.changes == CONFIG.parent / "geodata" / "sample_changes.csv"
    assert c.forecast.thresholds() == {"min_temperature_c": -15.0, "drop_48h_c": 8.0, "gust_ms": 17.0,
                                       "snowfall_mm": 5.0}


def test_an_empty_config_takes_every_default(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("", encoding="utf-8")
    c = load(path)
    assert c.map.out == tmp_path / "maps" / "risk.html" and c.map.title == MapSettings.title
    assert c.timezone == "Asia/Shanghai" and c.db_path == tmp_path / "monitor.db" and c.fetch.lock is None
    assert c.forecast.thresholds() == {} and c.district.townships is None
