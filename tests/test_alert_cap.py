"""CAP 1.2/1.1 messages and Atom/RSS indexes: the real documents in tests/data/alerts/cap."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from monitor.alerts import parse_document
from monitor.errors import DataError

CAP = Path(__file__).parent / "data" / "alerts" / "cap"


def one(name: str, **kw):
    doc = parse_document((CAP / name).read_bytes(), **kw)
    assert doc.kind == "cap" and len(doc.alerts) == 1
    return doc.alerts[0]


# --- the four OASIS appendix examples --------------------------------------------------------


def test_appendix_1_fields_times_and_no_schema_warnings():
    a = one("v1dot2_appendix_adot1.xml")
    assert (a.sender, a.identifier, a.sent) == ("hsas@dhs.gov", "43b080713727", "2003-04-02T19:39:01Z")
    assert (a.msg_type, a.status, a.scope) == ("Alert", "Actual", "Public")
    assert a.event == "Homeland Security Advisory System Update"
    assert a.colour == "orange"  # "Code ORANGE" in the headline
    assert a.area_desc == "U.S. nationwide and interests worldwide"
    assert a.warnings == []
    assert a.raw == (CAP / "v1dot2_appendix_adot1.xml").read_text(encoding="utf-8")


def test_appendix_2_polygon_is_swapped_to_lon_lat():
    a = one("v1dot2_appendix_adot2.xml")
    (ring,) = a.polygons
    assert ring[0] == (-120.14, 38.47)  # the file says "38.47,-120.14": lat,lon
    assert ring[1] == (-119.95, 38.34)
    assert ring[0] == ring[-1] and len(ring) == 5
    assert a.geocodes == [("SAME", "006109"), ("SAME", "006009"), ("SAME", "006003")]
    assert a.division_codes == []  # SAME county codes are not Chinese division codes
    assert a.expires == "2003-06-17T23:00:00Z"
    assert a.severity == "Severe" and a.colour == "orange"


def test_appendix_3_update_references_and_circle():
    a = one("v1dot2_appendix_adot3.xml")
    assert a.msg_type == "Update"
    assert a.references == [("trinet@caltech.edu", "TRI13970876.1", "2003-06-12T03:30:00Z")]
    assert a.circles == [(-115.5527, 32.9525, 0.0)]


def test_appendix_4_two_info_blocks():
    a = one("v1dot2_appendix_adot4.xml")
    assert a.language == "en-US" and a.event == "Child Abduction"
    assert a.headline == "Amber Alert in Los Angeles County"
    assert a.event_en == "Child Abduction"
    assert "Los Ángeles" not in (a.area_desc or "")  # the es-US block does not leak into the text
    assert a.geocodes == [("SAME", "006037")]  # both blocks name it; kept once


# A GB/T 35965.1-style bilingual message. SYNTHETIC: written for this test (no real Chinese CAP
# message is shipped); English block first, to show zh-CN is preferred wherever it is.
BILINGUAL = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>11011641600000_20241120083000</identifier>
  <sender>怀柔区气象台</sender>
  <sent>2024-11-20T08:30:00+08:00</sent>
  <status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info>
    <language>en-US</language><category>Met</category><event>Gale</event>
    <urgency>Expected</urgency><severity>Minor</severity><certainty>Likely</certainty>
    <eventCode><valueName>CMA</valueName><value>11B06</value></eventCode>
    <expires>2024-11-21T08:30:00+08:00</expires>
    <headline>Huairou District Meteorological Observatory issued a blue gale warning</headline>
    <area><areaDesc>Huairou</areaDesc><geocode><valueName>GB/T 2260</valueName><value>110116000000</value></geocode></area>
  </info>
  <info>
    <language>zh-CN</language><category>Met</category><event>大风</event>
    <urgency>Expected</urgency><severity>Minor</severity><certainty>Likely</certainty>
    <eventCode><valueName>CMA</valueName><value>11B06</value></eventCode>
    <expires>2024-11-21T08:30:00+08:00</expires>
    <senderName>北京市怀柔区气象台</senderName>
    <headline>怀柔区气象台发布大风蓝色预警信号</headline>
    <description>预计20日午后至夜间，本区有4级左右偏北风，阵风7级左右。</description>
    <area><areaDesc>怀柔区</areaDesc>
      <geocode><valueName>GB/T 2260</valueName><value>110116</value></geocode>
      <geocode><valueName>GB/T 2260</valueName><value>110116107</value></geocode>
    </area>
  </info>
</alert>"""


def test_bilingual_prefers_zh_cn_and_keeps_english_headline():
    (a,) = parse_document(BILINGUAL.encode()).alerts
    assert a.language == "zh-CN"
    assert (a.event, a.event_en) == ("大风", "Gale")
    assert a.headline == "怀柔区气象台发布大风蓝色预警信号"
    assert a.headline_en.startswith("Huairou District")
    assert (a.hazard, a.colour, a.cma_type) == ("gale", "blue", "11B06")
    assert a.area_desc == "怀柔区"
    assert a.division_codes == ["110116000000", "110116107000"]  # 6/9/12 digits -> 12, deduped
    assert a.sent == "2024-11-20T00:30:00Z" and a.expires == "2024-11-21T00:30:00Z"
    assert a.warnings == []


