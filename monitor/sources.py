"""The alert sources and fetch settings of config.toml, checked, as plain data.

`[[sources]]` entries (one per feed) and the `[fetch]` section become `Source` and
`FetchSettings`. Nothing here touches the network or imports httpx, so that `monitor status`
and the map can ask which sources exist and how old they may get without paying for it.

A source is one of:
    cap       CAP 1.2/1.1 XML: one message, or an Atom/RSS index whose entries link to messages
    nws       the api.weather.gov GeoJSON alert collection
    cma       CMA warnings in QWeather JSON (`area_codes` says which division codes they cover)
    forecast  an Open-Meteo URL with {lat} and {lon}, fetched once per township centre
and is read from `url` (http or https) or from `path` (a file, or a folder of files, that
something else keeps current: the way an intranet PC without internet gets its feeds).
`${NAME}` in a URL or header value is read from the environment when the source is fetched,
so that API keys stay out of config.toml; a source whose variable is unset fails alone. Every
value substituted is handed to monitor.redaction, which hides it wherever text is shown or stored.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from . import __version__, redaction
from .config import Config
from .errors import ConfigError, DataError

KINDS = ("cap", "nws", "cma", "forecast")
SOURCE_KEYS = frozenset({
    "name", "kind", "url", "path", "max_age_minutes", "area_codes", "max_bytes", "headers", "enabled",
    "max_links",
})
DEFAULT_MAX_AGE_MINUTES = 90
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    url: str | None = None
    path: Path | None = None
    max_age_minutes: float = DEFAULT_MAX_AGE_MINUTES
    area_codes: tuple[str, ...] = ()
    max_bytes: int | None = None  # None: [fetch] max_bytes
    headers: tuple[tuple[str, str], ...] = ()  # values may hold ${NAME}
    enabled: bool = True
    max_links: int | None = None  # None: [fetch] max_links


@dataclass(frozen=True)
class FetchSettings:
    """[fetch]: how feeds are fetched. Times in seconds."""

    user_agent: str
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 120.0  # one attempt at one URL, whatever the server does
    retries: int = 2  # further attempts after the first, on connection errors, 429 and 5xx
    backoff: float = 1.0  # first wait between attempts; doubles each time
    max_retry_after: float = 60.0  # a longer Retry-After fails the source for this run instead
    max_bytes: int = 5_000_000
    concurrency: int = 8  # requests in flight at once
    max_links: int = 100  # messages fetched from one Atom/RSS index
    deadline: float = 600.0  # the whole refresh run
    # [fetch] lock (the refresh lock file) is read where the lock is taken: monitor.refresh.lock_path


FETCH_DEFAULTS = {f: getattr(FetchSettings, f) for f in (
    "connect_timeout", "read_timeout", "total_timeout", "retries", "backoff", "max_retry_after",
    "max_bytes", "concurrency", "max_links", "deadline")}


def fetch_settings(config: Config) -> FetchSettings:
    section = config.section("fetch")
    values = {}
    for key, default in FETCH_DEFAULTS.items():
        value = section.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"{config.path}:{config.key_line('fetch', key)}: [fetch] {key} 应为不小于 0 的数；"
                              f"[fetch] {key} must be a number >= 0")
        values[key] = type(default)(value)
    if values["concurrency"] < 1:
        raise ConfigError(f"{config.path}:{config.key_line('fetch', 'concurrency')}: [fetch] concurrency 至少为 1；"
                          "[fetch] concurrency must be at least 1")
    contact = str(section.get("contact", "")).strip()
    agent = str(section.get("user_agent", "")).strip() or f"monitor/{__version__}"
    if contact:
        agent += f" (+{contact})"
    return FetchSettings(user_agent=agent, **values)


def configured(config: Config, *, include_disabled: bool = False) -> list[Source]:
    """The [[sources]] of config.toml, in order; ConfigError (with its line) for a bad one."""
    entries = config.data.get("sources", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{config.path}:{config.line_of('sources')}: 预警来源应写成 [[sources]] 表；sources must be "
                          "[[sources]] tables")
    out: list[Source] = []
    names: set[str] = set()
    for n, entry in enumerate(entries):
        where = f"{config.path}:{_nth_line(config, '[[sources]]', n)}"
        source = _source(entry, where, config)
        if source.name in names:
            raise ConfigError(f"{where}: 来源名「{source.name}」重复，名称须唯一；a second source named '{source.name}'; names "
                              "must be unique")
        names.add(source.name)
        if source.enabled or include_disabled:
            out.append(source)
    return out


def _source(entry: dict, where: str, config: Config) -> Source:
    unknown = set(entry) - SOURCE_KEYS
    if unknown:
        raise ConfigError(f"{where}: [[sources]] 中有未知配置项，请检查拼写；unknown key(s) {sorted(unknown)} in "
                          f"[[sources]]; known: {sorted(SOURCE_KEYS)}")
    name = str(entry.get("name", "")).strip()
    if not name:
        raise ConfigError(f"{where}: 每个 [[sources]] 都要有 name；a [[sources]] entry needs a name")
    kind = entry.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"{where}: 来源「{name}」的 kind 不对，可用：{', '.join(KINDS)}；source '{name}' has kind "
                          f"{kind!r}; known: {', '.join(KINDS)}")
    url, path = entry.get("url"), entry.get("path")
    if bool(url) == bool(path):
        raise ConfigError(f"{where}: 来源「{name}」须有 url 或 path 之一（只能一个）；source '{name}' needs exactly one "
                          "of url or path")
    if url and not re.match(r"(?i)^https?://", str(url)):
        raise ConfigError(f"{where}: 来源「{name}」的 url 须以 http:// 或 https:// 开头；source '{name}': url must start "
                          "with http:// or https://")
    if kind == "forecast" and (not url or "{lat}" not in url or "{lon}" not in url):
        raise ConfigError(f"{where}: 预报来源「{name}」的 url 须含 {{lat}} 和 {{lon}}；"
                          f"forecast source '{name}' needs a url with {{lat}} and {{lon}} "
                          "(it is fetched once per township centre)")
    headers = entry.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise ConfigError(f"{where}: 来源「{name}」的 headers 须为字符串表；source '{name}': headers must be a table of "
                          "strings")
    codes = entry.get("area_codes", [])
    if not isinstance(codes, list) or not all(isinstance(c, str) and c.isdigit() for c in codes):
        raise ConfigError(f"{where}: 来源「{name}」的 area_codes 须为区划代码字符串列表；source '{name}': area_codes must "
                          "be a list of division codes as strings")
    numbers = {}
    for key in ("max_age_minutes", "max_bytes", "max_links"):
        value = entry.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
            raise ConfigError(f"{where}: 来源「{name}」的 {key} 须为正数；source '{name}': {key} must be a positive number")
        numbers[key] = value
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}: 来源「{name}」的 enabled 须为 true 或 false；source '{name}': enabled must be true "
                          "or false")
    return Source(
        name=name, kind=kind, url=url or None, path=config.resolve(path) if path else None,
        max_age_minutes=float(numbers["max_age_minutes"] or DEFAULT_MAX_AGE_MINUTES),
        area_codes=tuple(codes),
        max_bytes=int(numbers["max_bytes"]) if numbers["max_bytes"] else None,
        headers=tuple(headers.items()), enabled=enabled,
        max_links=int(numbers["max_links"]) if numbers["max_links"] else None,
    )


def expand(text: str, what: str) -> str:
    """`${NAME}` replaced from the environment (each value remembered as a secret by
    monitor.redaction); DataError naming the variable if it is unset."""
    def value(m: re.Match) -> str:
        v = os.environ.get(m.group(1))
        if not v:
            raise DataError(f"{what} 需要环境变量 {m.group(1)}，但未设置，请先设置；{what} needs the environment variable "
                            f"{m.group(1)}, which is not set")
        redaction.remember(v)
        return v

    return _ENV.sub(value, text)


def remember_secrets(sources: list[Source]) -> None:
    """Hand monitor.redaction the environment values the sources' `${NAME}`s stand for (those
    set), so that text shown without fetching (`monitor status`) is redacted too."""
    for s in sources:
        for text in (s.url or "", *(v for _, v in s.headers)):
            for name in _ENV.findall(text):
                redaction.remember(os.environ.get(name))


def _nth_line(config: Config, needle: str, n: int) -> int:
    line = 0
    for _ in range(n + 1):
        line = config.line_of(needle, line + 1)
        if not line:
            return 0
    return line

