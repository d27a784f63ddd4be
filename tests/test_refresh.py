"""`monitor alerts refresh` against a real loopback HTTP server (pytest-httpserver, threaded)
serving the real documents of tests/data/alerts: what is stored, what a failure leaves alone,
and the exit status a cron job sees.

Documents made here (not real) say so where they are built.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest
from conftest import SAMPLE_2021, Cli, table_dump
from loopback import ALERTS, NWS_SNAPSHOT, closed_port, make_config, rows, serving, source_rows
from test_riskmap import embedded
from werkzeug import Response

CAP = ALERTS / "cap"
CN = ALERTS / "cn"
CMA_BEIJING = CN / "weather-warning-zh-json__c1871d8.json"  # 北京市气象台 gale blue, 2021-10-09
NWS_AS_OF = "2025-02-17T07:00:00Z"


@pytest.fixture(scope="module")
def http():
    with serving() as s:
        yield s


@pytest.fixture
def feeds(http):
    http.clear()
    return http


@pytest.fixture
def setup(tmp_path, feeds):
    """setup(sources, **fetch) -> a Cli on an initialised database whose config has these sources."""

    def make(sources, **fetch):
        cli = Cli(tmp_path / "monitor.db", make_config(tmp_path, sources, fetch))
        if not (tmp_path / "monitor.db").exists():
            cli("init")
        return cli

    return make


def serve(http, path, data: bytes, ctype="application/json", **headers):
    http.expect_request(path).respond_with_data(data, content_type=ctype, headers=headers)
    return http.url_for(path)


def refresh(cli, *args, as_of=None, code=0):
    r = cli("alerts", "refresh", "--json", *args, as_of=as_of, ok=False)
    assert r.exit_code == code, r.output
    return json.loads(r.stdout)


def alerts_json(cli, *args, as_of=None):
    return json.loads(cli("alerts", "list", "--json", *args, as_of=as_of).stdout)


def by_source(summary) -> dict:
    return {s["source"]: s for s in summary["sources"]}


def without_fetch_log(db):
    """Every table but the refresh's own records: its fetch log, when it last evaluated and from
    what, what the map was drawn from, and the count of committed changes."""
    dump = table_dump(db)
    dump.pop("fetch_log")
    own = ("evaluated_at", "evaluated_before", "evaluation_inputs", "change_count")
    dump["meta"] = [r for r in dump.get("meta", []) if r[0] not in own and not r[0].startswith("map_inputs:")]
    return dump


# --- what good feeds give ---------------------------------------------------------------------


def test_nws_national_snapshot_replayed_at_its_own_time(setup, feeds):
    url = serve(feeds, "/alerts/active", NWS_SNAPSHOT.read_bytes(), "application/geo+json")
    cli = setup([{"name": "nws", "kind": "nws", "url": url, "max_bytes": 4_000_000}])
    summary = refresh(cli, as_of=NWS_AS_OF)
    (s,) = summary["sources"]
    assert (s["ok"], s["http_status"], s["alerts"], s["new"]) == (True, 200, 498, 498)

    # what is in force, worked out from the raw features (none is referenced by another, none
    # has ended at 07:00Z; 38 end before 12:00Z)
    features = json.loads(NWS_SNAPSHOT.read_text())["features"]

    def in_force(at):
        at = datetime.fromisoformat(at.replace("Z", "+00:00"))
        return {f["properties"]["id"] for f in features
                if datetime.fromisoformat(f["properties"].get("ends") or f["properties"]["expires"]) > at}

    active = alerts_json(cli, "--active", as_of=NWS_AS_OF)
    assert len(active) == 498 == len(in_force(NWS_AS_OF))
    later = alerts_json(cli, "--active", as_of="2025-02-17T12:00:00Z")
    assert {a["identifier"] for a in later} == in_force("2025-02-17T12:00:00Z") and len(later) == 460
    states = {a["identifier"]: a["state"] for a in alerts_json(cli, as_of="2025-02-17T12:00:00Z")}
    assert sorted(states.values()).count("expired") == 38
    (log,) = rows(cli.db, "SELECT * FROM fetch_log")
    assert (log["ok"], log["http_status"], log["new"], log["error"]) == (1, 200, 498, None)
    assert summary["follow_ups"]["active_alerts"] == 498 and summary["map"]


def test_required_json_fields(setup, feeds):
    url = serve(feeds, "/cma", CMA_BEIJING.read_bytes())
    cli = setup([{"name": "cma", "kind": "cma", "url": url}])
    refresh(cli, as_of="2021-10-10T09:00:00+08:00")
    (a,) = alerts_json(cli, as_of="2021-10-10T09:00:00+08:00")
    for key in ("id", "source", "sender", "identifier", "sent", "msg_type", "status", "event", "hazard", "colour",
                "onset", "expires", "state", "townships"):
        assert key in a, key
    assert (a["source"], a["sender"], a["hazard"], a["colour"], a["state"]) == ("cma", "北京市气象局", "gale", "blue",
                                                                                 "active")
    shown = json.loads(cli("alerts", "show", str(a["id"]), "--json").stdout)
    assert shown["identifier"] == a["identifier"] and json.loads(shown["raw"])["id"] == a["identifier"]


def test_beijing_cma_warning_covers_all_16_townships(setup, feeds):
    url = serve(feeds, "/v7/warning/now", CMA_BEIJING.read_bytes())
    cli = setup([{"name": "cma", "kind": "cma", "url": url}])
    refresh(cli, as_of="2021-10-10T09:00:00+08:00")
    (a,) = alerts_json(cli, "--active", as_of="2021-10-10T09:00:00+08:00")
    names = [r["name"] for r in rows(cli.db, "SELECT name FROM townships")]
    assert len(a["townships"]) == 16 and sorted(a["townships"]) == sorted(names)
    assert a["division_codes"] == ["110000000000"]  # the id says Beijing (101010100)


def test_area_codes_from_config_decide_a_cma_warnings_area(setup, feeds):
    url = serve(feeds, "/cma", CMA_BEIJING.read_bytes())
    cli = setup([{"name": "cma", "kind": "cma", "url": url, "area_codes": ["110116107000"]}])
    refresh(cli, as_of="2021-10-10T09:00:00+08:00")
    (a,) = alerts_json(cli)
    assert a["townships"] == ["汤河口镇"]


# A GB/T 35965.1-style CAP message made for these tests (NOT real): a polygon around the 汤河口
# township seat (40.770 N, 116.629 E), a circle around 怀柔镇's (40.375 N, 116.589 E), written
# "lat,lon" as CAP requires.
HUAIROU_CAP = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>TEST-HUAIROU-{n}</identifier><sender>test@monitor.invalid</sender>
  <sent>2024-11-20T08:30:00+08:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info><language>zh-CN</language><category>Met</category><event>道路结冰</event><urgency>Expected</urgency>
    <severity>Moderate</severity><certainty>Likely</certainty><expires>2024-11-21T08:30:00+08:00</expires>
    <senderName>测试 TEST</senderName><headline>测试：道路结冰黄色预警</headline>
    <area><areaDesc>test</areaDesc>{area}</area></info>
</alert>"""
TANGHEKOU_POLYGON = "<polygon>40.75,116.60 40.75,116.66 40.79,116.66 40.79,116.60 40.75,116.60</polygon>"
HUAIROU_TOWN_CIRCLE = "<circle>40.375,116.589 1.5</circle>"
TANGHEKOU_GEOCODE = "<geocode><valueName>GB/T 2260</valueName><value>110116107000</value></geocode>"


