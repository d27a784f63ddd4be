"""Rules: turn warnings, the calendar and facility status into follow-ups, and say why.

Rules are data (`[[rules]]` in config.toml), loaded and checked by `monitor.ruleset`.
Evaluation is pure and columnar:

    Facilities   every facility as numpy columns (kind, status and subtype as small integer
                 codes, dates as day numbers), from `Facilities.from_store` or `facility_arrays`
    prepare_areas  each active warning's geometry (prepared once) and the townships its
                 division codes cover
    evaluate     per rule: a lookup-table mask for kind/subtype/status, one point-in-area test
                 per warned area (shared by every rule), the best priority over the warnings
                 that cover each site, and the set of warnings that caused it
    follow_up_rows  the follow-ups with reasons; a reason is formatted once per distinct
                 (rule, kind, subtype, status, cause) and shared, so a million sites cost
                 about as much as the point-in-area tests themselves
    explain      for one facility: each rule, whether it matched, and why or why not

Calendar rules: the pre-season window and the heating season (inspections not done since they
opened), heating access blocked by flood damage in those months, and the forest-fire prevention
period (every qualifying site, at `priority_high` in the high fire-risk period).

Forecast-derived hazards (alerts of format 'forecast', see monitor.alerts.forecast) flow through
the same hazard rules as official warnings; a rule can leave them out with `forecasts = false`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import shapely

from . import kinds as K
from .alerts.hazards import HAZARDS as HAZARD_NAMES
from .ruleset import COLOUR_ZH, COLOURS, PRIORITIES, Rule, Season
from .divisions import covered_townships
from .spatial import alert_shape, points_in

KIND_CODES = tuple(K.KINDS)
STATUS_PAIRS = tuple((k, s) for k in K.KINDS for s in K.KINDS[k].statuses)
SUBTYPE_PAIRS = tuple((k, s) for k in K.KINDS for s in K.KINDS[k].subtypes)
_STATUS_INDEX = {p: i for i, p in enumerate(STATUS_PAIRS)}
_SUBTYPE_INDEX = {p: i for i, p in enumerate(SUBTYPE_PAIRS)}
NEVER = 0                 # `inspected` day number of a site never inspected (before every date)
NO_DUE = 2 ** 31 - 1      # `due` day number of a site without a due date (after every date)
_NONE = 9                 # rank of "no hit" while taking minima (P1 = 1 ... P3 = 3)


# --- facilities as columns --------------------------------------------------------------------

@dataclass
class Facilities:
    """Every facility as numpy columns (row i is one facility), typed for vectorised tests."""
    id: np.ndarray          # int64
    kind: np.ndarray        # int16 index into KIND_CODES, -1 unknown
    status: np.ndarray      # int16 index into STATUS_PAIRS (kind, status), -1 unknown
    subtype: np.ndarray     # int16 index into SUBTYPE_PAIRS (kind, subtype), -1 unknown
    lon: np.ndarray         # float64
    lat: np.ndarray
    township: np.ndarray    # int32 index into `townships`, -1 none
    households: np.ndarray  # int64
    inspected: np.ndarray   # int32 day number (date.toordinal) of the last inspection; NEVER
    due: np.ndarray         # int32 day number of the due date; NO_DUE
    blocks_heating: np.ndarray  # bool
    townships: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.id)

    @classmethod
    def from_store(cls, store, townships: list[str], rules: list[Rule] | None = None) -> "Facilities":
        """Read the facilities from the store: one query, a few dictionary passes, no per-row
        objects kept. With `rules`, only those whose kind and status some rule takes (the
        others cannot match, and at 10^6 sites each row read costs about 1 us)."""
        numeric, coded = store.facility_column_arrays(
            {"id": "i8", "lon": "f8", "lat": "f8", "households": "i8"},
            [("kind", "subtype", "status", "township", "blocks_heating"), ("last_inspected", "due")],
            kind_statuses=None if rules is None else {p for r in rules for p in r.statuses},
        )
        codes, values = coded[("kind", "subtype", "status", "township", "blocks_heating")]
        town_index = {t: i for i, t in enumerate(townships)}
        lut = np.array([(*_codes(k, sub, st), town_index.get(t, -1), int(b not in (None, "0")))
                        for k, sub, st, t, b in values], dtype=np.int32).reshape(len(values), 5)
        per = lut[codes]
        dates, date_values = coded[("last_inspected", "due")]
        date_lut = np.array([(_day(i, NEVER), _day(d, NO_DUE)) for i, d in date_values],
                            dtype=np.int32).reshape(len(date_values), 2)
        when = date_lut[dates]
        return cls(
            id=numeric["id"], kind=per[:, 0].astype(np.int16), status=per[:, 1].astype(np.int16),
            subtype=per[:, 2].astype(np.int16), lon=numeric["lon"], lat=numeric["lat"],
            township=per[:, 3].copy(), households=numeric["households"],
            inspected=when[:, 0].copy(), due=when[:, 1].copy(),
            blocks_heating=per[:, 4].astype(bool), townships=tuple(townships),
        )


def _codes(kind: str | None, subtype: str | None, status: str | None) -> tuple[int, int, int]:
    return (KIND_CODES.index(kind) if kind in K.KINDS else -1,
            _STATUS_INDEX.get((kind, status), -1), _SUBTYPE_INDEX.get((kind, subtype), -1))


def _day(text: str | None, missing: int) -> int:
    """A stored date or time ('2021-10-01', '2021-10-01T08:00:00Z') to its day number; `missing` if none."""
    if not text:
        return missing
    try:
        return date.fromisoformat(str(text)[:10]).toordinal()
    except ValueError:
        return missing


def facility_arrays(columns: dict[str, list], townships: list[str] | None = None) -> Facilities:
    """`Facilities` from plain column lists (id, kind, subtype, status, lon, lat, township,
    households, last_inspected, due, blocks_heating), as tests and `explain` have them."""
    towns = list(townships) if townships is not None else sorted({t for t in columns["township"] if t})
    town_index = {t: i for i, t in enumerate(towns)}
    codes = np.array([_codes(k, sub, st) for k, sub, st in zip(columns["kind"], columns["subtype"],
                                                                columns["status"])], dtype=np.int16).reshape(-1, 3)
    return Facilities(
        id=np.asarray(columns["id"], dtype=np.int64),
        kind=codes[:, 0], status=codes[:, 1], subtype=codes[:, 2],
        lon=np.asarray(columns["lon"], dtype=np.float64), lat=np.asarray(columns["lat"], dtype=np.float64),
        township=np.array([town_index.get(t, -1) for t in columns["township"]], dtype=np.int32),
        households=np.array([h or 0 for h in columns["households"]], dtype=np.int64),
        inspected=np.array([_day(d, NEVER) for d in columns["last_inspected"]], dtype=np.int32),
        due=np.array([_day(d, NO_DUE) for d in columns["due"]], dtype=np.int32),
        blocks_heating=np.array([bool(b) and str(b) != "0" for b in columns["blocks_heating"]], dtype=bool),
        townships=tuple(towns),
    )


def _lut(size: int, true_at) -> np.ndarray:
    """A boolean lookup table with one spare False slot at the end, which index -1 reaches."""
    table = np.zeros(size + 1, dtype=bool)
    table[list(true_at)] = True
    return table


# --- warned areas ----------------------------------------------------------------------------

@dataclass
class Area:
    """One active warning, ready for point tests."""
    index: int
    alert: dict
    hazard: str
    colour: str | None        # None counts as blue
    forecast: bool            # derived from a forecast threshold, not an official warning
    geometry: object          # shapely geometry (prepared) or None
    township_codes: frozenset[str]

    @property
    def level(self) -> int:
        return COLOURS.index(self.colour) if self.colour in COLOURS else 0

    @property
    def label(self) -> str:
        a = self.alert
        head = a.get("headline") or a.get("event") or self.hazard
        return f"#{a.get('id', self.index)} {self.hazard} {self.colour or 'no colour'}: {head}"


def prepare_areas(alerts: list[dict], township_codes: list[str]) -> list[Area]:
    """Each alert with its area: its polygons and circles (prepared once) where it has any, else
    the townships its division codes cover. Geometry wins because it is the precise statement:
    a CAP message from 怀柔区气象台 with a polygon also gets the district's code (from its
    sender), and that must not widen the polygon to the whole district."""
    out = []
    for i, a in enumerate(alerts):
        geom = alert_shape(a)
        if geom is not None:
            shapely.prepare(geom)
            towns = frozenset()
        else:
            towns = frozenset(covered_townships(a.get("division_codes"), township_codes))
        colour = a.get("colour") if a.get("colour") in COLOURS else None
        out.append(Area(i, a, a.get("hazard") or "other", colour, a.get("format") == "forecast", geom, towns))
    return out


class _Inside:
    """Which facilities each area covers, computed once per area and shared by every rule."""

    def __init__(self, f: Facilities, areas: list[Area]):
        self.f, self.areas, self.cache = f, areas, {}
        self.town_index = {t: i for i, t in enumerate(f.townships)}

    def __call__(self, j: int) -> np.ndarray:
        if j not in self.cache:
            a, f = self.areas[j], self.f
            mask = points_in(a.geometry, f.lon, f.lat)
            if a.township_codes:
                mask |= _lut(len(f.townships), [self.town_index[t] for t in a.township_codes
                                                 if t in self.town_index])[f.township]
            self.cache[j] = mask
        return self.cache[j]


# --- evaluation ------------------------------------------------------------------------------

@dataclass
class Hits:
    """One rule's matches: facility row indexes, priorities, and what caused each.

    `group[k]` indexes `groups`: for hazard rules a tuple of area indexes (the warnings covering
    the site, best first); for the calendar rules the date the reason names (a day number).
    """
    rule: Rule
    rows: np.ndarray
    rank: np.ndarray                       # 1 = P1 ... 3 = P3, after the households raise
    group: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    groups: list = field(default_factory=list)
    cutoff: date | None = None             # calendar rules: the date inspections are counted from


@functools.lru_cache(maxsize=256)
def _rule_luts(statuses: frozenset, subtypes: frozenset) -> tuple[np.ndarray, np.ndarray | None]:
    status = _lut(len(STATUS_PAIRS), [_STATUS_INDEX[p] for p in statuses])
    subtype = _lut(len(SUBTYPE_PAIRS), [_SUBTYPE_INDEX[p] for p in subtypes]) if subtypes else None
    return status, subtype


def base_mask(rule: Rule, f: Facilities) -> np.ndarray:
    """Kind, status and subtype tests as two table lookups (the status code carries the kind)."""
    status, subtype = _rule_luts(rule.statuses, rule.subtypes)
    mask = status[f.status]
    if subtype is not None:
        mask &= subtype[f.subtype]
    return mask


def qualifying(rule: Rule, areas: list[Area]) -> list[Area]:
    """The warnings that can trigger a hazard rule: its hazards, at least its colour, forecasts if allowed."""
    low = COLOURS.index(rule.min_colour)
    return [a for a in areas if a.hazard in rule.hazards and a.level >= low and (rule.forecasts or not a.forecast)]


def calendar_cutoff(rule: Rule, today: date, season: Season) -> date | None:
    """The date a calendar rule counts inspections from, or None when the rule is not active today."""
    if rule.trigger == "preseason":
        if not season.preseason_start <= today < season.start:
            return None
        start = season.preseason_start
    elif rule.trigger == "season":
        if not season.start <= today <= season.end:
            return None
        start = season.start
    elif rule.trigger == "access":
        return season.start if season.preseason_start <= today <= season.end else None
    elif rule.trigger == "fire_period":
        return season.fire.start if season.fire else None
    else:
        return None
    if rule.max_age_days:
        start = max(start, today - timedelta(days=rule.max_age_days))
    return start


def evaluate(f: Facilities, areas: list[Area], rules: list[Rule], *, today: date, season: Season,
             households_raise=()) -> list[Hits]:
    """Every rule's hits. `areas` from `prepare_areas` (active warnings only)."""
    n = len(f)
    inside = _Inside(f, areas)
    steps = tuple(households_raise)
    raised = np.zeros(n, np.int8)
    for t in steps:
        if t:
            raised += f.households >= t
    results = []
    for rule in rules:
        base = base_mask(rule, f)
        groups: list = []
        cutoff = None
        if rule.trigger == "hazard":
            areas_ = sorted(qualifying(rule, areas), key=lambda a: (rule.rank(a.colour), -a.level, a.index))
            rank = np.full(n, _NONE, dtype=np.int8)
            for a in areas_:  # best rank first, so a site keeps the first rank that reaches it
                hit = base & inside(a.index)
                hit &= rank > rule.rank(a.colour)
                rank[hit] = rule.rank(a.colour)
            rows = np.flatnonzero(rank < _NONE)
            rank = rank[rows]
            group, groups = _cause_groups(rows, [inside(a.index) for a in areas_], [a.index for a in areas_])
        else:
            if rule.trigger == "overdue":
                m = base & (f.due < today.toordinal())
                key = f.due
            else:
                cutoff = calendar_cutoff(rule, today, season)
                if cutoff is None:
                    m = np.zeros(n, bool)
                elif rule.trigger == "access":
                    m = base & f.blocks_heating
                elif rule.trigger == "fire_period":
                    m = base.copy()  # every qualifying site goes on the patrol list for the period
                else:
                    m = base & (f.inspected < cutoff.toordinal())
                key = f.inspected
            rows = np.flatnonzero(m)
            rank = np.full(len(rows), _calendar_rank(rule, today, season), dtype=np.int8)
            values, group = np.unique(key[rows], return_inverse=True)
            groups = [int(v) for v in values]
            group = group.astype(np.int32).ravel()
        if steps and len(rows):
            rank = np.maximum(rank - raised[rows], 1).astype(np.int8)
        results.append(Hits(rule, rows, rank, group, groups, cutoff))
    return results


