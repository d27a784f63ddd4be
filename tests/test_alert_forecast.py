"""Open-Meteo forecasts to synthetic alerts: the real one-step responses, and a SYNTHETIC winter.

The shipped Open-Meteo fixtures are single summer time steps in Amsterdam, so the threshold
logic is exercised on `winter()`, an Open-Meteo-shaped document written here (SYNTHETIC: made up
for these tests, not real data) for a Huairou township point.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor.alerts import parse_document
from monitor.errors import ConfigError, DataError

OM = Path(__file__).parent / "data" / "alerts" / "open_meteo"
POINT = (116.63, 40.32, "110116107000")  # near 怀柔镇


def winter(temp_unit="°C", wind_unit="km/h", snow_unit="cm", unixtime=False) -> dict:
    """SYNTHETIC 4-day hourly forecast from 2025-01-10 00:00 Beijing time (UTC+8).

    Daily minima 0, -1, -10, -16 °C (48 h drops 1, 10, 15 °C); gusts 20 km/h except 72 km/h
    (20 m/s) at hour 50 and 104.4 km/h (29 m/s) at hour 60; 5 cm of snow on day 2, 2.4 cm on day 4.
    """
    start = datetime(2025, 1, 10)
    temps = [t for t in (0.0, -1.0, -10.0, -16.0) for _ in range(24)]
    gusts = [20.0] * 96
    gusts[50], gusts[60] = 72.0, 104.4
    snow = [0.0] * 96
    for h in range(24, 34):
        snow[h] = 0.5
    for h in range(72, 96):
        snow[h] = 0.1
    to_f = (lambda c: c * 9 / 5 + 32) if temp_unit == "°F" else (lambda c: c)
    to_wind = (lambda k: k / 1.609344) if wind_unit == "mph" else (lambda k: k)
    to_snow = (lambda c: c / 2.54) if snow_unit == "inch" else (lambda c: c)
    times = [start + timedelta(hours=h) for h in range(96)]
    offset = timezone(timedelta(hours=8))
    return {
        "latitude": 40.32, "longitude": 116.62, "generationtime_ms": 0.5, "utc_offset_seconds": 28800,
        "timezone": "Asia/Shanghai", "timezone_abbreviation": "CST", "elevation": 80,
        "hourly_units": {"time": "unixtime" if unixtime else "iso8601", "temperature_2m": temp_unit,
                         "wind_gusts_10m": wind_unit, "snowfall": snow_unit},
        "hourly": {
            "time": [int(t.replace(tzinfo=offset).timestamp()) for t in times] if unixtime
            else [t.strftime("%Y-%m-%dT%H:%M") for t in times],
            "temperature_2m": [round(to_f(t), 3) for t in temps],
            "wind_gusts_10m": [round(to_wind(g), 4) for g in gusts],
            "snowfall": [round(to_snow(s), 5) for s in snow],
        },
    }


def parse(doc: dict, **kw):
    return parse_document(json.dumps(doc).encode(), point=POINT, **kw)


def by_hazard(doc) -> dict:
    return {a.hazard: a for a in doc.alerts}


def test_synthetic_winter_gives_all_four_hazards():
    doc = parse(winter())
    assert doc.kind == "forecast" and doc.warnings == []
    alerts = by_hazard(doc)
    assert set(alerts) == {"low_temperature", "cold_wave", "gale", "blizzard"}

    low = alerts["low_temperature"]
    assert (low.format, low.sender, low.source) == ("forecast", "open-meteo", "file")
    assert low.identifier == "forecast:110116107000:low_temperature:2025-01-13"
    assert (low.onset, low.expires) == ("2025-01-12T16:00:00Z", "2025-01-13T16:00:00Z")
    assert low.colour == "blue" and low.severity == "Minor"
    assert low.headline == "预报最低气温 -16.0 °C（阈值 -15 °C）"
    assert low.division_codes == ["110116107000"] and low.sent == "2025-01-09T16:00:00Z"

    cold = alerts["cold_wave"]  # drops of 10 and 15 °C on days 3 and 4; 15 is orange (12..16)
    assert cold.identifier == "forecast:110116107000:cold_wave:2025-01-12"
    assert (cold.onset, cold.expires, cold.colour) == ("2025-01-11T16:00:00Z", "2025-01-13T16:00:00Z", "orange")

    gale = alerts["gale"]  # 20 m/s and 29 m/s: orange from 28.5 m/s (CMA gust force 11)
    assert (gale.onset, gale.expires, gale.colour) == ("2025-01-11T18:00:00Z", "2025-01-12T05:00:00Z", "orange")
    assert "29.0 m/s" in gale.headline

    snow = alerts["blizzard"]  # 5 cm of snow = 7.1 mm of water on day 2; 2.4 cm (3.4 mm) is not enough
    assert (snow.onset, snow.expires, snow.colour) == ("2025-01-10T16:00:00Z", "2025-01-11T16:00:00Z", "blue")
    assert "7.1 mm" in snow.headline_en


def test_units_are_converted():
    reference = {h: (a.onset, a.expires, a.colour) for h, a in by_hazard(parse(winter())).items()}
    other = parse(winter(temp_unit="°F", wind_unit="mph", snow_unit="inch", unixtime=True))
    assert {h: (a.onset, a.expires, a.colour) for h, a in by_hazard(other).items()} == reference


def test_thresholds_and_issued_time():
    doc = parse(winter(), thresholds={"min_temperature_c": -20, "drop_48h_c": 16, "gust_ms": 30, "snowfall_mm": 8},
                issued="2025-01-10T07:00:00+08:00")
    assert doc.alerts == []
    a = by_hazard(parse(winter(), thresholds={"gust_ms": 25}, issued="2025-01-10T07:00+08:00"))["gale"]
    assert a.onset == "2025-01-12T04:00:00Z" and a.colour == "yellow"  # only 29 m/s is over 25; 28.8 up is yellow
    assert a.sent == "2025-01-09T23:00:00Z"
    with pytest.raises(ConfigError, match="gust_m_s"):
        parse(winter(), thresholds={"gust_m_s": 20})


def test_daily_block():
    doc = {
        "latitude": 40.32, "longitude": 116.62, "utc_offset_seconds": 28800,
        "daily_units": {"time": "iso8601", "temperature_2m_min": "°C", "wind_gusts_10m_max": "m/s", "snowfall_sum": "cm"},
        "daily": {"time": ["2025-01-10", "2025-01-11", "2025-01-12", "2025-01-13"],
                  "temperature_2m_min": [0, -1, -10, None], "wind_gusts_10m_max": [5, 5, 18, 5],
                  "snowfall_sum": [0, 5, 0, 0]},
    }
    alerts = by_hazard(parse(doc))
    assert set(alerts) == {"cold_wave", "gale", "blizzard"}  # the null minimum is left out
    assert (alerts["gale"].onset, alerts["gale"].expires) == ("2025-01-11T16:00:00Z", "2025-01-12T16:00:00Z")
    assert alerts["cold_wave"].colour == "yellow"  # 10 °C: yellow from 10


def test_real_fixtures_parse_with_their_distance_warning():
    for name in ("forecast", "historical", "ensemble"):
        doc = parse_document((OM / f"tempi_marathon_responses_{name}.json").read_bytes(), point=POINT)
        assert doc.kind == "forecast" and doc.alerts == []  # summer in Amsterdam
        assert len(doc.warnings) == 1 and "km from the township point" in doc.warnings[0]


def test_real_forecast_fixture_crosses_a_raised_threshold():
    data = (OM / "tempi_marathon_responses_forecast.json").read_bytes()
    (a,) = parse_document(data, point=POINT, thresholds={"min_temperature_c": 25}).alerts
    assert a.hazard == "low_temperature" and a.colour == "blue"  # 21.2 °C, 3.8 below 25
    assert a.onset == "2026-07-10T22:00:00Z" and a.expires == "2026-07-10T23:00:00Z"  # 00:00 at UTC+2
    assert a.identifier == "forecast:110116107000:low_temperature:2026-07-11"
    assert a.raw == data.decode() and a.warnings and "km from" in a.warnings[0]


def test_forecast_needs_a_point():
    with pytest.raises(DataError, match="township point"):
        parse_document((OM / "tempi_marathon_responses_forecast.json").read_bytes())


def test_broken_forecast_is_refused():
    doc = winter()
    doc["hourly"]["temperature_2m"].pop()
    with pytest.raises(DataError, match="95 values for 96 times"):
        parse(doc)
    doc = winter()
    doc["hourly"]["time"][3] = "yesterday"
    with pytest.raises(DataError, match="'yesterday' is not iso8601"):
        parse(doc)
