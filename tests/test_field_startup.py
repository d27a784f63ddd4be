"""`monitor facility update` starts fast: it loads none of the heavy libraries.

The one exception: after the change is saved, `update` and `undo` re-evaluate that one site's
follow-ups with the rule engine, which needs numpy and shapely (about 0.1-0.2 s; measured in
the README). Nothing else heavy, and `show`, `history` and `status` load neither."""

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

HEAVY = ("pandas", "geopandas", "shapely", "folium", "httpx", "numpy", "sqlite_utils", "pyproj", "lxml", "branca",
         "jinja2", "xmlschema", "pyogrio", "pypinyin")
RULE_ENGINE = {"numpy", "shapely"}  # the one-site re-evaluation after update and undo


def monitor_script() -> list[str]:
    """The installed `monitor` console script, run by this interpreter (so -X options apply)."""
    script = Path(sys.executable).parent / "monitor"
    if not script.exists():
        found = shutil.which("monitor")
        if not found:
            pytest.skip("the monitor console script is not installed")
        script = Path(found)
    return [str(script)]


def imported(stderr: str) -> set[str]:
    """Top-level names of the modules listed by -X importtime."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.mark.parametrize("entry", ["script", "module"])
def test_update_imports_nothing_heavy(sample, entry):
    argv = monitor_script() if entry == "script" else ["-m", "monitor"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LOGNAME": "tester"}
    r = subprocess.run(
        [sys.executable, "-X", "importtime", *argv, "--db", str(sample.db), "--config", str(REPO / "config.toml"),
         "facility", "update", "2", "--status", "ok", "--note", "更换循环泵", "--by", "王磊"],
        capture_output=True, text=True, encoding="utf-8", env=env, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "维修中 under repair -> 正常 ok" in r.stdout
    conn = sqlite3.connect(sample.db)
    assert conn.execute("SELECT status FROM facilities WHERE id = 2").fetchone()[0] == "ok"
    names = imported(r.stderr)
    assert {"click", "sqlite3", "monitor"} <= names  # the importtime listing was read correctly
    assert not names & (set(HEAVY) - RULE_ENGINE), sorted(names & set(HEAVY))


def test_the_check_sees_heavy_imports(sample):
    """The listing above would show a heavy module if one were loaded (here: by `facility add`)."""
    r = subprocess.run(
        [sys.executable, "-X", "importtime", *monitor_script(), "--db", str(sample.db), "--config",
         str(REPO / "config.toml"), "facility", "add", "-k", "heating", "-t", "boiler_room", "--name", "x",
         "--lon", "116.63712", "--lat", "40.73456", "--by", "x"],
        capture_output=True, text=True, encoding="utf-8", timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    assert {"numpy", "shapely"} <= imported(r.stderr)


@pytest.mark.parametrize("args", [
    ["facility", "show", "2"], ["facility", "history", "2"], ["facility", "undo", "2", "--by", "x"], ["status"],
    ["facility", "update", "2", "--status", "ok", "--note", "复查正常", "--by", "x"],  # a note alone: no re-evaluation
], ids=lambda a: " ".join(a[:2]) + (" (note only)" if "--note" in a else ""))
def test_other_light_commands_import_nothing_heavy(sample, args):
    """Looking a facility up, undoing a change (but for its re-evaluation), a note on an unchanged
    status and `status` (a monitoring check) stay light too."""
    sample("facility", "update", "2", "--status", "ok", "--note", "n", "--by", "x")
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "monitor", "--db", str(sample.db), "--config",
         str(REPO / "config.toml"), *args],
        capture_output=True, text=True, encoding="utf-8", timeout=60,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "COLUMNS": "200"})
    assert r.returncode in (0, 1), r.stderr[-2000:]  # status exits 1: the shipped source is never refreshed
    names = imported(r.stderr)
    allowed = RULE_ENGINE if args[1:2] == ["undo"] else set()
    assert "monitor" in names and not names & (set(HEAVY) - allowed), sorted(names & set(HEAVY))