def test_atom_index_circles_and_polygons_in_lat_lon_order(setup, feeds):
    # an Atom index made here, with relative links, to two real CAP messages and two test ones
    serve(feeds, "/cap/a2.xml", (CAP / "v1dot2_appendix_adot2.xml").read_bytes(), "application/cap+xml")
    serve(feeds, "/cap/australia.cap", (CAP / "australia.cap").read_bytes(), "application/xml")
    serve(feeds, "/cap/poly.xml", HUAIROU_CAP.format(n=1, area=TANGHEKOU_POLYGON).encode(), "application/xml")
    serve(feeds, "/cap/circle.xml", HUAIROU_CAP.format(n=2, area=HUAIROU_TOWN_CIRCLE).encode(), "application/xml")
    entries = "".join(f'<entry><id>{h}</id><title>{h}</title><updated>2024-11-20T00:00:00Z</updated>'
                      f'<link rel="alternate" type="application/cap+xml" href="{h}"/></entry>'
                      for h in ("a2.xml", "australia.cap", "poly.xml", "circle.xml"))
    url = serve(feeds, "/cap/index.atom",
                f'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>t</id>'
                f'<updated>2024-11-20T00:00:00Z</updated>{entries}</feed>'.encode(), "application/atom+xml")
    cli = setup([{"name": "cap", "kind": "cap", "url": url}])
    (s,) = refresh(cli)["sources"]
    assert (s["documents"], s["alerts"], s["new"]) == (5, 4, 4)
    got = {a["identifier"]: a for a in alerts_json(cli)}
    a2 = json.loads(cli("alerts", "show", str(got["KSTO1055887203"]["id"]), "--json").stdout)
    # appendix A.2: <polygon>38.47,-120.14 38.34,-119.95 ...: stored as (lon, lat)
    assert a2["area"]["polygons"][0][0] == [-120.14, 38.47] and a2["area"]["polygons"][0][1] == [-119.95, 38.34]
    aus = json.loads(cli("alerts", "show", str(got["tag:www.rfs.nsw.gov.au2011-10-06:40184"]["id"]), "--json").stdout)
    assert aus["area"]["circles"] == [[147.0598, -35.3888, 25.0]]  # <circle>-35.3888,147.0598 25.0</circle>, NSW
    assert got["TEST-HUAIROU-1"]["townships"] == ["汤河口镇"]  # by geometry: the polygon holds its seat
    assert "怀柔镇" in got["TEST-HUAIROU-2"]["townships"]
    assert a2["townships"] == [] and aus["townships"] == []


