"""Rules: every default rule on real warnings and hand-placed sites, the calendar, colours, and refused rule files.

Real documents: the CMA Beijing gale (QWeather JSON, division code 110000000000), the CMA
Shanghai gale, NWS flood warnings and advisories with polygons (api.weather.gov snapshot).
No real CAP polygon falls in Huairou, so the cold, snow, icing and forest-fire warnings over
Huairou are SYNTHETIC: the real OASIS CAP 1.2 example (appendix A.2) with its event, headline,
times and area replaced (`huairou_cap`); likewise a SYNTHETIC Open-Meteo forecast.
Sites are placed by hand: inside, outside, and exactly on an area's boundary (which counts
as inside: a site on the line is in the warned area).
"""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
from conftest import CONFIG, DATA, REPO
from lxml import etree

from monitor import clock
from monitor.alerts import ingest, parse_document
from monitor.config import load
from monitor.errors import ConfigError
from monitor.alertview import in_force
from monitor.rules import Facilities, evaluate, explain, facility_arrays, follow_ups, prepare_areas, risk_scores
from monitor.ruleset import load_rules, season_at
from monitor.store import Store

CFG = load(CONFIG)
RULES = {r.id: r for r in load_rules(CFG)}
TOWNSHIPS = [f["properties"]["code"] for f in
             json.loads((REPO / "geodata" / "huairou_townships.geojson").read_text(encoding="utf-8"))["features"]]
TH, QH, BS = "110116107000", "110116001000", "110116111000"  # 汤河口镇, 泉河街道, 宝山镇
ALERTS = DATA / "alerts"
OASIS = ALERTS / "cap" / "v1dot2_appendix_adot2.xml"
CAP = "urn:oasis:names:tc:emergency:cap:1.2"
SUBTYPE = {"heating": "boiler_room", "fire": "forest_edge", "flood": "road"}
# a box over 汤河口镇 (its zone spans 116.551-116.707 E, 40.681-40.808 N)
TH_BOX = [(116.56, 40.70), (116.70, 40.70), (116.70, 40.80), (116.56, 40.80), (116.56, 40.70)]
INSIDE, WEST_EDGE, OUTSIDE = (116.63, 40.75), (116.56, 40.75), (116.55, 40.75)


# --- helpers (imported by the other rule and follow-up tests) ------------------------------------

def facilities(*rows, townships=TOWNSHIPS) -> Facilities:
    cols = {c: [] for c in ("id", "kind", "subtype", "status", "lon", "lat", "township", "households",
                            "last_inspected", "due", "blocks_heating")}
    for i, r in enumerate(rows, start=1):
        r = {"id": i, "subtype": SUBTYPE[r["kind"]], "township": TH, "households": 0, "last_inspected": None,
             "due": None, "blocks_heating": 0, "lon": INSIDE[0], "lat": INSIDE[1], **r}
        for c in cols:
            cols[c].append(r[c])
    return facility_arrays(cols, townships)


def huairou_cap(event: str, colour_zh: str, *, polygon=None, circle=None, identifier: str = "SYNTHETIC-1",
                sent: str = "2021-12-01T08:00:00+08:00", expires: str = "2021-12-02T08:00:00+08:00") -> bytes:
    """A SYNTHETIC CAP warning over Huairou: the real OASIS example A.2 with its event, headline,
    sender, times and area replaced. polygon: [(lon, lat), ...]; circle: (lon, lat, km)."""
    root = etree.parse(str(OASIS)).getroot()
    ns = {"c": CAP}
    root.find("c:identifier", ns).text = identifier
    root.find("c:sender", ns).text = "synthetic@test.invalid"
    root.find("c:sent", ns).text = sent
    info = root.find("c:info", ns)
    info.remove(info.find("c:eventCode", ns))  # SAME 'SVR' (thunderstorm) would not fit the new event
    info.find("c:event", ns).text = event
    info.find("c:headline", ns).text = f"测试{event}{colour_zh}预警（SYNTHETIC）"
    info.find("c:senderName", ns).text = "SYNTHETIC TEST"
    info.find("c:expires", ns).text = expires
    area = info.find("c:area", ns)
    for g in area.findall("c:geocode", ns):
        area.remove(g)
    poly = area.find("c:polygon", ns)
    if polygon:
        poly.text = " ".join(f"{lat},{lon}" for lon, lat in polygon)
    else:
        area.remove(poly)
    if circle:
        etree.SubElement(area, f"{{{CAP}}}circle").text = f"{circle[1]},{circle[0]} {circle[2]}"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def cold_forecast(minima=(-14.0, -15.0, -16.0)) -> bytes:
    """A SYNTHETIC Open-Meteo daily forecast (the shape of the real responses in
    tests/data/alerts/open_meteo) at 汤河口镇's centre: minima -14, -15, -16 °C from 2021-12-01."""
    return json.dumps({
        "latitude": 40.74, "longitude": 116.63, "utc_offset_seconds": 28800, "timezone": "Asia/Shanghai",
        "daily_units": {"time": "iso8601", "temperature_2m_min": "°C"},
        "daily": {"time": ["2021-12-01", "2021-12-02", "2021-12-03"], "temperature_2m_min": list(minima)},
    }).encode()


