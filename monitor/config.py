"""Loading config.toml: where it is, what it says, and refusing what it must not say.

Looked for in this order: `--config`, `MONITOR_CONFIG`, `./config.toml`, and the config.toml
shipped beside the package. Relative paths inside it are relative to the file's own folder.
Unknown sections or keys are refused with the line they are on, so that a typo never silently
turns a rule off.

The file is parsed once, into frozen settings per section (`Config.district`, `.store`, `.field`,
`.map`, `.demo`, `.fetch`, `.forecast`): every value is checked for type and range when the file
is loaded, and a bad one is reported with its line, so that nothing runs on a half-valid config
(a bad time zone used to fail after a change was committed). A key left out takes its documented
default. `[season]`, `[priority]`, `[[rules]]` (ruleset.py) and `[[sources]]`, `[fetch]`
timings (sources.py) keep their own typed loaders; `check_all` runs them all, and the CLI calls
it before any command does anything.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import ConfigError

SHIPPED = Path(__file__).resolve().parent.parent / "config.toml"

# Every key a section may hold; a value of None means "any keys" (checked elsewhere).
SECTIONS: dict[str, set[str] | None] = {
    "district": {"name", "name_en", "code", "timezone", "townships"},
    "store": {"db", "busy_timeout_ms"},
    "field": {"default_by"},
    "season": {"heating_start", "heating_end", "preseason_days", "fire_start", "fire_end", "fire_high_start", "fire_high_end"},
    "priority": {"households_raise", "score_weights"},
    "map": {"out", "title", "history_entries", "basemap"},
    "report": {"unit", "chromium"},
    "demo": {"as_of", "db", "map", "facilities", "changes", "alerts"},
    "fetch": {"user_agent", "contact", "connect_timeout", "read_timeout", "total_timeout", "retries", "backoff",
              "max_retry_after", "max_bytes", "concurrency", "max_links", "deadline", "lock"},
    "forecast": {"min_temperature_c", "drop_48h_c", "gust_ms", "snowfall_mm"},
    "sources": None,
    "rules": None,
    "leads": None,   # township = the person who answers for its follow-ups (monitor.accountability)
}


# --- the settings, one frozen record per section ------------------------------------------------

@dataclass(frozen=True)
class District:
    name: str = ""
    name_en: str = ""
    code: str = ""
    timezone: str = "Asia/Shanghai"
    townships: Path | None = None  # the boundary file `monitor init` loads


@dataclass(frozen=True)
class StoreSettings:
    db: Path | str = Path("monitor.db")  # a path, or a postgresql:// URL kept as text; --db / MONITOR_DB override it
    busy_timeout_ms: int = 30_000


@dataclass(frozen=True)
class FieldSettings:
    default_by: str = ""


@dataclass(frozen=True)
class MapSettings:
    out: Path = Path("maps/risk.html")
    title: str = "风险地图 Risk map"
    history_entries: int = 5
    basemap: dict | None = None  # a local tile folder's path is already resolved


@dataclass(frozen=True)
class ReportSettings:
    unit: str = ""               # the issuing unit printed in the review's approval block
    chromium: str | None = None  # the browser that prints --pdf: a command name, or a path (resolved)


@dataclass(frozen=True)
class DemoSettings:
    as_of: str | None = None
    db: Path = Path("demo/demo.db")
    map: Path = Path("maps/demo.html")
    facilities: Path | None = None
    changes: Path | None = None
    alerts: tuple[Path, ...] = ()


@dataclass(frozen=True)
class FetchPaths:
    """[fetch] keys read outside the fetcher (its timings and limits: sources.fetch_settings)."""

    lock: Path | None = None
    contact: str = ""
    user_agent: str = ""


@dataclass(frozen=True)
class ForecastSettings:
    """Thresholds that turn a forecast into hazards; None = the parser's default."""

    min_temperature_c: float | None = None
    drop_48h_c: float | None = None
    gust_ms: float | None = None
    snowfall_mm: float | None = None

    def thresholds(self) -> dict[str, float]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class Config:
    path: Path
    data: dict[str, Any] = dc_field(default_factory=dict)
    district: District = dc_field(default_factory=District)
    store: StoreSettings = dc_field(default_factory=StoreSettings)
    field: FieldSettings = dc_field(default_factory=FieldSettings)
    map: MapSettings = dc_field(default_factory=MapSettings)
    report: ReportSettings = dc_field(default_factory=ReportSettings)
    demo: DemoSettings = dc_field(default_factory=DemoSettings)
    fetch: FetchPaths = dc_field(default_factory=FetchPaths)
    forecast: ForecastSettings = dc_field(default_factory=ForecastSettings)

    @property
    def base(self) -> Path:
        return self.path.parent

    def section(self, name: str) -> dict[str, Any]:
        return self.data.get(name, {})

    def get(self, section: str, key: str, default: Any = None) -> Any:
        return self.data.get(section, {}).get(key, default)

    def resolve(self, value: str | os.PathLike) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base / p

    @property
    def timezone(self) -> str:
        return self.district.timezone

    @property
    def db_path(self) -> Path | str:
        return self.store.db  # --db / MONITOR_DB reach App.db instead

    @property
    def busy_timeout_ms(self) -> int:
        return self.store.busy_timeout_ms

    def key_line(self, section: str, key: str) -> int:
        """The line (1-based) of `key = ...` inside the [section] table; the section's header line
        if the key is not written there; 0 if the section is not written either."""
        header, current = 0, None
        pattern = re.compile(rf'^\s*"?{re.escape(key)}"?\s*=')
        for n, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            table = re.match(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$", line)
            if table:
                current = table.group(1).strip()
                header = n if current == section else header
            elif current == section and pattern.match(line):
                return n
        return header

    def line_of(self, needle: str, start_line: int = 1) -> int:
        """The first line (1-based) at or after `start_line` that contains `needle`; 0 if none."""
        for n, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            if n >= start_line and needle in line.split("#", 1)[0]:
                return n
        return 0


def find(explicit: str | os.PathLike | None = None) -> Path:
    for candidate in (explicit, os.environ.get("MONITOR_CONFIG"), "config.toml", SHIPPED):
        if candidate and Path(candidate).is_file():
            return Path(candidate).resolve()
        if candidate is explicit and explicit:
            raise ConfigError(f"找不到配置文件 {explicit}，请用 --config 指定一个存在的文件；config file {explicit} not "
                              "found; pass an existing --config")
    raise ConfigError("找不到 config.toml，请用 --config PATH 指定或设置 MONITOR_CONFIG；no config.toml found; pass "
                      "--config PATH or set MONITOR_CONFIG")


def load(explicit: str | os.PathLike | None = None) -> Config:
    path = find(explicit)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: 配置文件格式错误，请按提示改正；{e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: 不是 UTF-8 文本，请另存为 UTF-8；not UTF-8 text") from None
    config = Config(path, data)
    for name, value in data.items():
        if name not in SECTIONS:
            at = config.line_of('[' + name)
            raise ConfigError(f"{path.name} 第 {at} 行：未知的配置节 [{name}]，请检查拼写；{path}:{at}: unknown "
                              f"section [{name}]; known: {', '.join(sorted(SECTIONS))}")
        allowed = SECTIONS[name]
        if allowed is not None and isinstance(value, dict):
            for key in value:
                if key not in allowed:
                    at = config.key_line(name, key)
                    raise ConfigError(f"{path.name} 第 {at} 行：[{name}] 中没有配置项「{key}」，请检查拼写；"
                                      f"{path}:{at}: unknown key '{key}' in [{name}]; known: "
                                      f"{', '.join(sorted(allowed))}")
        elif allowed is not None:
            raise ConfigError(f"{path.name} 第 {config.line_of(name)} 行：{name} 应写成 [{name}] 配置节；"
                              f"{path}:{config.line_of(name)}: {name} must be a [{name}] table")
    _Reader(config).fill()
    return config


def check_all(config: Config) -> None:
    """Check the sections other modules parse ([season], [priority], [[rules]], [[sources]] and
    the [fetch] timings) now, so that a bad value is refused before a command changes anything."""
    from . import ruleset, sources

    ruleset.load_rules(config)  # [season] and [priority] too
    sources.configured(config, include_disabled=True)
    sources.fetch_settings(config)


# --- reading and checking each value -----------------------------------------------------------

_BASEMAPS = {"tianditu": "key", "tiles": "path", "gcj02": "url"}
_MISSING = object()


class _Reader:
    """Builds the typed sections of a Config, refusing a bad value with its line."""

    def __init__(self, config: Config):
        self.c = config

    def fill(self) -> None:
        c = self.c
        c.district = District(
            name=self.text("district", "name", ""), name_en=self.text("district", "name_en", ""),
            code=self.code("district", "code"), timezone=self.timezone("district", "timezone"),
            townships=self.path("district", "townships", None))
        url = self.raw("store", "db")
        is_url = isinstance(url, str) and url.strip().lower().startswith(("postgresql://", "postgres://"))
        c.store = StoreSettings(db=url.strip() if is_url else self.path("store", "db", "monitor.db"),
                                busy_timeout_ms=self.integer("store", "busy_timeout_ms", 30_000, 0, 3_600_000,
                                                             "毫秒 milliseconds"))
        c.field = FieldSettings(default_by=self.text("field", "default_by", ""))
        c.map = MapSettings(out=self.path("map", "out", "maps/risk.html"),
                            title=self.text("map", "title", MapSettings.title),
                            history_entries=self.integer("map", "history_entries", 5, 0, 100, "条 entries"),
                            basemap=self.basemap())
        chromium = self.text("report", "chromium", "") or None
        if chromium and ("/" in chromium or "\\" in chromium):
            chromium = str(c.resolve(chromium))
        c.report = ReportSettings(unit=self.text("report", "unit", ""), chromium=chromium)
        c.demo = DemoSettings(as_of=self.time("demo", "as_of"), db=self.path("demo", "db", "demo/demo.db"),
                              map=self.path("demo", "map", "maps/demo.html"),
                              facilities=self.path("demo", "facilities", None),
                              changes=self.path("demo", "changes", None),
                              alerts=tuple(self.paths("demo", "alerts")))
        c.fetch = FetchPaths(lock=self.path("fetch", "lock", None), contact=self.text("fetch", "contact", ""),
                             user_agent=self.text("fetch", "user_agent", ""))
        c.forecast = ForecastSettings(**{k: self.number("forecast", k) for k in
                                         ("min_temperature_c", "drop_48h_c", "gust_ms", "snowfall_mm")})

    # --- one value each ---

    def raw(self, section: str, key: str) -> Any:
        return self.c.data.get(section, {}).get(key, _MISSING)

    def bad(self, section: str, key: str, value: Any, zh: str, en: str) -> ConfigError:
        shown = value if isinstance(value, (str, int, float, bool)) else type(value).__name__
        return ConfigError(f"{self.c.path}:{self.c.key_line(section, key) or '?'}: [{section}] {key} = {shown!r}："
                           f"{zh}；{en}")

    def text(self, section: str, key: str, default: str) -> str:
        value = self.raw(section, key)
        if value is _MISSING:
            return default
        if not isinstance(value, str):
            raise self.bad(section, key, value, "应为带引号的文字", 'must be text in quotes, e.g. "..."')
        return value

    def code(self, section: str, key: str) -> str:
        value = self.text(section, key, "")
        if value and not (value.isascii() and value.isdigit() and len(value) in (6, 9, 12)):
            raise self.bad(section, key, value, "应为 6、9 或 12 位行政区划代码",
                           "must be a 6, 9 or 12-digit division code")
        return value

    def timezone(self, section: str, key: str) -> str:
        from zoneinfo import ZoneInfo

        value = self.text(section, key, "Asia/Shanghai")
        try:
            ZoneInfo(value)
        except (ValueError, KeyError, OSError):
            raise self.bad(section, key, value, "不是已知的时区", 'is not a known time zone, e.g. "Asia/Shanghai"') from None
        return value

    def integer(self, section: str, key: str, default: int, low: int, high: int, unit: str) -> int:
        value = self.raw(section, key)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            zh, en = unit.split(" ", 1)
            raise self.bad(section, key, value, f"应为 {low} 到 {high} 之间的整数（{zh}）",
                           f"must be a whole number of {en} from {low} to {high}")
        return value

    def number(self, section: str, key: str) -> float | None:
        value = self.raw(section, key)
        if value is _MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise self.bad(section, key, value, "应为数字", "must be a number")
        return float(value)

    def path(self, section: str, key: str, default: str | None) -> Path | None:
        value = self.raw(section, key)
        if value is _MISSING:
            return None if default is None else self.c.resolve(default)
        if not isinstance(value, str) or not value.strip():
            raise self.bad(section, key, value, "应为带引号的文件路径", 'must be a file path in quotes')
        return self.c.resolve(value)

    def paths(self, section: str, key: str) -> list[Path]:
        value = self.raw(section, key)
        if value is _MISSING:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.bad(section, key, value, "应为文件路径的列表", 'must be a list of file paths, e.g. ["a.json"]')
        return [self.c.resolve(v) for v in value]

    def time(self, section: str, key: str) -> str | None:
        value = self.raw(section, key)
        if value is _MISSING:
            return None
        if isinstance(value, datetime):  # TOML's own date-time (unquoted)
            value = value.isoformat()
        if not isinstance(value, str):
            raise self.bad(section, key, value, "应为时间", 'must be a time, e.g. "2021-10-10T09:00+08:00"')
        try:
            datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise self.bad(section, key, value, "不是时间", 'is not a time, e.g. "2021-10-10T09:00+08:00"') from None
        return value

    def basemap(self) -> dict | None:
        value = self.raw("map", "basemap")
        if value is _MISSING:
            return None
        if not isinstance(value, dict) or value.get("type") not in _BASEMAPS:
            raise self.bad("map", "basemap", value, "应为 { type = \"tianditu\" | \"tiles\" | \"gcj02\", ... }",
                           'must be a table { type = "tianditu" | "tiles" | "gcj02", ... }')
        needed = _BASEMAPS[value["type"]]
        if not isinstance(value.get(needed), str) or not value[needed].strip():
            raise self.bad("map", "basemap", value["type"], f"此类底图需要 {needed}",
                           f"a {value['type']} basemap needs {needed} = \"...\"")
        if value["type"] == "tiles":  # a local tile folder, relative to config.toml
            return {**value, "path": str(self.c.resolve(value["path"]))}
        return dict(value)
