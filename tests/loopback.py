"""Helpers for the refresh tests: a threaded loopback HTTP server (pytest-httpserver), a
config.toml that points sources at it, and the real alert documents to serve.

The config is the shipped one with its [fetch] and [[sources]] replaced (short timeouts, no
backoff to speak of) and its relative paths made absolute, so the map lands in tmp_path.
"""

from __future__ import annotations

import json
import re
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pytest_httpserver import HTTPServer

REPO = Path(__file__).resolve().parent.parent
ALERTS = Path(__file__).resolve().parent / "data" / "alerts"
NWS_SNAPSHOT = ALERTS / "nws" / "api_weather_gov_alerts_active_land_2025-02-17T0700Z.json"

FAST = {"connect_timeout": 2, "read_timeout": 2, "total_timeout": 10, "retries": 2, "backoff": 0.05,
        "max_retry_after": 5, "deadline": 30}


def server() -> HTTPServer:
    s = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    s.start()
    return s


@contextmanager
def serving() -> Iterator[HTTPServer]:
    """A started loopback server, cleared and stopped afterwards (for fixtures: `with serving() as s: yield s`)."""
    s = server()
    try:
        yield s
    finally:
        s.clear()
        s.stop()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed: connecting is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def make_config(folder: Path, sources: list[dict], fetch: dict | None = None, extra: str = "") -> Path:
    """config.toml in `folder`: the shipped one with these [fetch] settings and [[sources]]."""
    text = (REPO / "config.toml").read_text(encoding="utf-8")
    head, rules = text.split("# --- Alert feeds", 1)[0], "# --- Rules" + text.split("# --- Rules", 1)[1]
    head = re.sub(r'"((?:geodata|demo)/[^"]+)"', lambda m: f'"{REPO / m.group(1)}"', head)  # lists too
    parts = [head, "[fetch]"]
    parts += [f"{k} = {toml_value(v)}" for k, v in {**FAST, **(fetch or {})}.items()]
    parts.append(extra)
    for s in sources:
        parts.append("[[sources]]")
        parts += [f"{k} = {toml_value(v)}" for k, v in s.items()]
    parts.append(rules)
    path = folder / "config.toml"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def rows(db: Path, sql: str, params=()) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def source_rows(db: Path, source: str) -> tuple[int, int]:
    """(fetch_log rows, alerts rows) of one source."""
    (log,) = rows(db, "SELECT count(*) AS n FROM fetch_log WHERE source = ?", (source,))
    (alerts,) = rows(db, "SELECT count(*) AS n FROM alerts WHERE source = ?", (source,))
    return log["n"], alerts["n"]