def test_geocode_only_areas(setup, feeds):
    url_cn = serve(feeds, "/cn.xml", HUAIROU_CAP.format(n=3, area=TANGHEKOU_GEOCODE).encode(), "application/cap+xml")
    url_nws = serve(feeds, "/nws.json", NWS_SNAPSHOT.read_bytes(), "application/geo+json")
    cli = setup([{"name": "cn", "kind": "cap", "url": url_cn},
                 {"name": "nws", "kind": "nws", "url": url_nws, "max_bytes": 4_000_000}])
    refresh(cli)
    (cn,) = [a for a in alerts_json(cli) if a["source"] == "cn"]
    assert cn["townships"] == ["汤河口镇"] and cn["division_codes"] == ["110116107000"]
    zone_only = [a for a in alerts_json(cli) if a["source"] == "nws"
                 and not json.loads(cli("alerts", "show", str(a["id"]), "--json").stdout)["area"]["polygons"]]
    assert len(zone_only) == 289  # null geometry in the snapshot: areas by UGC/SAME geocodes only
    shown = json.loads(cli("alerts", "show", str(zone_only[0]["id"]), "--json").stdout)
    assert {name for name, _ in shown["area"]["geocodes"]} >= {"UGC", "SAME"} and shown["townships"] == []


def test_a_304_changes_nothing_but_logs_a_row(setup, feeds):
    seen = []

    def conditional(request):
        seen.append(dict(request.headers))
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(CMA_BEIJING.read_bytes(), content_type="application/json",
                        headers={"ETag": '"v1"', "Last-Modified": "Sat, 09 Oct 2021 07:46:00 GMT"})

    feeds.expect_request("/cma").respond_with_handler(conditional)
    cli = setup([{"name": "cma", "kind": "cma", "url": feeds.url_for("/cma")}])
    refresh(cli, as_of="2021-10-10T09:00:00+08:00")
    before = without_fetch_log(cli.db)
    summary = refresh(cli, as_of="2021-10-10T09:15:00+08:00")
    (s,) = summary["sources"]
    assert s["ok"] and s["not_modified"] and s["http_status"] == 304 and s["new"] == 0
    assert seen[1]["If-None-Match"] == '"v1"'
    assert seen[1]["If-Modified-Since"] == "Sat, 09 Oct 2021 07:46:00 GMT"
    assert seen[0].get("User-Agent", "").startswith("monitor/")
    after = without_fetch_log(cli.db)
    assert after["alerts"] == before["alerts"]
    log = rows(cli.db, "SELECT ok, http_status, etag, new, updated, cancelled FROM fetch_log ORDER BY id")
    assert log == [{"ok": 1, "http_status": 200, "etag": '"v1"', "new": 1, "updated": 0, "cancelled": 0},
                   {"ok": 1, "http_status": 304, "etag": '"v1"', "new": 0, "updated": 0, "cancelled": 0}]


