"""monitor.fetch without a server: httpx.MockTransport answers, so every branch is cheap and exact.

(The same behaviours over a real loopback server, through the CLI, are in test_refresh.py.)
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from monitor import fetch as F
from monitor.sources import FetchSettings, Source

ALERTS = Path(__file__).parent / "data" / "alerts"
CAP = ALERTS / "cap"
CMA_BEIJING = ALERTS / "cn" / "weather-warning-zh-json__c1871d8.json"
SETTINGS = FetchSettings(user_agent="monitor/9.9 (+ops@example.org)", connect_timeout=1, read_timeout=1,
                         total_timeout=5, retries=2, backoff=0.01, max_retry_after=30, max_bytes=100_000,
                         concurrency=4, max_links=10, deadline=10)


def run(source: Source, handler, *, condition=None, settings=SETTINGS, **kw) -> F.Fetched:
    async def go():
        async with F.Fetcher(settings, transport=httpx.MockTransport(handler), **kw) as f:
            return await f.fetch(source, condition)

    return asyncio.run(go())


def cma(url="https://feed.example/warn", **kw) -> Source:
    return Source(name="cma", kind="cma", url=url, **kw)


def ok(body: bytes, ctype="application/json", **headers):
    return httpx.Response(200, content=body, headers={"Content-Type": ctype, **headers})


@pytest.fixture
def sleeps(monkeypatch):
    """Record the waits between attempts instead of sleeping them."""
    waits: list[float] = []
    real = asyncio.sleep

    async def fake(delay, *a, **k):
        waits.append(delay)
        await real(0)

    monkeypatch.setattr(F.asyncio, "sleep", fake)
    return waits


def test_user_agent_accept_and_a_parsed_alert():
    seen = []

    def handler(request):
        seen.append(request)
        return ok(CMA_BEIJING.read_bytes())

    out = run(cma(), handler)
    assert out.ok and out.http_status == 200 and out.documents == 1
    (a,) = out.alerts
    assert (a.source, a.hazard, a.colour) == ("cma", "gale", "blue")
    assert seen[0].headers["user-agent"] == "monitor/9.9 (+ops@example.org)"
    assert seen[0].headers["accept"].startswith("application/json")
    assert "if-none-match" not in seen[0].headers


def test_conditional_request_and_304_keep_the_validators():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(304)

    out = run(cma(), handler, condition={"etag": '"v7"', "last_modified": "Tue, 17 Feb 2025 07:00:00 GMT"})
    assert seen[0].headers["if-none-match"] == '"v7"'
    assert seen[0].headers["if-modified-since"] == "Tue, 17 Feb 2025 07:00:00 GMT"
    assert out.ok and out.not_modified and out.http_status == 304 and out.alerts == []
    assert (out.etag, out.last_modified) == ('"v7"', "Tue, 17 Feb 2025 07:00:00 GMT")


def test_validators_of_a_200_are_recorded():
    out = run(cma(), lambda r: ok(CMA_BEIJING.read_bytes(), ETag='"abc"', **{"Last-Modified": "x"}))
    assert (out.etag, out.last_modified) == ('"abc"', "x")


def test_5xx_is_retried_with_backoff_then_succeeds(sleeps):
    answers = iter([httpx.Response(503), httpx.Response(502), ok(CMA_BEIJING.read_bytes())])
    out = run(cma(), lambda r: next(answers))
    assert out.ok and len(out.alerts) == 1
    assert sleeps == [0.01, 0.02]  # backoff doubles


def test_5xx_gives_up_after_the_retries(sleeps):
    calls = []
    out = run(cma(), lambda r: calls.append(r) or httpx.Response(500))
    assert len(calls) == 3 and not out.ok and out.problem == "unreachable"
    assert "HTTP 500" in out.error and "after 3 attempts" in out.error


@pytest.mark.parametrize("header, wait", [("2", 2.0), ("0", 0.0)])
def test_429_honours_retry_after_seconds(sleeps, header, wait):
    answers = iter([httpx.Response(429, headers={"Retry-After": header}), ok(CMA_BEIJING.read_bytes())])
    out = run(cma(), lambda r: next(answers))
    assert out.ok and sleeps == [wait]


def test_retry_after_as_an_http_date(sleeps):
    when = email.utils.format_datetime(datetime.now(timezone.utc) + timedelta(seconds=20), usegmt=True)
    answers = iter([httpx.Response(503, headers={"Retry-After": when}), ok(CMA_BEIJING.read_bytes())])
    out = run(cma(), lambda r: next(answers))
    assert out.ok and len(sleeps) == 1 and 15 < sleeps[0] <= 20


def test_retry_after_longer_than_the_cap_fails_at_once(sleeps):
    calls = []
    out = run(cma(), lambda r: calls.append(r) or httpx.Response(429, headers={"Retry-After": "3600"}))
    assert len(calls) == 1 and sleeps == []
    assert out.problem == "unreachable" and "Retry-After 3600 s" in out.error


def test_4xx_is_bad_data_and_not_retried(sleeps):
    calls = []
    out = run(cma(), lambda r: calls.append(r) or httpx.Response(401, json={"code": "401"}))
    assert len(calls) == 1 and out.problem == "data" and "HTTP 401" in out.error


def test_connection_errors_are_retried_then_unreachable(sleeps):
    def handler(request):
        raise httpx.ConnectError("Connection refused", request=request)

    out = run(cma(), handler)
    assert out.problem == "unreachable" and "cannot connect" in out.error and len(sleeps) == 2


def test_html_instead_of_json_is_refused_before_parsing():
    out = run(cma(), lambda r: ok(b"<html><body>Login</body></html>", "text/html; charset=utf-8"))
    assert out.problem == "data" and "served as text/html" in out.error


@pytest.mark.parametrize("ctype", ["", "application/octet-stream", "text/plain; charset=utf-8"])
def test_neutral_content_types_are_sniffed(ctype):
    out = run(cma(), lambda r: httpx.Response(200, content=CMA_BEIJING.read_bytes(),
                                              headers={"Content-Type": ctype} if ctype else {}))
    assert out.ok and len(out.alerts) == 1


def test_announced_oversize_is_not_downloaded():
    body = b"{" + b" " * 200_000 + b"}"
    out = run(cma(), lambda r: ok(body))
    assert out.problem == "data" and "announced" in out.error


def test_streamed_oversize_stops_reading():
    chunks_sent = []

    async def stream():
        for _ in range(1000):
            chunks_sent.append(1)
            yield b" " * 10_000

    out = run(cma(), lambda r: httpx.Response(200, content=stream(), headers={"Content-Type": "application/json"}))
    assert out.problem == "data" and "stopped reading" in out.error
    assert len(chunks_sent) < 20  # 100 kB cap: about 11 chunks of 10 kB, not all 1000


def test_per_source_max_bytes():
    out = run(cma(max_bytes=500), lambda r: ok(CMA_BEIJING.read_bytes()))
    assert out.problem == "data" and "500-byte limit" in out.error


def test_kind_mismatch_is_refused():
    out = run(Source(name="x", kind="nws", url="https://x/"), lambda r: ok(CMA_BEIJING.read_bytes()))
    assert out.problem == "data" and "is kind nws" in out.error


def test_env_key_is_sent_and_hidden(monkeypatch):
    seen = []
    source = cma(url="https://feed.example/warn?location=101010500&key=${QW_TEST_KEY}",
                 headers=(("X-QW-Api-Key", "${QW_TEST_KEY}"),))
    monkeypatch.delenv("QW_TEST_KEY", raising=False)
    out = run(source, lambda r: seen.append(r) or ok(CMA_BEIJING.read_bytes()))
    assert out.problem == "data" and "QW_TEST_KEY" in out.error and seen == []

    monkeypatch.setenv("QW_TEST_KEY", "s3cret")
    out = run(source, lambda r: seen.append(r) or httpx.Response(500))
    assert seen[0].headers["x-qw-api-key"] == "s3cret" and "key=s3cret" in str(seen[0].url)
    assert "s3cret" not in out.error and "key=***" in out.error


def test_atom_index_links_resolve_against_the_final_url_after_a_redirect():
    index = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
      <entry><id>1</id><link type="application/cap+xml" href="a2.xml"/></entry>
      <entry><id>2</id><link type="application/cap+xml" href="/other/australia.cap"/></entry>
      <entry><id>3</id><link type="application/cap+xml" href="gone.xml"/></entry>
    </feed>"""  # a test index (made here) linking to real CAP files
    seen = []

    def handler(request):
        seen.append(request.url.path)
        return {
            "/feed": httpx.Response(301, headers={"Location": "https://feed.example/cap/index.atom"}),
            "/cap/index.atom": ok(index, "application/atom+xml"),
            "/cap/a2.xml": ok((CAP / "v1dot2_appendix_adot2.xml").read_bytes(), "application/cap+xml"),
            "/other/australia.cap": ok((CAP / "australia.cap").read_bytes(), "application/xml"),
        }.get(request.url.path, httpx.Response(404))

    out = run(Source(name="idx", kind="cap", url="https://feed.example/feed"), handler)
    assert out.ok, out.error
    assert sorted(seen) == sorted(["/feed", "/cap/index.atom", "/cap/a2.xml", "/other/australia.cap", "/cap/gone.xml"])
    assert out.documents == 3  # the index and two messages
    assert "KSTO1055887203" in {a.identifier for a in out.alerts} and len(out.alerts) == 2
    assert len(out.warnings) == 1 and "gone.xml" in out.warnings[0] and "HTTP 404" in out.warnings[0]


