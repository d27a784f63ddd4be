"""The read model: the current picture that the map, the exports (and a city view) share.

One read of the store, whichever engine: the townships with their risk score and open
follow-ups by priority, the open follow-ups grouped by facility, the facilities with their
labels in words, and the area each warning in force covers. Building it once here, instead of
in each output, keeps the map and the exports from drifting apart (the same score colours a
township on the map and fills its `risk_score` column).

    model = read(store, config, now)
    model.townships[0].score, model.follow_ups_of(12), model.warned[0].township_names
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from . import kinds as K
from .config import Config

PRIORITIES = ("P1", "P2", "P3")


@dataclass(frozen=True)
class TownshipView:
    code: str
    name: str
    name_en: str | None
    kind: str | None
    approximate: bool
    source: str | None
    lon: float | None
    lat: float | None
    geometry: object                     # shapely geometry
    score: float                         # rules.risk_scores over its open follow-ups
    counts: dict[str, int]               # open follow-ups by priority


@dataclass(frozen=True)
class WarnedArea:
    alert: dict                          # the warning in force (alertview.in_force)
    covered: tuple[str, ...]             # township codes, sorted
    township_names: tuple[str, ...]      # in the order of `covered`
    geometry: object | None              # what to draw, None if it covers nothing known
    area_from: str | None                # "polygon" (its own shape) or "townships" (their union)


@dataclass(frozen=True)
class Labels:
    """A facility's kind, subtype and status in words (None where the kind table has no entry)."""
    kind_zh: str | None
    subtype_zh: str | None
    status_zh: str | None
    open: bool                           # the status is one that still needs work


def labels(kind: str, subtype: str | None, status: str | None) -> Labels:
    k = K.KINDS.get(kind)
    if k is None:
        return Labels(None, None, None, False)
    s = k.statuses.get(status) if status else None
    return Labels(k.zh, k.subtypes.get(subtype, (None,))[0], s.zh if s else None, bool(s and s.open))


def township_scores(rows: list[dict], config: Config) -> dict[str, dict]:
    """Per township: risk score and open follow-ups by priority, from the open follow-up `rows`
    (`follow_up_list()`; the score is documented in rules.risk_scores)."""
    from .rules import risk_scores
    from .ruleset import score_weights

    scores = risk_scores(rows, score_weights(config))
    out: dict[str, dict] = {}
    for r in rows:
        t = r.get("township_code")
        if t:
            entry = out.setdefault(t, {"score": 0.0, "counts": dict.fromkeys(PRIORITIES, 0)})
            entry["counts"][r["priority"]] += 1
    for t, s in scores.items():
        out[t]["score"] = s
    return out


@dataclass
class ReadModel:
    townships: list[TownshipView]
    follow_ups: list[dict]                             # open, in follow_up_list order
    facilities: list[dict]                             # select_facilities(), id order
    warned: list[WarnedArea]
    by_facility: dict[int, list[dict]] = field(default_factory=dict)

    def follow_ups_of(self, facility_id: int) -> list[dict]:
        return self.by_facility.get(facility_id, [])

    def priority_of(self, facility_id: int) -> str | None:
        return min((u["priority"] for u in self.follow_ups_of(facility_id)), default=None)

    def reasons_of(self, facility_id: int) -> list[str]:
        return [f"[{u['priority']}] {u['reason']}" for u in self.follow_ups_of(facility_id)]


def read(store, config: Config, now: datetime) -> ReadModel:
    """The picture at `now`, read in one snapshot of the store."""
    import shapely

    from .alertview import in_force
    from .spatial import warned_area

    with store.snapshot():
        townships = store.townships()
        follow = store.follow_up_list()
        facilities = store.select_facilities()
        alerts = in_force(store, now)
    geoms = [shapely.from_wkb(t["geometry"]) for t in townships]
    codes = [t["code"] for t in townships]
    names = dict(zip(codes, (t["name"] for t in townships)))
    scores = township_scores(follow, config)
    views = [TownshipView(
        code=t["code"], name=t["name"], name_en=t["name_en"], kind=t["kind"], approximate=bool(t["approximate"]),
        source=t["source"], lon=t["lon"], lat=t["lat"], geometry=g,
        score=float(scores.get(t["code"], {}).get("score", 0.0)),
        counts=scores.get(t["code"], {}).get("counts", dict.fromkeys(PRIORITIES, 0)),
    ) for t, g in zip(townships, geoms)]
    by_facility: dict[int, list[dict]] = {}
    for u in follow:
        if u["facility_id"] is not None:
            by_facility.setdefault(u["facility_id"], []).append(u)
    warned = []
    for a in alerts:
        covered, geom, source = warned_area(a, codes, geoms)
        ordered = tuple(sorted(covered))
        warned.append(WarnedArea(a, ordered, tuple(names[c] for c in ordered), geom, source))
    return ReadModel(views, follow, facilities, warned, by_facility)