def stored(docs: list[bytes], now: str, **parse) -> list[dict]:
    """The documents stored as `monitor alerts import` stores them, then the warnings in force at `now`."""
    store = Store.open(":memory:")
    alerts = [a for d in docs for a in parse_document(d, source="file", max_bytes=10_000_000, **parse).alerts]
    ingest.save(store, alerts)
    return in_force(store, clock.parse(now))


def run(f: Facilities, alerts: list[dict], rules: list[str], today: date, *, raise_=(200,), config=CFG):
    rules_ = load_rules(config)
    by_id = {r.id: r for r in rules_}
    areas = prepare_areas(alerts, TOWNSHIPS)
    season = season_at(config, today)
    hits = evaluate(f, areas, [by_id[r] for r in rules], today=today, season=season, households_raise=raise_)
    return follow_ups(hits, f, areas, today=today, season=season)


def got(rows) -> set[tuple[int, str, str]]:
    return {(r["facility_id"], r["rule"], r["priority"]) for r in rows}


def nws_flood(event: str) -> bytes:
    """The first NWS alert of `event` with a polygon, alone, from the real api.weather.gov snapshot."""
    doc = json.loads((ALERTS / "nws" / "api_weather_gov_alerts_active_land_2025-02-17T0700Z.json").read_bytes())
    feature = next(x for x in doc["features"] if x["properties"]["event"] == event and x.get("geometry"))
    return json.dumps({**doc, "features": [feature]}).encode()


# --- the calendar --------------------------------------------------------------------------------

@pytest.mark.parametrize("today, start, pre", [
    (date(2021, 10, 10), date(2021, 11, 15), date(2021, 10, 1)),
    (date(2022, 3, 15), date(2021, 11, 15), date(2021, 10, 1)),   # last day of the season
    (date(2022, 3, 16), date(2022, 11, 15), date(2022, 10, 1)),   # the next one
    (date(2022, 1, 1), date(2021, 11, 15), date(2021, 10, 1)),
])
def test_season(today, start, pre):
    s = season_at(CFG, today)
    assert (s.start, s.preseason_start) == (start, pre)


def test_preseason_window_edges():
    f = facilities({"kind": "heating", "status": "ok", "last_inspected": "2021-09-30"},
                   {"kind": "heating", "status": "ok", "last_inspected": "2021-10-01"})
    assert run(f, [], ["heating_preseason"], date(2021, 9, 30)) == []          # before the window
    rows = run(f, [], ["heating_preseason"], date(2021, 10, 1))                # first day of the window
    assert got(rows) == {(1, "heating_preseason", "P3")}
    assert "2021-10-01" in rows[0]["reason"] and rows[0]["causes"][0]["date"] == "2021-10-01"
    assert got(run(f, [], ["heating_preseason"], date(2021, 11, 14))) == {(1, "heating_preseason", "P3")}
    assert run(f, [], ["heating_preseason"], date(2021, 11, 15)) == []          # the season has opened


def test_heating_season_and_inspection_freshness():
    """In season: not inspected since it opened, or not in the last 30 days (max_age_days)."""
    f = facilities({"kind": "heating", "status": "ok", "last_inspected": "2021-11-14"},
                   {"kind": "heating", "status": "ok", "last_inspected": "2021-11-15T09:30:00Z"},
                   {"kind": "heating", "status": "defect", "last_inspected": "2021-11-20"},
                   {"kind": "heating", "status": "ok"},                                       # never
                   {"kind": "fire", "status": "open"})
    assert run(f, [], ["heating_season"], date(2021, 11, 14)) == []
    assert got(run(f, [], ["heating_season"], date(2021, 11, 15))) == {(1, "heating_season", "P2"),
                                                                       (4, "heating_season", "P2")}
    # 2021-12-20: the cutoff is 30 days back, 2021-11-20: an inspection on 11-20 is still fresh
    rows = run(f, [], ["heating_season"], date(2021, 12, 20))
    assert {r["facility_id"] for r in rows} == {1, 2, 4}
    by_id = {r["facility_id"]: r for r in rows}
    assert by_id[2]["reason"] == "供暖季（2021-11-15起）保障群众温暖过冬：自2021-11-20以来未检查（上次：2021-11-15）"
    assert by_id[4]["reason_en"] == "Heating season (from 2021-11-15): not inspected since 2021-11-20 (last: never)"
    assert {r["facility_id"] for r in run(f, [], ["heating_season"], date(2021, 12, 21))} == {1, 2, 3, 4}
    assert len(run(f, [], ["heating_season"], date(2022, 3, 15))) == 4     # last day of the season
    assert run(f, [], ["heating_season"], date(2022, 3, 16)) == []


def test_overdue():
    f = facilities({"kind": "fire", "status": "open", "due": "2021-10-09"},
                   {"kind": "fire", "status": "open", "due": "2021-10-10"},        # due today: not yet
                   {"kind": "fire", "status": "verified", "due": "2021-01-01"},    # done
                   {"kind": "flood", "status": "damaged"},                          # no due date
                   {"kind": "heating", "status": "defect", "due": "2021-10-01", "households": 450})
    rows = run(f, [], ["overdue"], date(2021, 10, 10))
    assert got(rows) == {(1, "overdue", "P2"), (5, "overdue", "P1")}
    assert {r["facility_id"]: r["reason"] for r in rows}[1] == "已逾期1天（期限2021-10-09），状态“待整改”"


