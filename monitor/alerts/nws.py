"""api.weather.gov alerts (GeoJSON: a FeatureCollection, or one Feature) to `Alert`s.

Each feature is one CAP message in JSON. Geometry is already GeoJSON (lon, lat): a Polygon gives
its outer ring, a MultiPolygon one outer ring per part (holes are dropped with a warning: areas
are unions of rings here); every ring is checked by monitor.alerts.geometry (a NaN, Infinity or
out-of-range point, or a ring with no area, drops that ring with a warning). Zone-only alerts
have null geometry; their `geocode` (UGC zones and SAME county codes) becomes `geocodes` and
`affectedZones` is left to the raw text.

Times: `expires` is when the message lapses, `ends` when the hazard is over; both are kept, and
the store ends an alert's validity at `ends`, else `expires`. Colours: NWS has none, so they come
from severity (Minor blue, Moderate yellow, Severe orange, Extreme red); Unknown gives None.
A feature without an id, or with fields of the wrong shape, is skipped with a document warning;
the others still count.
"""

from __future__ import annotations

import json

from . import geometry, hazards
from .model import Alert, ParsedDocument, utc


def is_nws(doc: object) -> bool:
    """A GeoJSON Feature / FeatureCollection whose features look like api.weather.gov alerts."""
    if not isinstance(doc, dict) or doc.get("type") not in ("Feature", "FeatureCollection"):
        return False
    if doc["type"] == "Feature":
        return _is_alert(doc)
    features = doc.get("features")
    if not isinstance(features, list):
        return False
    if not features:  # an empty answer from api.weather.gov still names its vocabulary
        return "api.weather.gov" in json.dumps(doc.get("@context", ""))
    return any(_is_alert(f) for f in features)


def parse_nws(doc: dict, *, source: str = "file", text: str | None = None) -> ParsedDocument:
    """Alerts of one NWS document (already JSON-decoded, and recognised by `is_nws`: detect calls
    this only then); `text` is the raw of a single Feature."""
    if doc.get("type") == "Feature":
        return ParsedDocument("nws", [_alert(doc, source, text or json.dumps(doc, ensure_ascii=False))], [])
    parsed = ParsedDocument("nws", [], [])
    for n, feature in enumerate(doc["features"], 1):
        if not _is_alert(feature) or not feature["properties"].get("id"):
            parsed.warnings.append(f"feature {n} skipped: not an alert with an id")
            continue
        try:
            parsed.alerts.append(_alert(feature, source, json.dumps(feature, ensure_ascii=False)))
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as e:
            # one malformed feature must not cost the other 497
            parsed.warnings.append(f"feature {n} skipped: malformed ({type(e).__name__}: {e})")
    return parsed


def _is_alert(feature: object) -> bool:
    props = feature.get("properties") if isinstance(feature, dict) else None
    return isinstance(props, dict) and ("event" in props or props.get("@type") == "wx:Alert")


def _alert(feature: dict, source: str, raw: str) -> Alert:
    p = feature["properties"]
    warnings: list[str] = []
    severity = p.get("severity")
    event = p.get("event")
    geocode = p.get("geocode") if isinstance(p.get("geocode"), dict) else {}
    return Alert(
        source=source,
        format="nws",
        sender=p.get("sender") or "",
        identifier=p.get("id") or "",
        sent=utc(p.get("sent"), "sent", warnings),
        msg_type=p.get("messageType") or "Alert",
        status=p.get("status") or "Actual",
        scope=p.get("scope"),
        event=event,
        hazard=hazards.classify(event),
        colour=hazards.colour_from_severity(severity),
        severity=severity,
        urgency=p.get("urgency"),
        certainty=p.get("certainty"),
        onset=utc(p.get("onset"), "onset", warnings),
        effective=utc(p.get("effective"), "effective", warnings),
        expires=utc(p.get("expires"), "expires", warnings),
        ends=utc(p.get("ends"), "ends", warnings),
        headline=p.get("headline"),
        description=p.get("description"),
        instruction=p.get("instruction"),
        language="en-US",
        sender_name=p.get("senderName"),
        event_en=event,
        headline_en=p.get("headline"),
        area_desc=p.get("areaDesc"),
        polygons=_rings(feature.get("geometry"), warnings),
        geocodes=[(name, str(v)) for name, values in geocode.items() for v in values or []],
        references=[
            (r.get("sender") or "", r.get("identifier") or "", utc(r.get("sent"), "references sent", warnings))
            for r in p.get("references") or []
            if isinstance(r, dict)
        ],
        raw=raw,
        warnings=warnings,
    )


def _rings(geom: object, warnings: list[str]) -> list[list[tuple[float, float]]]:
    """The outer rings of a Polygon or MultiPolygon, each checked (monitor.alerts.geometry)."""
    if not isinstance(geom, dict):
        return []
    kind, coords = geom.get("type"), geom.get("coordinates") or []
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else None
    if polygons is None:
        warnings.append(f"geometry {str(kind)[:40]} ignored: only Polygon and MultiPolygon are areas")
        return []
    if not isinstance(polygons, list):
        warnings.append(f"geometry {kind} ignored: its coordinates are not a list")
        return []
    rings = []
    for n, polygon in enumerate(polygons, 1):
        if not isinstance(polygon, list):
            warnings.append(f"polygon {n} ignored: not a list of rings")
            continue
        if len(polygon) > 1:
            warnings.append("polygon holes dropped")
        if polygon and (ring := geometry.ring(polygon[0], f"polygon {n}", warnings)):
            rings.append(ring)
    return rings
