"""The register of places: townships and facilities going into the store.

Each operation is one transaction: a township set is replaced whole and every facility's
township re-derived with it; a facility file is validated whole and imported whole or not at
all. A facility's township always comes from its point, never from what was typed.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import clock
from .config import Config
from .errors import DataError
from .store import Store


@dataclass
class ImportResult:
    count: int
    by_township: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def who(config: Config, by: str | None) -> str:
    """The person making a change: --by, else config [field] default_by, else the login name."""
    for candidate in (by, config.field.default_by):
        if candidate and candidate.strip():
            return candidate.strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or "unknown"


def locate(store: Store, lons, lats) -> list[str | None]:
    """The township code of each point (None outside the district)."""
    from .spatial import township_of

    return list(township_of(lons, lats, store.townships()))


def import_townships(store: Store, path: Path, *, crs: str | None = None) -> ImportResult:
    from .boundaries import read_townships

    townships = read_townships(path, crs=crs)
    if not townships:
        raise DataError(f"{path}: no township polygons found")
    rows = [{**t, "geometry": t["geometry_wkb"], "approximate": int(bool(t.get("approximate")))} for t in townships]
    with store.write():
        store.replace_townships(rows)
        facilities = store.facility_columns(("id", "lon", "lat"))
        codes = locate(store, facilities["lon"], facilities["lat"])
        store.set_facility_townships(zip(codes, facilities["id"]))
    outside = sum(c is None for c in codes)
    warnings = list(townships.warnings)
    if outside:
        warnings.append(f"{outside} facilities now lie outside every township")
    return ImportResult(len(rows), warnings=warnings)


def import_facilities(store: Store, config: Config, path: Path, *, crs: str | None = None,
                      by: str | None = None, dry_run: bool = False) -> ImportResult:
    """Validate every row, then import all of them in one transaction, or none."""
    from .facilities import outside_hints, outside_message, read_rows, validate_rows, where

    if store.count("townships") == 0:
        raise DataError("no townships in the database yet; run `monitor init` first")
    rows = read_rows(path)
    if not rows:
        raise DataError(f"{path}: no rows to import")
    good, problems = validate_rows(rows, crs=crs)
    if not problems:
        codes = locate(store, [r["lon"] for r in good], [r["lat"] for r in good])
        outside = [r for r, code in zip(good, codes) if code is None]
        hints = dict(zip(map(id, outside), outside_hints([r["lon"] for r in outside], [r["lat"] for r in outside],
                                                         crs, lambda x, y: locate(store, x, y))))
        for r, code in zip(good, codes):
            if code is None:
                problems.append(f"{where(r)}: {outside_message(r['lon'], r['lat'], hints[id(r)])}")
            r["township"] = code
    if problems:
        shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
        raise DataError(f"{path}: {len(problems)} bad row(s), nothing imported:\n  " + "\n  ".join(shown))
    by_township: dict[str, int] = {}
    for r in good:
        by_township[r["township"]] = by_township.get(r["township"], 0) + 1
    if not dry_run:
        source = path.name
        for r in good:
            r["source"] = r.get("source") or source
        with store.write():
            store.insert_facilities(good, at=clock.iso(clock.now()), by=who(config, by),
                                    note=f"导入 imported from {path.name}")
    return ImportResult(len(good), by_township)