def test_flood_damage_blocking_heating_access():
    f = facilities({"kind": "flood", "status": "damaged", "blocks_heating": 1},
                   {"kind": "flood", "status": "temporarily_restored", "blocks_heating": 1, "subtype": "bridge"},
                   {"kind": "flood", "status": "repaired", "blocks_heating": 1},
                   {"kind": "flood", "status": "damaged", "blocks_heating": 0})
    assert run(f, [], ["heating_access"], date(2021, 9, 30)) == []             # before the pre-season
    rows = run(f, [], ["heating_access"], date(2021, 10, 1))
    assert got(rows) == {(1, "heating_access", "P1"), (2, "heating_access", "P1")}
    assert {r["facility_id"]: r["reason"] for r in rows}[2] == \
        "灾后重建：水毁桥梁阻断供暖通道，须在供暖季（2021-11-15起）前修复（已抢通）"
    assert len(run(f, [], ["heating_access"], date(2022, 3, 15))) == 2          # through the season
    assert run(f, [], ["heating_access"], date(2022, 3, 16)) == []


# --- warnings: real documents ---------------------------------------------------------------------

def test_gale_over_beijing_flags_open_fire_hazards_in_every_township():
    """The real CMA Beijing gale (blue) names Beijing, 110000000000: every Huairou township is in it."""
    alerts = stored([(ALERTS / "cn" / "weather-warning-zh-json__f18d095.json").read_bytes()],
                    "2021-10-10T09:00:00+08:00")
    assert [(a["hazard"], a["colour"], a["division_codes"]) for a in alerts] == [("gale", "blue", ["110000000000"])]
    f = facilities({"kind": "fire", "status": "open", "township": TH},
                   {"kind": "fire", "status": "rectifying", "township": QH, "households": 300},
                   {"kind": "fire", "status": "rectified", "township": QH},
                   {"kind": "heating", "status": "unchecked", "township": QH},
                   {"kind": "fire", "status": "open", "township": None})         # outside every township
    rows = run(f, alerts, ["gale_fire", "cold_heating"], date(2021, 10, 10))
    assert got(rows) == {(1, "gale_fire", "P2"), (2, "gale_fire", "P1")}
    first = next(r for r in rows if r["facility_id"] == 1)
    assert first["reason"] == "蓝色大风预警区内消防隐患未整改（待整改）：北京市气象台2021年10月09日15时40分发布大风蓝色预警信号"
    assert first["causes"] == [{"alert": alerts[0]["id"], "hazard": "gale", "colour": "blue", "source": "warning"}]
    # expired a day later
    assert stored([(ALERTS / "cn" / "weather-warning-zh-json__f18d095.json").read_bytes()],
                  "2021-10-10T15:40:00+08:00") == []


def test_a_gale_over_shanghai_flags_nothing_in_huairou():
    alerts = stored([(ALERTS / "cn" / "getWarningNow-zh__850bc9b.json").read_bytes()], "2023-04-03T12:00:00+08:00")
    assert [(a["hazard"], a["division_codes"]) for a in alerts] == [("gale", ["310000000000"])]
    f = facilities({"kind": "fire", "status": "open", "township": TH})
    assert run(f, alerts, ["gale_fire"], date(2023, 4, 3)) == []


def test_nws_flood_warning_polygon_flags_unrepaired_flood_damage_inside():
    """A real NWS Flood Warning (orange; CAP severity Severe) with its polygon: rainstorm rules."""
    alerts = stored([nws_flood("Flood Warning")], "2025-02-17T08:00:00Z")
    (a,) = alerts
    assert (a["hazard"], a["colour"]) == ("rainstorm", "orange")
    import shapely

    ring = a["area"]["polygons"][0]
    inside = shapely.Polygon(ring).representative_point()
    vertex = ring[2]
    minx, miny, maxx, maxy = shapely.Polygon(ring).bounds
    f = facilities({"kind": "flood", "status": "damaged", "lon": inside.x, "lat": inside.y, "township": None},
                   {"kind": "flood", "status": "under_repair", "subtype": "housing", "lon": inside.x, "lat": inside.y},
                   {"kind": "flood", "status": "repaired", "lon": inside.x, "lat": inside.y},
                   {"kind": "flood", "status": "damaged", "subtype": "bridge", "lon": vertex[0], "lat": vertex[1]},
                   {"kind": "flood", "status": "damaged", "lon": maxx + 0.01, "lat": (miny + maxy) / 2},
                   {"kind": "heating", "status": "defect", "lon": inside.x, "lat": inside.y})
    rows = run(f, alerts, ["icing_roads", "rain_flood", "cold_heating"], date(2025, 2, 17))
    assert got(rows) == {(1, "icing_roads", "P1"), (1, "rain_flood", "P1"), (2, "rain_flood", "P1"),
                         (4, "icing_roads", "P1"), (4, "rain_flood", "P1")}
    assert next(r for r in rows if r["facility_id"] == 2)["reason"].startswith("橙色暴雨预警区内水毁房屋未修复（修复中）：Flood Warning")


