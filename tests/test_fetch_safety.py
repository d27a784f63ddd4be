"""No secret leaks from a refresh (issue 9, item 6), and fetch_log keeps the HTTP status of a
failed answer (item 14).

A key is planted in every position a config can put one: URL user-info (from the environment
and written literally), the URL path, `access_token=` and other query names, a header, and a
URL that cannot be reached. The real `monitor` runs as a process with -v against a loopback
server; its stdout, stderr, `status --json` and every row of the database are searched for
each key.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest
from loopback import ALERTS, REPO, closed_port, make_config, rows, serving
from werkzeug import Response

from monitor import redaction

SECRETS = {
    "MON_USER": "userQ7x1", "MON_PASS": "passK9z2", "MON_PATHKEY": "pathV3w8", "MON_TOKEN": "tokenR5t4",
    "MON_HKEY": "headerJ2m6", "MON_K404": "nfH8q3", "MON_OKKEY": "okkeyY4p7", "MON_SIG": "sigL6d5",
    "MON_PLAIN": "plainB1c9",
}
LITERAL = "literalW0rd77"  # a password written into config.toml itself


@pytest.fixture(scope="module")
def http():
    with serving() as s:
        yield s


def monitor(db, config, *args):
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "COLUMNS": "200", **SECRETS}
    return subprocess.run([sys.executable, "-m", "monitor", "--db", str(db), "--config", str(config), *args],
                          capture_output=True, text=True, encoding="utf-8", timeout=120, env=env, cwd=REPO)


def test_no_key_in_any_output_or_the_database_and_statuses_are_logged(http, tmp_path):
    http.clear()
    http.expect_request("/feeds/pathV3w8/a").respond_with_data("boom", status=500)
    http.expect_request("/v/nfH8q3/b").respond_with_data("no such feed", status=404)
    http.expect_request("/lit").respond_with_data("slow down", status=429, headers={"Retry-After": "9999"})
    http.expect_request("/ok").respond_with_data((ALERTS / "nws" / "pynws_alerts_active_zone.json").read_bytes(),
                                                 content_type="application/geo+json")
    http.expect_request("/plain/plainB1c9").respond_with_response(
        Response(status=301, headers={"Location": "/plain/plainB1c9"}))  # a redirect loop
    base = http.url_for("/")[len("http://"):].rstrip("/")
    sources = [
        {"name": "err500", "kind": "nws", "url": f"http://${{MON_USER}}:${{MON_PASS}}@{base}/feeds/${{MON_PATHKEY}}/a"
                                                 "?access_token=${MON_TOKEN}&x=1",
         "headers": {"X-Api-Key": "${MON_HKEY}"}},
        {"name": "nf404", "kind": "nws", "url": f"http://{base}/v/${{MON_K404}}/b"},
        {"name": "lit", "kind": "nws", "url": f"http://someone:{LITERAL}@{base}/lit"},
        {"name": "ok", "kind": "nws", "url": f"http://{base}/ok?api_key=${{MON_OKKEY}}"},
        {"name": "down", "kind": "nws", "url": f"http://127.0.0.1:{closed_port()}/x?sig=${{MON_SIG}}"},
        {"name": "loop", "kind": "nws", "url": f"http://{base}/plain/${{MON_PLAIN}}"},
    ]
    config = make_config(tmp_path, sources)
    db = tmp_path / "monitor.db"
    assert monitor(db, config, "init").returncode == 0
    r = monitor(db, config, "-v", "alerts", "refresh", "--json")
    assert r.returncode == 1, r.stderr
    status = monitor(db, config, "status", "--json")
    dump = "\n".join(sqlite3.connect(db).iterdump())
    assert "HTTP Request: GET http://127.0.0.1" in r.stderr  # httpx's own line is there, redacted
    for secret in [*SECRETS.values(), LITERAL]:
        for name, text in [("refresh stdout", r.stdout), ("refresh stderr", r.stderr),
                           ("status stdout", status.stdout), ("status stderr", status.stderr),
                           ("database", dump)]:
            assert secret not in text, f"{secret} in {name}"

    by_source = {s["source"]: s for s in json.loads(r.stdout)["sources"]}
    assert "http://***@127.0.0.1" in by_source["err500"]["error"] and "access_token=***" in by_source["err500"]["error"]
    assert "/v/***/b" in by_source["nf404"]["error"]
    logged = {x["source"]: x for x in rows(db, "SELECT source, ok, http_status, error FROM fetch_log")}
    assert {k: (v["ok"], v["http_status"]) for k, v in logged.items()} == {
        "err500": (0, 500), "nf404": (0, 404), "lit": (0, 429), "ok": (1, 200), "down": (0, None), "loop": (0, None)}
    assert {k: v["http_status"] for k, v in by_source.items()} == {k: v["http_status"] for k, v in logged.items()}
    shown = {s["source"]: s for s in json.loads(status.stdout)["sources"]}
    assert "/v/***/b" in shown["nf404"]["last_error"]


def test_redact_hides_remembered_values_in_every_form():
    redaction.remember("a b/c&d")
    text = "x a b/c&d y a%20b%2Fc%26d z a+b%2Fc%26d https://me:pw@h/p?token=1&appid=2&keep=3"
    assert redaction.redact(text) == "x *** y *** z *** https://***@h/p?token=***&appid=***&keep=3"
    assert redaction.redact(None) is None and redaction.redact("") == ""


def test_expand_remembers_what_it_substitutes(monkeypatch):
    from monitor.sources import expand

    monkeypatch.setitem(os.environ, "MON_TEST_EXPAND", "expandZ9")
    assert expand("https://h/${MON_TEST_EXPAND}", "url") == "https://h/expandZ9"
    assert redaction.redact("failed: https://h/expandZ9") == "failed: https://h/***"


def test_fetch_log_keeps_the_status_of_a_failed_answer(http, tmp_path):
    http.clear()
    for code in (404, 410, 500, 503):
        http.expect_request(f"/s{code}").respond_with_data("no", status=code)
    http.expect_request("/s429").respond_with_data("later", status=429, headers={"Retry-After": "9999"})
    codes = (404, 410, 429, 500, 503)
    config = make_config(tmp_path, [{"name": f"s{c}", "kind": "cap", "url": http.url_for(f"/s{c}")} for c in codes])
    db = tmp_path / "monitor.db"
    assert monitor(db, config, "init").returncode == 0
    r = monitor(db, config, "alerts", "refresh", "--json")
    assert r.returncode == 1
    assert {s["source"]: s["http_status"] for s in json.loads(r.stdout)["sources"]} == {f"s{c}": c for c in codes}
    logged = rows(db, "SELECT source, ok, http_status FROM fetch_log ORDER BY source")
    assert [(x["source"], x["ok"], x["http_status"]) for x in logged] == [(f"s{c}", 0, c) for c in codes]
