"""Fetching alert feeds, and saving what one fetch gave: the only module that imports httpx.

github-to-sqlite style, in two halves that meet only in plain data:
    Fetcher.fetch(source, condition) -> Fetched   network (or a local file), then the parsers
    save(store, fetched) -> IngestCounts           storage: alerts and one fetch_log row, one transaction

What a fetch does, so that a cron job can run it unattended for months:
- explicit connect, read and whole-attempt timeouts, and a deadline per source;
- User-Agent "monitor/<version> (+contact)" from [fetch];
- conditional requests: If-None-Match / If-Modified-Since from the source's last good fetch; a
  304 changes nothing (save still logs its row);
- bounded retries with exponential backoff on connection errors, timeouts, truncated bodies,
  429 and 5xx, honouring Retry-After (seconds or an HTTP date) up to [fetch] max_retry_after;
  a longer wait fails the source for this run instead of holding the job;
- a size cap, checked against Content-Length before reading and while streaming (the body is
  never read past the cap; it applies to the decoded body, so a gzip bomb stops there too);
- a content-type check (an HTML error or login page is refused before parsing);
- an Atom/RSS index: its linked messages are fetched too (links resolved against the index's
  final URL; at most max_links). A linked message that is missing or not a CAP message is
  skipped with a warning; one that cannot be reached fails the whole source, so that the next
  run fetches the index again rather than a 304;
- `forecast` sources: the URL once per township centre ({lat}, {lon}), parsed with the
  township point and the [forecast] thresholds, sent = the fetch time. Any township failing
  fails the source.
Parsing stays in monitor.alerts (parse_document). Failures are the package's exceptions,
caught per source and turned into `Fetched.error` with `problem`:
    SourceUnreachable  'unreachable'  refused, timed out, truncated, 5xx/429 after retries (exit 75)
    DataError          'data'         4xx, oversize, wrong type, malformed, XXE, no key (exit 1)
The HTTP status of the answer that failed a source (404, 429, 500 ...) is kept in `Fetched.http_status`
(fetch_log.http_status) as well as a 200 or 304.
Secrets: every URL and error text that leaves here (`Fetched.error` and `warnings`, log lines)
goes through monitor.redaction, which hides the `${NAME}` values monitor.sources substituted,
URL user-info and keyed query values.
Tests pass `transport=` (httpx.MockTransport) or serve real files on loopback.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urljoin

import httpx

from . import clock, redaction
from .alerts import Alert, ParsedDocument, parse_document
from .alerts import ingest
from .alerts.files import read_capped
from .errors import DataError, MonitorError, SourceUnreachable
from .sources import FetchSettings, Source, expand
from .store import Store

log = logging.getLogger(__name__)

# What each kind may be served as; "" (none given), octet-stream and text/plain are sniffed by
# the parser instead, because many feeds are served that way.
_TYPES = {
    "cap": ("xml", "cap"),
    "nws": ("json",),
    "cma": ("json",),
    "forecast": ("json",),
}
_NEUTRAL = ("", "application/octet-stream", "text/plain", "binary/octet-stream")
_ACCEPT = {
    "cap": "application/cap+xml, application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.1",
    "nws": "application/geo+json, application/json;q=0.9, */*;q=0.1",
    "cma": "application/json, */*;q=0.1",
    "forecast": "application/json, */*;q=0.1",
}


@dataclass
class Fetched:
    """One source's fetch: what came back, parsed, or why nothing did."""

    source: Source
    started: str
    finished: str | None = None
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    documents: int = 0
    alerts: list[Alert] = field(default_factory=list)
    townships: list[str] = field(default_factory=list)  # forecast: the townships fetched
    error: str | None = None
    problem: str | None = None  # None, 'unreachable', 'data'
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass
class _Response:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes


