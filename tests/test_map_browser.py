"""The risk map in a real browser (headless Debian chromium), with the network cut off.

Checks what the office PC will see: nothing fetched, no script error, every township, warned area
and facility drawn, the legend, the follow-up panel and the search working, the STALE banner only
when stale, and text typed by people shown as text. Saves screenshots to tests/artifacts/.
Skipped only when /usr/bin/chromium is missing (CI installs chromium and fonts-noto-cjk).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from browser import chromium, chromium_missing, load_map, offline_page
from monitor.riskmap import render_map
from test_riskmap import HOSTILE, LONG_NAME, sample_map_data

pytestmark = pytest.mark.skipif(chromium_missing() is not None, reason=chromium_missing() or "")

ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    d = tmp_path_factory.mktemp("maps")
    return {
        "stale": render_map(sample_map_data(stale=True), d / "stale.html"),
        "fresh": render_map(sample_map_data(stale=False), d / "fresh.html"),
        "packed": render_map(sample_map_data(stale=True), d / "packed.html", compress=True),
    }


@pytest.fixture(params=["stale", "packed"])
def opened(request, browser, maps):
    """The stale sample map (data as plain JSON, and compressed as large maps are), loaded;
    after the test, nothing may have been fetched or failed."""
    with offline_page(browser) as (page, log):
        load_map(page, maps[request.param], log)
        yield page, log
        assert log.blocked == [], f"the page tried the network: {log.blocked}"
        assert log.page_errors == [] and log.console_errors == [], (log.page_errors, log.console_errors)
        assert log.dialogs == [], f"a script from the data ran: {log.dialogs}"


def counts(page) -> dict:
    return page.evaluate(
        "(() => { const m = window.monitorMap; const o = {};"
        " for (const k in m) if (typeof m[k] !== 'object' && typeof m[k] !== 'function') o[k] = m[k];"
        " return o; })()"
    )


def view(page) -> tuple[int, float, float]:
    return tuple(page.evaluate(
        "[monitorMap.map.getZoom(), monitorMap.map.getCenter().lat, monitorMap.map.getCenter().lng]"
    ))


def popup_text(page) -> str:
    page.wait_for_selector(".leaflet-popup-content .mm-facility", timeout=10_000)
    return page.inner_text(".leaflet-popup-content")


def test_draws_everything_offline(opened):
    page, log = opened
    data = sample_map_data()
    names = {t["name"] for t in data.townships}
    placeable = [a for a in data.alerts if a["geometry"] or set(a["township_names"]) & names]
    c = counts(page)
    assert c["townships"] == len(data.townships) == 16
    assert c["alerts"] == len(placeable) == 3
    assert c["alerts_unplaced"] == len(data.alerts) - len(placeable) == 1
    assert c["facilities"] == len(data.facilities) and c["facilities_unlocated"] == 0
    assert c["followups"] == len(data.followups)
    assert c["followup_markers"] == sum(1 for f in data.followups if f["lon"] is not None)
    # what is on screen agrees with the counts: one SVG path per township polygon
    assert page.locator(".leaflet-mm-townships-pane path").count() == 16
    assert page.locator(".leaflet-mm-alerts-pane path").count() >= 3
    assert page.locator(".mm-fac, .mm-cluster").count() > 0
    # approximate boundaries are dashed
    assert page.locator('.leaflet-mm-townships-pane path[stroke-dasharray="6 4"]').count() == sum(
        t["approximate"] for t in data.townships
    )
    assert page.evaluate("monitorMap.followup_rings_shown") is True
    # every marker and cluster icon on screen sits where its coordinates put it
    misplaced = page.evaluate("""(() => {
        const map = monitorMap.map, box = map.getContainer().getBoundingClientRect(), bad = [];
        let n = 0;
        map.eachLayer(l => {
            if (!l._icon || !l.getLatLng) return;
            n += 1;
            const p = map.latLngToContainerPoint(l.getLatLng()), r = l._icon.getBoundingClientRect();
            const dx = r.left + r.width / 2 - box.left - p.x, dy = r.top + r.height / 2 - box.top - p.y;
            if (Math.abs(dx) > 2 || Math.abs(dy) > 2) bad.push([dx, dy]);
        });
        return {n: n, bad: bad};
    })()""")
    assert misplaced["n"] > 0 and misplaced["bad"] == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map_stale.png"))


def test_legend_and_followup_panel(opened):
    page, _ = opened
    data = sample_map_data()
    legend = page.inner_text("#mm-legend")
    for words in ("图例 Legend", "乡镇风险分", "近似边界 approximate boundary", "蓝色预警", "红色预警",
                  "供暖设施", "消防隐患", "水毁设施", "有缺陷、待整改、受损 needs action", "P1"):
        assert words in legend
    panel = page.locator("#mm-panel")
    assert f"待跟进 Follow-ups ({len(data.followups)})" in panel.inner_text()
    for p in ("P1", "P2", "P3"):
        expected = sum(1 for f in data.followups if f["priority"] == p)
        assert page.locator(f'#mm-panel ul[data-priority="{p}"] > li').count() == expected
    # the warning that could not be placed is listed, its hostile headline as text
    unplaced = page.inner_text(".mm-unplaced")
    assert "大风预警 <script>alert(4)</script>" in unplaced
    info = page.inner_text("#mm-info")
    assert "数据时间 Data as of: 2025-11-21 14:00" in info and "2025-11-21 06:10" in info


def test_clicking_a_followup_zooms_to_it(opened):
    page, _ = opened
    before = view(page)
    first = page.locator('#mm-panel ul[data-priority="P1"] button').first
    name = first.inner_text()
    first.click()
    text = popup_text(page)
    after = view(page)
    assert after[0] > before[0], (before, after)
    assert (after[1], after[2]) != (before[1], before[2])
    assert name in text


def test_clicking_a_township_followup_fits_the_township(opened):
    page, _ = opened
    page.evaluate("monitorMap.map.setView([40.3, 116.4], 8, {animate: false})")
    before = view(page)
    page.locator('#mm-panel ul[data-priority="P2"] button', has_text="汤河口镇 全镇").click()
    # the fit may be animated: wait until it has moved the view to 汤河口镇 (about 40.7 N), far from 40.3
    page.wait_for_function("Math.abs(monitorMap.map.getCenter().lat - 40.3) > 0.1", timeout=10_000)
    after = view(page)
    assert after != before and after[0] > 8


def test_search_finds_a_facility(opened):
    page, _ = opened
    page.fill("#mm-search", "测试设施017")
    hit = page.locator("#mm-search-results button").first
    hit.wait_for(timeout=5_000)
    assert hit.inner_text() == "测试设施017号 test site 17"
    assert page.locator("#mm-search-results button").count() == 1
    hit.click()
    assert "测试设施017号 test site 17" in popup_text(page)
    page.fill("#mm-search", "没有这个设施")
    page.wait_for_selector("#mm-search-results .mm-none", timeout=5_000)


def test_people_typed_text_shows_as_text(opened):
    page, log = opened
    page.fill("#mm-search", "alert(1)")
    hit = page.locator("#mm-search-results button").first
    hit.wait_for(timeout=5_000)
    assert hit.inner_text() == HOSTILE
    hit.click()
    text = popup_text(page)
    assert HOSTILE in text
    assert "备注 </script><img src=x onerror=alert(3)>" in text
    assert '<b onmouseover="alert(2)">李</b>' in text
    assert "检查 <i>ok</i>" in text  # history note
    popup = page.locator(".leaflet-popup-content")
    assert popup.locator("script, img, b, i").count() == 0
    popup.hover()
    page.wait_for_timeout(200)
    assert log.dialogs == []
    assert page.locator(f'#mm-panel .mm-followups button:text-is("{HOSTILE}")').count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map_popup.png"))


def test_a_long_chinese_name_is_shown_whole(opened):
    page, _ = opened
    page.fill("#mm-search", "喇叭沟门满族乡下河村")
    hit = page.locator("#mm-search-results button").first
    hit.wait_for(timeout=5_000)
    hit.click()
    assert LONG_NAME in popup_text(page)


def test_stale_banner_only_when_stale(browser, maps):
    for which, stale in (("stale", True), ("fresh", False)):
        with offline_page(browser) as (page, log):
            load_map(page, maps[which], log)
            banner = page.locator("#mm-stale")
            if stale:
                assert banner.is_visible()
                text = banner.inner_text()
                assert text.startswith("数据已过期 STALE:") and "alerts not refreshed for 7 h" in text
                # the banner is on top of the map, at the top of the window
                box = banner.bounding_box()
                assert box["y"] == 0 and box["width"] >= 1000
            else:
                assert banner.count() == 0
                assert "STALE" not in page.inner_text("body")
            assert log.blocked == [] and log.page_errors == [] and log.console_errors == []
            page.screenshot(path=str(ARTIFACTS / f"map_{which}_full.png"))


def test_layers_can_be_switched_off(opened):
    page, _ = opened
    labels = page.locator(".leaflet-control-layers-overlays label")
    assert [t.strip() for t in labels.all_inner_texts()] == [
        "乡镇风险 Township risk", "预警区域 Warned areas", "待跟进 Follow-ups", "设施 Facilities",
    ]
    labels.filter(has_text="乡镇风险").locator("input").uncheck()
    assert page.locator(".leaflet-mm-townships-pane path").count() == 0
    labels.filter(has_text="设施 Facilities").locator("input").uncheck()
    assert page.locator(".mm-fac, .mm-cluster").count() == 0


def test_unreadable_data_is_reported_not_silent(browser, maps, tmp_path):
    page_text = maps["packed"].read_text(encoding="utf-8")
    head, rest = page_text.split('data-encoding="zlib+base64">', 1)
    broken = tmp_path / "broken.html"
    broken.write_text(head + 'data-encoding="zlib+base64">' + "QUJD" * 50 + rest[rest.index("</script>"):],
                      encoding="utf-8")
    with offline_page(browser) as (page, log):
        page.goto(broken.as_uri())
        page.wait_for_selector("#mm-error", timeout=10_000)
        assert "地图数据无法读取 map data unreadable" in page.inner_text("#mm-error")
        assert page.evaluate("window.monitorMap === undefined")
        assert log.blocked == []


# ---- what a user meets in the first minute (issue 13) ------------------------------------------


def point_of(page, lat: float, lon: float) -> tuple[float, float]:
    """Page coordinates of a map position."""
    return tuple(page.evaluate(
        """([lat, lon]) => { const map = monitorMap.map, box = map.getContainer().getBoundingClientRect();
            const p = map.latLngToContainerPoint([lat, lon]); return [box.left + p.x, box.top + p.y]; }""",
        [lat, lon]))


def element_at(page, x: float, y: float) -> dict:
    """What the browser would hit at (x, y): the element's tag, classes and pane."""
    return page.evaluate(
        """([x, y]) => { const e = document.elementFromPoint(x, y); if (!e) return null;
            const pane = e.closest('.leaflet-pane:not(.leaflet-map-pane)');
            return {tag: e.tagName.toLowerCase(), cls: String(e.className.baseVal ?? e.className),
                    pane: pane ? pane.className : null}; }""",
        [x, y])


