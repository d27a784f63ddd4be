"""Recognising documents by content, refusing garbage in one clear line, and a light import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.alerts import Alert, ParsedDocument, parse_document
from monitor.errors import DataError, MonitorError

DATA = Path(__file__).parent / "data" / "alerts"


@pytest.mark.parametrize(
    "path, kind",
    [("cap/canada.cap", "cap"), ("cap/nws-5c2cf27b1f56885d61654dc47fa411d5.xml", "cap"), ("cap/weather.atom", "atom"),
     ("cap/amber.rss", "rss"), ("nws/pynws_alerts_active_zone.json", "nws"),
     ("cn/weather-warning-zh-json__c1871d8.json", "cma"), ("cn/getWeatherAlertCurrent-zh__850bc9b.json", "cma")],
)
def test_kind_by_content(path, kind):
    doc = parse_document((DATA / path).read_bytes(), source="beijing-cma")
    assert isinstance(doc, ParsedDocument) and doc.kind == kind
    assert all(isinstance(a, Alert) and a.source == "beijing-cma" for a in doc.alerts)


def test_every_shipped_document_parses_or_is_refused_clearly():
    refused = {"xee.cap", "warning-list-json__1823c0f.json"}
    for path in sorted(DATA.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.name in refused:
            with pytest.raises(DataError):
                parse_document(data)
            continue
        doc = parse_document(data, max_bytes=5_000_000, point=(116.63, 40.32, "110116107000"))
        for a in doc.alerts:
            assert a.sent is None or (len(a.sent) == 20 and a.sent.endswith("Z")), path.name
            assert all(-180 <= lon <= 180 and -90 <= lat <= 90 for ring in a.polygons for lon, lat in ring)
            assert all(len(c) == 12 and c.isdigit() for c in a.division_codes), path.name
            assert a.raw


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty document"),
        (b"   \n", "empty document"),
        (b"\x00\x01\x02garbage", "neither XML nor JSON"),
        (b"PK\x03\x04 zip", "neither XML nor JSON"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2, 3]", "not an object"),
        (b'{"hello": "world"}', "not an alert document"),
        ('{"warning": "大风"}'.encode("gbk"), "not UTF-8"),
        (b"<html><body/></html>", "not a CAP alert"),
        (b"<alert><unclosed></alert>", "not well-formed XML"),
    ],
)
def test_garbage_is_refused_in_one_clear_line(data, message):
    with pytest.raises(DataError) as e:
        parse_document(data)
    assert message in str(e.value)
    assert "\n" not in str(e.value)
    assert isinstance(e.value, MonitorError) and e.value.exit_code == 1


def test_not_an_alert_names_what_is_accepted():
    with pytest.raises(DataError, match="CAP 1.2/1.1 XML, an Atom/RSS index of CAP, api.weather.gov GeoJSON"):
        parse_document(b'{"hello": "world"}')


def test_size_limit_applies_to_json_too():
    data = (DATA / "cn" / "weather-warning-zh-json__c1871d8.json").read_bytes()
    with pytest.raises(DataError, match="limit"):
        parse_document(data, max_bytes=100)


ENDLESS = Path("/dev/zero")


@pytest.mark.skipif(not ENDLESS.exists(), reason="needs /dev/zero, a file that never ends")
def test_files_are_read_at_most_one_byte_past_the_limit(tmp_path):
    from monitor.alerts.files import read_capped

    f = tmp_path / "a.json"
    f.write_bytes(b"x" * 100)
    assert read_capped(f, 100) == b"x" * 100
    with pytest.raises(DataError, match=r"a\.json: over the 99-byte limit"):
        read_capped(f, 99)
    with pytest.raises(DataError, match="missing: cannot read"):
        read_capped(tmp_path / "missing", 100)
    # a file that never ends is refused after limit + 1 bytes instead of being read whole
    with pytest.raises(DataError, match="/dev/zero: over the 1,000-byte limit"):
        read_capped(ENDLESS, 1000)


@pytest.mark.skipif(not ENDLESS.exists(), reason="needs /dev/zero, a file that never ends")
def test_imported_files_are_read_capped(monkeypatch):
    from monitor.alerts import files

    monkeypatch.setattr(files, "MAX_FILE_BYTES", 1000)
    with pytest.raises(DataError, match="/dev/zero: over the 1,000-byte limit"):
        files.read_alert_files([ENDLESS])


def test_bytes_only():
    with pytest.raises(TypeError):
        parse_document("<alert/>")


def test_import_is_light_and_lxml_loads_with_the_first_xml():
    code = (
        "import sys, monitor.alerts as m\n"
        "assert 'lxml' not in sys.modules, 'lxml imported eagerly'\n"
        "assert 'monitor.alerts.cap' not in sys.modules\n"
        f"m.parse_document(open({str(DATA / 'cn' / 'warning-now__9adcb00.json')!r}, 'rb').read())\n"
        "assert 'lxml' not in sys.modules, 'JSON parsing imported lxml'\n"
        f"m.parse_document(open({str(DATA / 'cap' / 'canada.cap')!r}, 'rb').read())\n"
        "assert 'lxml.etree' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)


def test_a_malformed_nws_feature_costs_only_itself():
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"event": "Flood Watch", "id": "a", "geocode": {"UGC": 5}}},
        {"type": "Feature", "properties": {"event": "Flood Watch", "id": "b"}}]}
    parsed = parse_document(json.dumps(doc).encode())
    assert [a.identifier for a in parsed.alerts] == ["b"]
    assert parsed.warnings[0].startswith("feature 1 skipped: malformed")


_KEYS = st.sampled_from([
    "warning", "alerts", "metadata", "code", "type", "features", "properties", "event", "id", "latitude",
    "longitude", "hourly", "daily", "hourly_units", "time", "temperature_2m", "geometry", "coordinates",
    "messageType", "supersedes", "sent", "references", "geocode", "status", "pubTime", "related", "color",
])
_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False), st.text(max_size=6),
                  st.sampled_from(["Feature", "FeatureCollection", "200", "Polygon", "°C", "2025-01-10T00:00"]))
_JSON = st.recursive(_LEAF, lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(_KEYS, c, max_size=5)),
                     max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=120), st.dictionaries(_KEYS, _JSON, max_size=6).map(lambda d: json.dumps(d).encode())))
def test_anything_gives_a_document_or_a_data_error(data):
    try:
        doc = parse_document(data, point=(116.63, 40.32, "110116107000"))
    except DataError as e:
        assert "\n" not in str(e)
    else:
        assert isinstance(doc, ParsedDocument)