def test_nws_flood_advisory_is_blue_and_ranks_lower():
    alerts = stored([nws_flood("Flood Advisory")], "2025-02-17T08:00:00Z")
    (a,) = alerts
    assert (a["hazard"], a["colour"]) == ("rainstorm", "blue")
    import shapely

    p = shapely.Polygon(a["area"]["polygons"][0]).representative_point()
    f = facilities({"kind": "flood", "status": "damaged", "lon": p.x, "lat": p.y})
    assert got(run(f, alerts, ["icing_roads", "rain_flood"], date(2025, 2, 17))) == \
        {(1, "icing_roads", "P3"), (1, "rain_flood", "P2")}


# --- warnings over Huairou: SYNTHETIC CAP built from the OASIS example ------------------------------

@pytest.mark.parametrize("event, colour_zh, hazard, colour, priority", [
    ("寒潮", "蓝色", "cold_wave", "blue", "P2"),
    ("低温", "黄色", "low_temperature", "yellow", "P2"),
    ("寒潮", "橙色", "cold_wave", "orange", "P1"),
    ("暴雪", "红色", "blizzard", "red", "P1"),
])
def test_cold_over_heating_sites_not_ready(event, colour_zh, hazard, colour, priority):
    alerts = stored([huairou_cap(event, colour_zh, polygon=TH_BOX)], "2021-12-01T12:00:00+08:00")
    assert [(a["hazard"], a["colour"]) for a in alerts] == [(hazard, colour)]
    f = facilities({"kind": "heating", "status": "defect"},                                      # inside
                   {"kind": "heating", "status": "ok"},                                          # ready
                   {"kind": "heating", "status": "unchecked", "lon": WEST_EDGE[0], "lat": WEST_EDGE[1]},
                   {"kind": "heating", "status": "out_of_service", "lon": OUTSIDE[0], "lat": OUTSIDE[1]},
                   {"kind": "fire", "status": "open"})
    rows = run(f, alerts, ["cold_heating", "gale_fire"], date(2021, 12, 1))
    assert got(rows) == {(1, "cold_heating", priority), (3, "cold_heating", priority)}
    assert rows[0]["reason"] == f"{colour_zh}{event}预警区内供暖设施状态为“有缺陷”：测试{event}{colour_zh}预警（SYNTHETIC）"


def test_road_icing_circle_over_unrepaired_roads_and_bridges():
    circle = (116.63, 40.75, 5.0)
    alerts = stored([huairou_cap("道路结冰", "黄色", circle=circle)], "2021-12-01T12:00:00+08:00")
    assert [(a["hazard"], a["colour"]) for a in alerts] == [("road_icing", "yellow")]
    km = 1 / 111.2  # degrees of latitude per km, near enough for 100 m margins
    f = facilities({"kind": "flood", "status": "under_repair", "subtype": "road"},
                   {"kind": "flood", "status": "temporarily_restored", "subtype": "bridge", "lat": 40.75 + 4.9 * km},
                   {"kind": "flood", "status": "damaged", "subtype": "bridge", "lat": 40.75 + 5.1 * km},
                   {"kind": "flood", "status": "damaged", "subtype": "water_supply"},
                   {"kind": "flood", "status": "repaired", "subtype": "road"})
    rows = run(f, alerts, ["icing_roads", "rain_flood"], date(2021, 12, 1))
    assert got(rows) == {(1, "icing_roads", "P2"), (2, "icing_roads", "P2")}


@pytest.mark.parametrize("event, colour_zh, priority", [("森林火险", "红色", "P1"), ("大风", "黄色", "P2")])
def test_gale_and_forest_fire_over_open_fire_hazards(event, colour_zh, priority):
    alerts = stored([huairou_cap(event, colour_zh, polygon=TH_BOX)], "2021-12-01T12:00:00+08:00")
    f = facilities({"kind": "fire", "status": "open"},
                   {"kind": "fire", "status": "rectifying", "lon": WEST_EDGE[0], "lat": WEST_EDGE[1]},
                   {"kind": "fire", "status": "verified"},
                   {"kind": "fire", "status": "open", "lon": OUTSIDE[0], "lat": OUTSIDE[1]})
    assert got(run(f, alerts, ["gale_fire"], date(2021, 12, 1))) == {(1, "gale_fire", priority),
                                                                     (2, "gale_fire", priority)}


def test_a_cancelled_warning_flags_nothing():
    alert = huairou_cap("寒潮", "橙色", polygon=TH_BOX)
    cancel = alert.replace(b"<msgType>Alert</msgType>", b"<msgType>Cancel</msgType>") \
        .replace(b"SYNTHETIC-1", b"SYNTHETIC-2").replace(b"2021-12-01T08:00:00+08:00</sent>",
                                                       b"2021-12-01T10:00:00+08:00</sent>") \
        .replace(b"</scope>", b"</scope><references>synthetic@test.invalid,SYNTHETIC-1,2021-12-01T08:00:00+08:00"
                              b"</references>")
    f = facilities({"kind": "heating", "status": "defect"})
    assert len(run(f, stored([alert], "2021-12-01T12:00:00+08:00"), ["cold_heating"], date(2021, 12, 1))) == 1
    assert run(f, stored([alert, cancel], "2021-12-01T12:00:00+08:00"), ["cold_heating"], date(2021, 12, 1)) == []


