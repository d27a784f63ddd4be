"""Districts above townships: loading a city's district outlines, and the city's picture by district.

A township belongs to the district whose 6-digit GB/T 2260 code begins its own (110116 怀柔区 ->
110116109000 九渡河镇), as does a warning addressed to that code (monitor.divisions). The
city view ranks districts by risk: the sum of their townships' scores (the same score the map
colours townships by) and their open follow-ups by priority.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from .errors import DataError, UsageError


@dataclass(frozen=True)
class DistrictRisk:
    code: str                 # 12 digits, zero-padded (110116000000)
    name: str
    townships: int            # townships loaded inside it
    score: float              # sum of its townships' risk scores
    p1: int
    p2: int
    p3: int

    def as_dict(self) -> dict:
        return asdict(self)


def import_districts(store, path: str | os.PathLike) -> int:
    """Load the district outlines in `path` (GeoJSON, Shapefile, ...; Tianditu's "gb" codes are
    read), replacing those stored. Each must have a 6-digit district code."""
    from .boundaries import read_townships

    rows = read_townships(path)
    bad = [r["name"] for r in rows if not (r["code"].isdigit() and r["code"].endswith("000000"))]
    if bad:
        raise DataError(f"{path}: 这些不是区县（区划代码应为 6 位）：{'、'.join(bad)}；these are not districts (a district "
                        f"has a 6-digit division code): {', '.join(bad)}; load townships with `monitor townships import`")
    return store.replace_districts([{**r, "geometry": r["geometry_wkb"]} for r in rows])


def lookup(store, text: str) -> dict:
    """A district by code (6 or 12 digits) or name (怀柔区, 怀柔); UsageError naming them otherwise."""
    districts = store.districts(with_geometry=False)
    t = text.strip()
    for d in districts:
        if t in (d["code"], d["code"][:6], d["name"], d["name"].rstrip("区县")) or (d["name_en"] and
                                                                                 t.lower() == d["name_en"].lower()):
            return d
    if not districts:
        raise UsageError(f"还没有载入区县边界，请先运行 monitor districts import FILE；no districts loaded: run "
                         f"`monitor districts import FILE` first")
    names = "、".join(d["name"] for d in districts)
    raise UsageError(f"没有区县“{t}”，可选：{names}；no district '{t}': one of {names}")


def city_view(store, config) -> list[DistrictRisk]:
    """Every loaded district with its risk, highest first (then by code)."""
    from .readmodel import township_scores

    districts = store.districts(with_geometry=False)
    townships = store.townships(with_geometry=False)
    scores = township_scores(store.follow_up_list(), config)
    out = []
    for d in districts:
        prefix = d["code"][:6]
        mine = [t["code"] for t in townships if t["code"].startswith(prefix)]
        counts = {"P1": 0, "P2": 0, "P3": 0}
        score = 0.0
        for code, entry in scores.items():
            if code.startswith(prefix):
                score += entry["score"]
                for p in counts:
                    counts[p] += entry["counts"].get(p, 0)
        out.append(DistrictRisk(d["code"], d["name"], len(mine), round(float(score), 1),
                                counts["P1"], counts["P2"], counts["P3"]))
    return sorted(out, key=lambda r: (-r.score, -r.p1, r.code))
