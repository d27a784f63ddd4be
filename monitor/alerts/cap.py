"""CAP 1.2 / 1.1 XML messages, and the Atom / RSS indexes that list them, to `Alert`s.

Safety: lxml parses with entity resolution, DTD loading and network access off and no huge-tree
mode, after parse_document's size cap (monitor.alerts.detect, the only caller of parse_xml). A
document that declares entities (<!ENTITY ...>: the XXE and billion-laughs attacks) is refused
with DataError; nothing in it is expanded, read or fetched.

Schema: CAP 1.2 messages are checked against the official OASIS schema (cap12.xsd, © OASIS
Open 2010, via github.com/willglynn/oasiscap, shipped beside this module) with
lxml.etree.XMLSchema, loaded once per thread at first use (about 2 ms; then about 0.01 ms per
message; the pure-Python xmlschema package needs 130 ms to import, 110 ms to load the schema and
0.9 ms per message). Violations become `warnings` on the alert, never a rejection. CAP 1.1 has
no schema here; its required elements are still checked.

Bilingual messages (GB/T 35965.1: zh-CN and en-US <info> blocks): the zh-CN block gives event,
headline, texts and times; the English block's event and headline go to event_en / headline_en.
Areas (polygons "lat,lon ...", circles "lat,lon radius_km", geocodes) are gathered from every
<info>, duplicates dropped; division_codes come from geocodes that are Chinese division codes,
else from a known Chinese sender, else from `area_codes` (what the feed was configured for).

Indexes: Atom <entry> and RSS <item> give `links` (an entry's CAP link if typed, else its
alternate link; RSS <link>, else an enclosure), written as found (the fetcher resolves relative
ones). A complete CAP <alert> embedded in an entry is parsed too; its link is still listed.
A CAP alert outside any entry is foreign markup and ignored (Atom says so; no_entries.atom).
"""

from __future__ import annotations

import re
import threading
from importlib import resources

from lxml import etree

from ..errors import DataError
from . import geometry, hazards
from .cma import codes_for_sender
from .model import Alert, ParsedDocument, dedupe, division_code, division_codes, utc

CAP_NS = {
    "urn:oasis:names:tc:emergency:cap:1.2": "1.2",
    "urn:oasis:names:tc:emergency:cap:1.1": "1.1",
}
ATOM = "http://www.w3.org/2005/Atom"
_REQUIRED = ("identifier", "sender", "sent", "status", "msgType", "scope")
# geocode valueNames whose numbers are not Chinese division codes (US SAME '047165' could pass as one)
_FOREIGN_GEOCODE = re.compile(r"SAME|FIPS|UGC|CAP-CP|EC-MSC|post|ISO|ZIP|NUTS|EMMA", re.IGNORECASE)
_DECLARED = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=", re.IGNORECASE)


def parse_xml(data: bytes, *, source: str = "file", area_codes: list[str] | None = None) -> ParsedDocument:
    """A CAP message, an Atom feed or an RSS channel; DataError if it is none of them.
    `data` is already within parse_document's size limit."""
    root = _safe_root(data)
    ns, tag = _split(root.tag)
    if tag == "alert" and ns in CAP_NS:
        raw = _text_of(data, root.getroottree().docinfo.encoding) or etree.tostring(root, encoding="unicode")
        return ParsedDocument("cap", [parse_alert(root, raw, source=source, area_codes=area_codes, in_place=True)], [])
    if tag == "feed" and ns == ATOM:
        return _index("atom", root.findall(f"{{{ATOM}}}entry"), _atom_link, source, area_codes)
    if tag == "rss" and not ns:
        return _index("rss", root.findall("channel/item"), _rss_link, source, area_codes)
    if tag == "alert":
        raise DataError(f"不是 CAP 1.2/1.1 预警；an <alert> in namespace '{ns}', not CAP 1.2 or 1.1 "
                        "(urn:oasis:names:tc:emergency:cap:1.x)")
    raise DataError(f"不是 CAP 预警、Atom 或 RSS；XML with root <{tag}> is not a CAP alert, an Atom feed or an RSS "
                    "channel")