def _calendar_rank(rule: Rule, today: date, season: Season) -> int:
    """A non-hazard rule's rank: its priority, or priority_high in the high fire-risk period."""
    if rule.trigger == "fire_period" and rule.priority_high and season.fire and season.fire.high(today):
        return int(rule.priority_high[1])
    return rule.rank(None)


def _cause_groups(rows: np.ndarray, masks: list[np.ndarray], ids: list[int]) -> tuple[np.ndarray, list]:
    """For each hit, the index of its set of covering areas in a list of distinct sets."""
    if not len(rows):
        return np.empty(0, np.int32), []
    k = len(masks)
    if k <= 63:
        code = np.zeros(len(rows), np.uint64)
        for j, m in enumerate(masks):
            code |= m[rows].astype(np.uint64) << np.uint64(j)
    else:
        bits = np.empty((len(rows), k), bool)
        for j, m in enumerate(masks):
            bits[:, j] = m[rows]
        packed = np.ascontiguousarray(np.packbits(bits, axis=1))
        code = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    values, group = np.unique(code, return_inverse=True)
    groups = []
    for v in values:
        if k <= 63:
            members = [ids[j] for j in range(k) if int(v) >> j & 1]
        else:
            flags = np.unpackbits(np.frombuffer(v.tobytes(), np.uint8))[:k]
            members = [ids[j] for j in np.flatnonzero(flags)]
        groups.append(tuple(members))
    return group.astype(np.int32).ravel(), groups