def test_hovering_and_clicking_a_township_shows_it(opened):
    page, _ = opened
    # 琉璃庙镇: an approximate township with no warning, away from its markers
    x, y = point_of(page, 40.935, 116.485)
    hit = element_at(page, x, y)
    assert "mm-townships" in hit["pane"] and "leaflet-interactive" in hit["cls"], hit
    page.mouse.move(x, y)
    tip = page.locator(".leaflet-tooltip .mm-township")
    tip.wait_for(timeout=5_000)
    text = tip.inner_text()
    assert "琉璃庙镇 Liulimiao" in text and "近似边界" in text and "风险分 Risk score" in text
    page.mouse.click(x, y)
    popup = page.locator(".leaflet-popup-content .mm-township")
    popup.wait_for(timeout=5_000)
    text = popup.inner_text()
    assert "琉璃庙镇 Liulimiao" in text and "近似边界 approximate boundary" in text
    assert "风险分 Risk score\n5" in text and "代码 Code\n110116000012" in text


def test_a_township_is_clickable_with_the_follow_ups_layer_off(opened):
    page, _ = opened
    page.locator(".leaflet-control-layers-overlays label", has_text="待跟进").locator("input").uncheck()
    x, y = point_of(page, 40.935, 116.485)
    assert "mm-townships" in element_at(page, x, y)["pane"]
    page.mouse.click(x, y)
    page.locator(".leaflet-popup-content .mm-township").wait_for(timeout=5_000)


