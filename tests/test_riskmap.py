"""The risk map page, without a browser: offline, escaped, counted, written atomically.

The browser checks (what is drawn, clicks, search, no request) are in test_map_browser.py, which
uses `sample_map_data()` from here.
"""

from __future__ import annotations

import base64
import json
import re
import zlib

import pytest

from monitor.errors import MonitorError
from monitor.outfile import GENERATOR_META
from monitor.riskmap import MapData, build_html, render_map

HOSTILE = "<script>alert(1)</script>"
LONG_NAME = "怀柔区喇叭沟门满族乡下河村村委会东侧空气源热泵集中供暖站第三号机组（煤改清洁能源二期）"

# 16 township squares on a 4 x 4 grid over a Huairou-sized box
GRID_NAMES = [
    ("泉河街道", "Quanhe"), ("龙山街道", "Longshan"), ("怀柔镇", "Huairou"), ("雁栖镇", "Yanqi"),
    ("庙城镇", "Miaocheng"), ("北房镇", "Beifang"), ("杨宋镇", "Yangsong"), ("桥梓镇", "Qiaozi"),
    ("怀北镇", "Huaibei"), ("汤河口镇", "Tanghekou"), ("渤海镇", "Bohai"), ("九渡河镇", "Jiuduhe"),
    ("琉璃庙镇", "Liulimiao"), ("宝山镇", "Baoshan"), ("长哨营满族乡", "Changshaoying"),
    ("喇叭沟门满族乡", "Labagoumen"),
]


def _square(lon0: float, lat0: float, size: float) -> dict:
    ring = [[lon0, lat0], [lon0 + size, lat0], [lon0 + size, lat0 + size], [lon0, lat0 + size], [lon0, lat0]]
    return {"type": "Polygon", "coordinates": [ring]}


def sample_map_data(stale: bool = True, n_extra: int = 40) -> MapData:
    """A small district with every feature the page has: approximate boundaries, a warned area
    given only by township names, one that cannot be placed, hostile and long names, history."""
    size = 0.15
    townships = []
    for i, (name, name_en) in enumerate(GRID_NAMES):
        row, col = divmod(i, 4)
        townships.append({
            "code": f"1101160{i:05d}", "name": name, "name_en": name_en,
            "kind": "街道" if name.endswith("街道") else "乡" if name.endswith("乡") else "镇",
            "approximate": i % 3 == 0, "source": "test grid",
            "geometry": _square(116.35 + col * size, 40.35 + row * size, size),
            "score": float(i % 5) * 2.5, "counts": {"P1": i % 2, "P2": i % 3, "P3": 1},
        })
    statuses = {"heating": ["unchecked", "ok", "defect"], "fire": ["open", "rectifying", "verified"],
                "flood": ["damaged", "temporarily_restored", "repaired"]}
    facilities = []
    for i in range(n_extra + 2):
        kind = ("heating", "fire", "flood")[i % 3]
        status = statuses[kind][i % 3]
        t = townships[i % 16]
        lon0, lat0 = t["geometry"]["coordinates"][0][0]
        name = HOSTILE if i == 0 else LONG_NAME if i == 1 else f"测试设施{i:03d}号 test site {i}"
        facilities.append({
            "id": 1000 + i, "kind": kind, "kind_zh": {"heating": "供暖设施", "fire": "消防隐患", "flood": "水毁设施"}[kind],
            "subtype_zh": "锅炉房", "name": name, "status": status, "status_zh": status,
            "lon": lon0 + 0.02 + (i % 7) * 0.015, "lat": lat0 + 0.02 + (i % 5) * 0.02,
            "township_name": t["name"], "responsible": "王磊" if i % 2 else '<b onmouseover="alert(2)">李</b>',
            "phone": "13800000000", "households": 12 + i, "due": "2025-12-01", "last_inspected": "2025-11-16",
            "notes": "备注 </script><img src=x onerror=alert(3)>" if i == 0 else "",
            "history": [
                {"at": "2025-11-20 09:30", "by": "王磊", "old": "unchecked", "new": status, "note": "检查 <i>ok</i>"},
            ],
            "priority": ("P1", "P2", "P3", None)[i % 4], "reasons": ["供暖季未检查 not inspected this season"] if i % 4 != 3 else [],
        })
    followups = [
        {"facility_id": f["id"], "name": f["name"], "township": f["township_name"], "kind": f["kind"],
         "rule": "heating_season", "priority": f["priority"], "reason": "供暖季未检查 not inspected",
         "since": "2025-11-15", "lon": f["lon"], "lat": f["lat"]}
        for f in facilities if f["priority"]
    ]
    followups.append({"facility_id": None, "name": "汤河口镇 全镇", "township": "汤河口镇", "kind": None,
                      "rule": "cold_wave", "priority": "P2", "reason": "寒潮预警 cold wave", "since": "2025-11-21",
                      "lon": None, "lat": None})
    alerts = [
        {"id": "a1", "hazard": "cold_wave", "hazard_zh": "寒潮", "colour": "blue",
         "headline": "怀柔区气象台发布寒潮蓝色预警", "description": "预计未来48小时气温下降8℃以上。\n注意防寒 <b>保暖</b>",
         "sender": "怀柔区气象台", "onset": "2025-11-21 08:00", "expires": "2025-11-23 08:00",
         "geometry": _square(116.40, 40.40, 0.3), "township_names": ["怀柔镇", "雁栖镇"]},
        {"id": "a2", "hazard": "blizzard", "hazard_zh": "暴雪", "colour": "orange",
         "headline": "暴雪橙色预警", "description": "山区有暴雪",
         "sender": "北京市气象台", "onset": "2025-11-21 10:00", "expires": "2025-11-22 10:00",
         "geometry": None, "township_names": ["汤河口镇", "宝山镇"]},
        {"id": "a3", "hazard": "road_icing", "hazard_zh": "道路结冰", "colour": "red",
         "headline": "道路结冰红色预警", "description": "", "sender": "北京市气象台",
         "onset": "2025-11-21 12:00", "expires": "2025-11-22 12:00",
         "geometry": {"type": "MultiPolygon", "coordinates": [_square(116.8, 40.9, 0.1)["coordinates"]]},
         "township_names": []},
        {"id": "a4", "hazard": "gale", "hazard_zh": "大风", "colour": None,
         "headline": "大风预警 <script>alert(4)</script>", "description": "无法定位", "sender": "测试",
         "onset": "2025-11-21 12:00", "expires": "2025-11-22 12:00", "geometry": None,
         "township_names": ["不存在的乡"]},
    ]
    return MapData(
        title="怀柔区 风险地图 Huairou risk map", townships=townships, facilities=facilities,
        alerts=alerts, followups=followups, data_time="2025-11-21 14:00",
        last_refresh="2025-11-21 06:10" if stale else "2025-11-21 13:50", stale=stale,
        stale_reason="预警数据超过 6 小时未刷新 alerts not refreshed for 7 h" if stale else "",
        evaluated="2025-11-21 13:55",
    )