# --- follow-ups with reasons ------------------------------------------------------------------

class _Blank(dict):
    def __missing__(self, key):
        return ""


@dataclass
class RuleFollowUps:
    """One rule's follow-ups as columns; `text[k]` indexes `texts` (reason, reason_en, causes JSON, causes)."""
    rule: str
    facility_id: np.ndarray
    priority: np.ndarray       # 1..3
    text: np.ndarray
    texts: list[tuple[str, str, str, list]]
    township: np.ndarray       # township index per follow-up (-1 none), for scores


@dataclass
class FollowUps:
    blocks: list[RuleFollowUps]
    townships: tuple[str, ...] = ()

    def __len__(self) -> int:
        return sum(len(b.facility_id) for b in self.blocks)

    def tuples(self):
        """(facility_id, township, rule, priority, reason, reason_en, causes JSON) per follow-up,
        the shape `Store.sync_follow_up_rows` takes (township is for township-wide follow-ups)."""
        for b in self.blocks:
            texts = b.texts
            labels = ("", "P1", "P2", "P3")
            for fid, p, t in zip(b.facility_id.tolist(), b.priority.tolist(), b.text.tolist()):
                reason, reason_en, causes, _ = texts[t]
                yield (fid, None, b.rule, labels[p], reason, reason_en, causes)

    def dicts(self) -> list[dict]:
        out = []
        for b in self.blocks:
            for fid, p, t, town in zip(b.facility_id.tolist(), b.priority.tolist(), b.text.tolist(),
                                       b.township.tolist()):
                reason, reason_en, _, causes = b.texts[t]
                out.append({"facility_id": fid, "township": None,
                            "township_code": self.townships[town] if town >= 0 else None,
                            "rule": b.rule, "priority": f"P{p}", "reason": reason, "reason_en": reason_en,
                            "causes": causes})
        return out

    def by_priority(self) -> dict[str, int]:
        counts = {p: 0 for p in PRIORITIES}
        for b in self.blocks:
            for p, c in zip(*np.unique(b.priority, return_counts=True)):
                counts[f"P{int(p)}"] += int(c)
        return {p: c for p, c in counts.items() if c}