# --- what bad feeds do, and do not do ---------------------------------------------------------


def failing(setup, feeds, bad: dict, *, code: int, **fetch):
    """Refresh a good CMA source and `bad` after a first good refresh; returns (summary of the bad
    source, summary) and checks that the bad source changed nothing but its own log row."""
    good_url = serve(feeds, "/good", CMA_BEIJING.read_bytes())
    cli = setup([{"name": "good", "kind": "cma", "url": good_url}], **fetch)
    refresh(cli, as_of="2021-10-10T09:00:00+08:00")
    before = without_fetch_log(cli.db)
    cli = setup([{"name": "good", "kind": "cma", "url": good_url}, {"name": "bad", **bad}], **fetch)
    t0 = time.monotonic()
    summary = refresh(cli, as_of="2021-10-10T09:10:00+08:00", code=code)
    summary["elapsed"] = time.monotonic() - t0
    after = without_fetch_log(cli.db)
    assert after == before  # the bad source stored nothing (the good one's copy is a duplicate)
    good, bad_s = by_source(summary)["good"], by_source(summary)["bad"]
    assert good["ok"] and good["duplicate"] == 1
    assert source_rows(cli.db, "bad") == (1, 0)
    (log,) = rows(cli.db, "SELECT * FROM fetch_log WHERE source = 'bad'")
    assert log["ok"] == 0 and log["error"] == bad_s["error"] and log["new"] == 0
    return bad_s, summary, cli


def test_timeout(setup, feeds):
    def slow(request):
        time.sleep(1.5)
        return Response(CMA_BEIJING.read_bytes(), content_type="application/json")

    feeds.expect_request("/slow").respond_with_handler(slow)
    bad, summary, _ = failing(setup, feeds, {"kind": "cma", "url": feeds.url_for("/slow")}, code=75,
                              read_timeout=0.5, retries=1)
    assert bad["problem"] == "unreachable" and "read timed out" in bad["error"] and "after 2 attempts" in bad["error"]
    assert summary["exit_code"] == 75


def test_a_500(setup, feeds):
    feeds.expect_request("/err").respond_with_data("oops", status=500)
    bad, _, _ = failing(setup, feeds, {"kind": "cma", "url": feeds.url_for("/err")}, code=75)
    assert "HTTP 500" in bad["error"] and "after 3 attempts" in bad["error"]
    assert len([r for r, _ in feeds.log if r.path == "/err"]) == 3  # retries = 2


def test_a_429_with_retry_after_is_waited_for(setup, feeds):
    feeds.expect_oneshot_request("/busy").respond_with_data("slow down", status=429, headers={"Retry-After": "1"})
    serve(feeds, "/busy", CMA_BEIJING.read_bytes())
    cli = setup([{"name": "busy", "kind": "cma", "url": feeds.url_for("/busy")}])
    t0 = time.monotonic()
    (s,) = refresh(cli, as_of="2021-10-10T09:00:00+08:00")["sources"]
    assert s["ok"] and s["new"] == 1 and time.monotonic() - t0 >= 1.0


def test_a_429_asking_too_long_fails_for_this_run(setup, feeds):
    feeds.expect_request("/busy").respond_with_data("later", status=429, headers={"Retry-After": "3600"})
    bad, summary, _ = failing(setup, feeds, {"kind": "cma", "url": feeds.url_for("/busy")}, code=75)
    assert "Retry-After 3600 s" in bad["error"] and summary["elapsed"] < 5