def test_an_unreachable_linked_message_fails_the_whole_source(sleeps):
    index = b"""<rss version="2.0"><channel><title>t</title>
      <item><link>https://feed.example/m1.cap</link></item></channel></rss>"""

    def handler(request):
        if request.url.path == "/m1.cap":
            return httpx.Response(503)
        return ok(index, "application/rss+xml")

    out = run(Source(name="idx", kind="cap", url="https://feed.example/rss"), handler)
    assert out.problem == "unreachable" and "m1.cap" in out.error and out.alerts == []


def test_max_links():
    entries = "".join(f'<entry><id>{i}</id><link href="m{i}.cap"/></entry>' for i in range(25))
    index = f'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>{entries}</feed>'.encode()
    seen = []

    def handler(request):
        seen.append(request.url.path)
        if request.url.path == "/index":
            return ok(index, "application/atom+xml")
        return ok((CAP / "v1dot2_appendix_adot1.xml").read_bytes(), "application/xml")

    out = run(Source(name="idx", kind="cap", url="https://feed.example/index", max_links=5), handler)
    assert out.ok and len(seen) == 6 and "only the first 5" in out.warnings[0]


def test_deadline_ends_a_source_that_drips(monkeypatch):
    async def slow(request):
        await asyncio.sleep(5)
        return ok(b"{}")

    settings = FetchSettings(user_agent="t", retries=0, deadline=0.3, total_timeout=60)
    out = run(cma(), slow, settings=settings)
    assert out.problem == "unreachable" and "deadline" in out.error


