"""The hazard table: type codes, names and colours to the hazards the rules use."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.alerts import hazards
from monitor.alerts.hazards import HAZARDS, classify, colour, colour_from_severity, colour_in_text, colour_rank


@pytest.mark.parametrize(
    "code, hazard",
    [("1004", "blizzard"), ("1005", "cold_wave"), ("1006", "gale"), ("1021", "road_icing"), ("1025", "forest_fire"),
     ("1003", "rainstorm"), ("1016", "frost"), ("1056", "low_temperature"), ("1008", "low_temperature"),
     ("1001", "other"), ("1017", "fog"), ("1019", "haze"), ("1014", "thunder"), ("1011", "other"),
     ("11B04", "blizzard"), ("11B05", "cold_wave"), ("11B06", "gale"), ("11B21", "road_icing"), ("11B25", "forest_fire"),
     ("2303", "frost"), ("2325", "road_icing"), ("2318", "other")],
)
def test_type_codes(code, hazard):
    assert classify(None, code) == hazard


def test_old_codes_are_renumbered():
    assert hazards.new_type_code("11b06") == "1006"
    assert hazards.type_names("11B21") == hazards.type_names("1021") == ("道路结冰", "Road Icing")
    assert hazards.type_names("1234567") is None


def test_every_table_code_classifies():
    table = hazards._types()
    assert len(table) == 461
    assert {classify(None, c) for c in table} == set(HAZARDS)


@pytest.mark.parametrize(
    "text, hazard",
    [("寒潮", "cold_wave"), ("低温", "low_temperature"), ("暴雪", "blizzard"), ("道路结冰", "road_icing"),
     ("大风", "gale"), ("森林火险", "forest_fire"), ("暴雨", "rainstorm"), ("霜冻", "frost"), ("台风", "other"),
     ("大雾", "fog"), ("高温", "other"), ("霾", "haze"), ("雷电", "thunder"), ("北京市气象台发布暴雪黄色预警信号", "blizzard"),
     ("Winter Storm Warning", "blizzard"), ("Blizzard Warning", "blizzard"), ("Extreme Cold Warning", "low_temperature"),
     ("Cold Weather Advisory", "low_temperature"), ("Wind Chill Warning", "low_temperature"),
     ("High Wind Warning", "gale"), ("Wind Advisory", "gale"), ("Red Flag Warning", "forest_fire"),
     ("Fire Weather Watch", "forest_fire"), ("Flood Warning", "rainstorm"), ("Flash Flood Warning", "flash_flood"),
     ("Flood Watch", "rainstorm"), ("Coastal Flood Warning", "other"), ("Ice Storm Warning", "road_icing"),
     ("Freezing Rain Advisory", "road_icing"), ("Freeze Warning", "frost"), ("Frost Advisory", "frost"),
     ("Dense Fog Advisory", "fog"), ("", "other"), (None, "other")],
)
def test_names(text, hazard):
    assert classify(text) == hazard


def test_code_that_names_no_hazard_leaves_it_to_the_text():
    assert classify("道路结冰", "9999") == "road_icing"  # 9999 其他预警
    assert classify("大风", "1005") == "cold_wave"  # a known code wins over the text


@pytest.mark.parametrize(
    "value, expected",
    [("蓝色", "blue"), ("Blue", "blue"), ("yellow", "yellow"), ("橙色", "orange"), ("RED", "red"),
     ("Ⅳ级", "blue"), ("Ⅲ级", "yellow"), ("II", "orange"), ("I", "red"), ("Green", None), ("", None), (None, None)],
)
def test_colour_fields(value, expected):
    assert colour(value) == expected


@pytest.mark.parametrize(
    "text, expected",
    [("北京市气象台发布大风蓝色预警信号", "blue"), ("暴雨黄色预警升级为橙色预警", "orange"),
     ("上海中心气象台发布大风蓝色预警[Ⅳ级/一般]", "blue"), ("[Ⅱ级/严重]", "orange"),
     ("issued a yellow typhoon warning [level III / heavy]", "yellow"), ("Strong Wind Warning - Orange", "orange"),
     ("Homeland Security Sets Code ORANGE", "orange"), ("Red Flag Warning", None),
     ("Flood Warning for the Red River", None), ("Blizzard Warning", None)],
)
def test_colour_in_text(text, expected):
    assert colour_in_text(text) == expected


def test_colour_order_and_severity():
    assert [colour_rank(c) for c in ("blue", "yellow", "orange", "red")] == [1, 2, 3, 4]
    assert colour_rank(None) == 0
    assert [colour_from_severity(s) for s in ("Minor", "Moderate", "Severe", "Extreme", "Unknown")] == [
        "blue", "yellow", "orange", "red", None]
    assert hazards.severity_from_colour("orange") == "Severe"


def test_hazard_names():
    assert (HAZARDS["road_icing"].zh, HAZARDS["road_icing"].en) == ("道路结冰", "road icing")
    assert set(HAZARDS) == {"cold_wave", "low_temperature", "blizzard", "road_icing", "gale", "forest_fire",
                            "rainstorm", "frost", "geohazard", "flash_flood", "co_poisoning", "thunder", "hail",
                            "fog", "haze", "sand_dust", "other"}


# Issue 11 item 2: the warnings a district gets after a flood and in winter, each to its own
# hazard (they all used to fall into `other`), by type code and by the name in a title.
@pytest.mark.parametrize(
    "code, name, hazard",
    [("1037", "地质灾害", "geohazard"), ("1250", "地质灾害", "geohazard"), ("1248", "地质灾害气象风险", "geohazard"),
     ("1242", "泥石流事件", "geohazard"), ("1241", "滑坡事件", "geohazard"), ("1219", "山洪灾害气象风险", "flash_flood"),
     ("1214", "山洪灾害事件", "flash_flood"), ("1014", "雷电", "thunder"), ("1015", "冰雹", "hail"),
     ("1017", "大雾", "fog"), ("1019", "霾", "haze"), ("1007", "沙尘暴", "sand_dust"),
     ("1068", "一氧化碳中毒气象条件", "co_poisoning")],
)
def test_flood_and_winter_warning_types_have_their_own_hazard(code, name, hazard):
    assert hazards.type_names(code)[0] == name
    assert classify(None, code) == hazard
    assert classify(f"北京市气象台发布{name}橙色预警") == hazard
    assert classify(name) == hazard


@pytest.mark.parametrize("text, hazard", [
    ("泥石流", "geohazard"), ("滑坡", "geohazard"), ("山洪灾害红色预警", "flash_flood"),
    ("地质灾害气象风险红色预警", "geohazard"), ("雷雨大风黄色预警", "gale"), ("海上雷电", "thunder"),
    ("Debris Flow", "geohazard"), ("Landslide Warning", "geohazard"), ("Severe Thunderstorm Warning", "thunder"),
    ("Dust Storm Warning", "sand_dust"), ("Freezing Fog Advisory", "fog"), ("Air Stagnation Advisory", "other"),
])
def test_names_after_a_flood_and_in_winter(text, hazard):
    assert classify(text) == hazard


@pytest.mark.parametrize("event, code, colour_, bad", [
    ("道路结冰", None, "blue", True), ("道路结冰", None, "yellow", False), (None, "1021", "blue", True),
    (None, "11B21", "blue", True), ("大雾", None, "blue", True), ("霾", None, "red", False), ("霾", None, "blue", True),
    ("冰雹", None, "yellow", True), ("冰雹", None, "orange", False), ("霜冻", None, "red", True),
    ("干旱", None, "yellow", True), ("寒潮", None, "blue", False), ("大风", "1006", "blue", False),
    ("雷电", None, "blue", True), ("沙尘暴", None, "blue", True),
    ("地质灾害", None, "blue", False),   # not a CMA signal type: not checked
    ("海上大雾", None, "blue", False),   # not the 大雾 signal
    ("道路结冰", None, None, False),
])
def test_a_level_the_signal_type_lacks_is_warned_about(event, code, colour_, bad):
    warning = hazards.level_warning(event, code, colour_)
    assert (warning is not None) == bad
    if bad:
        zh, en = warning.split("；")
        assert "没有" in zh and f"no {colour_} level" in en


def test_the_level_table_covers_the_signal_types_of_the_guide():
    # the 14 signals of 《气象灾害预警信号及防御指南》, with their published levels
    assert len(hazards.SIGNAL_LEVELS) == 14
    assert hazards.SIGNAL_LEVELS["寒潮"] == ("blue", "yellow", "orange", "red")
    assert hazards.SIGNAL_LEVELS["道路结冰"] == hazards.SIGNAL_LEVELS["大雾"] == ("yellow", "orange", "red")
    assert all(set(v) <= set(hazards.COLOURS) for v in hazards.SIGNAL_LEVELS.values())


@given(st.text(max_size=60), st.one_of(st.none(), st.text(max_size=6)))
def test_classify_and_colour_never_fail(text, code):
    assert classify(text, code) in HAZARDS
    assert colour_in_text(text) in (None, *hazards.COLOURS)


def test_a_warning_at_a_level_its_type_lacks_is_stored_with_a_warning_not_refused(district, tmp_path):
    """The real Beijing gale message (QWeather v7 JSON) turned into a 道路结冰 blue signal, which
    the CMA guide does not have, and a CAP message saying the same in its title: both are
    imported, each carrying the warning."""
    import json
    import sqlite3

    from conftest import DATA

    doc = json.loads((DATA / "alerts" / "cn" / "weather-warning-zh-json__c1871d8.json").read_text(encoding="utf-8"))
    w = doc["warning"][0]
    w.update(type="1021", typeName="道路结冰", title=w["title"].replace("大风", "道路结冰"))
    bad = tmp_path / "icing_blue.json"
    bad.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    cap = (DATA / "alerts" / "cap" / "v1dot2_appendix_adot1.xml").read_text(encoding="utf-8")
    cap = cap.replace("<event>", "<event>道路结冰 ").replace(
        "Homeland Security Sets Code ORANGE", "北京市气象台发布道路结冰蓝色预警信号")
    (tmp_path / "icing_blue.xml").write_text(cap, encoding="utf-8")
    district("alerts", "import", str(bad), str(tmp_path / "icing_blue.xml"), as_of="2021-10-10T09:00:00+08:00")
    rows = sqlite3.connect(district.db).execute("SELECT format, colour, warnings FROM alerts ORDER BY id").fetchall()
    assert [(f, c) for f, c, _ in rows] == [("cma", "blue"), ("cap", "blue")]
    for _, _, warnings in rows:
        assert "道路结冰预警信号没有蓝色一级" in warnings and "road icing signals have no blue level" in warnings


def test_the_forest_fire_warnings_of_beijings_fire_office_parse_like_any_other():
    """北京市森防办's 森林火险橙色预警 (2025-04-01 16:00, 1st-6th April, as reported), served in the
    QWeather v7 shape of the real Beijing gale message: forest_fire, orange, all of Beijing."""
    import json

    from conftest import DATA

    from monitor.alerts import parse_document

    doc = json.loads((DATA / "alerts" / "cn" / "weather-warning-zh-json__c1871d8.json").read_text(encoding="utf-8"))
    w = doc["warning"][0]
    w.update(sender="北京市森林防火办公室", type="", typeName="森林火险", level="橙色", severityColor="",
             title="北京市森林防火办公室2025年04月01日16时发布森林火险橙色预警", pubTime="2025-04-01T16:00+08:00",
             startTime="2025-04-01T16:00+08:00", endTime="2025-04-06T23:59+08:00")
    (a,) = parse_document(json.dumps(doc, ensure_ascii=False).encode(), source="file", max_bytes=10**6).alerts
    assert (a.hazard, a.colour, a.division_codes) == ("forest_fire", "orange", ["110000000000"])
    assert not [x for x in a.warnings if "没有" in x]  # not a CMA signal type: its levels are not checked