# ---- helpers -----------------------------------------------------------------------------------


def _element(page: str, key: str) -> tuple[str, str]:
    m = re.search(r'<script type="[^"]+" id="[^"]+-' + key + r'" data-encoding="([^"]+)">(.*?)</script>', page, re.S)
    assert m, f"no {key} element"
    return m.group(1), m.group(2)


def unpack(encoding: str, text: str) -> dict:
    """A pack as the page's JS reads it: {head, arrays, lists}."""
    import numpy as np

    raw = base64.b64decode(text)
    if encoding == "zlib+base64":
        raw = zlib.decompress(raw)
    else:
        assert encoding == "base64"
    n = int.from_bytes(raw[:4], "little")
    head = json.loads(raw[4:4 + n].decode("utf-8"))
    start = 4 + n + (-(4 + n)) % 8
    arrays = {}
    for name, (dtype, offset, count, flags) in head["arrays"].items():
        size = np.dtype(dtype).itemsize
        data = np.frombuffer(raw, dtype=np.uint8, count=count * size, offset=start + offset)
        if "s" in flags:  # bytes grouped by position
            data = data.reshape(size, count).T
        arr = np.ascontiguousarray(data).view("<" + dtype).reshape(-1)
        if "d" in flags:  # differences
            arr = np.cumsum(arr.astype(np.int64))
        arrays[name] = arr
    return {"head": head, "arrays": arrays, "lists": head.get("lists", {})}


def embedded(page: str) -> dict:
    """The page's data: the JSON element, with its three packs under "packs"."""
    encoding, text = _element(page, "data")
    assert encoding == "json"
    doc = json.loads(text)
    doc["packs"] = {k: unpack(*_element(page, k)) for k in ("sites", "names", "detail")}
    return doc