class Fetcher:
    """One HTTP client and its limits, for fetching many sources concurrently.

    >>> async def main():                                   # doctest: +SKIP
    ...     async with Fetcher(settings) as f:
    ...         return await asyncio.gather(*(f.fetch(s) for s in sources))
    """

    def __init__(self, settings: FetchSettings, *, townships: list[dict] | None = None,
                 thresholds: dict | None = None, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self.townships = townships or []
        self.thresholds = thresholds
        self.transport = transport
        self.client: httpx.AsyncClient | None = None
        self.slots: asyncio.Semaphore | None = None

    async def __aenter__(self) -> "Fetcher":
        s = self.settings
        self.client = httpx.AsyncClient(
            headers={"User-Agent": s.user_agent},
            # pool=None: a request waiting for one of `concurrency` slots is not a timeout
            timeout=httpx.Timeout(connect=s.connect_timeout, read=s.read_timeout, write=s.read_timeout, pool=None),
            limits=httpx.Limits(max_connections=s.concurrency, max_keepalive_connections=s.concurrency),
            follow_redirects=True, max_redirects=5, transport=self.transport,
        )
        self.slots = asyncio.Semaphore(s.concurrency)
        redaction.install_log_filter()  # httpx logs each request's full URL at INFO
        return self

    async def __aexit__(self, *exc) -> None:
        await self.client.aclose()

    # --- one source ---------------------------------------------------------------------------

    async def fetch(self, source: Source, condition: dict | None = None) -> Fetched:
        """Fetch and parse one source; never raises for a feed's failure (see `Fetched.problem`)."""
        t0 = time.monotonic()
        out = Fetched(source, started=clock.iso(clock.now()))
        try:
            async with asyncio.timeout(self.settings.deadline):
                if source.kind == "forecast":
                    await self._forecast(source, out)
                elif source.path is not None:
                    await self._path(source, condition or {}, out)
                else:
                    await self._url(source, condition or {}, out)
        except TimeoutError:
            out.error, out.problem = f"not finished within the {self.settings.deadline:g} s deadline", "unreachable"
        except SourceUnreachable as e:
            out.error, out.problem = str(e), "unreachable"
            out.http_status = getattr(e, "http_status", None) or out.http_status
        except MonitorError as e:
            out.error, out.problem = str(e), "data"
            out.http_status = getattr(e, "http_status", None) or out.http_status
        except Exception as e:  # a bug met on this feed's data: it fails this source, not the run
            log.exception("%s: unexpected error while fetching or parsing", source.name)
            out.error, out.problem = f"unexpected {type(e).__name__}: {e}", "data"
        out.error = redaction.redact(out.error)
        out.warnings = [redaction.redact(w) for w in out.warnings]
        out.finished = clock.iso(clock.now())
        out.seconds = round(time.monotonic() - t0, 3)
        if out.problem:
            out.alerts = []
        return out

    async def _url(self, source: Source, condition: dict, out: Fetched) -> None:
        headers = {k: expand(v, f"source '{source.name}' header {k}") for k, v in source.headers}
        if condition.get("etag"):
            headers["If-None-Match"] = condition["etag"]
        if condition.get("last_modified"):
            headers["If-Modified-Since"] = condition["last_modified"]
        url = expand(source.url, f"source '{source.name}' url")
        r = await self.get(url, source, headers=headers)
        out.http_status = r.status
        out.etag = r.headers.get("etag") or condition.get("etag")
        out.last_modified = r.headers.get("last-modified") or condition.get("last_modified")
        if r.status == 304:
            out.not_modified = True
            return
        doc = self._parse(source, r.body, what=_shown(url))
        out.documents = 1
        out.alerts += doc.alerts
        out.warnings += doc.warnings
        if doc.links:
            await self._linked(source, [urljoin(r.url, link) for link in doc.links], out, headers={
                k: v for k, v in headers.items() if k not in ("If-None-Match", "If-Modified-Since")})

    async def _path(self, source: Source, condition: dict, out: Fetched) -> None:
        """A local file (or every file in a folder), kept current by something else."""
        path = source.path
        try:
            files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")) \
                if path.is_dir() else [path]
            stats = [p.stat() for p in files]
        except OSError as e:
            raise DataError(f"无法读取 {e.filename or path}，请检查路径和权限；{e.filename or path}: cannot read "
                            f"({e.strerror})") from None
        newest = max((st.st_mtime for st in stats), default=0)
        signature = (f"{datetime.fromtimestamp(newest, timezone.utc):%Y-%m-%dT%H:%M:%S.%fZ}"
                     f" {len(files)} files {sum(st.st_size for st in stats)} bytes")
        out.last_modified = signature
        if condition.get("last_modified") == signature:
            out.not_modified = True
            return
        for p in files:
            doc = self._parse(source, read_capped(p, self._max_bytes(source)), what=str(p))
            out.documents += 1
            out.alerts += doc.alerts
            out.warnings += doc.warnings
            if doc.links:
                links = []
                for link in doc.links:
                    try:
                        links.append(_local_or_url(p, link))
                    except DataError as e:
                        out.warnings.append(f"linked message skipped: {e}")
                await self._linked(source, links, out, headers={})

    async def _linked(self, source: Source, links: list, out: Fetched, headers: dict) -> None:
        """The messages an Atom/RSS index links to; a missing or broken one is skipped."""
        limit = source.max_links or self.settings.max_links
        if len(links) > limit:
            out.warnings.append(f"index lists {len(links)} messages; only the first {limit} fetched (max_links)")
            links = links[:limit]

        async def one(link):
            try:
                if isinstance(link, Path):
                    data = read_capped(link, self._max_bytes(source))
                else:
                    data = (await self.get(link, source, headers=headers)).body
                return self._parse(source, data, what=_shown(str(link)))
            except SourceUnreachable:
                raise
            except MonitorError as e:  # this message is skipped; the others count
                return e

        results = await _all_or_nothing(one(link) for link in links)
        for link, result in zip(links, results):
            if isinstance(result, MonitorError):
                out.warnings.append(f"linked message skipped: {result}")
            elif result.links:
                out.warnings.append(f"linked document {_shown(str(link))} is itself an index; not followed")
            else:
                out.documents += 1
                out.alerts += result.alerts
                out.warnings += result.warnings

    async def _forecast(self, source: Source, out: Fetched) -> None:
        if not self.townships:
            raise DataError("预报来源需要乡镇，请先运行 monitor init；a forecast source needs townships (monitor init) to "
                            "fetch for")
        template = expand(source.url, f"source '{source.name}' url")
        headers = {k: expand(v, f"source '{source.name}' header {k}") for k, v in source.headers}

        async def one(t):
            lon, lat = t.get("lon"), t.get("lat")
            if lon is None or lat is None:
                raise DataError(f"乡镇 {t['code']} 没有中心点，无法获取预报，请重新导入乡镇；township {t['code']} has no "
                                f"centre (lon/lat) to fetch a forecast for")
            url = template.replace("{lat}", f"{lat:.4f}").replace("{lon}", f"{lon:.4f}")
            r = await self.get(url, source, headers=headers)
            doc = self._parse(source, r.body, what=f"forecast for {t['code']}", point=(lon, lat, t["code"]),
                              issued=out.started)
            return r, doc

        results = await _all_or_nothing(one(t) for t in self.townships)
        out.http_status = results[-1][0].status if results else None
        for t, (_, doc) in zip(self.townships, results):
            out.documents += 1
            out.alerts += doc.alerts
            out.warnings += doc.warnings
            out.townships.append(t["code"])

    # --- one document -------------------------------------------------------------------------

    def _parse(self, source: Source, data: bytes, *, what: str, point=None, issued=None) -> ParsedDocument:
        try:
            doc = parse_document(
                data, source=source.name, max_bytes=self._max_bytes(source),
                area_codes=list(source.area_codes) or None, point=point,
                thresholds=self.thresholds if point else None, issued=issued,
            )
        except DataError as e:
            raise DataError(f"{what}: {e}") from None
        expected = {"cap": ("cap", "atom", "rss")}.get(source.kind, (source.kind,))
        if doc.kind not in expected:
            raise DataError(f"{what}: 文件类型与来源「{source.name}」的 kind 不符，请改正 config.toml；a {doc.kind} "
                            f"document, but source '{source.name}' is kind {source.kind}")
        return doc

    def _max_bytes(self, source: Source) -> int:
        return source.max_bytes or self.settings.max_bytes

    # --- one request --------------------------------------------------------------------------

    async def get(self, url: str, source: Source, *, headers: dict) -> _Response:
        """GET with retries, limits and checks; SourceUnreachable or DataError when it fails."""
        s = self.settings
        shown = _shown(url)
        for attempt in range(s.retries + 1):
            wait = status = None  # status: of this attempt's answer, for the error that fails the source
            try:
                async with self.slots:
                    async with asyncio.timeout(s.total_timeout):
                        r = await self._attempt(url, source, headers)
                if r.status in (429,) or r.status >= 500:
                    why, status = f"HTTP {r.status}", r.status
                    wait = _retry_after(r.headers.get("retry-after"))
                    if wait is not None and wait > s.max_retry_after:
                        raise _status(SourceUnreachable(
                            f"{shown}: {why}, Retry-After {wait:.0f} s is longer than max_retry_after "
                            f"({s.max_retry_after:g} s); try again later"), status)
                else:
                    return r
            except TimeoutError:
                why = f"no complete answer within {s.total_timeout:g} s"
            except httpx.ConnectTimeout:
                why = f"connection timed out ({s.connect_timeout:g} s)"
            except httpx.TimeoutException:
                why = f"read timed out ({s.read_timeout:g} s without data)"
            except httpx.RemoteProtocolError as e:
                why = f"truncated or broken response ({e})"
            except httpx.ConnectError as e:
                why = f"cannot connect ({_reason(e)})"
            except (httpx.NetworkError, httpx.ProxyError) as e:
                why = f"network error ({_reason(e)})"
            except (httpx.DecodingError, httpx.TooManyRedirects, httpx.UnsupportedProtocol,
                    httpx.LocalProtocolError, httpx.InvalidURL) as e:
                raise DataError(f"{shown}: 无法获取，请检查地址；{type(e).__name__}: {e}") from None
            except httpx.TransportError as e:
                why = f"{type(e).__name__} ({_reason(e)})"
            if attempt == s.retries:
                break
            delay = wait if wait is not None else s.backoff * 2 ** attempt
            log.debug("%s: %s: %s; retrying in %.1f s (attempt %d of %d)", source.name, shown, why, delay,
                      attempt + 2, s.retries + 1)
            await asyncio.sleep(delay)
        raise _status(SourceUnreachable(f"{shown}: 暂时无法连接，稍后再试；{why}"
                                        + (f" (after {s.retries + 1} attempts)" if s.retries else "")), status)

    async def _attempt(self, url: str, source: Source, headers: dict) -> _Response:
        limit = self._max_bytes(source)
        headers = {"Accept": _ACCEPT[source.kind], **headers}
        async with self.client.stream("GET", url, headers=headers) as r:
            out = _Response(str(r.url), r.status_code, {k.lower(): v for k, v in r.headers.items()}, b"")
            if r.status_code == 304 or r.status_code == 429 or r.status_code >= 500:
                return out
            if not 200 <= r.status_code < 300:
                raise _status(DataError(f"{_shown(url)}: 服务器拒绝请求，请检查地址和密钥；HTTP {r.status_code} "
                                        f"{r.reason_phrase}"), r.status_code)
            ctype = r.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype not in _NEUTRAL and not any(t in ctype for t in _TYPES[source.kind]):
                raise DataError(f"{_shown(url)}: 返回的不是预警数据（可能是错误页或登录页）；served as {ctype}, not "
                                f"{'XML' if source.kind == 'cap' else 'JSON'} (an error or login page?)")
            length = r.headers.get("content-length", "")
            if length.isdigit() and int(length) > limit:
                raise DataError(f"{_shown(url)}: 内容超过 max_bytes 上限，未下载；{int(length):,} bytes announced, over "
                                f"the {limit:,}-byte limit (max_bytes); not downloaded")
            body = bytearray()
            async for chunk in r.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise DataError(f"{_shown(url)}: 内容超过 max_bytes 上限，已停止读取；body over the {limit:,}-byte limit "
                                    "(max_bytes); stopped reading")
            out.body = bytes(body)
            return out


# --- storage ------------------------------------------------------------------------------------


def save(store: Store, fetched: Fetched) -> ingest.IngestCounts:
    """Store one source's fetch in one transaction: its alerts (ingest, lifecycle) and its
    fetch_log row. A failed fetch stores only its log row; a 304 only its log row."""
    counts = ingest.IngestCounts()
    with store.write():
        if fetched.ok and fetched.alerts:
            counts = ingest.save(store, fetched.alerts)
        if fetched.ok and fetched.townships:
            for code in fetched.townships:
                keep = {a.identifier for a in fetched.alerts if a.identifier.startswith(f"forecast:{code}:")}
                counts.updated += ingest.retire_forecasts(store, fetched.source.name, code, fetched.started, keep)
        store.log_fetch(log_row(fetched, counts))
        if not (counts.new or counts.updated or counts.cancelled):
            store.leave_uncounted()  # only the log row: nothing the follow-ups or the map derive from
    return counts


def log_row(fetched: Fetched, counts: ingest.IngestCounts | None = None) -> dict:
    c = counts or ingest.IngestCounts()
    notes = "; ".join(fetched.warnings[:5]) + (f"; and {len(fetched.warnings) - 5} more" if len(fetched.warnings) > 5 else "")
    return {
        "source": fetched.source.name, "started": fetched.started, "finished": fetched.finished,
        "ok": int(fetched.ok), "http_status": fetched.http_status,
        "etag": fetched.etag, "last_modified": fetched.last_modified,
        "new": c.new, "updated": c.updated, "cancelled": c.cancelled,
        "error": redaction.redact(fetched.error or (notes or None)),
    }


# --- helpers ------------------------------------------------------------------------------------


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


async def _all_or_nothing(coros) -> list:
    """Run concurrently; their results in order, or the first exception with the rest cancelled
    (one unreachable township fails the source: no use waiting for the other fifteen)."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    if not tasks:
        return []
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for t in done:
            if t.exception() is not None:
                raise t.exception()
        return [t.result() for t in tasks]
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _reason(e: Exception) -> str:
    text = str(e) or type(e).__name__
    return text if len(text) < 200 else text[:200] + "..."


def _shown(url: str) -> str:
    """A URL as it may be logged or stored: secrets, user-info and keyed query values hidden."""
    return redaction.redact(url)


def _status(error: MonitorError, status: int | None) -> MonitorError:
    """The error, carrying the HTTP status of the answer behind it (for fetch_log)."""
    error.http_status = status
    return error


def _local_or_url(index: Path, link: str) -> Path | str:
    """An index file's link: an http(s) URL as is, else a file in the index's own folder."""
    if link.lower().startswith(("http://", "https://")):
        return link
    target = (index.parent / link).resolve()
    folder = index.parent.resolve()
    if folder not in target.parents:
        raise DataError(f"{index}: 链接指向索引文件夹之外，已拒绝；link '{link}' points outside the index's folder; refused")
    return target


__all__ = ["Fetched", "Fetcher", "save", "log_row"]
