"""Rules: turn warnings, the calendar and facility status into follow-ups.

Rules are data (`[[rules]]` in config.toml, checked by `load_rules`). Evaluation is a pure
function over whole columns of facilities (numpy arrays) and the active warned areas; every
test is vectorised, so a million sites cost about as much as the point-in-area tests themselves.
`evaluate` returns raw hits; `follow_ups` turns them into rows with reasons a person can read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np

from . import kinds as K
from .config import Config
from .errors import ConfigError
from .spatial import area_geometry, covered_townships, points_in

PRIORITIES = ("P1", "P2", "P3")
COLOURS = ("blue", "yellow", "orange", "red")
COLOUR_ZH = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色", None: ""}
HAZARDS = ("cold_wave", "low_temperature", "blizzard", "road_icing", "gale", "forest_fire",
           "rainstorm", "frost", "other")
TRIGGERS = ("hazard", "preseason", "season", "overdue", "access")
RULE_KEYS = {"id", "trigger", "kinds", "subtypes", "statuses", "hazards", "min_colour", "priority",
             "reason", "reason_en"}
FACILITY_FIELDS = ("id", "kind", "subtype", "status", "lon", "lat", "township", "households",
                   "last_inspected", "due", "blocks_heating")


@dataclass(frozen=True)
class Rule:
    id: str
    trigger: str
    kinds: tuple[str, ...]
    statuses: frozenset[str]
    priority: dict[str | None, str]  # colour (None for non-hazard rules) -> priority
    reason: str
    reason_en: str
    subtypes: frozenset[str] = frozenset()
    hazards: frozenset[str] = frozenset()
    min_colour: str = "blue"


@dataclass
class Season:
    start: date           # the heating season that is current or next, as seen at `today`
    end: date
    preseason_start: date


@dataclass
class Hits:
    """One rule's matches: facility row indexes, priorities, and what caused each."""
    rule: Rule
    rows: np.ndarray
    rank: np.ndarray                      # 1 = P1 ... 3 = P3
    causes: list = field(default_factory=list)  # per hit: alert indexes (hazard) or None


# --- loading ---------------------------------------------------------------------------------

def load_rules(config: Config) -> list[Rule]:
    raw = config.data.get("rules", [])
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{config.path}: no [[rules]]; the shipped config.toml lists the defaults")
    rules, seen = [], set()
    line = 1
    for n, r in enumerate(raw, start=1):
        line = config.line_of(f'"{r.get("id", "")}"', line) or config.line_of("[[rules]]", line)

        def bad(msg: str, key: str | None = None) -> ConfigError:
            at = config.line_of(key, line) if key else line
            return ConfigError(f"{config.path}:{at or line}: rule {r.get('id', n)}: {msg}")

        unknown = set(r) - RULE_KEYS
        if unknown:
            key = sorted(unknown)[0]
            raise bad(f"unknown key '{key}'; known: {', '.join(sorted(RULE_KEYS))}", key)
        for key in ("id", "trigger", "kinds", "statuses", "priority", "reason"):
            if key not in r:
                raise bad(f"missing '{key}'")
        if r["id"] in seen:
            raise bad("duplicate id", "id")
        seen.add(r["id"])
        if r["trigger"] not in TRIGGERS:
            raise bad(f"unknown trigger '{r['trigger']}'; known: {', '.join(TRIGGERS)}", "trigger")
        kinds_ = tuple(r["kinds"]) if isinstance(r["kinds"], list) else (r["kinds"],)
        for k in kinds_:
            if k not in K.KINDS:
                raise bad(f"unknown kind '{k}'; known: {', '.join(K.KINDS)}", "kinds")
        statuses = r["statuses"]
        if statuses == "open":
            statuses = {s.code for k in kinds_ for s in K.KINDS[k].statuses.values() if s.open}
        elif isinstance(statuses, list):
            valid = {s for k in kinds_ for s in K.KINDS[k].statuses}
            for s in statuses:
                if s not in valid:
                    raise bad(f"unknown status '{s}' for {'/'.join(kinds_)}; known: {', '.join(sorted(valid))}",
                              "statuses")
        else:
            raise bad('statuses must be a list or "open"', "statuses")
        subtypes = r.get("subtypes", [])
        valid_sub = {s for k in kinds_ for s in K.KINDS[k].subtypes}
        for s in subtypes:
            if s not in valid_sub:
                raise bad(f"unknown subtype '{s}'; known: {', '.join(sorted(valid_sub))}", "subtypes")
        hazards = r.get("hazards", [])
        if r["trigger"] == "hazard" and not hazards:
            raise bad("a hazard rule needs 'hazards'")
        for h in hazards:
            if h not in HAZARDS:
                raise bad(f"unknown hazard '{h}'; known: {', '.join(HAZARDS)}", "hazards")
        min_colour = r.get("min_colour", "blue")
        if min_colour not in COLOURS:
            raise bad(f"unknown colour '{min_colour}'; known: {', '.join(COLOURS)}", "min_colour")
        priority = r["priority"]
        if isinstance(priority, dict):
            for c, p in priority.items():
                if c not in COLOURS:
                    raise bad(f"unknown colour '{c}' in priority; known: {', '.join(COLOURS)}", "priority")
                if p not in PRIORITIES:
                    raise bad(f"unknown priority '{p}'; use P1, P2 or P3", "priority")
            missing = [c for c in COLOURS[COLOURS.index(min_colour):] if c not in priority]
            if missing:
                raise bad(f"priority has no entry for {', '.join(missing)}", "priority")
            table = dict(priority)
        elif priority in PRIORITIES:
            table = {c: priority for c in (*COLOURS, None)}
        else:
            raise bad(f"unknown priority '{priority}'; use P1, P2 or P3 or a table by colour", "priority")
        rules.append(Rule(
            id=r["id"], trigger=r["trigger"], kinds=kinds_, statuses=frozenset(statuses),
            priority=table, reason=r["reason"], reason_en=r.get("reason_en", ""),
            subtypes=frozenset(subtypes), hazards=frozenset(hazards), min_colour=min_colour,
        ))
    return rules