def _value(pack: dict, name: str, i: int):
    codes, values = pack["arrays"].get(pack["head"].get("via", {}).get(name, name)), pack["lists"].get(name)
    if codes is not None and values is not None:
        return None if codes[i] < 0 else values[codes[i]]
    if values is not None:
        return values[i]
    return None if codes is None else codes[i].item()


def facility_rows(doc: dict) -> list[dict]:
    """The sites of a page as dicts, decoded as the page's JS does."""
    sites, names, detail = (doc["packs"][k] for k in ("sites", "names", "detail"))
    h = sites["head"]
    out = []
    for i in range(h["n"]):
        a = sites["arrays"]
        lon, lat = int(a["lon"][i]), int(a["lat"][i])
        hs = detail["arrays"]["h_site"]
        out.append({
            "id": int(a["id"][i]), "name": names["lists"]["name"][i],
            "lon": None if lon == h["none"] else h["origin"][0] + lon / h["scale"],
            "lat": None if lat == h["none"] else h["origin"][1] + lat / h["scale"],
            "priority": None if a["priority"][i] < 0 else ("P1", "P2", "P3")[a["priority"][i]],
            **{k: _value(sites, k, i) for k in ("kind", "kind_zh", "status", "status_zh", "township_name")},
            **{k: _value(detail, k, i) for k in ("subtype_zh", "responsible", "phone", "due", "last_inspected", "notes")},
            "households": None if detail["arrays"]["households"][i] < 0 else int(detail["arrays"]["households"][i]),
            "history": [{k: _value(detail, "h_" + k, j) for k in ("at", "by", "old", "new", "note")}
                        for j in range(len(hs)) if hs[j] == i],
        })
    return out


def followup_rows(doc: dict) -> list[dict]:
    sites = doc["packs"]["sites"]
    facilities = facility_rows(doc)
    out = []
    for j in range(sites["head"]["followups"]):
        s = int(sites["arrays"]["fu_site"][j])
        p = sites["arrays"]["fu_priority"][j]
        row = {k: _value(sites, "fu_" + k, j) for k in ("name", "township", "kind", "rule", "reason", "since")}
        row.update(site=s, facility_id=None if s < 0 else facilities[s]["id"],
                   priority=None if p < 0 else ("P1", "P2", "P3")[p],
                   lon=None if s < 0 else facilities[s]["lon"], lat=None if s < 0 else facilities[s]["lat"])
        if row["name"] is None and s >= 0:
            row["name"] = facilities[s]["name"]
        out.append(row)
    return out


class _Refs(__import__("html.parser").parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self._in_style = tag == "style"
        for k, v in attrs:
            if k in ("src", "href", "srcset", "data", "action", "poster") and v is not None:
                self.refs.append((tag, k, v))

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)

    def handle_endtag(self, tag):
        self._in_style = False


@pytest.fixture(scope="module")
def page() -> str:
    return build_html(sample_map_data())


# ---- offline ----------------------------------------------------------------------------------


def test_page_refers_to_nothing_outside(page):
    parser = _Refs()
    parser.feed(page)
    # every tag-level reference is inline data; scripts and styles are all inline
    assert parser.refs == [("link", "href", "data:,")]
    assert not re.search(r"<script[^>]*\ssrc=", page)
    assert not re.search(r"<link[^>]*stylesheet", page)
    css = "\n".join(parser.styles)
    assert "leaflet-container" in css and "mm-cluster" in css  # Leaflet's and the page's own CSS inlined
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", css)
    assert "@import" not in css
    assert "MonitorRiskMap.draw(" in page
    assert "L.markerClusterGroup" not in page  # the page clusters its sites itself


def test_no_cdn_or_font_urls_anywhere_in_the_markup(page):
    data = re.search(r'<script type="application/json" id="[^"]+-data".*?</script>', page, re.S).group(0)
    code = page.replace(data, "")
    for host in ("cdn.jsdelivr.net", "cdnjs.cloudflare.com", "code.jquery.com", "bootstrapcdn", "fontawesome", "fonts.googleapis"):
        assert host not in code
    # the markup around the inline scripts has no http(s) src/href at all (Leaflet's attribution
    # link lives inside its JS as a string; it is a link, never fetched)
    markup = re.sub(r"(<script[^>]*>).*?(</script>)", r"\1\2", page, flags=re.S)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", markup)