def parse_alert(
    el, raw: str, *, source: str = "file", area_codes: list[str] | None = None, in_place: bool = False
) -> Alert:
    """One CAP <alert> element to an Alert (schema problems become warnings)."""
    ns, _ = _split(el.tag)
    warnings: list[str] = []
    if CAP_NS[ns] == "1.2":
        warnings += _schema_warnings(el, in_place)
    warnings += [f"missing required <{n}>" for n in _REQUIRED if _t(el, ns, n) is None]

    infos = el.findall(f"{{{ns}}}info")
    langs = [_t(i, ns, "language") or "en-US" for i in infos]  # CAP's default language is en-US
    chinese = [i for i, lang in zip(infos, langs) if lang.lower().startswith("zh")]
    english = next((i for i, lang in zip(infos, langs) if lang.lower().startswith("en")), None)
    ordered = chinese[:1] + [i for i in infos if i not in chinese[:1]]  # the primary <info> first
    primary = ordered[0] if ordered else None
    language = langs[infos.index(primary)] if primary is not None else None

    event, headline, severity = (_t(primary, ns, n) for n in ("event", "headline", "severity"))
    event_en, headline_en = _t(english, ns, "event"), _t(english, ns, "headline")
    type_code = _type_code(primary, ns, language)
    hazard = hazards.classify(event, type_code)
    for text in (event_en, headline):
        if hazard == "other" and text:
            hazard = hazards.classify(text)
    colour = next(
        (c for t in (event, headline, headline_en) if (c := hazards.colour_in_text(t))), None
    ) or hazards.colour_from_severity(severity)
    if level := hazards.level_warning(event, type_code, colour, headline):
        warnings.append(level)

    polygons, circles, geocodes, descs = [], [], [], []
    for info in ordered:
        for area in info.findall(f"{{{ns}}}area"):
            if info is primary:
                descs.append(_t(area, ns, "areaDesc"))
            polygons += [p for e in area.findall(f"{{{ns}}}polygon") if (p := _polygon(e.text, warnings))]
            circles += [c for e in area.findall(f"{{{ns}}}circle") if (c := _circle(e.text, warnings))]
            geocodes += [(_t(g, ns, "valueName") or "", _t(g, ns, "value") or "")
                         for g in area.findall(f"{{{ns}}}geocode")]
    geocodes = dedupe(geocodes)
    sender, sender_name = _t(el, ns, "sender") or "", _first(ordered, ns, "senderName")
    codes = [c for name, value in geocodes if not _FOREIGN_GEOCODE.search(name) if (c := division_code(value))]
    codes = codes or codes_for_sender(sender_name) or codes_for_sender(sender) or division_codes(area_codes)

    identifier, msg_type = _t(el, ns, "identifier") or "", _t(el, ns, "msgType") or "Alert"
    warnings += _key_warnings(sender, identifier, msg_type, _t(el, ns, "references"))

    return Alert(
        source=source,
        format="cap",
        sender=sender,
        identifier=identifier,
        sent=utc(_t(el, ns, "sent"), "sent", warnings),
        msg_type=msg_type,
        status=_t(el, ns, "status") or "Actual",
        scope=_t(el, ns, "scope"),
        event=event,
        hazard=hazard,
        colour=colour,
        cma_type=type_code,
        severity=severity,
        urgency=_t(primary, ns, "urgency"),
        certainty=_t(primary, ns, "certainty"),
        onset=utc(_first(ordered, ns, "onset"), "onset", warnings),
        effective=utc(_first(ordered, ns, "effective"), "effective", warnings),
        expires=utc(_first(ordered, ns, "expires"), "expires", warnings),
        headline=headline,
        description=_t(primary, ns, "description"),
        instruction=_t(primary, ns, "instruction"),
        language=language,
        sender_name=sender_name,
        event_en=event_en,
        headline_en=headline_en,
        area_desc="; ".join(dedupe([d for d in descs if d])) or None,
        polygons=dedupe(polygons),
        circles=dedupe(circles),
        geocodes=geocodes,
        division_codes=dedupe(codes),
        references=_references(_t(el, ns, "references"), warnings),
        raw=raw,
        warnings=warnings,
    )


