"""Fuzzing the alert parsers and `ingest.save` (issue 9, "Done when"): mutated CAP, NWS and CMA
documents, started from the real ones in tests/data/alerts, give either the package's DataError
(and then the database is not touched) or alerts that store cleanly on a real SQLite file,
whose areas every reader can build. Never another exception.

Mutations: bytes flipped, inserted, deleted or cut; JSON values replaced (NaN, +-Infinity, huge
numbers, empty strings, nulls, wrong types) with coordinates favoured, keys dropped, list items
duplicated or dropped; XML elements dropped or duplicated and their text emptied or replaced
with NaN / huge numbers / junk. A few hundred examples: a few seconds.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from monitor.alerts import geometry, ingest, parse_document
from monitor.errors import DataError
from monitor.spatial import alert_shape
from monitor.store import Store

ALERTS = Path(__file__).parent / "data" / "alerts"
CAP_FILES = [p for p in sorted((ALERTS / "cap").iterdir())
             if p.stat().st_size < 20_000 and p.name != "xee.cap"]  # xee.cap is refused whole
NWS_FILES = [ALERTS / "nws" / "pynws_alerts_active_zone.json", ALERTS / "nws" / "pynws_alerts_active_zone_second.json"]
CMA_FILES = sorted((ALERTS / "cn").iterdir())
SEEDS = {p.name: p.read_bytes() for p in CAP_FILES + NWS_FILES + CMA_FILES}
JSON_SEEDS = sorted(p.name for p in NWS_FILES + CMA_FILES)
XML_SEEDS = sorted(p.name for p in CAP_FILES)
SETTINGS = settings(max_examples=120, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

NASTY = [math.nan, math.inf, -math.inf, 1e308, -1e308, 1e400, 0, -1, "", " ", None, [], {}, "nan", "1e999",
         "\x1b]0;x\x07", "中" * 300, [[math.nan, math.nan]], [[[1, 2]]], True]
# a polygon with a NaN vertex, one with no area, one out of range
BAD_RINGS = [[[[116.5, 40.3], [math.nan, 40.4], [116.7, 40.5], [116.5, 40.3]]],
             [[[116.5, 40.3], [116.5, 40.3], [116.5, 40.3], [116.5, 40.3]]],
             [[[1e308, 40.3], [116.7, 1e308], [116.6, 40.5], [1e308, 40.3]]]]


@pytest.fixture(scope="module")
def store():
    with tempfile.TemporaryDirectory() as folder:
        s = Store.open(Path(folder) / "fuzz.db")
        yield s
        s.close()


def check(store: Store, data: bytes) -> None:
    """The property: DataError and nothing written, or stored alerts whose areas build."""
    before = store.conn.total_changes
    try:
        doc = parse_document(data, max_bytes=200_000)
    except DataError:
        assert store.conn.total_changes == before
        return
    for a in doc.alerts:
        for ring in a.polygons:  # what a parser returns has passed the one check
            assert geometry.ring(ring, "ring", []) == ring
        for c in a.circles:
            assert geometry.circle(*c, "circle", []) == c
    try:
        ingest.save(store, doc.alerts)
    except DataError:
        assert store.conn.total_changes == before and not store.conn.in_transaction
        return
    for a in doc.alerts:
        for row in store.find_alert(a.sender, a.identifier, a.sent):
            alert_shape({**row, "area": json.loads(row["area"]) if row["area"] else None})


# --- bytes -------------------------------------------------------------------------------------


@st.composite
def mutated_bytes(draw):
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "cut", "nan"]))
        i = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[i] = draw(st.integers(0, 255))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[i:i + draw(st.integers(1, 16))]
        elif op == "cut":
            del data[i:]
        else:  # a number somewhere becomes NaN or huge
            data[i:i] = draw(st.sampled_from([b"NaN", b"Infinity", b"-1e999", b"1e308", b"nan", b"9" * 40]))
    return bytes(data)


@SETTINGS
@given(data=mutated_bytes())
def test_mutated_bytes(store, data):
    check(store, data)


# --- JSON structure ----------------------------------------------------------------------------


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, path + (i,))


def _parent(doc, path):
    node = doc
    for key in path[:-1]:
        node = node[key]
    return node


@st.composite
def mutated_json(draw):
    doc = json.loads(SEEDS[draw(st.sampled_from(JSON_SEEDS))])
    for _ in range(draw(st.integers(1, 6))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        coords = [p for p in paths if "coordinates" in p or "geometry" in p]
        path = draw(st.sampled_from(coords if coords and draw(st.booleans()) else paths))
        parent = _parent(doc, path)
        op = draw(st.sampled_from(["replace", "drop", "duplicate", "geometry"]))
        if op == "replace":
            parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(NASTY)))
        elif op == "drop":
            del parent[path[-1]]
        elif op == "duplicate" and isinstance(parent, list):
            parent.insert(path[-1], copy.deepcopy(parent[path[-1]]))
        elif op == "geometry" and isinstance(parent, dict):
            parent["geometry"] = {"type": draw(st.sampled_from(["Polygon", "MultiPolygon", "Point", None])),
                                  "coordinates": copy.deepcopy(draw(st.sampled_from(BAD_RINGS + NASTY)))}
    return json.dumps(doc, ensure_ascii=draw(st.booleans())).encode()


@SETTINGS
@given(data=mutated_json())
def test_mutated_json(store, data):
    check(store, data)


NUMBER = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6),
                   st.sampled_from([116.5, 40.3, 180.0, -90.0, 1e308, math.nan, math.inf]))


@st.composite
def nws_geometry(draw):
    """An NWS feature's geometry replaced by rings of random numbers (NaN and Infinity included)."""
    doc = json.loads(SEEDS[draw(st.sampled_from([p.name for p in NWS_FILES]))])
    feature = draw(st.sampled_from(doc["features"]))
    point = st.lists(NUMBER, min_size=0, max_size=3)
    rings = draw(st.lists(st.lists(point, min_size=0, max_size=6), min_size=0, max_size=2))
    kind = draw(st.sampled_from(["Polygon", "MultiPolygon"]))
    feature["geometry"] = {"type": kind, "coordinates": rings if kind == "Polygon" else [rings]}
    return json.dumps(doc).encode()


