"""One bad feed must not freeze everything (issue 9, item 4): geometry is checked when parsed
(monitor.alerts.geometry), read tolerantly when stored (monitor.spatial), and a bad alert can
be withdrawn (`monitor alerts withdraw`).

The NaN / Infinity documents are made here from the real pynws Flood Watch feature
(tests/data/alerts/nws/pynws_alerts_active_zone.json) with its geometry, id and times replaced.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DEMO_AS_OF, REPO, table_dump

from monitor.alerts import geometry, ingest, parse_document
from monitor.alerts.model import Alert
from monitor.store import Store

DATA = Path(__file__).parent / "data" / "alerts"
NWS_FEATURE = DATA / "nws" / "pynws_alerts_active_zone.json"
CAP = DATA / "cap"
NAN = float("nan")
INF = float("inf")
# over 怀柔镇 and its neighbours (lon, lat)
HUAIROU_RING = [[116.5, 40.25], [116.75, 40.25], [116.75, 40.45], [116.5, 40.45], [116.5, 40.25]]


def feature(geom: dict | None, identifier: str = "bad-geometry-1") -> str:
    """A single NWS Feature, in force from 2021-10-01 to 2099 (json.dumps writes NaN / Infinity)."""
    f = json.loads(NWS_FEATURE.read_text(encoding="utf-8"))["features"][0]
    p = f["properties"]
    p.update(id=identifier, sent="2021-10-01T00:00:00Z", onset="2021-10-01T00:00:00Z",
             effective="2021-10-01T00:00:00Z", expires="2099-01-01T00:00:00Z", ends=None,
             messageType="Alert", references=[])
    f["geometry"] = geom
    return json.dumps(f)


# --- the one check --------------------------------------------------------------------------


@pytest.mark.parametrize("points, says", [
    ([(116.5, 40.3), (NAN, 40.4), (116.6, 40.5), (116.5, 40.3)], "not a finite"),
    ([(116.5, 40.3), (116.7, INF), (116.6, 40.5), (116.5, 40.3)], "not a finite"),
    ([(116.5, 40.3), (116.7, 40.3), ("x", 40.5), (116.5, 40.3)], "not a finite"),
    ([(116.5, 40.3), (116.7, 40.3), (116.6, 40.5, 0), (116.5, 40.3)], None),  # a z is ignored
    ([(116.5, 40.3), (116.7, 40.3), (1e300, 40.5), (116.5, 40.3)], "outside lat"),
    ([(116.5, 40.3), (116.5, 40.3), (116.5, 40.3), (116.5, 40.3)], "1 distinct points"),
    ([(116.5, 40.3), (116.6, 40.3), (116.5, 40.3)], "2 distinct points"),
    ([(116.5, 40.3), (116.6, 40.4), (116.7, 40.5), (116.5, 40.3)], "on one line"),
    ([(116.5, 40.3), [116.7], (116.6, 40.5), (116.5, 40.3)], "not a finite"),
    ("116.5,40.3", "not a list"),
])
def test_ring_check(points, says):
    warnings = []
    out = geometry.ring(points, "polygon", warnings)
    if says is None:
        assert out == [(116.5, 40.3), (116.7, 40.3), (116.6, 40.5), (116.5, 40.3)] and warnings == []
    else:
        assert out is None and len(warnings) == 1 and says in warnings[0], warnings


def test_ring_is_closed_with_a_warning():
    warnings = []
    assert geometry.ring([(116.5, 40.3), (116.7, 40.3), (116.6, 40.5)], "p", warnings)[-1] == (116.5, 40.3)
    assert warnings == ["p was not closed; closed it"]


@pytest.mark.parametrize("c, kept", [
    ((116.6, 40.3, 5.0), True), ((116.6, 40.3, 0.0), True), ((116.6, 40.3, -1.0), False),
    ((116.6, 40.3, INF), False), ((116.6, 40.3, NAN), False), ((116.6, 40.3, 1e300), False),
    ((NAN, 40.3, 5.0), False), ((116.6, 95.0, 5.0), False), ((116.6, 40.3, "5"), True),
])
def test_circle_check(c, kept):
    warnings = []
    out = geometry.circle(*c, "circle", warnings)
    assert (out is not None) == kept and len(warnings) == (0 if kept else 1)


# --- parsers -----------------------------------------------------------------------------------


def test_nws_nan_and_infinity_rings_are_dropped_with_a_warning_and_good_parts_kept():
    bad = [[116.5, 40.25], [NAN, 40.3], [116.75, INF], [116.5, 40.25]]
    doc = parse_document(feature({"type": "MultiPolygon", "coordinates": [[bad], [HUAIROU_RING]]}).encode())
    (a,) = doc.alerts
    assert a.polygons == [[tuple(p) for p in HUAIROU_RING]]
    assert any(w.startswith("polygon 1 ignored: point 2") for w in a.warnings), a.warnings
    (b,) = parse_document(feature({"type": "Polygon", "coordinates": [bad]}).encode()).alerts
    assert b.polygons == [] and b.geocodes and any("not a finite" in w for w in b.warnings)


def test_nws_coordinates_of_the_wrong_shape_are_a_warning_not_a_crash():
    for coords in ([[116.5, 40.3]], "x", [["x"]], [[[116.5, 40.3], None]], [[[[[1]]]]]):
        (a,) = parse_document(feature({"type": "Polygon", "coordinates": coords}).encode()).alerts
        assert a.polygons == [] and any("ignored" in w for w in a.warnings), (coords, a.warnings)


def test_cap_infinite_radius_and_arealess_polygon_are_dropped():
    xml = (CAP / "v1dot2_appendix_adot3.xml").read_text(encoding="utf-8")
    assert "<circle>32.9525,-115.5527 0</circle>" in xml
    a = parse_document(xml.replace("32.9525,-115.5527 0", "32.9525,-115.5527 1e400").encode()).alerts[0]
    assert a.circles == [] and any("must be finite" in w for w in a.warnings), a.warnings
    xml2 = (CAP / "v1dot2_appendix_adot2.xml").read_text(encoding="utf-8").replace(
        "38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14",
        "38.47,-120.14 38.47,-120.14 38.47,-120.14 38.47,-120.14")
    b = parse_document(xml2.encode()).alerts[0]
    assert b.polygons == [] and any("1 distinct points" in w for w in b.warnings), b.warnings
    c = parse_document(xml2.replace("38.47,-120.14 38.47", "nan,-120.14 38.47", 1).encode()).alerts[0]
    assert c.polygons == [] and any("not a finite" in w for w in c.warnings), c.warnings


# --- the whole CLI, as a cron job and a person see it --------------------------------------


def run(db: Path, *args: str, config: Path = REPO / "config.toml") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor", "--db", str(db), "--config", str(config),
                           "--as-of", DEMO_AS_OF, *args], capture_output=True, text=True, encoding="utf-8",
                          timeout=120, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "COLUMNS": "200"})


def test_importing_a_nan_polygon_stores_it_without_the_polygon(sample, tmp_path):
    doc = tmp_path / "nan.json"
    doc.write_text(feature({"type": "Polygon", "coordinates": [[[116.5, 40.25], [NAN, 40.3], [116.75, 40.45],
                                                                [116.5, 40.25]]]}))
    r = run(sample.db, "alerts", "import", str(doc))
    assert r.returncode == 0 and "polygon 1 ignored: point 2" in r.stderr, r.stderr
    area = json.loads(sqlite3.connect(sample.db).execute("SELECT area FROM alerts").fetchone()[0])
    assert area["polygons"] == []
    r = run(sample.db, "followups", "--json")
    assert r.returncode == 0, r.stderr


@pytest.fixture
def poisoned(sample, tmp_path):
    """The sample database with a NaN-polygon rainstorm warning over Huairou stored as an older
    version stored it (ingest.save takes the Alert as given), next to a good one."""
    store = Store.open(sample.db)
    bad = Alert(source="file", format="nws", sender="w-nws.webmaster@noaa.gov", identifier="bad-1",
                sent="2021-10-01T00:00:00Z", event="Flood Watch", hazard="rainstorm", colour="orange",
                expires="2099-01-01T00:00:00Z",
                polygons=[[(116.5, 40.25), (NAN, 40.3), (116.75, INF), (116.5, 40.25)]],
                circles=[(116.6, 40.3, INF)], raw="{}")
    good = Alert(**{**bad.__dict__, "identifier": "good-1", "polygons": [[tuple(p) for p in HUAIROU_RING]],
                    "circles": []})
    ingest.save(store, [bad, good])
    store.close()
    return sample


@pytest.mark.parametrize("args", [
    ("followups",), ("alerts", "list"), ("alerts", "show", "1"), ("map", "--out", "{tmp}/m.html"),
    ("export", "--format", "geojson", "--out", "{tmp}/e.geojson"), ("report", "--month", "2021-10", "--out", "{tmp}/r.html"),
])
def test_a_stored_nan_polygon_is_left_out_with_a_warning_not_a_crash(poisoned, tmp_path, args):
    r = run(poisoned.db, *(a.format(tmp=tmp_path) for a in args))
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "GEOS" not in r.stderr
    assert "alert 1: stored polygon ignored" in r.stderr, r.stderr


def test_the_good_warning_still_counts_beside_the_bad_one(poisoned, tmp_path):
    r = run(poisoned.db, "alerts", "list", "--json")
    listed = {a["identifier"]: a for a in json.loads(r.stdout)}
    assert listed["good-1"]["township_codes"] and listed["bad-1"]["township_codes"] == []
    r = run(poisoned.db, "followups", "--json")
    causes = json.dumps([f["causes"] for f in json.loads(r.stdout)])
    assert r.returncode == 0 and '"alert": 2' in causes.replace("'", '"'), causes[:500]


def test_refresh_goes_on_with_a_bad_alert_stored(poisoned, tmp_path):
    from loopback import make_config

    folder = tmp_path / "feed"
    folder.mkdir()
    (folder / "ok.json").write_text(feature({"type": "Polygon", "coordinates": [HUAIROU_RING]}, "ok-2"))
    config = make_config(tmp_path, [{"name": "local", "kind": "nws", "path": str(folder)}])  # map: tmp_path/maps
    r = run(poisoned.db, "alerts", "refresh", "--json", config=config)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["error"] is None and summary["sources"][0]["new"] == 1 and summary["map"]


# --- withdrawing ----------------------------------------------------------------------------


def test_withdraw_retires_an_alert_everywhere_and_keeps_it_listed(poisoned, tmp_path):
    before = json.loads(run(poisoned.db, "status", "--json").stdout)  # exit 1: the forecast source is stale
    r = run(poisoned.db, "alerts", "withdraw", "1", "--note", "坐标含 NaN，来源已更正", "--by", "值班员")
    assert r.returncode == 0 and "已撤回预警 1" in r.stdout, r.stderr
    row = sqlite3.connect(poisoned.db).execute(
        "SELECT state, withdrawn, withdrawn_by, withdrawn_note FROM alerts WHERE id = 1").fetchone()
    assert row[0] == "withdrawn" and row[1].startswith("2021-10-10T01:00") and row[2:] == ("值班员", "坐标含 NaN，来源已更正")
    active = [a["id"] for a in json.loads(run(poisoned.db, "alerts", "list", "--active", "--json").stdout)]
    assert active == [2]
    assert (before["alerts_active"], json.loads(run(poisoned.db, "status", "--json").stdout)["alerts_active"]) == (2, 1)
    run(poisoned.db, "export", "--format", "geojson", "--out", str(tmp_path / "e.geojson"))
    exported = json.loads((tmp_path / "e.geojson").read_text(encoding="utf-8"))
    assert [f["properties"]["id"] for f in exported["features"] if f["properties"]["layer"] == "warned_areas"] == [2]
    shown = run(poisoned.db, "alerts", "show", "1")
    assert "state: withdrawn" in shown.stdout and "by 值班员: 坐标含 NaN，来源已更正" in shown.stdout
    listed = {a["id"]: a for a in json.loads(run(poisoned.db, "alerts", "list", "--json").stdout)}
    assert listed[1]["state"] == "withdrawn" and listed[1]["withdrawn_by"] == "值班员"


def test_withdraw_twice_unknown_or_without_a_reason_is_refused_and_changes_nothing(poisoned):
    assert run(poisoned.db, "alerts", "withdraw", "1", "--note", "错误预警", "--by", "甲").returncode == 0
    dump = table_dump(poisoned.db)
    for args, says in [
        (("1", "--note", "again", "--by", "乙"), "already withdrawn at 2021-10-10T01:00:00Z by 甲"),
        (("9", "--note", "x"), "no alert 9"),
        (("2", "--note", "  "), "--note is empty"),
        (("2", "--note", "x\x1b]0;t\x07"), "control characters"),
    ]:
        r = run(poisoned.db, "alerts", "withdraw", *args)
        assert r.returncode == 2 and says in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    assert table_dump(poisoned.db) == dump


def test_withdrawn_time_cuts_the_monthly_review(poisoned):
    store = Store.open(poisoned.db)
    ingest.withdraw(store, 2, by="甲", note="错误预警", at="2021-10-05T00:00:00Z")
    (row,) = [r for r in store.alerts_overlapping("2021-10-01T00:00:00Z", "2021-10-31T23:59:59Z") if r["id"] == 2]
    assert row["superseded_at"] == "2021-10-05T00:00:00Z"
    assert [a["id"] for a in store.alerts_in_force("2021-10-06T00:00:00Z")] == [1]  # not 2


@pytest.mark.parametrize("lat, lon", [(NAN, 116.62), (40.32, INF), (91.0, 116.62), ("x", 116.62), (None, 116.62)])
def test_a_forecast_for_no_place_on_earth_is_refused(lat, lon):
    from test_alert_forecast import POINT, winter

    from monitor.errors import DataError

    doc = winter() | {"latitude": lat, "longitude": lon}
    with pytest.raises(DataError, match="finite latitude/longitude"):
        parse_document(json.dumps(doc).encode(), point=POINT)