def test_a_township_inside_a_warned_area_shows_the_warning(opened):
    page, _ = opened
    # 汤河口镇 is covered by the orange blizzard warning (drawn from its township code)
    x, y = point_of(page, 40.785, 116.635)
    hit = element_at(page, x, y)
    assert "mm-townships" in hit["pane"], hit  # the hatch above it takes no clicks
    page.mouse.click(x, y)
    popup = page.locator(".leaflet-popup-content .mm-township")
    popup.wait_for(timeout=5_000)
    text = popup.inner_text()
    assert "汤河口镇 Tanghekou" in text
    assert "生效预警 Warnings in force (1)" in text and "暴雪橙色预警" in text
    assert "生效 2025-11-21 10:00" in text and "失效 2025-11-22 10:00" in text


def test_clicking_a_warned_area_outline_shows_its_title_text_onset_and_expiry(opened):
    page, _ = opened
    page.evaluate("monitorMap.map.setView([40.65, 116.40], 12, {animate: false})")
    x, y = point_of(page, 40.65, 116.40)  # on the west edge of the blue cold-wave polygon
    hit = element_at(page, x, y)
    assert "mm-alerts" in hit["pane"] and "mm-warned-hit" in hit["cls"], hit
    page.mouse.move(x, y)
    page.locator(".leaflet-tooltip", has_text="怀柔区气象台发布寒潮蓝色预警").wait_for(timeout=5_000)
    page.mouse.click(x, y)
    popup = page.locator(".leaflet-popup-content .mm-alert")
    popup.wait_for(timeout=5_000)
    text = popup.inner_text()
    assert "怀柔区气象台发布寒潮蓝色预警" in text and "预计未来48小时气温下降8℃以上" in text
    assert "生效 Onset\n2025-11-21 08:00" in text and "失效 Expires\n2025-11-23 08:00" in text
    assert "注意防寒 <b>保暖</b>" in text  # the warning's own text, as text
    # inside the polygon, away from the outline, the township underneath answers
    x, y = point_of(page, 40.55, 116.55)
    assert "mm-townships" in element_at(page, x, y)["pane"]


