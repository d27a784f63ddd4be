"""What the benchmarks share: the machine they ran on, medians, and their sections of RESULTS.md.

Each benchmark owns one `## ` section of benchmarks/RESULTS.md, named by its title. `record`
replaces that section where it stands (or adds it at the end the first time), so the file holds
the latest run of each benchmark, not a pile of appended runs; earlier figures are in git history.
The scripts import this module as `common`: run as files, their folder is first on sys.path.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "RESULTS.md"
QUIET_LOAD = 0.5  # a 1-minute load average under this counts as a quiet machine

HEADER = """\
# Benchmark results

Figures from the scripts in benchmarks/, one section per benchmark, each rewritten by its script
when it runs (so this is the latest run of each; git log has the earlier ones). Every section
names the machine, the date, the load average, the medians, the baseline measured in the same run
and the issue's target. Run them one at a time on a quiet machine (`uptime`: 1-minute load
average under 0.5), from the repository root:

    .venv/bin/python benchmarks/bench_update_startup.py  # issue 4: facility update cold start vs a sqlite3 floor
    .venv/bin/python benchmarks/bench_ingest_nws.py      # issue 3: NWS snapshot, parse / store / refresh / import
    .venv/bin/python benchmarks/bench_refresh.py         # issue 3: 20 sources on loopback, concurrent vs sequential
    .venv/bin/python benchmarks/bench_rules.py           # issue 5: rules at 10^4, 10^5, 10^6 facilities
    .venv/bin/python benchmarks/bench_map.py             # issue 12: monitor map at 10^4-10^6 vs FastMarkerCluster (Chromium)
    .venv/bin/python benchmarks/bench_concurrency.py     # issue 10: 8 field writers + a refresh, 60 s (--db, --start-pg)
    .venv/bin/python benchmarks/bench_households.py      # issue 14: people rules and the map at 80,000 households
    .venv/bin/python benchmarks/bench_scale.py           # issue 12: every command end to end at 10^4..10^6 vs its floor

`--no-record` prints without touching this file; `--help` lists each script's options.
"""

UNITS = {"s": (1, ".3f"), "ms": (1000, ".0f")}  # unit: (scale from seconds, format)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class Machine:
    """The machine a benchmark runs on: made when the benchmark starts, described when it ends."""

    def __init__(self) -> None:
        self.started = datetime.now(UTC)
        self.load_start = os.getloadavg()[0]
        if self.load_start >= QUIET_LOAD:
            print(f"warning: 1-minute load average {self.load_start:.2f}: the machine is busy, "
                  "the figures will be noisy", file=sys.stderr)

    def describe(self, *extras: str) -> str:
        """One line for RESULTS.md: CPUs, CPU model, Python and extras; date; load at the start and end."""
        what = ", ".join([f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))})", cpu_model(),
                          f"Python {platform.python_version()}", *extras])
        state = ("quiet" if self.load_start < QUIET_LOAD
                 else "BUSY: other work shared the CPUs, so the figures are noisy")
        return (f"Machine: {what}. Run {self.started:%Y-%m-%d %H:%M} UTC; load average (1 min) "
                f"{self.load_start:.2f} at the start ({state}), {os.getloadavg()[0]:.2f} at the end "
                "(which counts the benchmark's own processes).")


def medians(times: dict[str, list[float]]) -> dict[str, float]:
    return {k: statistics.median(v) for k, v in times.items()}


def median_table(first: str, times: dict[str, list[float]], unit: str) -> list[str]:
    """A Markdown table: one row per measurement with its median and every run, in `unit` (s or ms)."""
    scale, spec = UNITS[unit]
    rows = [f"| {first} | median {unit} | runs ({unit}) |", "|---|---|---|"]
    for k, v in times.items():
        runs = ", ".join(f"{x * scale:{spec}}" for x in v)
        rows.append(f"| {k} | {statistics.median(v) * scale:{spec}} | {runs} |")
    return rows


def monitor_command() -> list[str]:
    """The installed `monitor` script beside this interpreter, or `python -m monitor` without one."""
    script = Path(sys.executable).parent / "monitor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "monitor"]


def record(title: str, lines: list[str]) -> None:
    """Put `## title` and `lines` in RESULTS.md in place of that title's section (or at the end).

    The file's header is rewritten from HEADER; every other section is kept as it is. A second
    section under the same title (left by an older appending script) is dropped.
    """
    heading = f"## {title}"
    section = "\n".join([heading, "", *lines]).strip() + "\n"
    sections, placed = [], False
    for old in _sections(RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""):
        if old.splitlines()[0].strip() != heading:
            sections.append(old)
        elif not placed:
            sections.append(section)
            placed = True
    if not placed:
        sections.append(section)
    tmp = RESULTS.with_suffix(".md.tmp")
    tmp.write_text("\n".join([HEADER, *sections]), encoding="utf-8")
    tmp.replace(RESULTS)
    print(f"recorded in {RESULTS}: {heading}")


def _sections(text: str) -> list[str]:
    """The `## ` sections of a Markdown text, each from its heading to the next; the header left out."""
    out: list[str] = []
    for line in text.splitlines():
        if line.startswith("## "):
            out.append("")
        if out:
            out[-1] += line + "\n"
    return [s.strip() + "\n" for s in out]