def test_a_refused_connection(setup, feeds):
    bad, _, _ = failing(setup, feeds, {"kind": "cap", "url": f"http://127.0.0.1:{closed_port()}/cap"}, code=75)
    assert bad["problem"] == "unreachable" and "cannot connect" in bad["error"]


def test_a_truncated_transfer(setup, feeds):
    data = (CAP / "weather.cap").read_bytes()

    def cut(request):
        return Response(iter([data[:700]]), headers={"Content-Length": str(len(data)),
                                                     "Content-Type": "application/cap+xml"})

    feeds.expect_request("/cut").respond_with_handler(cut)
    bad, _, _ = failing(setup, feeds, {"kind": "cap", "url": feeds.url_for("/cut")}, code=75)
    assert "truncated" in bad["error"] and f"expected {len(data)}" in bad["error"]


def test_a_truncated_document(setup, feeds):
    url = serve(feeds, "/half", (CAP / "weather.cap").read_bytes()[:700], "application/cap+xml")
    bad, summary, _ = failing(setup, feeds, {"kind": "cap", "url": url}, code=1)
    assert bad["problem"] == "data" and "not well-formed XML" in bad["error"]


def test_an_oversize_body_announced_and_streamed(setup, feeds):
    big = NWS_SNAPSHOT.read_bytes()
    serve(feeds, "/big", big, "application/geo+json")

    def chunked(request):
        return Response((big[i:i + 65536] for i in range(0, len(big), 65536)), content_type="application/geo+json")

    feeds.expect_request("/stream").respond_with_handler(chunked)
    bad, _, cli = failing(setup, feeds, {"kind": "nws", "url": feeds.url_for("/big"), "max_bytes": 1_000_000},
                          code=1)
    assert f"{len(big):,} bytes announced" in bad["error"]
    cli = setup([{"name": "bad", "kind": "nws", "url": feeds.url_for("/stream"), "max_bytes": 1_000_000}])
    (s,) = refresh(cli, code=1)["sources"]
    assert "stopped reading" in s["error"] and source_rows(cli.db, "bad")[1] == 0


def test_the_xxe_file_is_refused(setup, feeds):
    url = serve(feeds, "/xee.cap", (CAP / "xee.cap").read_bytes(), "application/cap+xml")
    bad, _, _ = failing(setup, feeds, {"kind": "cap", "url": url}, code=1)
    assert "declares entities" in bad["error"]
    assert [r.path for r, _ in feeds.log if r.path not in ("/good", "/xee.cap")] == []  # nothing else fetched


def test_wrong_content_type(setup, feeds):
    url = serve(feeds, "/login", b"<html><body>please log in</body></html>", "text/html")
    bad, _, _ = failing(setup, feeds, {"kind": "cma", "url": url}, code=1)
    assert "served as text/html" in bad["error"]


def test_garbage_and_a_missing_key(setup, feeds, monkeypatch):
    monkeypatch.delenv("MONITOR_TEST_NO_SUCH_KEY", raising=False)
    url = serve(feeds, "/garbage", b"\x00\x01 not a document", "application/json")
    bad, _, _ = failing(setup, feeds, {"kind": "cma", "url": url}, code=1)
    assert "neither XML nor JSON" in bad["error"]


def test_missing_api_key_fails_that_source_only(setup, feeds, monkeypatch):
    monkeypatch.delenv("MONITOR_TEST_NO_SUCH_KEY", raising=False)
    url = serve(feeds, "/keyed", CMA_BEIJING.read_bytes())
    bad, _, _ = failing(setup, feeds, {"kind": "cma", "url": url,
                                       "headers": {"X-QW-Api-Key": "${MONITOR_TEST_NO_SUCH_KEY}"}}, code=1)
    assert "MONITOR_TEST_NO_SUCH_KEY" in bad["error"]


def test_bad_data_outranks_unreachable_in_the_exit_status(setup, feeds):
    url = serve(feeds, "/xee.cap", (CAP / "xee.cap").read_bytes(), "application/cap+xml")
    cli = setup([{"name": "xxe", "kind": "cap", "url": url},
                 {"name": "down", "kind": "cap", "url": f"http://127.0.0.1:{closed_port()}/"}])
    summary = refresh(cli, code=1)
    assert {s["source"]: s["problem"] for s in summary["sources"]} == {"xxe": "data", "down": "unreachable"}