def follow_up_rows(hits: list[Hits], f: Facilities, areas: list[Area], *, today: date,
                   season: Season) -> FollowUps:
    """The follow-ups of `hits` with reasons and causes, formatted once per distinct case."""
    blocks = []
    for h in hits:
        if not len(h.rows):
            blocks.append(RuleFollowUps(h.rule.id, np.empty(0, np.int64), np.empty(0, np.int8),
                                        np.empty(0, np.int32), [], np.empty(0, np.int32)))
            continue
        status, subtype = f.status[h.rows].astype(np.int64), f.subtype[h.rows].astype(np.int64)
        key = (status * (len(SUBTYPE_PAIRS) + 1) + subtype) * max(len(h.groups), 1) + h.group
        _, first, which = np.unique(key, return_index=True, return_inverse=True)  # first: one hit per case
        texts = []
        for k in first:
            i = h.rows[k]
            texts.append(_texts(h, int(h.group[k]), int(f.status[i]), int(f.subtype[i]), areas,
                                today=today, season=season))
        blocks.append(RuleFollowUps(h.rule.id, f.id[h.rows], h.rank, which.astype(np.int32).ravel(), texts,
                                    f.township[h.rows]))
    return FollowUps(blocks, f.townships)


def _texts(h: Hits, group: int, status: int, subtype: int, areas: list[Area], *, today: date,
           season: Season) -> tuple[str, str, str, list]:
    rule = h.rule
    kind_code, status_code = STATUS_PAIRS[status] if status >= 0 else (None, None)
    kind = K.KINDS.get(kind_code)
    st = kind.statuses.get(status_code) if kind else None
    sub = kind.subtypes.get(SUBTYPE_PAIRS[subtype][1]) if kind and subtype >= 0 else None
    values = _Blank(
        kind=kind.zh if kind else "", kind_en=kind.en if kind else "",
        status=st.zh if st else (status_code or ""), status_en=st.en if st else (status_code or ""),
        subtype=sub[0] if sub else "", subtype_en=sub[1] if sub else "",
        season_start=season.start.isoformat(), season_end=season.end.isoformat(),
        preseason_start=season.preseason_start.isoformat(), max_age_days=rule.max_age_days or "",
    )
    fire = season.fire
    if fire:
        high = fire.high(today)
        values.update(fire_start=fire.start.isoformat(), fire_end=fire.end.isoformat(),
                      fire_period="森林高火险期" if high else "森林防火期",
                      fire_period_en="high fire-risk period" if high else "forest-fire prevention period")
    causes: list = []
    if rule.trigger == "hazard":
        cause_areas = [areas[j] for j in h.groups[group]]
        top = cause_areas[0]  # best priority, then highest colour: evaluate sorts them so
        a = top.alert
        named = HAZARD_NAMES.get(top.hazard)
        values.update(
            hazard=a.get("hazard_zh") or (named.zh if named else a.get("event")) or top.hazard,
            hazard_en=a.get("hazard_en") or (named.en if named else a.get("event_en")) or top.hazard,
            colour=COLOUR_ZH.get(top.colour, ""), colour_en=(top.colour or "").capitalize(),
            headline=a.get("headline") or a.get("event") or "",
            headline_en=a.get("headline_en") or a.get("headline") or a.get("event_en") or "",
            alerts=len(cause_areas),
        )
        # compact (a city has hundreds of thousands of these): the alert id leads to the rest
        causes = [{"alert": c.alert.get("id"), "hazard": c.hazard, "colour": c.colour,
                   "source": "forecast" if c.forecast else "warning"} for c in cause_areas]
    elif rule.trigger == "overdue":
        due = date.fromordinal(h.groups[group])
        values.update(due=due.isoformat(), days=(today - due).days)
        causes = [{"date": due.isoformat(), "what": "due date passed"}]
    else:
        inspected = h.groups[group]
        values.update(since=h.cutoff.isoformat(),
                      inspected=date.fromordinal(inspected).isoformat() if inspected != NEVER else "从未",
                      inspected_en=date.fromordinal(inspected).isoformat() if inspected != NEVER else "never")
        what = {"preseason": f"pre-season window {season.preseason_start}..{season.preseason_end}",
                "season": f"heating season {season.start}..{season.end}",
                "access": f"pre-season and heating season {season.preseason_start}..{season.end}",
                "fire_period": _fire_words(season.fire, today)}[rule.trigger]
        if rule.max_age_days and rule.trigger in ("season", "preseason"):
            what += f", inspections older than {rule.max_age_days} days count as none"
        causes = [{"date": h.cutoff.isoformat(), "what": what}]
    return (rule.reason.format_map(values), rule.reason_en.format_map(values),
            json.dumps(causes, ensure_ascii=False, separators=(",", ":")), causes)


