"""Loading config.toml: where it is, what it says, and refusing what it must not say.

Looked for in this order: `--config`, `MONITOR_CONFIG`, `./config.toml`, and the config.toml
shipped beside the package. Relative paths inside it are relative to the file's own folder.
Unknown sections or keys are refused with the line they are on, so that a typo never silently
turns a rule off.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

SHIPPED = Path(__file__).resolve().parent.parent / "config.toml"

# Every key a section may hold; a value of None means "any keys" (checked elsewhere).
SECTIONS: dict[str, set[str] | None] = {
    "district": {"name", "name_en", "code", "timezone", "townships"},
    "store": {"db", "busy_timeout_ms"},
    "field": {"default_by"},
    "season": {"heating_start", "heating_end", "preseason_days"},
    "priority": {"households_raise", "score_weights"},
    "map": {"out", "title", "history_entries", "basemap"},
    "report": {"unit", "chromium"},
    "demo": {"as_of", "db", "map", "facilities", "alerts"},
    "fetch": {"user_agent", "contact", "connect_timeout", "read_timeout", "total_timeout", "retries", "backoff",
              "max_retry_after", "max_bytes", "concurrency", "max_links", "deadline", "lock"},
    "forecast": {"min_temperature_c", "drop_48h_c", "gust_ms", "snowfall_mm"},
    "sources": None,
    "rules": None,
}


@dataclass
class Config:
    path: Path
    data: dict[str, Any] = field(default_factory=dict)

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
        return self.get("district", "timezone", "Asia/Shanghai")

    @property
    def db_path(self) -> Path:
        return self.resolve(self.get("store", "db", "monitor.db"))  # --db / MONITOR_DB reach App.db instead

    @property
    def busy_timeout_ms(self) -> int:
        return int(self.get("store", "busy_timeout_ms", 30_000))

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
            raise ConfigError(f"config file {explicit} not found; pass an existing --config")
    raise ConfigError("no config.toml found; pass --config PATH or set MONITOR_CONFIG")


def load(explicit: str | os.PathLike | None = None) -> Config:
    path = find(explicit)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: {e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    config = Config(path, data)
    for name, value in data.items():
        if name not in SECTIONS:
            raise ConfigError(f"{path}:{config.line_of('[' + name)}: unknown section [{name}]; "
                              f"known: {', '.join(sorted(SECTIONS))}")
        allowed = SECTIONS[name]
        if allowed is not None and isinstance(value, dict):
            for key in value:
                if key not in allowed:
                    raise ConfigError(f"{path}:{config.key_line(name, key)}: unknown key '{key}' in [{name}]; "
                                      f"known: {', '.join(sorted(allowed))}")
    return config