def season_at(config: Config, today: date) -> Season:
    """The heating season current at `today`, or the next one if none is."""
    s = config.section("season")
    sm, sd = (int(x) for x in s.get("heating_start", "11-15").split("-"))
    em, ed = (int(x) for x in s.get("heating_end", "03-15").split("-"))
    lead = int(s.get("preseason_days", 45))
    for year in (today.year - 1, today.year):
        start = date(year, sm, sd)
        end = date(year + 1 if (em, ed) < (sm, sd) else year, em, ed)
        if today <= end:
            return Season(start, end, start - timedelta(days=lead))
    start = date(today.year + 1, sm, sd)
    return Season(start, date(today.year + 2, em, ed), start - timedelta(days=lead))


# --- evaluation ------------------------------------------------------------------------------

def facility_arrays(columns: dict[str, list]) -> dict[str, np.ndarray]:
    """Columns as the store gives them, typed for vectorised tests."""
    out = {c: np.asarray(columns[c], dtype=object) for c in ("kind", "subtype", "status", "township",
                                                             "last_inspected", "due")}
    out["id"] = np.asarray(columns["id"], dtype=np.int64)
    out["lon"] = np.asarray(columns["lon"], dtype=np.float64)
    out["lat"] = np.asarray(columns["lat"], dtype=np.float64)
    out["households"] = np.asarray([h or 0 for h in columns["households"]], dtype=np.int64)
    out["blocks_heating"] = np.asarray([b or 0 for b in columns["blocks_heating"]], dtype=bool)
    # ISO dates compare as strings; "" sorts before every date (= never inspected / no due date)
    out["last_inspected"] = np.asarray([(d or "")[:10] for d in out["last_inspected"]], dtype="U10")
    out["due"] = np.asarray([(d or "")[:10] for d in out["due"]], dtype="U10")
    return out


def prepare_areas(alerts: list[dict], township_codes: list[str]) -> list[dict]:
    """Attach to each alert its geometry and the township codes its division codes cover."""
    out = []
    for a in alerts:
        area = a.get("area") or {}
        out.append({**a, "geometry": area_geometry(area.get("polygons"), area.get("circles")),
                    "township_set": covered_townships(a.get("division_codes"), township_codes)})
    return out