# --- the command --------------------------------------------------------------------------------


def test_only_the_named_source(setup, feeds):
    a = serve(feeds, "/a", CMA_BEIJING.read_bytes())
    b = serve(feeds, "/b", (CAP / "v1dot2_appendix_adot1.xml").read_bytes(), "application/xml")
    cli = setup([{"name": "a", "kind": "cma", "url": a}, {"name": "b", "kind": "cap", "url": b}])
    summary = refresh(cli, "--source", "b")
    assert [s["source"] for s in summary["sources"]] == ["b"]
    assert source_rows(cli.db, "a") == (0, 0) and source_rows(cli.db, "b") == (1, 1)
    r = cli("alerts", "refresh", "--source", "nope", ok=False)
    assert r.exit_code == 2 and "no source named nope" in r.output


def test_refresh_without_a_database_or_sources_is_a_usage_error(tmp_path):
    cli = Cli(tmp_path / "none.db", make_config(tmp_path, []))
    r = cli("alerts", "refresh", ok=False)
    assert r.exit_code == 2 and "monitor init" in r.output
    cli("init")
    r = cli("alerts", "refresh", ok=False)
    assert r.exit_code == 2 and "no [[sources]]" in r.output


def test_help_describes_the_cron_contract(cli):
    out = cli("alerts", "refresh", "--help").output
    for words in ("--source", "--quiet", "--json", "75", "another refresh holds the lock", "one transaction"):
        assert words in " ".join(out.split()), words
    assert "Exit status 1 when any source" in " ".join(cli("status", "--help").output.split())


def test_the_refresh_lock_is_fetch_lock_else_beside_the_database(tmp_path):
    from monitor import config as config_mod
    from monitor.refresh import lock_path

    db = tmp_path / "data" / "m.db"
    assert lock_path(config_mod.load(make_config(tmp_path, [])), db) == db.with_name("m.db.refresh.lock")
    cfg = config_mod.load(make_config(tmp_path, [], {"lock": "run/refresh.lock"}))  # relative to config.toml
    assert lock_path(cfg, db) == tmp_path / "run" / "refresh.lock"


def test_a_refresh_with_nothing_new_neither_evaluates_nor_redraws(setup, feeds, tmp_path):
    """Issue 12, item 1: nothing stored and nothing changed since the last evaluation: no
    evaluation, no map, no row written but the fetch log; a refresh that stores something
    evaluates and draws once."""
    url = serve(feeds, "/cma", CMA_BEIJING.read_bytes())
    cli = setup([{"name": "cma", "kind": "cma", "url": url}])
    first = refresh(cli, as_of="2021-10-10T09:00:00+08:00")
    assert first["evaluated"] is True and first["sources"][0]["new"] == 1
    map_file = tmp_path / "maps" / "risk.html"
    page = map_file.read_text(encoding="utf-8")
    assert "2021-10-10 09:00" in page and "北京市气象台" in page
    map_file.touch()
    before, stamp = without_fetch_log(cli.db), map_file.stat().st_mtime_ns
    meta = dict(table_dump(cli.db)["meta"])
    again = refresh(cli, as_of="2021-10-10T09:20:00+08:00")  # the same document: nothing new
    assert again["evaluated"] is False and again["sources"][0]["duplicate"] == 1
    assert again["follow_ups"]["open"] == first["follow_ups"]["open"]
    assert map_file.stat().st_mtime_ns == stamp and map_file.read_text(encoding="utf-8") == page
    assert without_fetch_log(cli.db) == before and dict(table_dump(cli.db)["meta"]) == meta
    # a facility changed meanwhile: the next refresh evaluates and draws again, once
    cli("facility", "add", "--kind", "heating", "--subtype", "boiler_room", "--name", "新锅炉房", "--lon", "116.64",
        "--lat", "40.73", as_of="2021-10-10T09:30:00+08:00")
    third = refresh(cli, as_of="2021-10-10T09:40:00+08:00")
    assert third["evaluated"] is True and map_file.stat().st_mtime_ns != stamp
    from test_riskmap import embedded  # the page's names travel packed: decode as the page does

    assert "新锅炉房" in embedded(map_file.read_text(encoding="utf-8"))["packs"]["names"]["lists"]["name"]
    assert refresh(cli, as_of="2021-10-10T09:50:00+08:00")["evaluated"] is False
    # the map drawn on its own still says when it was drawn and the last refresh
    cli("map", as_of="2021-10-10T10:05:00+08:00")
    doc = embedded(map_file.read_text(encoding="utf-8"))
    assert (doc["last_refresh"], doc["data_time"]) == ("2021-10-10 09:50", "2021-10-10 10:05")


