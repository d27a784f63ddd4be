"""The plain data every alert parser returns: one `Alert` per message, one `ParsedDocument` per input.

Parsers (cap, nws, cma, forecast) fill these; the store and the rules read them. Nothing here
does I/O or imports anything heavy. Conventions shared by all parsers:

- times are UTC ISO strings "YYYY-MM-DDTHH:MM:SSZ" (monitor.clock.iso) or None;
- coordinates are WGS-84 (lon, lat) — CAP's "lat,lon" pairs are swapped when read;
- `(sender, identifier, sent)` is the message key the store deduplicates on; `references` hold
  keys of earlier messages in the same shape (sent is None where the format gives no time, CMA);
- a problem in one field becomes a string in `warnings`, never an exception: the message is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .. import clock
from ..errors import MonitorError

Ring = list[tuple[float, float]]  # closed ring of (lon, lat)


@dataclass
class Alert:
    source: str  # config source name, or 'file'
    format: str  # 'cap', 'nws', 'cma', 'forecast'
    sender: str
    identifier: str
    sent: str | None
    msg_type: str = "Alert"  # Alert / Update / Cancel / Ack / Error
    status: str = "Actual"  # Actual / Exercise / System / Test / Draft
    scope: str | None = None
    event: str | None = None  # as given (zh-CN preferred for bilingual CAP)
    hazard: str = "other"  # code from monitor.alerts.hazards
    colour: str | None = None  # blue / yellow / orange / red
    cma_type: str | None = None  # CMA / QWeather type code as given ('1006', '11B06')
    severity: str | None = None
    urgency: str | None = None
    certainty: str | None = None
    onset: str | None = None
    effective: str | None = None
    expires: str | None = None  # when the message expires
    # when the hazard ends, where the format says (NWS `ends`): an alert whose message lapsed but
    # whose hazard has not ended still applies, so the store ends it at `ends`, else `expires`
    ends: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    language: str | None = None
    sender_name: str | None = None
    event_en: str | None = None  # English event / headline of a bilingual message
    headline_en: str | None = None
    area_desc: str | None = None
    polygons: list[Ring] = field(default_factory=list)
    circles: list[tuple[float, float, float]] = field(default_factory=list)  # lon, lat, radius_km
    geocodes: list[tuple[str, str]] = field(default_factory=list)  # (valueName, value)
    division_codes: list[str] = field(default_factory=list)  # 12-digit GB/T 2260 codes
    references: list[tuple[str, str, str | None]] = field(default_factory=list)
    raw: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str | None]:
        """What the store deduplicates on."""
        return (self.sender, self.identifier, self.sent)


@dataclass
class ParsedDocument:
    kind: str  # 'cap', 'atom', 'rss', 'nws', 'cma', 'forecast'
    alerts: list[Alert]
    links: list[str]  # message URLs of an Atom/RSS index, as written (may be relative)
    warnings: list[str] = field(default_factory=list)  # about the document, not one message


def utc(text: object, what: str, warnings: list[str]) -> str | None:
    """A time field to UTC ISO; empty gives None, a bad value a warning and None.

    A date-time without a UTC offset is taken as Beijing time (monitor.clock), with a warning.
    """
    if text is None or not str(text).strip():
        return None
    t = str(text).strip()
    try:
        value = clock.iso(clock.parse(t, what=what))
    except MonitorError:
        warnings.append(f"{what}: '{text}' is not a time; ignored")
        return None
    if "T" in t and not _OFFSET.search(t):
        warnings.append(f"{what}: '{text}' has no UTC offset; taken as Beijing time")
    return value


_OFFSET = re.compile(r"(?:[zZ]|[+-]\d\d(?::?\d\d)?)$")


def division_code(value: str) -> str | None:
    """A 6-, 9- or 12-digit Chinese division code as 12 digits, or None if it is not one.

    >>> division_code("110116"), division_code("110116107"), division_code("006109")
    ('110116000000', '110116107000', None)
    """
    v = value.strip()
    if not v.isdigit() or len(v) not in (6, 9, 12) or v[:2] not in _PROVINCES:
        return None
    return v.ljust(12, "0")


def division_codes(codes: list[str] | None) -> list[str]:
    """Configured codes (6, 9 or 12 digits) as 12-digit division codes; others dropped."""
    return [c for code in codes or [] if (c := division_code(str(code)))]


# First two digits of GB/T 2260 codes (provinces, Taiwan 71, Hong Kong 81, Macao 82).
_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 "
    "71 81 82".split()
)


def dedupe(items: list) -> list:
    """Keep the first of equal items, in order."""
    seen: list = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
