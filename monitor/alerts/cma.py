"""CMA warnings in QWeather's JSON formats to `Alert`s, and where in China they apply.

Formats:
- v7 warning list `{"code": "200", "warning": [{id, sender, pubTime, title, startTime, endTime,
  status, level, severity, severityColor, type, typeName, text, related}]}`, with type codes in
  the new (1006) or old (11B06) style, or in the oldest payloads a name ('大风') with level '蓝色'
  and no sender (taken from the title, '吉林省长春市气象台发布...' -> '吉林省长春市气象台');
- the alert format `{"metadata": ..., "alerts": [{id, senderName, issuedTime, messageType: {code,
  supersedes}, eventType: {name, code}, color: {code}, effectiveTime, onsetTime, expireTime,
  headline, description, instruction}]}`.
The location list (`warningLocList`: which places have warnings) is not an alert document; the
caller (detect.py) refuses it with DataError.

Meaning:
- msg_type from `status` / `messageType.code` (active Alert, update Update, cancel Cancel). A v7
  warning that names a `related` earlier one is an Update of it even when its status says
  'active': QWeather serves continuations (继续发布) that way. references are (sender, id, None):
  the formats give no time for the superseded message.
- severity as given, else from the colour (GB/T 35965.1: blue Minor ... red Extreme).
- no endTime: expires 24 h after the start, as QWeather advises (warning added).
- Area: the JSON carries no geometry. `area_codes` (the division codes the feed was fetched for,
  from config) wins; else the first 9 digits of a v7 id, the China Weather location id
  (101010100 Beijing, 101010500 Huairou), through `_LOCATIONS`; else the sender's name through
  `codes_for_sender`. An alert with none of these gets a warning and no division codes.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

from .. import clock
from ..errors import DataError
from . import hazards
from .model import Alert, ParsedDocument, division_codes, utc

# Beijing's 16 districts: GB/T 2260 code, name, China Weather location id (东城/西城 have none of
# their own: the city id 101010100 covers the centre). Ids as listed by weather.com.cn,
# 101010200 海淀 ... 101011500 平谷, checked against a second public copy of that list.
_BEIJING = (
    ("110101", "东城", None), ("110102", "西城", None),
    ("110105", "朝阳", "101010300"), ("110106", "丰台", "101010900"),
    ("110107", "石景山", "101011000"), ("110108", "海淀", "101010200"),
    ("110109", "门头沟", "101011400"), ("110111", "房山", "101011200"),
    ("110112", "通州", "101010600"), ("110113", "顺义", "101010400"),
    ("110114", "昌平", "101010700"), ("110115", "大兴", "101011100"),
    ("110116", "怀柔", "101010500"), ("110117", "平谷", "101011500"),
    ("110118", "密云", "101011300"), ("110119", "延庆", "101010800"),
)
_LOCATIONS = {
    "101010100": "110000",  # 北京 (the city)
    "101020100": "310000",  # 上海 (the city)
    **{wid: code for code, _, wid in _BEIJING if wid},
}
# City-level senders: name prefixes (lower case, '_' as space) -> division code.
_CITY_SENDERS = (
    (("北京市气象", "北京气象", "beijing meteorolog"), "110000"),
    (("上海中心气象", "上海市气象", "上海气象", "shanghai central meteorolog", "shanghai meteorolog"), "310000"),
)
_STATUS = {
    "active": "Alert", "alert": "Alert", "预警中": "Alert", "发布": "Alert",
    "update": "Update", "更新": "Update",
    "cancel": "Cancel", "解除": "Cancel", "已解除": "Cancel",
}
_QWEATHER_CODES = {
    "400": "bad request", "401": "authentication failed (key)", "402": "over quota or balance",
    "403": "no access", "404": "location not found", "429": "too many requests", "500": "server error",
}
_CJK = re.compile(r"[\u4e00-\u9fff]")


def codes_for_location(location_id: str | None) -> list[str]:
    """China Weather location id (or a v7 warning id starting with one) -> [12-digit code]."""
    code = _LOCATIONS.get(str(location_id or "")[:9])
    return [code.ljust(12, "0")] if code else []


def codes_for_sender(name: str | None) -> list[str]:
    """A known Chinese issuer's name -> [12-digit code]: '怀柔区气象台' -> ['110116000000'].

    Beijing districts only by their Chinese name at the start ('怀柔区...', '北京市怀柔区...'):
    '朝阳区' alone could be Changchun's.
    """
    n = " ".join((name or "").replace("_", " ").split()).lower()
    if not n:
        return []
    for code, zh, _ in _BEIJING:
        if n.startswith((f"{zh}区", f"北京市{zh}区", f"北京{zh}")):
            return [code.ljust(12, "0")]
    for prefixes, code in _CITY_SENDERS:
        if n.startswith(prefixes):
            return [code.ljust(12, "0")]
    return []


def parse_cma(doc: dict, *, source: str = "file", area_codes: list[str] | None = None) -> ParsedDocument:
    """A QWeather v7 warning list or alert-format document (already JSON-decoded)."""
    if isinstance(doc.get("error"), dict):  # the alert API's error body
        err = doc["error"]
        raise DataError(f"和风天气返回错误；QWeather error {err.get('status', '')}: "
                        f"{err.get('title') or err.get('detail') or err}")
    if "warning" in doc or "code" in doc:
        code = str(doc.get("code", "200"))
        if code == "204":  # "no data for this location"
            return ParsedDocument("cma", [], [])
        if code != "200":
            raise DataError(f"和风天气返回代码 {code}，没有预警；QWeather answered code {code} "
                            f"({_QWEATHER_CODES.get(code, 'unknown')}), no warnings")
        return ParsedDocument("cma", [_warning(w, source, area_codes) for w in _items(doc, "warning")], [])
    return ParsedDocument("cma", [_alert(a, source, area_codes) for a in _items(doc, "alerts")], [])


def _items(doc: dict, key: str) -> list[dict]:
    items = doc.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise DataError(f"和风天气的 {key} 不是对象列表；QWeather '{key}' is not a list of objects")
    return items


def _warning(w: dict, source: str, area_codes: list[str] | None) -> Alert:
    """One v7 `warning` entry."""
    warnings: list[str] = []
    title = _s(w.get("title"))
    sender = _s(w.get("sender")) or (title.split("发布")[0] if "发布" in (title or "") else None) or "QWeather"
    raw_type = _s(w.get("type"))
    code = raw_type if hazards.is_type_code(raw_type) else None
    event = _s(w.get("typeName")) or (raw_type if code is None else None) or _name(code, title)
    colour = hazards.colour(w.get("severityColor")) or hazards.colour(w.get("level")) or hazards.colour_in_text(title)
    related = re.split(r"[,\s]+", _s(w.get("related")) or "")
    related = [r for r in related if r]
    msg_type = _msg_type(w.get("status"), warnings)
    if related and msg_type == "Alert":
        msg_type = "Update"
    onset = utc(w.get("startTime"), "startTime", warnings)
    sent = utc(w.get("pubTime"), "pubTime", warnings)
    expires = utc(w.get("endTime"), "endTime", warnings) or _plus_24h(onset or sent, warnings)
    ident = _s(w.get("id")) or ""
    codes = division_codes(area_codes) or codes_for_location(ident) or codes_for_sender(sender)
    language = _language(title)
    return _finish(Alert(
        source=source, format="cma", sender=sender, identifier=ident, sent=sent, msg_type=msg_type,
        event=event, hazard=hazards.classify(event, code), colour=colour, cma_type=raw_type if code else None,
        severity=_s(w.get("severity")) or hazards.severity_from_colour(colour),
        urgency=_s(w.get("urgency")), certainty=_s(w.get("certainty")),
        onset=onset, effective=onset, expires=expires,
        headline=title, description=_s(w.get("text")), language=language,
        sender_name=sender.replace("_", " "), **_english(code, event, title, language),
        division_codes=codes, references=[(sender, r, None) for r in related],
        raw=json.dumps(w, ensure_ascii=False), warnings=warnings,
    ))


def _alert(a: dict, source: str, area_codes: list[str] | None) -> Alert:
    """One entry of the newer alert format."""
    warnings: list[str] = []
    sender = _s(a.get("senderName")) or "QWeather"
    message = a.get("messageType") if isinstance(a.get("messageType"), dict) else {}
    event_type = a.get("eventType") if isinstance(a.get("eventType"), dict) else {}
    colour_obj = a.get("color") if isinstance(a.get("color"), dict) else {}
    code = _s(event_type.get("code"))
    event = _s(event_type.get("name")) or _name(code, None)
    headline = _s(a.get("headline"))
    colour = hazards.colour(colour_obj.get("code")) or hazards.colour_in_text(headline)
    supersedes = [str(s) for s in message.get("supersedes") or [] if s]
    language = _language(headline)
    onset = utc(a.get("onsetTime"), "onsetTime", warnings)
    sent = utc(a.get("issuedTime"), "issuedTime", warnings)
    return _finish(Alert(
        source=source, format="cma", sender=sender, identifier=_s(a.get("id")) or "", sent=sent,
        msg_type=_msg_type(message.get("code"), warnings),
        event=event, hazard=hazards.classify(event, code), colour=colour,
        cma_type=code if hazards.is_type_code(code) else None,
        severity=_cap(a.get("severity")) or hazards.severity_from_colour(colour),
        urgency=_cap(a.get("urgency")), certainty=_cap(a.get("certainty")),
        onset=onset, effective=utc(a.get("effectiveTime"), "effectiveTime", warnings),
        expires=utc(a.get("expireTime"), "expireTime", warnings) or _plus_24h(onset or sent, warnings),
        headline=headline, description=_s(a.get("description")), instruction=_s(a.get("instruction")),
        language=language, sender_name=sender, **_english(code, event, headline, language),
        division_codes=division_codes(area_codes) or codes_for_sender(sender),
        references=[(sender, s, None) for s in supersedes],
        raw=json.dumps(a, ensure_ascii=False), warnings=warnings,
    ))


def _finish(alert: Alert) -> Alert:
    level = hazards.level_warning(alert.event, alert.cma_type, alert.colour, alert.headline)
    if level:
        alert.warnings.append(level)
    if not alert.identifier:
        alert.warnings.append("no id: this message cannot be told apart from others by the same sender")
    if not alert.division_codes:
        alert.warnings.append(
            "no area: CMA JSON has no geometry and neither the id nor the sender names a known place; "
            "set area_codes for this source"
        )
    return alert


def _english(code: str | None, event: str | None, headline: str | None, language: str | None) -> dict:
    """event_en / headline_en: the message itself if English, else the type's English name."""
    if language == "en":
        return {"event_en": event, "headline_en": headline}
    names = hazards.type_names(code)
    return {"event_en": names[1] if names else None, "headline_en": None}


def _msg_type(value: object, warnings: list[str]) -> str:
    v = _s(value)
    if v is None:
        return "Alert"
    if v.lower() in _STATUS:
        return _STATUS[v.lower()]
    warnings.append(f"status '{v}' unknown; taken as a new alert")
    return "Alert"


def _plus_24h(start: str | None, warnings: list[str]) -> str | None:
    if start is None:
        return None
    warnings.append("no end time given; expires 24 h after the start (QWeather's advice)")
    return clock.iso(clock.from_iso(start) + timedelta(hours=24))


def _name(code: str | None, title: str | None) -> str | None:
    names = hazards.type_names(code)
    if names:
        return names[0] if _language(title) == "zh-CN" else names[1]
    return None


def _language(text: str | None) -> str | None:
    if not text:
        return None
    return "zh-CN" if _CJK.search(text) else "en"


def _s(value: object) -> str | None:
    """A string field: stripped, '' and None as None."""
    if value is None:
        return None
    v = str(value).strip()
    return v or None


def _cap(value: object) -> str | None:
    """'minor' -> 'Minor' (CAP spelling)."""
    v = _s(value)
    return v[:1].upper() + v[1:].lower() if v else None

