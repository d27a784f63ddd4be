"""Remake the screenshots in docs/ (README): the demo's risk map on a desktop and on a phone,
and the first page of its monthly review, in headless Chromium with the network cut off.

    .venv/bin/python scripts/make_screenshots.py

Needs Debian's chromium, fonts-noto-cjk and playwright (the test tools). Works in a temporary
folder: the demo database and map it makes are thrown away.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from browser import chromium, load_map, offline_page  # noqa: E402

DOCS = REPO / "docs"
AS_OF = "2025-11-16T09:00:00+08:00"  # the demo's moment; the review is of 2025-11 so far


def monitor(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "monitor", "--config", str(REPO / "config.toml"), *args], check=True,
                   cwd=REPO, stdout=subprocess.DEVNULL)


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db, page_map, review = Path(tmp) / "demo.db", Path(tmp) / "demo.html", Path(tmp) / "review.html"
        monitor("demo", "--demo-db", str(db), "--out", str(page_map))
        monitor("--db", str(db), "--as-of", AS_OF, "report", "--month", "2025-11", "--out", str(review))
        with chromium() as browser:
            with offline_page(browser, viewport=(1200, 820)) as (page, log):
                load_map(page, page_map, log)
                page.screenshot(path=str(DOCS / "map-desktop.png"))
            with offline_page(browser, viewport=(390, 844)) as (page, log):
                load_map(page, page_map, log)
                page.screenshot(path=str(DOCS / "map-phone.png"))
            with offline_page(browser, viewport=(794, 1123)) as (page, log):
                page.goto(review.as_uri())
                page.emulate_media(media="print")
                page.screenshot(path=str(DOCS / "review-page1.png"))
    for name in ("map-desktop.png", "map-phone.png", "review-page1.png"):
        print(DOCS / name, (DOCS / name).stat().st_size // 1024, "KB")


if __name__ == "__main__":
    main()