def test_an_unknown_cdn_link_fails_the_build():
    from monitor.mapassets import inline_assets

    with pytest.raises(MonitorError, match="cdn.example.org/plugin.js"):
        inline_assets('<html><head><script src="https://cdn.example.org/plugin.js"></script></head></html>')
    with pytest.raises(MonitorError, match="fonts.example.org"):
        inline_assets("<style>@import url(https://fonts.example.org/x.css);</style>")


def test_a_folium_plugin_that_is_not_vendored_fails_the_build():
    import folium.plugins

    from monitor.mapassets import OfflineMap, inline_assets

    m = OfflineMap(location=[40.5, 116.6], tiles=None, maxZoom=18)
    folium.plugins.Fullscreen().add_to(m)
    with pytest.raises(MonitorError, match="Fullscreen|fullscreen"):
        inline_assets(m.get_root().render())


# ---- escaping ---------------------------------------------------------------------------------


def test_text_typed_by_people_cannot_become_markup(page):
    assert HOSTILE not in page
    assert "<img src=x" not in page
    assert "<b onmouseover" not in page
    assert "<i>ok</i>" not in page
    # in the JSON element, escaped; the sites' text travels in base64 packs, which hold no markup
    assert "\\u003cscript\\u003ealert(4)\\u003c/script\\u003e" in page
    for key in ("sites", "names", "detail"):
        assert re.fullmatch(r"[A-Za-z0-9+/=]*", _element(page, key)[1])
    # every <script> element is closed exactly where the page means it to be
    assert len(re.findall(r"<script\b", page)) == len(re.findall(r"</script>", page))


def test_hostile_text_survives_the_round_trip_exactly(page):
    doc = embedded(page)
    facilities = facility_rows(doc)
    assert facilities[0]["name"] == HOSTILE
    assert facilities[0]["notes"] == "备注 </script><img src=x onerror=alert(3)>"
    assert facilities[1]["name"] == LONG_NAME
    assert facilities[0]["responsible"] == '<b onmouseover="alert(2)">李</b>'
    assert doc["alerts"][3]["headline"] == "大风预警 <script>alert(4)</script>"


def test_large_data_are_embedded_compressed_and_decode_to_the_same():
    plain, packed = build_html(sample_map_data(), compress=False), build_html(sample_map_data(), compress=True)
    assert 'data-encoding="base64"' in plain and 'data-encoding="zlib+base64"' in packed
    assert 'data-encoding="zlib+base64"' not in plain and 'data-encoding="base64"' not in packed
    assert "测试设施" not in packed.split('data-encoding="zlib+base64">')[1]
    a, b = embedded(plain), embedded(packed)
    assert facility_rows(a) == facility_rows(b) and followup_rows(a) == followup_rows(b)
    assert facility_rows(b)[0]["name"] == HOSTILE


def test_compression_is_chosen_by_size(monkeypatch):
    import monitor.riskmap as riskmap

    assert 'data-encoding="zlib+base64"' not in build_html(sample_map_data())  # small: not deflated
    monkeypatch.setattr(riskmap, "COMPRESS_ABOVE", 1000)
    assert 'data-encoding="zlib+base64"' in build_html(sample_map_data())


def test_the_title_is_escaped():
    data = sample_map_data()
    data.title = "地图 </title><script>alert(5)</script>"
    page = build_html(data)
    assert "<title>地图 &lt;/title&gt;&lt;script&gt;alert(5)&lt;/script&gt;</title>" in page


# ---- what is embedded --------------------------------------------------------------------------


def test_every_input_row_is_embedded_once(page):
    data = sample_map_data()
    doc = embedded(page)
    assert len(doc["townships"]) == len(data.townships) == 16
    assert len(doc["alerts"]) == len(data.alerts) == 4
    facilities = facility_rows(doc)
    assert [f["id"] for f in facilities] == [f["id"] for f in data.facilities]
    assert [(f["kind"], f["status"], f["priority"]) for f in facilities] == [
        (f["kind"], f["status"], f["priority"]) for f in data.facilities
    ]
    for got, want in zip(facilities, data.facilities):
        for k in ("name", "township_name", "responsible", "phone", "households", "due", "notes", "subtype_zh"):
            assert got[k] == want[k], k
        assert got["lon"] == pytest.approx(want["lon"], abs=1e-6) and got["lat"] == pytest.approx(want["lat"], abs=1e-6)
    assert facilities[2]["history"] == [
        {"at": "2025-11-20 09:30", "by": "王磊", "old": "unchecked", "new": "repaired", "note": "检查 <i>ok</i>"}]
    followups = followup_rows(doc)
    assert len(followups) == len(data.followups)
    assert [(f["facility_id"], f["priority"], f["reason"]) for f in followups] == [
        (f["facility_id"], f["priority"], f["reason"]) for f in data.followups]
    assert followups[-1]["lon"] is None and followups[-1]["township"] == "汤河口镇"
    assert doc["stale"] is True and doc["last_refresh"] == "2025-11-21 06:10"


