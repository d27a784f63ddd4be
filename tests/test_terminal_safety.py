"""Control characters from data never reach the terminal raw (issue 9, item 12).

The alert is the real pynws Flood Watch feature (tests/data/alerts/nws/pynws_alerts_active_zone.json)
with terminal escape sequences written into its event, headline and description here.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from monitor.terminal import json_safe, printable

NWS_FEATURE = Path(__file__).parent / "data" / "alerts" / "nws" / "pynws_alerts_active_zone.json"
TITLE = "\x1b]0;pwned\x07"  # retitles an xterm window
CLEAR = "\x1b[2J"
C1 = "\x9b31m"  # CSI as one C1 character
BIDI = "\u202e"
RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def run(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor", "--db", str(db), "--config", str(REPO / "config.toml"),
                           *args], capture_output=True, text=True, encoding="utf-8", timeout=120,
                          env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "COLUMNS": "200"})


@pytest.fixture
def hostile(district, tmp_path):
    f = json.loads(NWS_FEATURE.read_text(encoding="utf-8"))["features"][0]
    p = f["properties"]
    p["event"] = f"Flood{TITLE}Watch"
    p["headline"] = f"{CLEAR}headline {C1}red{BIDI}txet"
    p["description"] = f"第一行 line one\n第二行{TITLE} line two\r\nthree"
    p["geometry"] = None
    doc = tmp_path / "hostile.json"
    doc.write_text(json.dumps({"type": "Feature", **{k: v for k, v in f.items() if k != "type"}}), encoding="utf-8")
    r = run(district.db, "alerts", "import", str(doc))
    assert r.returncode == 0, r.stderr
    return district


def test_alerts_show_escapes_controls_and_keeps_chinese_and_newlines(hostile):
    r = run(hostile.db, "alerts", "show", "1")
    assert r.returncode == 0 and not RAW.search(r.stdout + r.stderr), repr(r.stdout)
    assert "Flood\\x1b]0;pwned\\x07Watch" in r.stdout
    assert "\\x1b[2Jheadline \\x9b31mred\\u202etxet" in r.stdout
    assert "第一行 line one\n第二行\\x1b]0;pwned\\x07 line two\\x0d\nthree" in r.stdout


def test_alerts_list_table_and_json_are_escaped_and_json_still_says_the_same(hostile):
    r = run(hostile.db, "alerts", "list")
    assert r.returncode == 0 and not RAW.search(r.stdout), repr(r.stdout)
    assert "\\x1b]0;pwned" in r.stdout.replace("\n", "").replace("│", "").replace(" ", "")
    r = run(hostile.db, "alerts", "show", "1", "--json")
    assert r.returncode == 0 and not RAW.search(r.stdout)
    data = json.loads(r.stdout)
    assert data["headline"] == f"{CLEAR}headline {C1}red{BIDI}txet"  # escaped in transit, not changed


def test_an_import_error_quoting_data_is_escaped(district, tmp_path):
    rows = (REPO / "geodata" / "sample_facilities.csv").read_text(encoding="utf-8").splitlines()[:2]
    header = rows[0].split(",")
    cells = rows[1].split(",")
    cells[header.index("kind")] = f"heat{TITLE}ing"
    cells[header.index("name")] = f"x{TITLE}y"
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([rows[0], ",".join(cells)]) + "\n", encoding="utf-8")
    r = run(district.db, "facility", "import", str(bad))
    assert r.returncode == 1 and not RAW.search(r.stderr), repr(r.stderr)


def test_a_config_error_quoting_a_name_is_escaped(district, tmp_path):
    from loopback import make_config

    twice = [{"name": f"x{TITLE}", "kind": "cap", "url": "http://127.0.0.1:9/a"}] * 2
    config = make_config(tmp_path, twice)
    r = subprocess.run([sys.executable, "-m", "monitor", "--db", str(district.db), "--config", str(config),
                        "alerts", "refresh"], capture_output=True, text=True, encoding="utf-8", timeout=60,
                       env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    assert r.returncode == 2 and "x\\x1b]0;pwned\\x07" in r.stderr and not RAW.search(r.stderr), repr(r.stderr)


def test_printable_and_json_safe():
    assert printable("a\tb\nc") == "a\tb\nc" and printable(None) == ""
    assert printable("a\nb", newlines=False) == "a\\x0ab"
    assert printable("\x00\x7f\x85\u2066") == "\\x00\\x7f\\x85\\u2066"
    text = json.dumps({"k": f"{C1}{BIDI}中"}, ensure_ascii=False)
    assert json.loads(json_safe(text)) == {"k": f"{C1}{BIDI}中"} and not RAW.search(json_safe(text))
