"""The package's exceptions, one tree so the CLI can turn any of them into one line and an exit code.

    MonitorError            base; exit 1
    ├── DataError           bad input data (a file, a row, a document); exit 1
    ├── UsageError          the command was called wrongly (unknown id, bad option value); exit 2
    ├── ConfigError         config.toml is wrong; exit 2
    └── SourceUnreachable   a feed could not be reached (temporary); exit 75
"""

from __future__ import annotations


class MonitorError(Exception):
    exit_code = 1


class DataError(MonitorError):
    exit_code = 1


class UsageError(MonitorError):
    exit_code = 2


class ConfigError(MonitorError):
    exit_code = 2


class SourceUnreachable(MonitorError):
    exit_code = 75
