"""Open a generated page in headless Chromium with the network cut off, and record what it tried.

Uses Debian's chromium through Python playwright's `executable_path`: no browser download
(`playwright install` cannot run offline). Chinese text needs the fonts-noto-cjk package.
Shared by tests/test_map_browser.py and benchmarks/bench_map.py.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

CHROMIUM = Path(os.environ.get("MONITOR_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


def chromium_missing() -> str | None:
    """Why the browser cannot run here, or None if it can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found: install Debian's chromium and fonts-noto-cjk (apt-get install chromium fonts-noto-cjk)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright; no browser download needed)"
    return None


@dataclass
class PageLog:
    """What a page did that a test may want to forbid."""

    blocked: list[str] = field(default_factory=list)  # non-local requests, aborted
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@contextmanager
def chromium() -> Iterator:
    """A headless Chromium browser (playwright Browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def offline_page(browser, viewport=(1280, 900)) -> Iterator[tuple[object, PageLog]]:
    """A new page in its own context that aborts (and records) every non-local request."""
    log = PageLog()
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]}, service_workers="block"
    )

    def route(r):
        url = r.request.url
        if url.startswith(LOCAL_SCHEMES):
            r.continue_()
        else:
            log.blocked.append(url)
            r.abort()

    context.route("**/*", route)
    # requests that bypass routing (e.g. from workers) still show up here
    context.on("request", lambda req: None if req.url.startswith(LOCAL_SCHEMES) or req.url in log.blocked
               else log.blocked.append(req.url))
    page = context.new_page()
    page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log.page_errors.append(str(e)))

    def dialog(d):
        log.dialogs.append(f"{d.type}: {d.message}")
        d.dismiss()

    page.on("dialog", dialog)
    try:
        yield page, log
    finally:
        context.close()


def load_map(page, path: Path, log: PageLog | None = None, timeout_ms: float = 60_000) -> float:
    """Open a map file and wait until it has drawn everything; seconds from navigation start.

    Fails at once, with the page's errors, if a script error stops the drawing."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(Path(path).resolve().as_uri(), wait_until="load", timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        try:
            page.wait_for_function("window.monitorMap && window.monitorMap.ready === true", timeout=250)
            break
        except PlaywrightTimeout:
            if log is not None and log.page_errors:
                raise AssertionError(f"the map did not finish drawing: {log.page_errors}") from None
            if time.monotonic() > deadline:
                raise AssertionError(f"the map did not finish drawing within {timeout_ms / 1000:.0f} s: "
                                     f"{log.page_errors if log else ''}") from None
    return page.evaluate("window.monitorMap.loaded_ms") / 1000.0