def evaluate(f: dict[str, np.ndarray], areas: list[dict], rules: list[Rule], *, today: date,
             season: Season, households_raise: int = 0) -> list[Hits]:
    """Every rule's hits. `f` from `facility_arrays`; `areas` from `prepare_areas` (active only)."""
    n = len(f["id"])
    inside_cache: dict[int, np.ndarray] = {}

    def inside(j: int) -> np.ndarray:
        if j not in inside_cache:
            a = areas[j]
            mask = points_in(a["geometry"], f["lon"], f["lat"])
            if a["township_set"]:
                mask |= np.isin(f["township"], list(a["township_set"]))
            inside_cache[j] = mask
        return inside_cache[j]

    today_s = today.isoformat()
    results = []
    for rule in rules:
        base = np.isin(f["kind"], rule.kinds) & np.isin(f["status"], list(rule.statuses))
        if rule.subtypes:
            base &= np.isin(f["subtype"], list(rule.subtypes))
        causes = None
        if rule.trigger == "hazard":
            # best (lowest) rank over the qualifying warnings, and which warnings
            rank = np.full(n, 9, dtype=np.int8)
            hitmask = []
            for j, a in enumerate(areas):
                colour = a.get("colour") or "blue"
                if a.get("hazard") not in rule.hazards or COLOURS.index(colour) < COLOURS.index(rule.min_colour):
                    continue
                m = base & inside(j)
                r = int(rule.priority[colour][1])
                rank[m] = np.minimum(rank[m], r)
                hitmask.append((j, m))
            rows = np.flatnonzero(rank < 9)
            rank = rank[rows]
            if len(rows):
                stack = np.vstack([m[rows] for _, m in hitmask])
                ids = [j for j, _ in hitmask]
                causes = [[ids[k] for k in np.flatnonzero(stack[:, c])] for c in range(len(rows))]
        else:
            if rule.trigger == "preseason":
                m = base & (f["last_inspected"] < season.preseason_start.isoformat()) \
                    if season.preseason_start <= today < season.start else np.zeros(n, bool)
            elif rule.trigger == "season":
                m = base & (f["last_inspected"] < season.start.isoformat()) \
                    if season.start <= today <= season.end else np.zeros(n, bool)
            elif rule.trigger == "overdue":
                m = base & (f["due"] != "") & (f["due"] < today_s)
            elif rule.trigger == "access":
                m = base & f["blocks_heating"] if season.preseason_start <= today <= season.end \
                    else np.zeros(n, bool)
            rows = np.flatnonzero(m)
            rank = np.full(len(rows), int(rule.priority[None][1]), dtype=np.int8)
        if households_raise:
            rank = np.where(f["households"][rows] >= households_raise, np.maximum(rank - 1, 1), rank)
        results.append(Hits(rule, rows, rank.astype(np.int8), causes or []))
    return results


# --- follow-up rows with reasons --------------------------------------------------------------

class _Blank(dict):
    def __missing__(self, key):
        return ""


def follow_ups(hits: list[Hits], f: dict[str, np.ndarray], areas: list[dict], *, today: date,
               season: Season) -> list[dict]:
    """Rows for the follow_ups table: facility, township, rule, priority, reasons, causes."""
    out = []
    for h in hits:
        rule = h.rule
        for k, i in enumerate(h.rows):
            kind = K.KINDS[f["kind"][i]]
            st = kind.statuses[f["status"][i]]
            values = _Blank(status=st.zh, status_en=st.en, due=f["due"][i],
                            inspected=f["last_inspected"][i] or "从未 never")
            causes: list = []
            if rule.trigger == "hazard":
                alerts = [areas[j] for j in h.causes[k]]
                top = max(alerts, key=lambda a: COLOURS.index(a.get("colour") or "blue"))
                values.update(
                    hazard=top.get("hazard_zh") or top.get("event") or top["hazard"],
                    hazard_en=top.get("hazard_en") or top["hazard"],
                    colour=COLOUR_ZH.get(top.get("colour"), ""), colour_en=(top.get("colour") or "").capitalize(),
                    headline=top.get("headline") or top.get("event") or "",
                )
                causes = [{"alert": a["id"], "hazard": a["hazard"], "colour": a.get("colour"),
                           "headline": a.get("headline")} for a in alerts]
            elif rule.trigger in ("preseason", "season", "access"):
                since = season.preseason_start if rule.trigger == "preseason" else season.start
                values["since"] = since.isoformat()
                causes = [{"date": since.isoformat(), "what": f"{rule.trigger} {season.start}..{season.end}"}]
            elif rule.trigger == "overdue":
                values["days"] = (today - date.fromisoformat(f["due"][i])).days
                causes = [{"date": f["due"][i], "what": "due"}]
            out.append({
                "facility_id": int(f["id"][i]), "township": None, "rule": rule.id,
                "priority": f"P{int(h.rank[k])}",
                "reason": rule.reason.format_map(values), "reason_en": rule.reason_en.format_map(values),
                "causes": causes,
            })
    return out


def risk_scores(rows: list[dict], weights: dict[str, float]) -> dict[str, float]:
    """Township risk score: the sum of the priority weights of its open follow-ups."""
    scores: dict[str, float] = {}
    for r in rows:
        t = r.get("township_code")
        if t:
            scores[t] = scores.get(t, 0.0) + float(weights.get(r["priority"], 0))
    return scores


def today_in(now: datetime, tz: str) -> date:
    from .clock import local_date

    return local_date(now, tz)