def test_chinese_sender_gives_division_code_when_no_geocode():
    xml = BILINGUAL.replace("<geocode><valueName>GB/T 2260</valueName><value>110116000000</value></geocode>", "")
    xml = xml.replace("<geocode><valueName>GB/T 2260</valueName><value>110116</value></geocode>", "")
    xml = xml.replace("<geocode><valueName>GB/T 2260</valueName><value>110116107</value></geocode>", "")
    (a,) = parse_document(xml.encode()).alerts
    assert a.geocodes == [] and a.division_codes == ["110116000000"]  # from 北京市怀柔区气象台


# --- real messages -----------------------------------------------------------------------------


def test_nws_cap_1_1_blizzard_geocodes_and_empty_polygon():
    a = one("nws-5c2cf27b1f56885d61654dc47fa411d5.xml")
    assert a.event == "Blizzard Warning" and a.hazard == "blizzard" and a.colour == "orange"
    assert a.polygons == []  # <polygon></polygon>: zone-only
    assert ("UGC", "MNZ020") in a.geocodes and ("FIPS6", "027031") in a.geocodes
    assert len(a.geocodes) == 4
    assert a.sent == "2021-12-27T16:08:00Z" and a.expires == "2021-12-28T00:00:00Z"
    assert a.warnings == []  # CAP 1.1: no schema, and every required element is there


def test_canada_update_with_two_references_and_polygons_across_languages():
    a = one("canada.cap")
    assert a.msg_type == "Update" and a.language == "en-CA" and a.event == "thunderstorm"
    assert a.references == [
        ("cap@ec.gc.ca", "2.49.0.1.124.a3f342a4.2012", "2012-05-02T21:45:05Z"),
        ("cap@ec.gc.ca", "2.49.0.1.124.60f31a3a.2012", "2012-05-02T21:55:21Z"),
    ]
    assert len(a.polygons) == 2  # en and fr repeat the same two areas
    assert a.polygons[0][0] == (-82.9314, 42.3481)
    assert ("profile:CAP-CP:Location:0.3", "3537001") in a.geocodes
    assert a.division_codes == []
    assert a.area_desc == "Windsor - Leamington - Essex County; Chatham-Kent - Rondeau Park"


def test_australia_circles_and_geocodes_with_prefixed_namespace():
    a = one("australia.cap")
    assert a.circles == [(147.0598, -35.3888, 25.0)]
    assert a.geocodes == [
        ("http://www.iso.org/iso/country_codes.html", "AU-NSW"),
        ("http://www.psma.com.au/?product=postcode-boundaries", "2642"),
    ]
    assert a.sent == "2011-10-05T13:04:00Z"
    assert "<br />" in a.description  # &lt;br /&gt; is text, decoded once


def test_invalid_cap_is_kept_with_a_warning_about_scope():
    a = one("invalid.cap")
    assert a.identifier == "12345" and a.scope is None
    assert any(w.startswith("CAP 1.2 schema") and "scope" in w for w in a.warnings)
    assert "missing required <scope>" in a.warnings


@pytest.mark.parametrize(
    "name",
    ["v1dot2_appendix_adot2.xml", "canada.cap", "australia.cap", "ipaws-5e6ddbad023f1930ef6c1a5a.xml",
     "thunderstorm.cap", "wcatwc-warning.cap"],
)
def test_valid_cap_1_2_messages_have_no_schema_warnings(name):
    assert one(name).warnings == []


def test_tsunami_update_references():
    a = one("wcatwc-warning.cap")
    assert a.msg_type == "Update"
    assert a.references == [("PAAQ", "PAAQ-1-lqw6d6", "2011-09-02T10:55:55Z")]


def test_polygon_problems_become_warnings():
    xml = (CAP / "v1dot2_appendix_adot2.xml").read_text().replace(
        "38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14", "38.47,-120.14 38.34,-119.95 38.52,-119.74"
    )
    a = parse_document(xml.encode()).alerts[0]
    assert a.polygons == [[(-120.14, 38.47), (-119.95, 38.34), (-119.74, 38.52), (-120.14, 38.47)]]
    assert "polygon was not closed; closed it" in a.warnings
    bad = xml.replace("38.47,-120.14 38.34", "138.47,-120.14 38.34")
    b = parse_document(bad.encode()).alerts[0]
    assert b.polygons == [] and any("outside lat" in w for w in b.warnings)


# --- indexes -----------------------------------------------------------------------------------


def test_weather_atom_gives_link_and_embedded_alert():
    doc = parse_document((CAP / "weather.atom").read_bytes())
    assert doc.kind == "atom"
    assert doc.links == [
        "http://www.weather.gov/alerts-beta/wwacapget.php?x=DC20120829202900LWXAirQualityAlertLWX20120831040000DC"
    ]
    (a,) = doc.alerts
    assert a.event == "Flash Flood Watch" and a.hazard == "flash_flood"
    assert a.sent == "2012-08-30T10:07:00Z"
    assert a.raw.startswith("<alert") and "MTZ014" in a.raw