@SETTINGS
@given(data=nws_geometry())
def test_nws_random_geometry(store, data):
    check(store, data)


# --- XML structure -----------------------------------------------------------------------------


XML_TEXT = ["", "nan,nan nan,nan nan,nan nan,nan", "40.3,116.5 40.3,116.5 40.3,116.5 40.3,116.5",
            "1e308,1e308 1,1 2,2 1e308,1e308", "40.3,116.6 inf", "40.3,116.6 1e400", "40.3,116.6 -5", "a,b c",
            "Update", "Cancel", "x y,z", "2021-13-45T99:99:99", "zh-CN", "11B06", " , , ", "中" * 200]


@st.composite
def mutated_xml(draw):
    root = etree.fromstring(SEEDS[draw(st.sampled_from(XML_SEEDS))])
    for _ in range(draw(st.integers(1, 6))):
        elements = [e for e in root.iter() if isinstance(e.tag, str) and e is not root]
        if not elements:
            break
        areas = [e for e in elements if str(e.tag).endswith(("}polygon", "}circle"))]
        el = draw(st.sampled_from(areas if areas and draw(st.booleans()) else elements))
        op = draw(st.sampled_from(["drop", "duplicate", "text", "text", "numbers"]))
        parent = el.getparent()
        if op == "drop" and parent is not None:
            parent.remove(el)
        elif op == "duplicate" and parent is not None:
            parent.insert(parent.index(el), copy.deepcopy(el))
        elif op == "numbers" and len(el) == 0:  # "lat,lon lat,lon ..." or "lat,lon radius" of random numbers
            pairs = draw(st.lists(st.tuples(NUMBER, NUMBER), min_size=1, max_size=6))
            el.text = " ".join(f"{a!r},{b!r}" for a, b in pairs) + (f" {draw(NUMBER)!r}" if draw(st.booleans()) else "")
        elif len(el) == 0:
            el.text = draw(st.sampled_from(XML_TEXT))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@SETTINGS
@given(data=mutated_xml())
def test_mutated_xml(store, data):
    check(store, data)


def test_a_refused_document_leaves_the_database_file_as_it_was(store):
    before = store.conn.total_changes
    with pytest.raises(DataError):
        parse_document(b'{"type": "FeatureCollection", "features": 7}')
    assert store.conn.total_changes == before