def test_a_polygon_is_not_widened_by_the_senders_division_code():
    """A CAP polygon from 怀柔区气象台 also carries the district's code (from the sender): the polygon decides."""
    doc = huairou_cap("寒潮", "橙色", polygon=TH_BOX).replace(b"SYNTHETIC TEST</senderName>",
                                                             "怀柔区气象台</senderName>".encode())
    alerts = stored([doc], "2021-12-01T12:00:00+08:00")
    assert alerts[0]["division_codes"] == ["110116000000"]
    f = facilities({"kind": "heating", "status": "defect"},
                   {"kind": "heating", "status": "defect", "lon": 116.63, "lat": 40.33, "township": QH})
    assert got(run(f, alerts, ["cold_heating"], date(2021, 12, 1))) == {(1, "cold_heating", "P1")}


def test_the_best_warning_sets_the_priority_and_every_warning_is_a_cause():
    gale = (ALERTS / "cn" / "weather-warning-zh-json__f18d095.json").read_bytes()          # blue, all Beijing
    fire = huairou_cap("森林火险", "红色", polygon=TH_BOX, sent="2021-10-09T18:00:00+08:00",
                       expires="2021-10-11T18:00:00+08:00")
    alerts = stored([gale, fire], "2021-10-10T09:00:00+08:00")
    f = facilities({"kind": "fire", "status": "open"}, {"kind": "fire", "status": "open", "township": QH,
                                                        "lon": 116.63, "lat": 40.33})
    rows = {r["facility_id"]: r for r in run(f, alerts, ["gale_fire"], date(2021, 10, 10))}
    assert rows[1]["priority"] == "P1" and rows[2]["priority"] == "P2"
    assert [(c["hazard"], c["colour"]) for c in rows[1]["causes"]] == [("forest_fire", "red"), ("gale", "blue")]
    assert rows[1]["reason"].startswith("红色森林火险预警区内")
    assert [(c["hazard"], c["colour"]) for c in rows[2]["causes"]] == [("gale", "blue")]


def test_causes_past_63_warnings_are_still_exact():
    """Cause sets are bit codes up to 63 warnings, packed bytes beyond: 70 SYNTHETIC gales."""
    alerts = [{"id": i, "hazard": "gale", "colour": "yellow" if i == 68 else "blue", "headline": f"SYNTHETIC {i}",
               "division_codes": [TH if i % 2 == 0 else QH]} for i in range(70)]
    f = facilities({"kind": "fire", "status": "open", "township": TH},
                   {"kind": "fire", "status": "open", "township": QH},
                   {"kind": "fire", "status": "open", "township": BS})
    rows = {r["facility_id"]: r for r in run(f, alerts, ["gale_fire"], date(2021, 12, 1))}
    assert sorted(rows) == [1, 2]
    assert [c["alert"] for c in rows[1]["causes"]] == [68] + list(range(0, 68, 2))  # the yellow one first
    assert [c["alert"] for c in rows[2]["causes"]] == list(range(1, 70, 2))
    assert rows[1]["reason"].startswith("黄色大风") and rows[2]["reason"].startswith("蓝色大风")


# --- forecasts flow through the hazard rules ---------------------------------------------------------

def test_forecast_hazards_trigger_hazard_rules_and_say_so(tmp_path):
    alerts = stored([cold_forecast()], "2021-12-03T12:00:00+08:00", point=(116.63, 40.74, TH))
    assert [(a["hazard"], a["colour"], a["format"], a["division_codes"]) for a in alerts] == \
        [("low_temperature", "blue", "forecast", [TH])]
    f = facilities({"kind": "heating", "status": "defect", "township": TH},
                   {"kind": "heating", "status": "defect", "township": QH})
    (row,) = run(f, alerts, ["cold_heating"], date(2021, 12, 3))
    assert (row["facility_id"], row["priority"]) == (1, "P2")
    assert row["reason"].startswith("蓝色低温（预报）预警区内供暖设施状态为“有缺陷”：预报最低气温 -16.0 °C")
    assert row["causes"][0]["source"] == "forecast"
    # a rule can leave forecasts out
    text = CONFIG.read_text(encoding="utf-8").replace('id = "cold_heating"\n', 'id = "cold_heating"\nforecasts = false\n')
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    assert run(f, alerts, ["cold_heating"], date(2021, 12, 3), config=load(path)) == []


# --- colours and households -----------------------------------------------------------------------

def rules_file(tmp_path, body: str):
    text = CONFIG.read_text(encoding="utf-8")
    text = text[:text.index("\n[[rules]]\n") + 1] + body
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load(path)


@pytest.mark.parametrize("colour_zh, expected", [("蓝色", None), ("黄色", None), ("橙色", "P2"), ("红色", "P1")])
def test_min_colour_and_the_priority_table(tmp_path, colour_zh, expected):
    config = rules_file(tmp_path, '[[rules]]\nid = "strong_gale"\ntrigger = "hazard"\nhazards = ["gale"]\n'
                                  'min_colour = "orange"\nkinds = ["fire"]\nstatuses = "open"\n'
                                  'priority = { orange = "P2", red = "P1" }\nreason = "{colour}{hazard}"\n')
    alerts = stored([huairou_cap("大风", colour_zh, polygon=TH_BOX)], "2021-12-01T12:00:00+08:00")
    rows = run(facilities({"kind": "fire", "status": "open"}), alerts, ["strong_gale"], date(2021, 12, 1),
               config=config)
    assert [r["priority"] for r in rows] == ([expected] if expected else [])


