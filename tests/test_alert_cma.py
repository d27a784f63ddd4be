"""CMA warnings in QWeather JSON: every file in tests/data/alerts/cn, and the area tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.alerts import parse_document
from monitor.alerts.cma import codes_for_location, codes_for_sender
from monitor.errors import DataError

CN = Path(__file__).parent / "data" / "alerts" / "cn"


def alerts(name: str, **kw):
    doc = parse_document((CN / name).read_bytes(), **kw)
    assert doc.kind == "cma"
    return doc.alerts


@pytest.mark.parametrize("name, code", [("weather-warning-zh-json__c1871d8.json", "1006"),
                                        ("weather-warning-zh-json__f18d095.json", "11B06")])
def test_beijing_gale_blue_under_new_and_old_codes(name, code):
    (a,) = alerts(name)
    assert (a.format, a.sender, a.identifier) == ("cma", "北京市气象局", "10101010020211009154607668935939")
    assert (a.hazard, a.colour, a.cma_type, a.event) == ("gale", "blue", code, "大风")
    assert a.division_codes == ["110000000000"]  # id starts with 101010100, Beijing city
    assert a.sent == "2021-10-09T07:46:00Z"
    assert a.onset == "2021-10-09T07:40:00Z" and a.expires == "2021-10-10T07:40:00Z"
    assert (a.msg_type, a.status, a.references) == ("Alert", "Actual", [])
    assert a.headline == "北京市气象台2021年10月09日15时40分发布大风蓝色预警信号"
    assert a.language == "zh-CN" and a.event_en == "Gale"
    assert a.severity == "Minor" and a.warnings == []
    assert json.loads(a.raw)["id"] == a.identifier


def test_area_codes_from_config_win():
    (a,) = alerts("weather-warning-zh-json__c1871d8.json", area_codes=["110116"])
    assert a.division_codes == ["110116000000"]


@pytest.mark.parametrize("name", ["getWarningNow-zh__850bc9b.json", "warning-now__9adcb00.json", "getWarningNow-en__850bc9b.json"])
def test_shanghai_gale(name):
    (a,) = alerts(name)
    assert (a.hazard, a.colour, a.cma_type, a.severity) == ("gale", "blue", "1006", "Minor")
    assert a.division_codes == ["310000000000"]
    assert a.sent == "2023-04-03T02:30:00Z" and a.expires == "2023-04-04T02:30:00Z"


def test_shanghai_english_text():
    (a,) = alerts("getWarningNow-en__850bc9b.json")
    assert a.language == "en" and a.event == "Gale" and a.event_en == "Gale"
    assert a.sender == "Shanghai Central Meteorological Observatory" and a.headline_en == a.headline


@pytest.mark.parametrize("name, typhoon, gale", [("weather-warning-en-json__c1871d8.json", "1001", "1006"),
                                                 ("weather-warning-en-json__f18d095.json", "11B01", "11B06")])
def test_xiamen_typhoon_and_gale_continuation(name, typhoon, gale):
    t, g = alerts(name)
    assert t.sender == "Xiamen_meteorological_observatory" and t.sender_name == "Xiamen meteorological observatory"
    assert (t.hazard, t.colour, t.cma_type, t.event, t.msg_type) == ("other", "yellow", typhoon, "Typhoon", "Alert")
    assert (g.hazard, g.colour, g.cma_type, g.event) == ("gale", "yellow", gale, "Gale")
    assert g.msg_type == "Update"  # status 'active' but it names the warning it continues
    assert g.references == [("Xiamen_meteorological_observatory", "10123020120211009213700075228006", None)]
    assert t.onset == "2021-10-10T03:15:00Z" and g.expires == "2021-10-11T01:45:00Z"
    assert t.division_codes == [] and any(w.startswith("no area") for w in t.warnings)
    (t2, _) = alerts(name, area_codes=["350200"])
    assert t2.division_codes == ["350200000000"] and not any(w.startswith("no area") for w in t2.warnings)


def test_yulong_old_code_english():
    (a,) = alerts("weather-warning-en-json__34aab3a.json")
    assert (a.hazard, a.colour, a.cma_type) == ("gale", "blue", "11B06")
    assert a.onset == "2021-03-17T03:29:00Z" and a.expires == "2021-03-17T08:29:00Z"


@pytest.mark.parametrize("name", ["warning-json__1823c0f.json", "warning-json__291ae1e.json"])
def test_oldest_style_names_not_codes_and_no_end_time(name):
    (a,) = alerts(name)
    assert (a.hazard, a.colour, a.cma_type, a.event) == ("gale", "blue", None, "大风")
    assert a.sender == "吉林省长春市气象台"  # no sender field: taken from the title
    assert a.sent == "2020-06-20T14:20:00Z" and a.onset is None
    assert a.expires == "2020-06-21T14:20:00Z"  # 24 h after publication, as QWeather advises
    assert any("24 h" in w for w in a.warnings)
    assert a.msg_type == "Alert"  # status 预警中


def test_new_alert_format_zh_update_supersedes():
    (a,) = alerts("getWeatherAlertCurrent-zh__850bc9b.json")
    assert (a.identifier, a.sender, a.msg_type) == ("202510241119105837988676", "临桂区气象台", "Update")
    assert a.references == [("临桂区气象台", "202510181140100706230391", None)]
    assert (a.hazard, a.colour, a.cma_type, a.severity) == ("gale", "blue", "1006", "Minor")
    assert a.sent == a.onset == a.effective == "2025-10-24T03:19:00Z" and a.expires == "2025-10-25T03:19:00Z"
    assert a.instruction.startswith("1. 政府及有关部门")
    assert a.urgency is None and a.division_codes == []


def test_new_alert_format_en_wind_orange():
    (a,) = alerts("getWeatherAlertCurrent-en__850bc9b.json")
    assert (a.hazard, a.colour, a.msg_type, a.severity, a.urgency) == ("gale", "orange", "Update", "Moderate", "Future")
    assert a.cma_type == "2551" and a.sent == "2025-10-16T21:00:00Z" and a.expires == "2025-10-18T00:00:00Z"
    assert a.references == [("Meteorological Service of New Zealand Limited", "202510160638008946296098", None)]


def test_warning_location_list_is_not_alerts():
    with pytest.raises(DataError, match="location list"):
        parse_document((CN / "warning-list-json__1823c0f.json").read_bytes())


def test_qweather_status_codes():
    assert parse_document(b'{"code": "204", "warning": []}').alerts == []
    with pytest.raises(DataError, match="401"):
        parse_document(b'{"code": "401"}')
    with pytest.raises(DataError, match="Unauthorized"):
        parse_document(b'{"error": {"status": 401, "type": "x", "title": "Unauthorized"}}')


def test_cancel_status():
    doc = json.loads((CN / "weather-warning-zh-json__c1871d8.json").read_text())
    doc["warning"][0]["status"] = "cancel"
    (a,) = parse_document(json.dumps(doc).encode()).alerts
    assert a.msg_type == "Cancel"


@pytest.mark.parametrize(
    "name, codes",
    [("北京市气象台", ["110000000000"]), ("北京市气象局", ["110000000000"]), ("怀柔区气象台", ["110116000000"]),
     ("北京市怀柔区气象台", ["110116000000"]), ("Beijing_meteorological_observatory", ["110000000000"]),
     ("长春市朝阳区气象台", []), ("临桂区气象台", []), (None, [])],
)
def test_codes_for_sender(name, codes):
    assert codes_for_sender(name) == codes


def test_codes_for_location():
    assert codes_for_location("101010500") == ["110116000000"]  # 怀柔
    assert codes_for_location("10101010020211009154607668935939") == ["110000000000"]
    assert codes_for_location("101011300") == ["110118000000"]  # 密云
    assert codes_for_location("101291406") == []