def _fire_words(fire, today: date) -> str:
    if fire is None:
        return ""
    words = f"forest-fire prevention period {fire.start}..{fire.end}"
    if fire.high(today):
        words += f", high fire-risk period {fire.high_start}..{fire.high_end}"
    return words


def follow_ups(hits: list[Hits], f: Facilities, areas: list[Area], *, today: date, season: Season) -> list[dict]:
    """The follow-ups as dicts (facility_id, township_code, rule, priority, reason, reason_en, causes)."""
    return follow_up_rows(hits, f, areas, today=today, season=season).dicts()


def risk_scores(rows: list[dict], weights: dict[str, float]) -> dict[str, float]:
    """Township risk score: the sum, over the township's open follow-ups, of their priority's weight.

    score(t) = w_P1 * n_P1(t) + w_P2 * n_P2(t) + w_P3 * n_P3(t), with n_P(t) the open follow-ups of
    priority P at sites in township t (or for t itself) and the weights [priority] score_weights
    (default 5, 3, 1). A site with two follow-ups counts twice: each is a job to do.
    """
    scores: dict[str, float] = {}
    for r in rows:
        t = r.get("township_code")
        if t:
            scores[t] = scores.get(t, 0.0) + float(weights.get(r["priority"], 0))
    return scores


# --- explaining one facility -------------------------------------------------------------------