def test_warned_areas_are_hatched_so_the_risk_colours_still_show(opened):
    page, _ = opened
    fills = page.evaluate("""[...document.querySelectorAll('.leaflet-mm-alerts-pane path.mm-warned')]
        .map(p => [p.getAttribute('fill'), p.getAttribute('fill-opacity')])""")
    assert len(fills) >= 3
    for fill, _ in fills:
        assert fill.startswith("url(#mm-hatch-"), fill
        assert page.locator(f"pattern#{fill[5:-1]} line").count() == 1


def test_township_names_and_scores_are_drawn(opened):
    page, _ = opened
    data = sample_map_data()
    labels = page.evaluate("""[...document.querySelectorAll('.leaflet-mm-labels-pane .mm-tlabel-text')]
        .map(e => e.innerText.replace(/\\n/g, ' '))""")
    assert sorted(labels) == sorted(f"{t['name']} {t['score']:g}" for t in data.townships)
    assert page.evaluate("monitorMap.township_labels") == 16
    # a label sits inside its township
    box = page.locator('.mm-tlabel-text[data-township="宝山镇"]').bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    west, north = point_of(page, 40.95, 116.50)
    east, south = point_of(page, 40.80, 116.65)
    assert west < x < east and north < y < south


def test_the_panel_filters_by_township_and_kind(opened):
    page, _ = opened
    data = sample_map_data()
    page.select_option("#mm-filter-township", "汤河口镇")
    listed = page.locator("#mm-panel .mm-followups li .mm-sub").all_inner_texts()
    expected = [f for f in data.followups if f["township"] == "汤河口镇"]
    assert len(listed) == len(expected) >= 2 and all(t.startswith("汤河口镇") for t in listed)
    assert f"待跟进 Follow-ups ({len(expected)} / {len(data.followups)})" in page.inner_text("#mm-panel")
    page.select_option("#mm-filter-township", "")
    page.select_option("#mm-filter-kind", "fire")
    names = page.locator("#mm-panel .mm-followups li button").all_text_contents()
    assert sorted(names) == sorted(f["name"] for f in data.followups if f["kind"] == "fire")


