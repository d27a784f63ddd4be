"""Print an HTML page to PDF with the system's headless Chromium (the monthly review's `--pdf`).

No Python browser library is needed: Chromium is run as a subprocess (`--headless
--print-to-pdf`), with a throw-away profile, no network services and a time limit. The page's own
CSS decides the paper (`@page size`), margins, page numbers and running header.

Which Chromium: `[report] chromium` in config.toml, else the MONITOR_CHROMIUM environment
variable, else the first of chromium, chromium-browser, google-chrome, google-chrome-stable on
PATH. None found is a DataError that says how to install one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import DataError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
    "--hide-scrollbars", "--no-pdf-header-footer", "--print-to-pdf-no-header",
)
TIMEOUT_S = 180
INSTALL = ("找不到 Chromium，无法生成 PDF：请安装（apt-get install chromium fonts-noto-cjk），"
           "或在 config.toml 的 [report] chromium 中写明路径；"
           "no Chromium to print the PDF with: install it (apt-get install chromium fonts-noto-cjk) "
           "or set [report] chromium in config.toml")


def find_chromium(configured: str | None = None) -> str:
    """The Chromium executable to use; DataError (saying how to install one) if there is none."""
    for explicit in (configured, os.environ.get("MONITOR_CHROMIUM")):
        if explicit:
            found = shutil.which(explicit) or (explicit if Path(explicit).is_file() else None)
            if not found:
                raise DataError(f"找不到 Chromium：{explicit}；Chromium not found at {explicit}. {INSTALL}")
            return found
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise DataError(INSTALL)


def html_to_pdf(html: str, out: Path, *, chromium: str) -> Path:
    """Print `html` (a complete page needing no network) to the PDF file `out`, whole or not at
    all (through monitor.outfile): a failed print leaves an existing `out` as it was."""
    from .outfile import replacing

    with tempfile.TemporaryDirectory(prefix="monitor-pdf-") as work:
        page = Path(work) / "page.html"
        page.write_text(html, encoding="utf-8")
        with replacing(out, "pdf") as tmp:
            cmd = [chromium, *FLAGS, f"--user-data-dir={Path(work) / 'profile'}",
                   f"--print-to-pdf={tmp}", page.as_uri()]
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                                      timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                raise DataError(f"Chromium 打印超时（{TIMEOUT_S} 秒）；Chromium did not finish printing "
                                f"{out} within {TIMEOUT_S} s") from None
            except OSError as e:
                raise DataError(f"无法运行 Chromium {chromium}：{e.strerror or e}；cannot run {chromium}. "
                                f"{INSTALL}") from None
            if done.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
                last = (done.stderr.strip().splitlines() or ["no output"])[-1][:300]
                raise DataError(f"Chromium 未能生成 PDF（退出码 {done.returncode}）：{last}；"
                                f"Chromium could not print {out} (exit {done.returncode}): {last}")
    return out