def test_every_status_has_a_colour_and_every_kind_a_symbol():
    from monitor.kinds import KINDS
    from monitor.riskmap import KIND_SHAPES, STATUS_GROUPS

    coloured = {code for _, _, codes in STATUS_GROUPS for code in codes}
    assert {s for k in KINDS.values() for s in k.statuses} <= coloured
    assert set(KINDS) <= set(KIND_SHAPES)
    assert len(set(KIND_SHAPES.values())) == len(KIND_SHAPES)


def test_scores_are_classed_up_to_the_maximum(page):
    doc = embedded(page)
    colours = {t["name"]: t["colour"] for t in doc["townships"]}
    from monitor.riskmap import CHOROPLETH

    assert colours["泉河街道"] == CHOROPLETH[0]  # score 0
    assert colours["怀柔镇"] == CHOROPLETH[2]  # 5.0 of max 10
    assert colours["庙城镇"] == CHOROPLETH[4]  # 10.0, the maximum
    assert [c["colour"] for c in doc["legend"]["choropleth"]] == list(CHOROPLETH)


def test_whole_scores_make_whole_class_bounds():
    """Scores are sums of whole weights: the legend says "1 – 24", never "0 – 23.5"."""
    data = sample_map_data()
    for t, score in zip(data.townships, [0, 94, 30, 47, 48, 70, 71, 72, 1, 24, 25, 0, 0, 0, 0, 0]):
        t["score"] = float(score)
    doc = embedded(build_html(data))
    assert [c["label"] for c in doc["legend"]["choropleth"]] == [
        "0 无待跟进 none", "1 – 24", "25 – 47", "48 – 71", "72 – 94"]
    colours = {t["name"]: t["colour"] for t in doc["townships"]}
    from monitor.riskmap import CHOROPLETH

    assert colours["怀北镇"] == CHOROPLETH[1]  # 1
    assert colours["汤河口镇"] == CHOROPLETH[1]  # 24, the top of the first class
    assert colours["渤海镇"] == CHOROPLETH[2]  # 25
    assert colours["龙山街道"] == CHOROPLETH[4]  # 94, the maximum
    # a small top score gives fewer classes, each a whole number
    for t, score in zip(data.townships, [0, 2] + [1] * 14):
        t["score"] = float(score)
    labels = [c["label"] for c in embedded(build_html(data))["legend"]["choropleth"]]
    assert labels == ["0 无待跟进 none", "1", "2"]


def test_township_label_points_and_the_evaluation_time_reach_the_page():
    data = sample_map_data()
    data.townships[0]["label_at"] = [116.42, 40.41]
    doc = embedded(build_html(data))
    assert doc["townships"][0]["label_at"] == [116.42, 40.41]
    assert doc["townships"][1]["label_at"] is None  # the page falls back to the middle
    assert doc["evaluated"] == "2025-11-21 13:55"


def test_an_empty_district_still_renders(tmp_path):
    data = MapData(title="空", townships=[], facilities=[], alerts=[], followups=[],
                   data_time="2025-11-21 14:00", last_refresh=None, stale=False)
    page = render_map(data, tmp_path / "empty.html").read_text(encoding="utf-8")
    assert facility_rows(embedded(page)) == [] and followup_rows(embedded(page)) == []


def test_facilities_without_coordinates_are_kept_but_not_placed():
    data = sample_map_data()
    data.facilities[3]["lon"] = None
    data.facilities[4]["lat"] = float("nan")
    doc = embedded(build_html(data))
    facilities = facility_rows(doc)
    assert len(facilities) == len(data.facilities)
    assert facilities[3]["lon"] is None and facilities[4]["lat"] is None


# ---- base maps ----------------------------------------------------------------------------------


