"""The monthly review as it is handed up the chain: the PDF (page numbers, a running header, no
page holding only a footer), the district map and the approval block, dates that do not wrap,
a month before any data, and a clear message when no Chromium is there to print it.

The review of October 2025 is made from the demo's database (the 2025 scenario: sample facilities
and the warnings of 2025 reconstructed from published text), by the real CLI in a subprocess,
printed by Debian's chromium.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from conftest import CONFIG, REPO, Cli
from lxml import html as lxml_html

from browser import chromium, chromium_missing, offline_page

AS_OF = "2025-11-16T09:00:00+08:00"  # the demo's moment: October is over
needs_chromium = pytest.mark.skipif(chromium_missing() is not None, reason=chromium_missing() or "")


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True,
                          encoding="utf-8", env={**base, **(env or {})}, timeout=300, cwd=REPO)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("demo")
    cli = Cli(tmp / "demo.db")
    cli("demo", "--demo-db", str(cli.db), "--out", str(tmp / "demo.html"))
    return cli.db


@pytest.fixture(scope="module")
def october_html(demo_db, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("html") / "october.html"
    r = run("--db", str(demo_db), "--config", str(CONFIG), "--as-of", AS_OF, "report", "--month", "2025-10",
            "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out.read_text(encoding="utf-8")


def page_texts(pdf: Path) -> list[str]:
    from pypdf import PdfReader

    # NFKC: the CJK fonts' glyphs come back as compatibility radicals (⽉ for 月)
    return [unicodedata.normalize("NFKC", p.extract_text() or "") for p in PdfReader(pdf).pages]


@needs_chromium
def test_the_pdf_has_numbered_pages_a_running_header_and_no_footer_only_page(demo_db, tmp_path):
    out = tmp_path / "review-2025-10.pdf"
    r = run("--db", str(demo_db), "--config", str(CONFIG), "--as-of", AS_OF, "report", "--month", "2025-10",
            "--pdf", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(out) and out.read_bytes().startswith(b"%PDF-")
    assert not [p for p in tmp_path.iterdir() if p.name != out.name]  # no temporary file left
    pages = page_texts(out)
    n = len(pages)
    assert 17 <= n < 60, n  # the summary, then at least a page per township
    for i, text in enumerate(pages, start=1):
        # the margin boxes come first in the text: the running header, then the page number
        # (pypdf returns some CJK glyphs as radicals, ⻚ for 页: compare the parts that are safe)
        head, sep, body = text.partition(f"Page {i} of {n}")
        assert sep, (i, text[:300])
        assert f"第 {i} " in head and f" / 共 {n} " in head, head
        assert "2025年10月灾后恢复与供暖季" in head and "怀柔区应急管理局 · 生成 2025-11-16 09:00" in head, head
        assert len(body.strip()) > 80, f"page {i} holds only its header and footer: {text!r}"
    # every township starts its own page, in the PDF too
    starts = [i for i, text in enumerate(pages) if re.search(r"全区排名 Rank \d+/16", text)]
    assert len(starts) == 16 and len(set(starts)) == 16
    # the first page: the district map (its township names) and the summary
    assert "Township risk score, 2025-10" in pages[0] and "District summary" in pages[0]
    assert "1 汤河口镇* " in pages[0]  # the ranking starts on the first page
    assert any("填报单位" in t and "审核人 Reviewed by" in t for t in pages[:3])


def test_the_review_carries_the_district_map_and_an_approval_block(october_html):
    from monitor.riskmap import CHOROPLETH

    doc = lxml_html.fromstring(october_html)
    (svg,) = doc.xpath("//figure[@id='district-map']/svg")
    paths = svg.xpath("./path")
    assert len(paths) == 16 and len({p.get("data-code") for p in paths}) == 16
    assert {p.get("fill") for p in paths} <= set(CHOROPLETH)
    assert len({p.get("fill") for p in paths}) >= 3  # the scores differ, so do the colours
    assert len(svg.xpath("./text")) == 16 and "汤河口镇" in svg.text_content()
    legend = doc.xpath("//figure[@id='district-map']/figcaption")[0].text_content()
    assert "0 无待跟进 none" in legend and not re.search(r"\d\.\d", legend)  # whole-number classes
    # the worst-ranked township is in the darkest class
    first = doc.xpath("//table[@class='ranking']/tbody/tr")[0].get("data-rank-code")
    scores = {r.get("data-rank-code"): float(r.xpath("td")[5].text_content()) for r in
              doc.xpath("//table[@class='ranking']/tbody/tr")}
    top = max(scores, key=scores.get)
    assert svg.xpath(f"./path[@data-code='{top}']")[0].get("fill") == CHOROPLETH[4]
    assert first in scores
    (approval,) = doc.xpath("//table[@id='approval']")
    text = approval.text_content()
    for words in ("填报单位", "怀柔区应急管理局", "填报日期", "2025-11-16", "填报人 Prepared by", "审核人 Reviewed by"):
        assert words in text
    assert "<footer" not in october_html  # page numbers and the header are in the page margins
    style = doc.xpath("//style")[0].text_content()
    assert 'counter(page) " 页 / 共 " counter(pages)' in style and "@top-left" in style


@needs_chromium
def test_dates_do_not_wrap(october_html, tmp_path):
    page_file = tmp_path / "review.html"
    page_file.write_text(october_html, encoding="utf-8")
    with chromium() as browser, offline_page(browser, viewport=(700, 1000)) as (page, log):
        page.goto(page_file.as_uri())
        page.emulate_media(media="print")
        found = page.evaluate("""(() => {
            const out = {n: 0, wrapped: []};
            for (const e of document.querySelectorAll('.date')) {
                const text = e.textContent.trim();
                if (!/\\d{4}-\\d{2}-\\d{2}/.test(text)) continue;
                out.n += 1;
                const lines = new Set([...e.getClientRects()].map(r => Math.round(r.top)));
                // a cell holding several dates wraps between them, never inside one
                const range = document.createRange(), node = e.firstChild;
                if (node && node.nodeType === 3 && e.childNodes.length === 1 && text.length <= 16) {
                    range.selectNodeContents(e);
                    const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                    if (tops.size > 1) out.wrapped.push(text);
                }
                if (text.length <= 16 && lines.size > 1) out.wrapped.push(text);
            }
            return out;
        })()""")
        assert log.blocked == [] and log.page_errors == []
    assert found["n"] > 100 and found["wrapped"] == [], found


def test_a_month_before_any_data_says_so(demo_db, tmp_path):
    cli = Cli(demo_db)
    out = tmp_path / "sep.html"
    cli("report", "--month", "2025-06", "--out", str(out), as_of=AS_OF)
    page = out.read_text(encoding="utf-8")
    doc = lxml_html.fromstring(page)
    assert "本月无数据 No data for this month." in doc.xpath("//*[@id='no-data']")[0].text_content()
    assert not doc.xpath("//table[@class='ranking']") and not doc.xpath("//section[contains(@class, 'township')]")
    assert not doc.xpath("//figure[@id='district-map']")
    cli("report", "--month", "2025-06", "--format", "csv", "--out", str(tmp_path / "sep.csv"), as_of=AS_OF)
    rows = (tmp_path / "sep.csv").read_text(encoding="utf-8-sig").splitlines()[1:]
    assert len(rows) == 17 and all(r.split(",")[3] == "" for r in rows)  # no rank 1 to 16 of zeros
    # a month with data is ranked as before
    cli("report", "--month", "2025-10", "--format", "csv", "--out", str(tmp_path / "oct.csv"), as_of=AS_OF)
    ranks = sorted(int(r.split(",")[3]) for r in (tmp_path / "oct.csv").read_text(encoding="utf-8-sig").splitlines()[1:17])
    assert ranks == list(range(1, 17))


def test_without_chromium_the_pdf_says_how_to_install_it(demo_db, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    out = tmp_path / "r.pdf"
    r = run("--db", str(demo_db), "--config", str(CONFIG), "--as-of", AS_OF, "report", "--month", "2025-10",
            "--pdf", "--out", str(out), env={"PATH": str(empty)})
    assert r.returncode == 1, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert lines[0].count("apt-get install chromium fonts-noto-cjk") == 2 and lines[0].index("找不到 Chromium") < 12
    assert not out.exists()
    # a configured browser that is not there is named
    r = run("--db", str(demo_db), "--config", str(CONFIG), "--as-of", AS_OF, "report", "--month", "2025-10",
            "--pdf", "--out", str(out), env={"MONITOR_CHROMIUM": str(tmp_path / "no-such-chromium")})
    assert r.returncode == 1 and "no-such-chromium" in r.stderr and not out.exists()


def test_pdf_and_csv_do_not_go_together(demo_db, tmp_path):
    r = Cli(demo_db)("report", "--month", "2025-10", "--pdf", "--format", "csv", "--out", str(tmp_path / "x"),
                     as_of=AS_OF, ok=False)
    assert r.exit_code == 2 and "--pdf" in r.output and not (tmp_path / "x").exists()