def explain(f: Facilities, areas: list[Area], rules: list[Rule], *, today: date, season: Season,
            households_raise=()) -> list[dict]:
    """For the one facility in `f`: every rule, whether it matched, its priority and reason, and the
    checks that decided it, each (passed, words). Uses `evaluate` itself, so it cannot disagree."""
    assert len(f) == 1, "explain takes one facility"
    hits = evaluate(f, areas, rules, today=today, season=season, households_raise=households_raise)
    rows = follow_up_rows(hits, f, areas, today=today, season=season).dicts()
    by_rule = {r["rule"]: r for r in rows}
    inside = _Inside(f, areas)
    kind_code, status_code = STATUS_PAIRS[f.status[0]] if f.status[0] >= 0 else (None, None)
    subtype_code = SUBTYPE_PAIRS[f.subtype[0]][1] if f.subtype[0] >= 0 else None
    steps = tuple(households_raise)
    out = []
    for rule in rules:
        checks = []
        ok_kind = kind_code in rule.kinds
        checks.append((ok_kind, f"kind {kind_code} {'in' if ok_kind else 'not in'} [{', '.join(rule.kinds)}]"))
        if not ok_kind:  # nothing else about the rule can matter
            out.append({"rule": rule.id, "trigger": rule.trigger, "matched": False, "priority": None,
                        "reason": None, "reason_en": None, "causes": [],
                        "checks": [{"ok": False, "why": checks[0][1]}]})
            continue
        if rule.subtypes:
            subs = sorted({s for _, s in rule.subtypes})
            ok = (kind_code, subtype_code) in rule.subtypes
            checks.append((ok, f"subtype {subtype_code} {'in' if ok else 'not in'} [{', '.join(subs)}]"))
        ok = (kind_code, status_code) in rule.statuses
        checks.append((ok, f"status {status_code} {'in' if ok else 'not in'} [{', '.join(rule.status_names)}]"))
        checks += _trigger_checks(rule, f, areas, inside, today, season)
        hit = by_rule.get(rule.id)
        if hit and steps:
            h = int(f.households[0])
            reached = [t for t in steps if h >= t]
            if reached:
                checks.append((True, f"serves {h} households (at least {reached[-1]}): priority raised "
                                     f"{len(reached)} level{'s' if len(reached) > 1 else ''}"))
        out.append({"rule": rule.id, "trigger": rule.trigger, "matched": hit is not None,
                    "priority": hit["priority"] if hit else None, "reason": hit["reason"] if hit else None,
                    "reason_en": hit["reason_en"] if hit else None, "causes": hit["causes"] if hit else [],
                    "checks": [{"ok": bool(ok), "why": why} for ok, why in checks]})
    return out


