"""Recognise an alert document by its content and hand it to the right parser.

Accepted: CAP 1.2/1.1 XML, an Atom or RSS index of CAP messages, api.weather.gov GeoJSON, CMA
warnings in QWeather JSON (v7 warning list or the alert format), and an Open-Meteo forecast
(which needs the township `point` it was fetched for). Anything else raises DataError with one
line saying what the input is not and what is accepted. Text must be UTF-8 unless XML declares
its encoding. Parsers are imported only when a document of their kind arrives, so importing
monitor.alerts costs nothing heavy (lxml loads with the first XML document).

`max_bytes` applies to every kind. api.weather.gov's national collection is larger than the
2 MB default (the shipped 498-alert snapshot is 2.9 MB): give that source a larger limit.
"""

from __future__ import annotations

import json

from ..errors import DataError
from .model import ParsedDocument

ACCEPTED = (
    "CAP 1.2/1.1 XML, an Atom/RSS index of CAP, api.weather.gov GeoJSON, "
    "CMA/QWeather warning JSON, or an Open-Meteo forecast"
)


def parse_document(
    data: bytes,
    *,
    source: str = "file",
    max_bytes: int = 2_000_000,
    area_codes: list[str] | None = None,
    point: tuple[float, float, str] | None = None,
    thresholds: dict | None = None,
    issued: str | None = None,
) -> ParsedDocument:
    """Parse one fetched or imported document into alerts (and index links).

    area_codes: division codes the source covers (config); they decide a CMA alert's area and are
    the fallback for CAP without Chinese geocodes. point, thresholds, issued: for forecasts.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("parse_document takes bytes")
    data = bytes(data)
    if len(data) > max_bytes:
        raise DataError(f"文件太大（上限 {max_bytes:,} 字节）；document is {len(data):,} bytes, over the "
                        f"{max_bytes:,}-byte limit")
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if not data.strip():
        raise DataError(f"文件是空的；empty document; expected {ACCEPTED}")
    if head == b"<" or data.startswith((b"\xff\xfe", b"\xfe\xff")):
        from .cap import parse_xml

        return parse_xml(data, source=source, area_codes=area_codes)
    if head in (b"{", b"["):
        return _parse_json(data, source, area_codes, point, thresholds, issued)
    raise DataError(f"既不是 XML 也不是 JSON；neither XML nor JSON (starts with {data[:12]!r}); expected {ACCEPTED}")


def _parse_json(data, source, area_codes, point, thresholds, issued) -> ParsedDocument:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"JSON 不是 UTF-8，GBK 文本须先转换；JSON is not UTF-8 (byte {e.start}; GBK text must be "
                        "converted first)") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"不是有效的 JSON；not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise DataError(f"JSON 不是对象；JSON {type(doc).__name__}, not an object; expected {ACCEPTED}")

    try:
        return _dispatch_json(doc, text, source, area_codes, point, thresholds, issued)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as e:
        # a recognised kind whose fields have the wrong shape (a list where text belongs ...)
        raise DataError(f"JSON 结构不符合预期；JSON with an unexpected structure ({type(e).__name__}: {e})") from None


def _dispatch_json(doc, text, source, area_codes, point, thresholds, issued) -> ParsedDocument:
    from .forecast import is_forecast
    from .nws import is_nws

    if is_nws(doc):
        from .nws import parse_nws

        return parse_nws(doc, source=source, text=text if doc.get("type") == "Feature" else None)
    if "warningLocList" in doc:
        raise DataError("这是和风天气的预警城市列表，不是预警本身；a QWeather warning location list (which places have "
                        "warnings), not alerts")
    if "warning" in doc or ("alerts" in doc and "metadata" in doc) or _qweather_error(doc):
        from .cma import parse_cma

        return parse_cma(doc, source=source, area_codes=area_codes)
    if is_forecast(doc):
        if point is None:
            raise DataError("这是 Open-Meteo 预报，请加 --township 指明乡镇；an Open-Meteo forecast: forecast documents "
                            "need the township point (lon, lat, code)")
        from .forecast import parse_forecast

        return parse_forecast(doc, point=point, thresholds=thresholds, source=source, raw=text, issued=issued)
    if doc.get("type") in ("Feature", "FeatureCollection"):
        raise DataError("GeoJSON 中的要素不是预警；GeoJSON, but its features are not alerts (no properties.event)")
    raise DataError(f"不是预警文件；JSON with keys {sorted(doc)[:6]} is not an alert document; expected {ACCEPTED}")


def _qweather_error(doc: dict) -> bool:
    """QWeather error bodies: v7 {"code": "401"} alone, or the alert API's {"error": {...}}."""
    v7 = set(doc) <= {"code", "refer", "updateTime", "fxLink"} and str(doc.get("code", "")).isdigit()
    return v7 or (isinstance(doc.get("error"), dict) and "status" in doc["error"])