# --- reading XML safely ------------------------------------------------------------------------


def _safe_root(data: bytes):
    if not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) and not _DECLARED.match(data):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DataError(f"XML 不是 UTF-8 且未声明编码；XML is not UTF-8 (byte {e.start}) and declares no encoding") from None
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, dtd_validation=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise DataError(f"XML 格式错误；not well-formed XML: {e}") from None
    if root is None:
        raise DataError("XML 没有根元素；XML document has no root element")
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise DataError(
            "已拒绝：XML 声明了实体，预警不需要实体，未展开任何实体；"
            "refused: the XML declares entities (<!ENTITY ...>), which alert messages never need; "
            "none was expanded, read or fetched"
        )
    return root


def _text_of(data: bytes, encoding: str | None) -> str | None:
    """The document as text, in its declared encoding (UTF-8 by default)."""
    try:
        return data.decode(encoding or "utf-8").removeprefix("\ufeff")
    except (LookupError, UnicodeDecodeError):
        return None


_local = threading.local()  # one schema per thread: lxml objects are not shared across threads


def _schema_warnings(el, in_place: bool) -> list[str]:
    """Schema problems of a CAP 1.2 <alert>; an embedded one (not `in_place`) is validated where
    it stands (lxml treats the element as the root), and its problems are given without lines."""
    schema = getattr(_local, "schema", None)
    if schema is None:
        xsd = resources.files(__package__).joinpath("cap12.xsd").read_bytes()
        schema = _local.schema = etree.XMLSchema(etree.fromstring(xsd))
    if schema.validate(el):
        return []
    errors = list(schema.error_log)
    out = [f"CAP 1.2 schema: {f'line {e.line}: ' if in_place else ''}{_unqualify(e.message)}" for e in errors[:10]]
    if len(errors) > 10:
        out.append(f"CAP 1.2 schema: and {len(errors) - 10} more problems")
    return out


def _unqualify(message: str) -> str:
    return re.sub(r"\{[^}]*\}", "", message)


def _split(tag) -> tuple[str, str]:
    if not isinstance(tag, str):  # comment or processing instruction
        return "", ""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _t(parent, ns: str, name: str) -> str | None:
    """Stripped text of a child element; only its own text (an unexpanded entity adds nothing)."""
    if parent is None:
        return None
    el = parent.find(f"{{{ns}}}{name}")
    if el is None or el.text is None:
        return None
    return el.text.strip() or None


def _first(infos: list, ns: str, name: str) -> str | None:
    """The first <info> (primary first) that has this element."""
    return next((v for i in infos if (v := _t(i, ns, name)) is not None), None)


# --- fields ------------------------------------------------------------------------------------


def _type_code(info, ns: str, language: str | None) -> str | None:
    """A CMA type code among the eventCodes of a Chinese message ('11Bnn' style anywhere)."""
    if info is None:
        return None
    for ec in info.findall(f"{{{ns}}}eventCode"):
        value = _t(ec, ns, "value") or ""
        chinese = (language or "").lower().startswith("zh")
        if hazards.is_type_code(value) and (chinese or re.fullmatch(r"11B\d\d", value, re.IGNORECASE)):
            return value
    return None


def _pairs(text: str) -> list[str]:
    return re.sub(r"\s*,\s*", ",", text.strip()).split()


def _polygon(text: str | None, warnings: list[str]) -> list[tuple[float, float]] | None:
    """CAP's "lat,lon lat,lon ..." as a checked ring of (lon, lat) (monitor.alerts.geometry)."""
    if not text or not text.strip():
        return None  # NWS CAP 1.1 sends empty <polygon/> for zone-only alerts
    try:
        points = [_lon_lat(pair) for pair in _pairs(text)]
    except ValueError as e:
        warnings.append(f"polygon ignored: {e}")
        return None
    return geometry.ring(points, "polygon", warnings)