def test_the_evaluation_time_is_shown(opened):
    page, _ = opened
    assert page.inner_text("#mm-evaluated") == "评估时间 Evaluated at: 2025-11-21 13:55"


def test_a_followup_click_keeps_the_surroundings_in_view(opened):
    page, _ = opened
    page.locator('#mm-panel ul[data-priority="P1"] button').first.click()
    popup_text(page)
    assert view(page)[0] == 14  # FOCUS_ZOOM, not the closest zoom


def test_a_cluster_click_zooms_in_a_few_levels(opened):
    page, _ = opened
    page.evaluate("monitorMap.map.setView([40.6, 116.6], 9, {animate: false})")
    page.wait_for_timeout(300)
    cluster = page.locator(".mm-cluster").first
    box = cluster.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(600)
    zoom = view(page)[0]
    assert 9 < zoom <= 12, zoom


def test_search_shows_every_hit_page_by_page(opened):
    page, _ = opened
    page.fill("#mm-search", "测试设施")
    page.locator("#mm-search-results button.mm-link").first.wait_for(timeout=5_000)
    total = len(sample_map_data().facilities) - 2
    assert page.locator("#mm-search-results button.mm-link").count() == 20
    more = page.locator("#mm-search-results .mm-more")
    assert more.inner_text() == f"另有 {total - 20} 项，显示更多 show 20 more"
    more.click()
    assert page.locator("#mm-search-results button.mm-link").count() == total
    assert page.locator("#mm-search-results .mm-more").count() == 0


PHONE = (390, 844)


def covered_fraction(page) -> float:
    """The share of the window that the boxes (info, panel, legend, layer switch) cover."""
    return page.evaluate("""(() => {
        const boxes = [...document.querySelectorAll('.mm-box, .leaflet-control-layers, .leaflet-control-zoom')]
            .map(e => e.getBoundingClientRect()).filter(r => r.width && r.height);
        let area = 0; for (const r of boxes) area += r.width * r.height;
        return area / (innerWidth * innerHeight);
    })()""")


def test_on_a_phone_the_boxes_fold_and_a_marker_can_be_reached(browser, maps):
    with offline_page(browser, viewport=PHONE) as (page, log):
        load_map(page, maps["stale"], log)
        assert page.locator("#mm-panel").get_attribute("class").count("mm-folded") == 1
        assert page.evaluate("document.querySelector('#mm-legend details').open") is False
        assert covered_fraction(page) < 0.25, covered_fraction(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "map_phone.png"))
        # a marker or cluster in view is what a tap on its middle reaches
        reach = page.evaluate("""(() => {
            const out = [];
            for (const icon of document.querySelectorAll('.leaflet-marker-pane .mm-fac, .leaflet-marker-pane .mm-cluster')) {
                const r = icon.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
                if (x < 0 || y < 0 || x > innerWidth || y > innerHeight) continue;
                out.push([x, y, icon.contains(document.elementFromPoint(x, y))]);
            }
            return out;
        })()""")
        assert reach and all(ok for _, _, ok in reach), reach
        # the panel unfolds; a search hit opens its popup, and the panel folds out of its way
        page.click("#mm-panel-fold")
        assert "mm-folded" not in page.get_attribute("#mm-panel", "class")
        panel = page.locator("#mm-panel").bounding_box()
        assert panel["x"] >= 0 and panel["x"] + panel["width"] <= PHONE[0]
        page.fill("#mm-search", "测试设施017")
        page.locator("#mm-search-results button").first.click()
        assert "测试设施017号" in popup_text(page)
        assert "mm-folded" in page.get_attribute("#mm-panel", "class")
        box = page.locator(".leaflet-popup-content").bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        assert page.evaluate("([x, y]) => !!document.elementFromPoint(x, y).closest('.leaflet-popup')", [x, y])
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE[0]
        assert log.page_errors == [] and log.console_errors == [] and log.blocked == []