def _trigger_checks(rule: Rule, f: Facilities, areas: list[Area], inside: _Inside, today: date,
                    season: Season) -> list[tuple[bool, str]]:
    if rule.trigger == "hazard":
        names = "/".join(sorted(rule.hazards))
        relevant = [a for a in areas if a.hazard in rule.hazards]
        if not relevant:
            return [(False, f"no active warning of {names}")]
        covering = [a for a in relevant if inside(a.index)[0]]
        if not covering:
            return [(False, f"no active warning of {names} covers it ({len(relevant)} in force elsewhere)")]
        good = set(id(a) for a in qualifying(rule, covering))
        out = []
        for a in covering:
            if id(a) in good:
                out.append((True, f"covered by {a.label}"))
            elif a.level < COLOURS.index(rule.min_colour):
                out.append((False, f"covered by {a.label}, below the rule's min colour {rule.min_colour}"))
            else:
                out.append((False, f"covered by {a.label}, a forecast, and the rule takes no forecasts"))
        return out
    if rule.trigger == "overdue":
        due = int(f.due[0])
        if due == NO_DUE:
            return [(False, "no due date")]
        d = date.fromordinal(due)
        if due < today.toordinal():
            return [(True, f"due {d} has passed ({(today - d).days} days)")]
        return [(False, f"due {d} has not passed (today {today})")]
    cutoff = calendar_cutoff(rule, today, season)
    if rule.trigger == "fire_period":
        if cutoff is None:
            return [(False, f"not in the forest-fire prevention period (today {today})")]
        return [(True, f"in the {_fire_words(season.fire, today)}")]
    window = {"preseason": ("the pre-season window", season.preseason_start, season.preseason_end),
              "season": ("the heating season", season.start, season.end),
              "access": ("the pre-season or heating season", season.preseason_start, season.end)}[rule.trigger]
    if cutoff is None:
        return [(False, f"not in {window[0]} {window[1]}..{window[2]} (today {today})")]
    out = [(True, f"in {window[0]} {window[1]}..{window[2]}")]
    if rule.trigger == "access":
        blocks = bool(f.blocks_heating[0])
        out.append((blocks, "marked as blocking heating access" if blocks else "not marked as blocking heating access"))
        return out
    inspected = int(f.inspected[0])
    last = date.fromordinal(inspected).isoformat() if inspected != NEVER else "never"
    if inspected < cutoff.toordinal():
        out.append((True, f"last inspected {last}, before {cutoff}"))
    else:
        out.append((False, f"inspected {last}, on or after {cutoff}"))
    return out