def test_a_warning_expiring_or_a_new_day_evaluates_again_without_anything_stored(setup, feeds):
    """What the evaluation reads also moves with the clock: the date, and which warnings are in force."""
    url = serve(feeds, "/cma", CMA_BEIJING.read_bytes())
    cli = setup([{"name": "cma", "kind": "cma", "url": url}])
    assert refresh(cli, as_of="2021-10-10T09:00:00+08:00")["evaluated"] is True
    assert refresh(cli, as_of="2021-10-10T15:30:00+08:00")["evaluated"] is False
    expired = refresh(cli, as_of="2021-10-10T15:50:00+08:00")  # the gale warning ended at 15:40
    assert expired["evaluated"] is True and expired["follow_ups"]["active_alerts"] == 0
    assert refresh(cli, as_of="2021-10-10T23:50:00+08:00")["evaluated"] is False
    assert refresh(cli, as_of="2021-10-11T00:10:00+08:00")["evaluated"] is True  # a new day in Beijing


def test_a_failing_map_is_loud_but_the_alerts_stay_stored(setup, feeds, monkeypatch):
    from monitor import mapdata

    def broken(*a, **k):
        raise ImportError("no riskmap")

    monkeypatch.setattr(mapdata, "write_map", broken)
    url = serve(feeds, "/cma", CMA_BEIJING.read_bytes())
    cli = setup([{"name": "cma", "kind": "cma", "url": url}])
    summary = refresh(cli, code=1)
    assert summary["error"] == "ImportError: no riskmap" and summary["sources"][0]["new"] == 1
    assert source_rows(cli.db, "cma") == (1, 1)


def test_a_parser_bug_on_one_feed_fails_only_that_source(setup, feeds, monkeypatch):
    from monitor import fetch

    real = fetch.parse_document

    def buggy(data, **kw):
        if b"<alert" in data:
            raise KeyError("surprise")
        return real(data, **kw)

    monkeypatch.setattr(fetch, "parse_document", buggy)
    url = serve(feeds, "/a1.xml", (CAP / "v1dot2_appendix_adot1.xml").read_bytes(), "application/xml")
    bad, _, _ = failing(setup, feeds, {"kind": "cap", "url": url}, code=1)
    assert bad["error"] == "unexpected KeyError: 'surprise'"


def test_refresh_re_evaluates_the_follow_ups(setup, feeds):
    url = serve(feeds, "/cma", CMA_BEIJING.read_bytes())
    cli = setup([{"name": "cma", "kind": "cma", "url": url}])
    cli("facility", "import", str(SAMPLE_2021), as_of="2021-10-10T09:00:00+08:00")
    assert rows(cli.db, "SELECT count(*) AS n FROM follow_ups WHERE rule = 'gale_fire'") == [{"n": 0}]
    summary = refresh(cli, as_of="2021-10-10T09:00:00+08:00")
    gale = rows(cli.db, "SELECT count(*) AS n FROM follow_ups WHERE rule = 'gale_fire' AND closed IS NULL")[0]["n"]
    assert gale > 0 and summary["follow_ups"]["active_alerts"] == 1 and summary["follow_ups"]["open"] >= gale
    # a day later the warning has expired: the next refresh closes those follow-ups
    refresh(cli, as_of="2021-10-11T09:00:00+08:00")
    assert rows(cli.db, "SELECT count(*) AS n FROM follow_ups WHERE rule = 'gale_fire' AND closed IS NULL") == [{"n": 0}]
