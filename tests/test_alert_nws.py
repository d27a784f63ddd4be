"""api.weather.gov GeoJSON: the national snapshot (498 alerts) and the pynws Flood Watch updates."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from monitor.alerts import ingest, parse_document
from monitor.errors import DataError
from monitor.store import Store

NWS = Path(__file__).parent / "data" / "alerts" / "nws"
SNAPSHOT = NWS / "api_weather_gov_alerts_active_land_2025-02-17T0700Z.json"


@pytest.fixture(scope="module")
def snapshot():
    return parse_document(SNAPSHOT.read_bytes(), max_bytes=5_000_000)


def test_snapshot_counts(snapshot):
    alerts = snapshot.alerts
    assert snapshot.kind == "nws" and snapshot.warnings == []
    assert len(alerts) == 498
    assert sum(1 for a in alerts if a.msg_type == "Update" and a.references) == 393
    assert sum(1 for a in alerts if a.polygons) == 209
    zone_only = [a for a in alerts if not a.polygons]
    assert len(zone_only) == 289 and all(any(n == "UGC" for n, _ in a.geocodes) for a in zone_only)
    assert len({a.key for a in alerts}) == 498


def test_snapshot_first_feature(snapshot):
    a = snapshot.alerts[0]
    assert a.identifier == "urn:oid:2.49.0.1.840.0.ffbcf1c763e14298dbbdab9294075f7a390c40b4.001.1"
    assert (a.sender, a.sent, a.msg_type, a.status) == ("w-nws.webmaster@noaa.gov", "2025-02-17T06:55:00Z", "Update", "Actual")
    assert a.polygons[0][0] == (-86.58, 36.22)  # GeoJSON is lon,lat already: no swap
    assert a.references == [(
        "w-nws.webmaster@noaa.gov",
        "urn:oid:2.49.0.1.840.0.719748ac0d07ebe6bad4b569fb566093639f1f22.001.1",
        "2025-02-16T07:01:00Z",
    )]
    assert ("SAME", "047165") in a.geocodes and ("UGC", "TNC165") in a.geocodes
    assert (a.event, a.hazard, a.severity, a.colour) == ("Flood Advisory", "rainstorm", "Minor", "blue")
    assert a.expires == "2025-02-18T01:00:00Z" and a.ends is None
    assert json.loads(a.raw)["properties"]["id"] == a.identifier


def test_snapshot_hazards(snapshot):
    by_event = Counter((a.event, a.hazard) for a in snapshot.alerts)
    assert by_event[("Winter Storm Warning", "blizzard")] == 49
    assert by_event[("Extreme Cold Warning", "low_temperature")] == 16
    assert by_event[("High Wind Warning", "gale")] == 21
    assert by_event[("Red Flag Warning", "forest_fire")] == 1
    assert by_event[("Freeze Warning", "frost")] == 1
    hazards = Counter(a.hazard for a in snapshot.alerts)
    assert hazards["low_temperature"] == 16 + 22 + 37  # Extreme Cold Warning/Watch, Cold Weather Advisory
    colours = Counter(a.colour for a in snapshot.alerts)
    assert colours["red"] == 46 and colours["orange"] == 291 and colours[None] == 6  # from severity


def test_snapshot_is_over_the_default_size_limit():
    with pytest.raises(DataError, match="limit"):
        parse_document(SNAPSHOT.read_bytes())


def test_pynws_flood_watch_update():
    (a,) = parse_document((NWS / "pynws_alerts_active_zone.json").read_bytes()).alerts
    assert (a.identifier, a.msg_type, a.event, a.hazard) == ("NWS-IDP-PROD-3965873-3369046", "Update", "Flood Watch", "rainstorm")
    assert [r[1] for r in a.references] == [
        "NWS-IDP-PROD-3964821-3368352", "NWS-IDP-PROD-3965324-3368680",
        "NWS-IDP-PROD-3965155-3368578", "NWS-IDP-PROD-3963421-3367361",
    ]
    assert all(r[0] == "w-nws.webmaster@noaa.gov" and r[2].endswith("Z") for r in a.references)
    assert a.polygons == [] and ("UGC", "ORZ001") in a.geocodes
    assert a.expires == "2019-12-21T13:30:00Z" and a.ends == "2019-12-22T18:00:00Z"
    # the hazard outlasts the message: stored, it is in force after `expires`, until `ends`
    store = Store.open(":memory:")
    ingest.save(store, [a])
    in_force = lambda at: [r["identifier"] for r in store.alerts_in_force(at)]
    assert in_force("2019-12-22T17:59:59Z") == [a.identifier] and in_force("2019-12-22T18:00:00Z") == []


def test_pynws_second_has_two_distinct_messages():
    doc = parse_document((NWS / "pynws_alerts_active_zone_second.json").read_bytes())
    assert [a.identifier for a in doc.alerts] == ["NWS-IDP-PROD-3965873-3369046", "NWS-IDP-PROD-3965873-001"]
    assert doc.alerts[1].references[0][1] == "NWS-IDP-PROD-3964821-001"


def test_single_feature_is_accepted_and_kept_verbatim():
    feature = json.loads((NWS / "pynws_alerts_active_zone.json").read_text())["features"][0]
    text = json.dumps(feature, indent=2)
    (a,) = parse_document(text.encode()).alerts
    assert a.identifier == "NWS-IDP-PROD-3965873-3369046" and a.raw == text


def test_feature_without_id_is_skipped_with_a_warning():
    doc = json.loads((NWS / "pynws_alerts_active_zone_second.json").read_text())
    del doc["features"][0]["properties"]["id"]
    parsed = parse_document(json.dumps(doc).encode())
    assert [a.identifier for a in parsed.alerts] == ["NWS-IDP-PROD-3965873-001"]
    assert parsed.warnings == ["feature 1 skipped: not an alert with an id"]


def test_geojson_that_is_not_alerts_is_refused():
    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "怀柔镇"}, "geometry": None}]}
    with pytest.raises(DataError, match="not alerts"):
        parse_document(json.dumps(fc).encode())