def test_earthquake_atom_prefers_the_cap_link():
    doc = parse_document((CAP / "earthquake_index.atom").read_bytes())
    assert doc.links == ["http://earthquake.usgs.gov/earthquakes/catalogs/cap/us2010apcd"]
    assert doc.alerts == []


def test_alert_outside_atom_entries_is_ignored():
    doc = parse_document((CAP / "no_entries.atom").read_bytes())
    assert (doc.kind, doc.alerts, doc.links) == ("atom", [], [])


def test_rss_links():
    doc = parse_document((CAP / "amber.rss").read_bytes())
    assert (doc.kind, doc.links) == ("rss", ["http://cap-validator.appspot.com/examples/KAR0-0306112239-SW.cap"])
    bad = parse_document((CAP / "invalid.rss").read_bytes())
    assert bad.links == [] and bad.warnings == ["rss item 1 has no link"]


def test_embedded_cap_1_2_is_schema_checked_too():
    invalid = (CAP / "invalid.cap").read_text().split("?>", 1)[1]
    feed = f'<feed xmlns="http://www.w3.org/2005/Atom"><entry><link href="x.cap"/><content type="text/xml">{invalid}</content></entry></feed>'
    (a,) = parse_document(feed.encode()).alerts
    assert any(w.startswith("CAP 1.2 schema:") and "scope" in w for w in a.warnings)
    # validated where it stands in the feed, it gets what the same message alone gets (without lines)
    (alone,) = parse_document((CAP / "invalid.cap").read_bytes()).alerts
    assert a.warnings == [re.sub(r"^CAP 1.2 schema: line \d+: ", "CAP 1.2 schema: ", w) for w in alone.warnings]
    assert a.raw.startswith("<alert") and a.identifier == alone.identifier


# --- hostile and broken input ------------------------------------------------------------------


def test_xxe_file_is_refused_without_resolving():
    with pytest.raises(DataError) as e:
        parse_document((CAP / "xee.cap").read_bytes())
    assert "entities" in str(e.value)
    assert "root:" not in str(e.value)


def test_xxe_reads_no_file_and_makes_no_request(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-42")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    port = server.getsockname()[1]
    hostile = f"""<?xml version="1.0"?>
<!DOCTYPE alert SYSTEM "http://127.0.0.1:{port}/a.dtd" [
  <!ENTITY file SYSTEM "file://{secret}">
  <!ENTITY web SYSTEM "http://127.0.0.1:{port}/b">
  <!ENTITY % remote SYSTEM "http://127.0.0.1:{port}/c.dtd">
  %remote;
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&file;&web;</identifier></alert>"""
    lol = '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>' \
          '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&b;&b;&b;</identifier></alert>'
    external_only = f'<!DOCTYPE alert SYSTEM "http://127.0.0.1:{port}/d.dtd">' + (CAP / "thunderstorm.cap").read_text().split("?>", 1)[1]
    try:
        for text in (hostile, lol):
            with pytest.raises(DataError) as e:
                parse_document(text.encode())
            assert "TOPSECRET" not in str(e.value)
        (a,) = parse_document(external_only.encode()).alerts  # a DTD reference alone: not loaded
        assert a.identifier == "KSTO1055887203"
        server.setblocking(False)
        with pytest.raises(BlockingIOError):
            server.accept()  # nobody connected: no DTD or entity was fetched
    finally:
        server.close()


def test_oversize_is_refused():
    data = (CAP / "canada.cap").read_bytes()
    with pytest.raises(DataError, match="over the 1,000-byte limit"):
        parse_document(data, max_bytes=1000)


def test_truncated_xml_is_refused():
    data = (CAP / "canada.cap").read_bytes()[:5000]
    with pytest.raises(DataError, match="not well-formed XML"):
        parse_document(data)


@pytest.mark.parametrize(
    "xml, message",
    [
        (b"<html><body>hello</body></html>", "not a CAP alert, an Atom feed or an RSS channel"),
        (b'<alert xmlns="http://www.incident.com/cap/1.0"><identifier>x</identifier></alert>', "not CAP 1.2 or 1.1"),
        (b"<?xml version='1.0'?><alert", "not well-formed XML"),
    ],
)
def test_wrong_xml_is_refused(xml, message):
    with pytest.raises(DataError, match=message):
        parse_document(xml)


def test_encoding_must_be_utf8_unless_declared():
    body = (
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>1</identifier><sender>北京市气象台</sender>'
        "<sent>2021-10-09T15:40:00+08:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>"
        "<info><event>大风</event><urgency>Expected</urgency><severity>Minor</severity><certainty>Likely</certainty></info></alert>"
    )
    with pytest.raises(DataError, match="not UTF-8"):
        parse_document(body.encode("gbk"))
    (a,) = parse_document(('<?xml version="1.0" encoding="GBK"?>' + body).encode("gbk")).alerts
    assert (a.event, a.hazard, a.division_codes) == ("大风", "gale", ["110000000000"])
    assert a.raw.startswith('<?xml version="1.0" encoding="GBK"?>') and "北京市气象台" in a.raw