@pytest.mark.parametrize("households, steps, expected", [
    (199, (200,), "P3"), (200, (200,), "P2"), (999, (200, 1000), "P2"), (1000, (200, 1000), "P1"),
    (5000, (200, 1000, 2000), "P1"), (0, (), "P3"),
])
def test_households_raise_the_priority(households, steps, expected):
    f = facilities({"kind": "heating", "status": "ok", "households": households})
    rows = run(f, [], ["heating_preseason"], date(2021, 10, 10), raise_=steps)
    assert [r["priority"] for r in rows] == [expected]


def test_risk_score_sums_the_weights_of_open_follow_ups():
    rows = [{"township_code": TH, "priority": "P1"}, {"township_code": TH, "priority": "P3"},
            {"township_code": QH, "priority": "P2"}, {"township_code": None, "priority": "P1"}]
    assert risk_scores(rows, {"P1": 5, "P2": 3, "P3": 1}) == {TH: 6.0, QH: 3.0}


# --- reading from the store, explaining -------------------------------------------------------------

def test_facilities_read_from_the_store_match_the_plain_columns(tmp_path):
    s = Store.open(tmp_path / "m.db")
    rows = [
        {"kind": "heating", "subtype": "gas_heater", "name": "a", "lon": 116.6, "lat": 40.7, "township": TH,
         "status": "defect", "households": 12, "last_inspected": "2021-11-20T09:00:00Z", "due": "2021-12-01",
         "blocks_heating": 0},
        {"kind": "flood", "subtype": "bridge", "name": "b", "lon": 116.61, "lat": 40.71, "township": None,
         "status": "damaged", "households": None, "last_inspected": None, "due": None, "blocks_heating": 1},
        {"kind": "fire", "subtype": "old_wiring", "name": "c", "lon": 116.62, "lat": 40.72, "township": QH,
         "status": "verified", "households": 3, "last_inspected": "2021-10-01", "due": None, "blocks_heating": None},
    ]
    with s.write():
        s.replace_townships([{"code": c, "name": c, "geometry": b"x"} for c in TOWNSHIPS])
        ids = s.insert_facilities(rows, at="2021-01-01T00:00:00Z", by="t", note="")
    a = Facilities.from_store(s, TOWNSHIPS)
    b = facility_arrays({**{c: [r[c] for r in rows] for c in rows[0]}, "id": ids}, TOWNSHIPS)
    for col in ("id", "kind", "status", "subtype", "lon", "lat", "township", "households", "inspected", "due",
                "blocks_heating"):
        assert np.array_equal(getattr(a, col), getattr(b, col)), col
    only = Facilities.from_store(s, TOWNSHIPS, [RULES["cold_heating"]])  # kinds/statuses some rule takes
    assert only.id.tolist() == [ids[0]]


def test_explain_says_why_each_rule_did_or_did_not_match():
    alerts = stored([(ALERTS / "cn" / "weather-warning-zh-json__f18d095.json").read_bytes()],
                    "2021-10-10T09:00:00+08:00")
    areas = prepare_areas(alerts, TOWNSHIPS)
    today = date(2021, 10, 10)
    f = facilities({"kind": "fire", "status": "open", "due": "2021-10-01", "households": 250})
    out = {r["rule"]: r for r in explain(f, areas, list(RULES.values()), today=today,
                                         season=season_at(CFG, today), households_raise=(200,))}
    assert out["heating_preseason"]["checks"] == [{"ok": False, "why": "kind fire not in [heating]"}]
    gale = out["gale_fire"]
    assert gale["matched"] and gale["priority"] == "P1"
    assert [c["why"] for c in gale["checks"]][-2].startswith(f"covered by #{alerts[0]['id']} gale blue:")
    assert gale["checks"][-1]["why"] == "serves 250 households (at least 200): priority raised 1 level"
    assert out["overdue"]["matched"] and "due 2021-10-01 has passed (9 days)" in \
        [c["why"] for c in out["overdue"]["checks"]]
    g = facilities({"kind": "heating", "status": "ok", "last_inspected": "2021-10-05"})
    out = {r["rule"]: r for r in explain(g, areas, list(RULES.values()), today=today,
                                         season=season_at(CFG, today), households_raise=(200,))}
    assert not out["cold_heating"]["matched"]
    assert {"ok": False, "why": "status ok not in [defect, out_of_service, unchecked, under_repair]"} in \
        out["cold_heating"]["checks"]
    assert {"ok": False, "why": "no active warning of blizzard/cold_wave/low_temperature"} in \
        out["cold_heating"]["checks"]
    assert {"ok": False, "why": "inspected 2021-10-05, on or after 2021-10-01"} in out["heating_preseason"]["checks"]
    assert {"ok": False, "why": "not in the heating season 2021-11-15..2022-03-15 (today 2021-10-10)"} in \
        out["heating_season"]["checks"]


# --- rule files that are refused -----------------------------------------------------------------------