def test_the_printed_map_fills_the_page_without_the_panel(browser, maps, tmp_path):
    from pypdf import PdfReader

    with offline_page(browser) as (page, log):
        load_map(page, maps["fresh"], log)
        page.emulate_media(media="print")
        page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
        assert not page.locator("#mm-panel").is_visible()
        assert not page.locator(".leaflet-control-layers").is_visible()
        assert page.locator("#mm-legend").is_visible() and page.locator("#mm-info").is_visible()
        # every township is inside the map, and the map inside the page
        inside = page.evaluate("""(() => {
            const box = monitorMap.map.getContainer().getBoundingClientRect();
            return [...document.querySelectorAll('.leaflet-mm-townships-pane path')].every(p => {
                const r = p.getBoundingClientRect();
                return r.left >= box.left - 1 && r.right <= box.right + 1 && r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
            });
        })()""")
        assert inside
        pdf = tmp_path / "map.pdf"
        page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
        reader = PdfReader(pdf)
        assert len(reader.pages) == 1
        width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
        assert width > height  # A4 landscape
        text = reader.pages[0].extract_text()
        assert "Township risk score" in text and "Find a facility" not in text and "Follow-ups (" not in text
        page.screenshot(path=str(ARTIFACTS / "map_print.png"))
        assert log.page_errors == [] and log.blocked == []


# ---- a city-sized page (issue 12): typed arrays, clustering in the page, detail unpacked on demand ----


def many_sites(n: int = 20_000):
    """The sample district with n more sites, scattered over it at random (seeded)."""
    import random

    data = sample_map_data(stale=False, n_extra=n)
    rnd = random.Random(12)
    for f in data.facilities[2:]:
        f["lon"], f["lat"] = rnd.uniform(116.36, 116.94), rnd.uniform(40.36, 40.94)
        f["phone"] = f"139{f['id']:08d}"
    by_id = {f["id"]: f for f in data.facilities}
    for u in data.followups:
        if u["facility_id"] is not None:
            u["lon"], u["lat"] = by_id[u["facility_id"]]["lon"], by_id[u["facility_id"]]["lat"]
    return data


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    data = many_sites()
    return data, render_map(data, tmp_path_factory.mktemp("city") / "city.html")


def test_a_page_of_twenty_thousand_sites_clusters_and_unpacks_detail_on_demand(browser, city):
    data, path = city
    page_text = path.read_text(encoding="utf-8")
    assert 'data-encoding="zlib+base64"' in page_text  # large: deflated
    with offline_page(browser) as (page, log):
        load_map(page, path, log)
        c = counts(page)
        assert c["facilities"] == len(data.facilities) == 20_002 and c["facilities_unlocated"] == 0
        assert c["followups"] == len(data.followups)
        # clustered: a handful of markers stand for twenty thousand sites, and they count them all
        clusters = page.evaluate("""[...document.querySelectorAll('.leaflet-marker-pane .mm-cluster')]
            .map(e => Number(e.textContent.match(/^\\d+/)[0]))""")
        singles = page.locator(".leaflet-marker-pane .mm-fac").count()
        assert 0 < len(clusters) + singles < 500, (len(clusters), singles)
        assert sum(clusters) + singles >= 0.95 * len(data.facilities)
        # nothing a popup shows has been unpacked yet
        assert page.evaluate("monitorMap.detail_ms === undefined")
        # a click on a cluster zooms in
        before = view(page)
        box = page.locator(".leaflet-marker-pane .mm-cluster").first.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function(f"monitorMap.map.getZoom() > {before[0]}", timeout=5_000)
        # a site's popup shows its detail, unpacked now
        site = data.facilities[12_345]
        page.fill("#mm-search", site["name"])
        hit = page.locator("#mm-search-results button", has_text=site["name"]).first
        hit.wait_for(timeout=5_000)
        hit.click()
        text = popup_text(page)
        assert site["name"] in text and f"电话 Phone\n{site['phone']}" in text
        assert f"户数 Households\n{site['households']}" in text and "最近记录 Recent history" in text
        assert site["history"][0]["note"] in text
        assert page.evaluate("typeof monitorMap.detail_ms") == "number"
        # the site is on the map as a marker of its own (fanned out if it shares a cluster), and
        # stays so after the popup has moved the map
        assert page.evaluate("monitorMap.map.getZoom()") >= 14
        page.wait_for_timeout(500)
        assert page.locator(f'.leaflet-marker-pane .mm-fac[title="{site["name"]}"]').count() == 1
        assert log.blocked == [] and log.page_errors == [] and log.console_errors == []
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "map_city.png"))
