"""Reading alert documents from disk: every file parsed before anything is stored.

`read_capped` is how every alert file is read (`alerts import`, the demo, and sources with a
`path` in monitor.fetch): never more than one byte past the limit, so an oversized file is
refused without being loaded.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError
from . import ParsedDocument, parse_document

MAX_FILE_BYTES = 50_000_000  # a national NWS snapshot is ~3 MB; anything this big is not an alert file


def read_capped(path: Path, limit: int) -> bytes:
    """The bytes of a file of at most `limit` bytes; DataError naming it if it is larger (only
    limit + 1 bytes are read to tell) or cannot be read."""
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise DataError(f"无法读取 {path}，请检查路径和权限；{path}: cannot read ({e.strerror})") from None
    if len(data) > limit:
        raise DataError(f"文件 {path} 太大（上限 {limit:,} 字节）；{path}: over the {limit:,}-byte limit")
    return data


def read_alert_files(paths: list[Path], *, area_codes: list[str] | None = None,
                     point: tuple[float, float, str] | None = None,
                     thresholds: dict | None = None) -> list[ParsedDocument]:
    """Parse each file; a file that is not an alert document stops everything with its name.

    `point` (lon, lat, township code) and `thresholds` ([forecast]) turn an Open-Meteo forecast
    file into hazards for that township, as `alerts refresh` does for each township centre.
    """
    docs = []
    for path in paths:
        data = read_capped(path, MAX_FILE_BYTES)
        try:
            docs.append(parse_document(data, source="file", max_bytes=MAX_FILE_BYTES, area_codes=area_codes,
                                       point=point, thresholds=thresholds if point else None))
        except DataError as e:
            raise DataError(f"{path}: 不是可导入的预警文件，未导入任何内容；{e}; nothing was imported") from None
    return docs