RULE = '[[rules]]\nid = "x"\ntrigger = "overdue"\nkinds = ["fire"]\nstatuses = "open"\npriority = "P1"\nreason = "r"\n'


@pytest.mark.parametrize("snippet, message", [
    ('[[rules]]\nid = "x"\ntrigger = "hazard"\nhazards = ["gail"]\nkinds = ["fire"]\nstatuses = ["open"]\n'
     'priority = "P1"\nreason = "r"\n', "config.toml:4: rule x: unknown hazard 'gail'"),
    (RULE.replace('"open"', '["opne"]'), "config.toml:5: rule x: unknown status 'opne'"),
    (RULE.replace("kinds", "kind"), "config.toml:4: rule x: unknown key 'kind'"),
    (RULE.replace('"P1"', '"P0"'), "config.toml:6: rule x: unknown priority 'P0'"),
    (RULE.replace('"overdue"', '"overdeu"'), "config.toml:3: rule x: unknown trigger 'overdeu'"),
    (RULE.replace('["fire"]', '["fires"]'), "config.toml:4: rule x: unknown kind 'fires'"),
    (RULE.replace('reason = "r"', 'reason = "逾期{dayz}天"'), "config.toml:7: rule x: unknown field {dayz}"),
    (RULE.replace('reason = "r"', 'reason = "逾期{days天"'), "config.toml:7: rule x: template is not valid"),
    (RULE.replace('statuses', 'subtypes = ["bridge"]\nstatuses'), "config.toml:5: rule x: unknown subtype 'bridge'"),
    (RULE.replace('priority', 'hazards = ["gale"]\npriority'), "config.toml:6: rule x: 'hazards' applies only"),
    (RULE + RULE.replace("x", "y").replace('reason = "r"', 'reason = "r"\nmax_age_days = 30'),
     "config.toml:15: rule y: 'max_age_days' applies only to the season and preseason triggers"),
    (RULE + "\n" + RULE, "config.toml:10: rule x: duplicate id"),
    ('[[rules]]\nid = "x"\ntrigger = "hazard"\nhazards = ["gale"]\nkinds = ["fire"]\nstatuses = "open"\n'
     'priority = { blue = "P1", yellow = "P2", orange = "P2", red = "P3" }\nreason = "r"\n',
     "config.toml:7: rule x: priority must not fall as the warning colour rises"),
    ('[[rules]]\nid = "x"\ntrigger = "hazard"\nhazards = ["gale"]\nmin_colour = "yellow"\nkinds = ["fire"]\n'
     'statuses = "open"\npriority = { orange = "P2", red = "P1" }\nreason = "r"\n',
     "config.toml:8: rule x: priority has no entry for yellow"),
    ('[season]\nheating_start = "11-31"\n\n' + RULE, "config.toml:2: [season] heating_start: '11-31' is not a month-day"),
    ('[priority]\nhouseholds_raise = -5\n\n' + RULE, "config.toml:2: [priority] households_raise"),
    ("", "no [[rules]]"),
])
def test_bad_rules_are_refused_with_their_line(tmp_path, snippet, message):
    path = tmp_path / "config.toml"
    path.write_text(snippet, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_rules(load(path))
    assert message in str(e.value)


def test_the_shipped_rules_load_and_are_the_documented_defaults():
    assert list(RULES) == ["heating_preseason", "heating_season", "cold_heating", "icing_roads", "rain_flood",
                           "geohazard_damage", "gale_fire", "forest_fire_period", "overdue", "heating_access"]
    assert RULES["heating_season"].max_age_days == 30
    assert all(r.forecasts for r in RULES.values() if r.trigger == "hazard")


def test_unknown_config_key_is_refused(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[season]\nheating_strat = '11-15'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="config.toml:2: unknown key 'heating_strat' in \\[season\\]"):
        load(path)



def test_an_unknown_key_is_reported_at_its_own_section(tmp_path):
    """The same key name in an earlier section must not draw the line number there."""
    path = tmp_path / "config.toml"
    path.write_text('[map]\ntitle = "x"\n\n[demo]\nas_of = "2021-10-10T09:00+08:00"\ntitle = "y"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config.toml:6: unknown key 'title' in \[demo\]"):
        load(path)



# --- the forest-fire calendar (issue 11 item 3) -------------------------------------------------

def forest_edge(*statuses):
    return facilities(*({"kind": "fire", "subtype": "forest_edge", "status": s} for s in statuses),
                      {"kind": "fire", "subtype": "old_wiring", "status": "open"})


@pytest.mark.parametrize("today, want", [
    (date(2025, 10, 31), set()),                                   # the day before the period
    (date(2025, 11, 1), {(1, "forest_fire_period", "P3"), (2, "forest_fire_period", "P3")}),
    (date(2025, 12, 31), {(1, "forest_fire_period", "P3"), (2, "forest_fire_period", "P3")}),
    (date(2026, 1, 1), {(1, "forest_fire_period", "P2"), (2, "forest_fire_period", "P2")}),   # high fire risk
    (date(2026, 4, 15), {(1, "forest_fire_period", "P2"), (2, "forest_fire_period", "P2")}),
    (date(2026, 4, 16), {(1, "forest_fire_period", "P3"), (2, "forest_fire_period", "P3")}),
    (date(2026, 5, 31), {(1, "forest_fire_period", "P3"), (2, "forest_fire_period", "P3")}),
    (date(2026, 6, 1), set()),                                     # the period is over
    (date(2026, 8, 1), set()),
])
def test_the_fire_period_puts_open_forest_edge_hazards_on_the_patrol_list(today, want):
    """Open and rectifying forest-edge hazards only (not rectified ones, not old wiring), from
    11-01 to 05-31 across the new year, one level higher from 01-01 to 04-15."""
    f = forest_edge("open", "rectifying", "rectified")
    assert got(run(f, [], ["forest_fire_period"], today, raise_=())) == want


def test_the_fire_period_reason_names_the_period():
    f = forest_edge("open")
    (row,) = run(f, [], ["forest_fire_period"], date(2025, 11, 16), raise_=())
    assert row["reason"] == "森林防火期（2025-11-01至2026-05-31）：林缘火灾隐患未整改（待整改），列入防火巡查"
    assert row["causes"] == [{"date": "2025-11-01", "what": "forest-fire prevention period 2025-11-01..2026-05-31"}]
    (row,) = run(f, [], ["forest_fire_period"], date(2026, 2, 1), raise_=())
    assert row["reason"].startswith("森林高火险期（2025-11-01至2026-05-31）")
    assert row["reason_en"].startswith("high fire-risk period (2025-11-01 to 2026-05-31)")
    assert row["causes"][0]["what"].endswith("high fire-risk period 2026-01-01..2026-04-15")


def test_the_fire_period_is_read_from_season_config(tmp_path):
    """Another district's period (here 10-15 to 04-30, high 03-01 to 04-10) from [season]."""
    text = CONFIG.read_text(encoding="utf-8").replace('fire_start = "11-01"', 'fire_start = "10-15"').replace(
        'fire_end = "05-31"', 'fire_end = "04-30"').replace('fire_high_start = "01-01"', 'fire_high_start = "03-01"')
    text = text.replace('fire_high_end = "04-15"', 'fire_high_end = "04-10"')
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    config = load(path)
    f = forest_edge("open")
    assert got(run(f, [], ["forest_fire_period"], date(2025, 10, 15), raise_=(), config=config)) == {
        (1, "forest_fire_period", "P3")}
    assert got(run(f, [], ["forest_fire_period"], date(2026, 3, 1), raise_=(), config=config)) == {
        (1, "forest_fire_period", "P2")}
    assert run(f, [], ["forest_fire_period"], date(2026, 5, 1), raise_=(), config=config) == []


def test_explain_says_whether_the_fire_period_applies():
    season = season_at(CFG, date(2025, 11, 16))
    (res,) = [r for r in explain(facilities({"kind": "fire", "subtype": "forest_edge", "status": "open"}), [],
                                 [RULES["forest_fire_period"]], today=date(2025, 11, 16), season=season)]
    assert res["matched"] and res["checks"][-1]["why"] == "in the forest-fire prevention period 2025-11-01..2026-05-31"
    summer = season_at(CFG, date(2025, 7, 1))
    (res,) = explain(facilities({"kind": "fire", "subtype": "forest_edge", "status": "open"}), [],
                     [RULES["forest_fire_period"]], today=date(2025, 7, 1), season=summer)
    assert not res["matched"] and "not in the forest-fire prevention period" in res["checks"][-1]["why"]


@pytest.mark.parametrize("snippet, message", [
    ('priority_high = "P2"\n', "'priority_high' applies only to trigger = \"fire_period\""),
])
def test_priority_high_only_for_the_fire_period(tmp_path, snippet, message):
    config = rules_file(tmp_path, '[[rules]]\nid = "x"\ntrigger = "overdue"\nkinds = ["fire"]\nstatuses = "open"\n'
                                  'priority = "P3"\n' + snippet + 'reason = "r"\n')
    with pytest.raises(ConfigError, match=message):
        load_rules(config)


def test_a_fire_period_that_is_not_a_month_day_is_refused(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.read_text(encoding="utf-8").replace('fire_end = "05-31"', 'fire_end = "05-32"'),
                    encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[season\] fire_end: '05-32' is not a month-day"):
        load_rules(load(path))


def test_new_hazards_can_be_targeted_by_rules(tmp_path):
    """A rule on every hazard of item 2 loads; a typo in one is refused with the list of known ones."""
    new = ["geohazard", "flash_flood", "co_poisoning", "thunder", "hail", "fog", "haze", "sand_dust"]
    config = rules_file(tmp_path, '[[rules]]\nid = "x"\ntrigger = "hazard"\nhazards = ' + json.dumps(new)
                        + '\nkinds = ["heating"]\nstatuses = "open"\npriority = "P2"\nreason = "{hazard}"\n')
    (rule,) = load_rules(config)
    assert rule.hazards == frozenset(new)
    config = rules_file(tmp_path, '[[rules]]\nid = "x"\ntrigger = "hazard"\nhazards = ["geohazards"]\n'
                        'kinds = ["heating"]\nstatuses = "open"\npriority = "P2"\nreason = "{hazard}"\n')
    with pytest.raises(ConfigError, match="unknown hazard 'geohazards'; known: .*geohazard, flash_flood, co_poisoning"):
        load_rules(config)
