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
    page.evaluate("monitorMap.map.setView([40.3, 116.4], 8)")
    before = view(page)
    page.locator('#mm-panel ul[data-priority="P2"] button', has_text="汤河口镇 全镇").click()
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