def _circle(text: str | None, warnings: list[str]) -> tuple[float, float, float] | None:
    """CAP's "lat,lon radius_km" as a checked (lon, lat, radius_km)."""
    if not text or not text.strip():
        return None
    try:
        centre, radius = _pairs(text)
        lon, lat = _lon_lat(centre)
    except ValueError as e:
        warnings.append(f"circle '{_clip(text.strip())}' ignored: {e}")
        return None
    return geometry.circle(lon, lat, radius, f"circle '{_clip(text.strip())}'", warnings)


def _lon_lat(pair: str) -> tuple[float, float]:
    """CAP writes "lat,lon"; we keep (lon, lat). Range and finiteness: monitor.alerts.geometry."""
    parts = pair.split(",")
    if len(parts) != 2:
        raise ValueError(f"'{_clip(pair)}' is not lat,lon")
    lat, lon = float(parts[0]), float(parts[1])
    return (lon, lat)


def _clip(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _key_warnings(sender: str, identifier: str, msg_type: str, references: str | None) -> list[str]:
    """What CAP 1.2 (3.2.1) forbids in the message key, and an Update or Cancel that names nothing:
    the message is stored (a real warning is not thrown away), with the defect said."""
    out = [f"<{name}> '{value}' holds {what}, which CAP forbids: a later Update or Cancel cannot reference "
           "it exactly" for name, value in (("identifier", identifier), ("sender", sender))
           for what in [_forbidden(value)] if what]
    if msg_type in ("Update", "Cancel") and not (references or "").strip():
        out.append(f"msgType {msg_type} without <references>: it supersedes no earlier message")
    return out


def _forbidden(value: str) -> str | None:
    found = [what for what, bad in (("a space", any(c.isspace() for c in value)), ("a comma", "," in value),
                                    ("'<' or '&'", "<" in value or "&" in value)) if bad]
    return " and ".join(found) or None


def _references(text: str | None, warnings: list[str]) -> list[tuple[str, str, str | None]]:
    """"sender,identifier,sent sender,identifier,sent ..." with sent as UTC ISO."""
    refs = []
    for token in (text or "").split():
        parts = token.split(",")
        if len(parts) == 3:
            refs.append((parts[0], parts[1], utc(parts[2], "references sent", warnings)))
        elif len(parts) == 2:  # some CAP 1.0-era senders omit the time
            refs.append((parts[0], parts[1], None))
        else:
            warnings.append(f"references: '{token}' is not sender,identifier,sent; ignored")
    return refs



# --- Atom and RSS indexes ----------------------------------------------------------------------


def _index(kind: str, entries: list, link_of, source: str, area_codes: list[str] | None) -> ParsedDocument:
    doc = ParsedDocument(kind, [], [])
    name = "entry" if kind == "atom" else "item"
    for n, entry in enumerate(entries, 1):
        link = link_of(entry)
        if link:
            doc.links.append(link)
        else:
            doc.warnings.append(f"{kind} {name} {n} has no link")
        for ns in CAP_NS:
            for el in entry.iter(f"{{{ns}}}alert"):
                doc.alerts.append(
                    parse_alert(el, etree.tostring(el, encoding="unicode"), source=source, area_codes=area_codes)
                )
    doc.links = dedupe(doc.links)
    return doc


def _atom_link(entry) -> str | None:
    """The entry's CAP link if one is typed so, else its alternate link, else any link."""
    links = [(e.get("rel") or "alternate", e.get("type") or "", (e.get("href") or "").strip())
             for e in entry.findall(f"{{{ATOM}}}link")]
    typed = [href for rel, typ, href in links if href and "cap" in typ]
    alternate = [href for rel, typ, href in links if href and rel == "alternate"]
    other = [href for rel, typ, href in links if href]
    return (typed or alternate or other or [None])[0]


def _rss_link(item) -> str | None:
    link = (item.findtext("link") or "").strip()
    if link:
        return link
    enclosure = item.find("enclosure")
    return (enclosure.get("url") or "").strip() or None if enclosure is not None else None