def test_path_source_file_folder_and_unchanged(tmp_path):
    folder = tmp_path / "feed"
    folder.mkdir()
    (folder / "a.json").write_bytes(CMA_BEIJING.read_bytes())
    (folder / "b.cap").write_bytes((CAP / "v1dot2_appendix_adot1.xml").read_bytes())
    source = Source(name="drop", kind="cap", path=folder / "b.cap")
    out = run(source, lambda r: httpx.Response(500))
    assert out.ok and len(out.alerts) == 1 and out.last_modified
    again = run(source, lambda r: httpx.Response(500), condition={"last_modified": out.last_modified})
    assert again.ok and again.not_modified and again.alerts == []

    both = run(Source(name="drop", kind="cma", path=folder), lambda r: httpx.Response(500))
    assert both.problem == "data" and "is kind cma" in both.error  # the CAP file is not CMA JSON


def test_path_source_over_its_max_bytes_is_refused(tmp_path):
    f = tmp_path / "a.json"
    f.write_bytes(CMA_BEIJING.read_bytes())
    size = f.stat().st_size
    out = run(Source(name="drop", kind="cma", path=f, max_bytes=size - 1), lambda r: httpx.Response(500))
    assert out.problem == "data" and out.error.endswith(f"；{f}: over the {size - 1:,}-byte limit") and "太大" in out.error and out.alerts == []
    assert run(Source(name="drop", kind="cma", path=f, max_bytes=size), lambda r: httpx.Response(500)).ok