def test_gcj02_base_map_shifts_every_overlay(monkeypatch):
    import sys
    import types

    fake = types.ModuleType("monitor.gcj02")
    fake.wgs_to_gcj = lambda lon, lat: (lon + 0.5, lat + 0.25)
    monkeypatch.setitem(sys.modules, "monitor.gcj02", fake)
    data = sample_map_data()
    data.basemap = {"type": "gcj02", "url": "https://tiles.example.org/{z}/{x}/{y}.png"}
    page = build_html(data)
    doc = embedded(page)
    f0 = facility_rows(doc)[0]
    assert f0["lon"] == pytest.approx(data.facilities[0]["lon"] + 0.5)
    assert f0["lat"] == pytest.approx(data.facilities[0]["lat"] + 0.25)
    assert doc["townships"][0]["geometry"]["coordinates"][0][0] == [116.85, 40.6]
    assert doc["alerts"][0]["geometry"]["coordinates"][0][0] == [116.9, 40.65]
    fu = followup_rows(doc)[0]
    assert fu["lon"] == pytest.approx(data.followups[0]["lon"] + 0.5)
    assert '"https://tiles.example.org/{z}/{x}/{y}.png"' in page
    # the caller's data are not changed
    assert data.townships[0]["geometry"]["coordinates"][0][0] == [116.35, 40.35]


def test_tianditu_and_local_tiles(tmp_path):
    data = sample_map_data()
    data.basemap = {"type": "tianditu", "key": "abc123"}
    page = build_html(data)
    assert "tianditu.gov.cn/vec_w/wmts" in page and "tk=abc123" in page and "TILEMATRIX={z}" in page
    data.basemap = {"type": "tiles", "path": str(tmp_path / "my tiles" / "{z}/{x}/{y}.png")}
    page = build_html(data)
    assert f'"file://{tmp_path.as_posix()}/my%20tiles/{{z}}/{{x}}/{{y}}.png"' in page
    # no base map: no tile layer at all
    assert "L.tileLayer" not in build_html(sample_map_data())


def test_a_bad_base_map_setting_is_a_config_error():
    from monitor.errors import ConfigError

    data = sample_map_data()
    data.basemap = {"type": "google"}
    with pytest.raises(ConfigError, match="google"):
        build_html(data)
    data.basemap = {"type": "tianditu"}
    with pytest.raises(ConfigError, match="key"):
        build_html(data)


# ---- writing -------------------------------------------------------------------------------------


def test_render_writes_the_page_and_no_temporary_file(tmp_path):
    out = render_map(sample_map_data(), tmp_path / "maps" / "risk.html")
    assert out == tmp_path / "maps" / "risk.html"
    assert [p.name for p in out.parent.iterdir()] == ["risk.html"]
    assert out.stat().st_mode & 0o044 == 0o044  # readable by others: the map is meant to be shared
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert embedded(page)["title"] == "怀柔区 风险地图 Huairou risk map"


# a page of ours (outfile refuses to replace any other)
OLD_PAGE = f"<!DOCTYPE html>\n<html><head>{GENERATOR_META}</head><body>old page</body></html>"


def test_a_failed_write_keeps_the_old_page_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    import monitor.riskmap as riskmap

    out = tmp_path / "risk.html"
    out.write_text(OLD_PAGE, encoding="utf-8")

    # fails half way through writing
    monkeypatch.setattr(riskmap, "_page_parts", lambda data, compress: ("<html>", None, "</html>"))
    with pytest.raises(TypeError):
        render_map(sample_map_data(), out)
    assert out.read_text(encoding="utf-8") == OLD_PAGE
    assert [p.name for p in tmp_path.iterdir()] == ["risk.html"]

    # fails at the rename
    monkeypatch.setattr(riskmap, "_page_parts", lambda data, compress: ("<html>", "{}", "</html>"))

    def no_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(riskmap.os, "replace", no_replace)
    with pytest.raises(MonitorError, match="disk full"):
        render_map(sample_map_data(), out)
    assert out.read_text(encoding="utf-8") == OLD_PAGE
    assert [p.name for p in tmp_path.iterdir()] == ["risk.html"]


def test_a_failed_build_touches_nothing(tmp_path):
    out = tmp_path / "risk.html"
    out.write_text(OLD_PAGE, encoding="utf-8")
    data = sample_map_data()
    data.basemap = {"type": "nonsense"}
    with pytest.raises(MonitorError):
        render_map(data, out)
    assert out.read_text(encoding="utf-8") == OLD_PAGE
    assert [p.name for p in tmp_path.iterdir()] == ["risk.html"]


def test_doctests():
    import doctest

    import monitor.mapassets
    import monitor.riskmap

    for mod in (monitor.mapassets, monitor.riskmap):
        result = doctest.testmod(mod)
        assert result.failed == 0 and result.attempted > 0, mod.__name__
