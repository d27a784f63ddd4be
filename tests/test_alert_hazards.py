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
     ("1001", "other"), ("1017", "other"), ("1019", "other"), ("1014", "other"), ("1011", "other"),
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
     ("大雾", "other"), ("高温", "other"), ("霾", "other"), ("雷电", "other"), ("北京市气象台发布暴雪黄色预警信号", "blizzard"),
     ("Winter Storm Warning", "blizzard"), ("Blizzard Warning", "blizzard"), ("Extreme Cold Warning", "low_temperature"),
     ("Cold Weather Advisory", "low_temperature"), ("Wind Chill Warning", "low_temperature"),
     ("High Wind Warning", "gale"), ("Wind Advisory", "gale"), ("Red Flag Warning", "forest_fire"),
     ("Fire Weather Watch", "forest_fire"), ("Flood Warning", "rainstorm"), ("Flash Flood Warning", "rainstorm"),
     ("Flood Watch", "rainstorm"), ("Coastal Flood Warning", "other"), ("Ice Storm Warning", "road_icing"),
     ("Freezing Rain Advisory", "road_icing"), ("Freeze Warning", "frost"), ("Frost Advisory", "frost"),
     ("Dense Fog Advisory", "other"), ("", "other"), (None, "other")],
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
                            "rainstorm", "frost", "other"}


@given(st.text(max_size=60), st.one_of(st.none(), st.text(max_size=6)))
def test_classify_and_colour_never_fail(text, code):
    assert classify(text, code) in HAZARDS
    assert colour_in_text(text) in (None, *hazards.COLOURS)