def test_path_index_links_stay_in_its_folder(tmp_path):
    (tmp_path / "m.cap").write_bytes((CAP / "v1dot2_appendix_adot1.xml").read_bytes())
    (tmp_path / "index.rss").write_text(
        '<rss version="2.0"><channel><title>t</title><item><link>m.cap</link></item>'
        '<item><link>../../etc/passwd</link></item></channel></rss>')
    out = run(Source(name="drop", kind="cap", path=tmp_path / "index.rss"), lambda r: httpx.Response(500))
    assert out.ok and len(out.alerts) == 1
    assert any("outside the index's folder" in w for w in out.warnings)


def test_forecast_fetches_each_township_centre_and_stamps_the_fetch_time():
    from test_alert_forecast import winter

    seen = []

    def handler(request):
        seen.append(dict(request.url.params))
        return ok(json.dumps(winter()).encode())

    townships = [{"code": "110116107000", "lon": 116.629, "lat": 40.770},
                 {"code": "110116003000", "lon": 116.589, "lat": 40.375}]
    source = Source(name="om", kind="forecast", url="https://om.example/v1/forecast?latitude={lat}&longitude={lon}")
    out = run(source, handler, townships=townships, thresholds={"min_temperature_c": -15})
    assert out.ok, out.error
    assert sorted((p["latitude"], p["longitude"]) for p in seen) == [("40.3750", "116.5890"), ("40.7700", "116.6290")]
    assert out.townships == ["110116107000", "110116003000"]
    assert {a.sent for a in out.alerts} == {out.started}
    assert {a.identifier.split(":")[1] for a in out.alerts} == {"110116107000", "110116003000"}


def test_one_failing_township_fails_the_forecast_source(sleeps):
    from test_alert_forecast import winter

    def handler(request):
        if request.url.params["latitude"].startswith("40.77"):
            return httpx.Response(502)
        return ok(json.dumps(winter()).encode())

    townships = [{"code": "110116107000", "lon": 116.629, "lat": 40.770},
                 {"code": "110116003000", "lon": 116.589, "lat": 40.375}]
    out = run(Source(name="om", kind="forecast", url="https://om/?latitude={lat}&longitude={lon}"), handler,
              townships=townships)
    assert out.problem == "unreachable" and "HTTP 502" in out.error and out.alerts == []


@pytest.mark.parametrize("url, shown", [
    ("https://a/b?location=1&key=abc", "https://a/b?location=1&key=***"),
    ("https://a/b?token=x&tk=y", "https://a/b?token=***&tk=***"),
    ("https://a/b", "https://a/b"),
])
def test_keys_are_not_logged(url, shown):
    assert F._shown(url) == shown


@pytest.mark.parametrize("value, seconds", [(None, None), ("", None), ("7", 7.0), ("soon", None),
                                            ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)])
def test_retry_after_values(value, seconds):
    assert F._retry_after(value) == seconds


def test_one_unreachable_township_cancels_the_others_waits():
    from test_alert_forecast import winter

    async def handler(request):
        if request.url.params["latitude"].startswith("40.77"):
            return httpx.Response(503)
        await asyncio.sleep(3)  # the other township is slow: not worth waiting for
        return ok(json.dumps(winter()).encode())

    townships = [{"code": "110116107000", "lon": 116.629, "lat": 40.770},
                 {"code": "110116003000", "lon": 116.589, "lat": 40.375}]
    start = time.monotonic()
    out = run(Source(name="om", kind="forecast", url="https://om/?latitude={lat}&longitude={lon}"), handler,
              townships=townships)
    assert out.problem == "unreachable" and "HTTP 503" in out.error
    assert time.monotonic() - start < 2


def test_a_missing_path_is_bad_data(tmp_path):
    out = run(Source(name="drop", kind="cap", path=tmp_path / "nowhere.xml"), lambda r: httpx.Response(500))
    assert out.problem == "data" and "nowhere.xml: cannot read (No such file or directory)" in out.error
