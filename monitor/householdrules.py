"""Rules for people, not only equipment: which households need a visit, and which citizens'
calls need a follow-up, and why.

The rules are data: `[[rules]]` tables in config.toml with `target = "households"` or
`target = "calls"` (the facility rules, `monitor.ruleset`, pass over them). Checked whole at
load, an unknown key or name refused with its line.

Household rules (`target = "households"`):
    trigger = "hazard"   an active warning of one of `hazards` (at least `min_colour`) covering
                         the household's village (its point if known, else its township's label
                         point, or a division code covering its township)
    trigger = "cut_off"  a flood-damaged road, bridge or power line that is not repaired, marked
                         `blocks_heating`, whose name names the village (如 琉璃庙镇老公营村桥):
                         the village is cut off, from the pre-season window to the season's end
    heating              heating types it takes (default: all); `vulnerable = true`: only
                         households with a vulnerability flag
    devices / visit_days a household qualifies when its device is one of `devices`, or it has
                         not been visited within `visit_days` days (either; none given: all)
    priority             P1..P3, or by warning colour; `priority_elderly`: the priority for
                         the elderly living alone, when it is higher
Call rules (`target = "calls"`, trigger = "open"): a call of one of `categories` still
unresolved, received in the heating season; P1 (`priority_late`) once `late_hours` have passed
without a response.

Evaluated on demand over whole columns (numpy), so the district's 80,000 households cost a
few array operations per rule; the results are follow-ups by household ref (never a name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from . import clock
from .config import Config
from .errors import ConfigError
from .households import COMBUSTION, DEVICES, ELECTRIC, FLAGS, FLAG_NAMES, HEATING, villages
from .ruleset import COLOUR_ZH, COLOURS, HAZARDS, PRIORITIES, _Lines, season_at

TARGETS = ("households", "calls")
HOUSEHOLD_TRIGGERS = ("hazard", "cut_off")
HOUSEHOLD_KEYS = {"id", "target", "trigger", "hazards", "min_colour", "heating", "devices", "visit_days",
                  "vulnerable", "priority", "priority_elderly", "reason", "reason_en"}
CALL_KEYS = {"id", "target", "trigger", "categories", "late_hours", "priority", "priority_late", "reason",
             "reason_en"}
FIELDS = {"hazard", "hazard_en", "colour", "colour_en", "headline", "heating", "heating_en", "device",
          "device_en", "visit", "days", "village", "flags", "flags_en", "facility", "ticket", "received",
          "hours", "category"}
CUT_OFF_SUBTYPES = ("road", "bridge", "power_line")


@dataclass(frozen=True)
class PeopleRule:
    id: str
    target: str
    trigger: str
    priority: dict[str | None, str]
    reason: str
    reason_en: str
    hazards: frozenset[str] = frozenset()
    min_colour: str = "blue"
    heating: frozenset[str] = frozenset()
    devices: frozenset[str] = frozenset()
    visit_days: int | None = None
    vulnerable: bool = False
    priority_elderly: str | None = None
    categories: frozenset[str] = frozenset()
    late_hours: float | None = None
    priority_late: str | None = None


@dataclass
class FollowUp:
    """One household or call that needs someone, by ref (households) or ticket (calls)."""
    rule: str
    priority: str
    ref: str
    township: str | None
    village: str | None
    reason: str
    reason_en: str
    causes: list[int] = field(default_factory=list)   # alert ids, or the facility ids cutting the village off


def load(config: Config) -> list[PeopleRule]:
    lines = _Lines(config)
    out, seen = [], set()
    for n, r in enumerate(config.data.get("rules", []) or []):
        if isinstance(r, dict) and r.get("target") in TARGETS:
            out.append(_rule(config, lines, n, r, seen))
        elif isinstance(r, dict) and "target" in r and r.get("target") != "facilities":
            raise ConfigError(f"{config.path.name} 第 {lines.key(n, 'target') or '?'} 行：target 只能是 facilities、"
                              f"households 或 calls；{config.path}:{lines.key(n, 'target') or '?'}: target must be "
                              f"facilities, households or calls")
    return out


def _rule(config: Config, lines: _Lines, n: int, r: dict, seen: set) -> PeopleRule:
    def bad(msg: str, key: str | None = None) -> ConfigError:
        at = lines.key(n, key) or "?"
        return ConfigError(f"{config.path.name} 第 {at} 行：规则 {r.get('id', f'#{n + 1}')} 写得不对，请按后面的说明改正；"
                           f"{config.path}:{at}: rule {r.get('id', f'#{n + 1}')}: {msg}")

    target = r["target"]
    keys = HOUSEHOLD_KEYS if target == "households" else CALL_KEYS
    unknown = set(r) - keys
    if unknown:
        key = sorted(unknown)[0]
        raise bad(f"unknown key '{key}' for target = \"{target}\"; known: {', '.join(sorted(keys))}", key)
    for key in ("id", "trigger", "priority", "reason", "reason_en"):
        if key not in r:
            raise bad(f"missing '{key}'")
    if r["id"] in seen:
        raise bad("duplicate id (another rule has it)", "id")
    seen.add(r["id"])

    def names(key: str, allowed) -> frozenset[str]:
        value = r.get(key, [])
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad(f"'{key}' must be a list of names", key)
        wrong = [v for v in value if allowed is not None and v not in allowed]
        if wrong:
            raise bad(f"unknown {key} '{wrong[0]}'; known: {', '.join(allowed)}", key)
        return frozenset(value)

    def prio(key: str) -> str | None:
        v = r.get(key)
        if v is not None and v not in PRIORITIES:
            raise bad(f"'{key}' must be one of {', '.join(PRIORITIES)}", key)
        return v

    for key in ("reason", "reason_en"):
        import string

        try:
            used = {f for _, f, _, _ in string.Formatter().parse(r[key]) if f}
        except ValueError as e:
            raise bad(f"'{key}' is not a valid template ({e})", key) from None
        if used - FIELDS:
            raise bad(f"'{key}' names unknown field '{sorted(used - FIELDS)[0]}'; known: {', '.join(sorted(FIELDS))}",
                      key)
    p = r["priority"]
    if isinstance(p, str):
        priority = {None: prio("priority"), **{c: p for c in COLOURS}}
    elif isinstance(p, dict) and set(p) <= set(COLOURS) and all(v in PRIORITIES for v in p.values()):
        priority = {c: p.get(c, "P3") for c in COLOURS}
    else:
        raise bad("'priority' must be P1..P3 or a table of colour = P1..P3", "priority")
    trigger = r["trigger"]
    if target == "households":
        if trigger not in HOUSEHOLD_TRIGGERS:
            raise bad(f"unknown trigger '{trigger}'; known: {', '.join(HOUSEHOLD_TRIGGERS)}", "trigger")
        visit_days = r.get("visit_days")
        if visit_days is not None and (not isinstance(visit_days, int) or visit_days < 1):
            raise bad("'visit_days' must be a whole number of days (1 or more)", "visit_days")
        colour = r.get("min_colour", "blue")
        if colour not in COLOURS:
            raise bad(f"unknown min_colour '{colour}'; known: {', '.join(COLOURS)}", "min_colour")
        if trigger == "hazard" and not r.get("hazards"):
            raise bad("a hazard rule needs 'hazards'", "hazards")
        return PeopleRule(r["id"], target, trigger, priority, r["reason"], r["reason_en"],
                          hazards=names("hazards", HAZARDS), min_colour=colour, heating=names("heating", tuple(HEATING)),
                          devices=names("devices", tuple(DEVICES)), visit_days=visit_days,
                          vulnerable=bool(r.get("vulnerable", False)), priority_elderly=prio("priority_elderly"))
    if trigger != "open":
        raise bad(f"unknown trigger '{trigger}'; known: open", "trigger")
    late = r.get("late_hours")
    if late is not None and (not isinstance(late, (int, float)) or late <= 0):
        raise bad("'late_hours' must be a number of hours", "late_hours")
    return PeopleRule(r["id"], target, trigger, priority, r["reason"], r["reason_en"],
                      categories=names("categories", None), late_hours=late, priority_late=prio("priority_late"))


# --- households ------------------------------------------------------------------------------

def _village_points(store, codes: list[str]) -> tuple[list[float], list[float], list[str]]:
    """A point for each village: its own centre if known, else its township's label point."""
    towns = {t.code: t for t in store.township_records(with_geometry=False)}
    vs = villages()
    lons, lats, townships = [], [], []
    for code in codes:
        v = vs.by_code.get(code)
        t = towns.get(v.township if v else code[:9] + "000")
        lon = v.lon if v and v.lon is not None else (t.lon if t else None)
        lat = v.lat if v and v.lat is not None else (t.lat if t else None)
        lons.append(float("nan") if lon is None else lon)
        lats.append(float("nan") if lat is None else lat)
        townships.append(v.township if v else "")
    return lons, lats, townships


def _day(text: str | None) -> int:
    return date.fromisoformat(text[:10]).toordinal() if text else 0


def evaluate_households(store, config: Config, rules: list[PeopleRule], now: datetime,
                        alerts: list[dict]) -> list[FollowUp]:
    """The households each rule puts on the list, most urgent first."""
    import numpy as np

    from .rules import prepare_areas
    from .spatial import points_in

    rules = [r for r in rules if r.target == "households"]
    if not rules:
        return []
    cols = store.household_columns(("ref", "village_code", "village", "township", "heating", "device", "last_visit")
                                   + FLAGS)
    n = len(cols["ref"])
    if n == 0:
        return []
    today = clock.local_date(now, config.timezone)
    season = season_at(config, today)
    heating = np.array(cols["heating"], dtype=object)
    device = np.array(cols["device"], dtype=object)
    days = {v: _day(v) for v in set(cols["last_visit"])}  # a few hundred distinct dates
    visit = np.array([days[v] for v in cols["last_visit"]], dtype=np.int64)
    flags = {f: np.array(cols[f], dtype=bool) for f in FLAGS}
    any_flag = np.logical_or.reduce([flags[f] for f in FLAGS])
    codes = sorted(set(cols["village_code"]))
    vindex = {c: i for i, c in enumerate(codes)}
    hv = np.array([vindex[c] for c in cols["village_code"]], dtype=np.int64)
    vlon, vlat, vtown = _village_points(store, codes)
    townships = [t.code for t in store.township_records(with_geometry=False)]
    areas = prepare_areas(alerts, townships)
    covered: dict[int, np.ndarray] = {}

    def covers(j: int) -> np.ndarray:  # by village, then spread to households
        if j not in covered:
            a = areas[j]
            m = points_in(a.geometry, np.array(vlon), np.array(vlat)) if a.geometry is not None else \
                np.zeros(len(codes), dtype=bool)
            if a.township_codes:
                m |= np.array([t in a.township_codes for t in vtown], dtype=bool)
            covered[j] = m[hv]
        return covered[j]

    out: list[FollowUp] = []
    for rule in rules:
        base = np.ones(n, dtype=bool)
        if rule.heating:
            base &= np.frompyfunc(rule.heating.__contains__, 1, 1)(heating).astype(bool)
        if rule.vulnerable:
            base &= any_flag
        need = np.zeros(n, dtype=bool) if (rule.devices or rule.visit_days) else np.ones(n, dtype=bool)
        if rule.devices:
            need |= np.frompyfunc(rule.devices.__contains__, 1, 1)(device).astype(bool)
        if rule.visit_days:
            need |= visit < (today - timedelta(days=rule.visit_days)).toordinal()
        base &= need
        if not base.any():
            continue
        if rule.trigger == "hazard":
            best = np.full(n, 9, dtype=np.int64)
            cause: dict[int, list[int]] = {}
            by = np.full(n, -1, dtype=np.int64)
            for j, a in enumerate(areas):
                if a.hazard not in rule.hazards or a.level < COLOURS.index(rule.min_colour):
                    continue
                hit = base & covers(j)
                rank = int(rule.priority[a.colour or "blue"][1])
                better = hit & (rank < best)
                best[better] = rank
                by[better] = j
            rows = np.nonzero(best < 9)[0]
            for i in rows:
                a = areas[by[i]]
                out.append(_household_follow_up(rule, cols, i, int(best[i]), today, a=a))
        else:  # cut_off
            if not (season.preseason_start <= today <= season.end):
                continue
            cut = _cut_off_villages(store)
            for i in np.nonzero(base)[0]:
                found = cut.get(cols["village_code"][i])
                if found:
                    out.append(_household_follow_up(rule, cols, i, int(rule.priority[None][1]), today, cut=found))
    out.sort(key=lambda f: (f.priority, f.township or "", f.ref, f.rule))
    return out


def _household_follow_up(rule: PeopleRule, cols: dict, i: int, rank: int, today: date, *, a=None,
                         cut=None) -> FollowUp:
    if rule.priority_elderly and cols["elderly_alone"][i] and int(rule.priority_elderly[1]) < rank:
        rank = int(rule.priority_elderly[1])
    h, d = cols["heating"][i], cols["device"][i]
    last = cols["last_visit"][i]
    flag_codes = [f for f in FLAGS if cols[f][i]]
    values = {
        "heating": HEATING[h][0], "heating_en": HEATING[h][1], "device": DEVICES[d][0], "device_en": DEVICES[d][1],
        "visit": last or "从未 never", "days": (today - date.fromisoformat(last)).days if last else "-",
        "village": cols["village"][i], "flags": "、".join(FLAG_NAMES[f][0] for f in flag_codes) or "无",
        "flags_en": ", ".join(FLAG_NAMES[f][1] for f in flag_codes) or "none",
        "hazard": "", "hazard_en": "", "colour": "", "colour_en": "", "headline": "", "facility": "",
        "ticket": "", "received": "", "hours": "", "category": "",
    }
    causes: list[int] = []
    if a is not None:
        values.update(hazard=a.alert.get("hazard_zh") or a.hazard, hazard_en=a.alert.get("hazard_en") or a.hazard,
                      colour=COLOUR_ZH.get(a.colour or "", ""), colour_en=a.colour or "",
                      headline=a.alert.get("headline") or a.alert.get("event") or "")
        causes = [a.alert.get("id")]
    if cut is not None:
        values["facility"] = "、".join(f"#{f['id']} {f['name']}" for f in cut)
        causes = [f["id"] for f in cut]
    return FollowUp(rule.id, f"P{rank}", cols["ref"][i], cols["township"][i], cols["village"][i],
                    rule.reason.format(**values), rule.reason_en.format(**values), causes)


def _cut_off_villages(store) -> dict[str, list[dict]]:
    """village code -> the unrepaired flood-damaged roads, bridges and power lines marked
    blocks_heating whose name names the village (in the village's township)."""
    from . import kinds as K

    flood = K.KINDS.get("flood")
    open_statuses = [s for s, st in flood.statuses.items() if st.open] if flood else []
    sites = [f for f in store.select_facilities(kind="flood")
             if f["blocks_heating"] and f["status"] in open_statuses and f["subtype"] in CUT_OFF_SUBTYPES]
    out: dict[str, list[dict]] = {}
    if not sites:
        return out
    by_township: dict[str, list] = {}
    for v in villages().by_code.values():
        by_township.setdefault(v.township, []).append(v)
    for f in sites:  # the whole name (东峪村): 汤河口村 must not match 汤河口镇's road
        for v in by_township.get(f["township"], ()):
            if v.name in (f["name"] or ""):
                out.setdefault(v.code, []).append(f)
    return out


# --- calls -----------------------------------------------------------------------------------

def evaluate_calls(store, config: Config, rules: list[PeopleRule], now: datetime) -> list[FollowUp]:
    """Open calls each call rule puts on the list (received in the heating season)."""
    rules = [r for r in rules if r.target == "calls"]
    if not rules:
        return []
    today = clock.local_date(now, config.timezone)
    season = season_at(config, today)
    if not (season.start <= today <= season.end):
        return []
    from zoneinfo import ZoneInfo

    start = clock.iso(datetime.combine(season.start, datetime.min.time(), tzinfo=ZoneInfo(config.timezone)))
    at = clock.iso(now)
    out = []
    for c in store.select_calls(start=start, until=at):
        if c["resolved"]:
            continue
        for rule in rules:
            if rule.categories and c["category"] not in rule.categories:
                continue
            hours = (now - clock.from_iso(c["received"])).total_seconds() / 3600
            late = not c["responded"] and rule.late_hours is not None and hours >= rule.late_hours
            priority = (rule.priority_late or "P1") if late else rule.priority[None]
            values = dict.fromkeys(FIELDS, "")
            values.update(ticket=c["ticket"], received=clock.local(c["received"], config.timezone),
                          hours=f"{hours:.0f}", category=c["category"] or "", village=c["address"] or "")
            out.append(FollowUp(rule.id, priority, c["ticket"], c["township"], c["address"],
                                rule.reason.format(**values), rule.reason_en.format(**values)))
    out.sort(key=lambda f: (f.priority, f.township or "", f.ref))
    return out


def explain(store, config: Config, ref: str, now: datetime, alerts: list[dict]) -> list[dict]:
    """For one household: each household rule, whether it put the household on the list, and why
    (the conditions it checked)."""
    from .households import find

    h = find(store, ref)
    rules = [r for r in load(config) if r.target == "households"]
    hits = {f.rule: f for f in evaluate_households(store, config, rules, now, alerts) if f.ref == h["ref"]}
    today = clock.local_date(now, config.timezone)
    out = []
    for r in rules:
        checks = []
        if r.heating:
            checks.append(f"heating {h['heating']} in {sorted(r.heating)}: {h['heating'] in r.heating}")
        if r.vulnerable:
            checks.append(f"vulnerable ({', '.join(f for f in FLAGS if h[f]) or 'no flag'}): "
                          f"{any(h[f] for f in FLAGS)}")
        if r.devices:
            checks.append(f"device {h['device']} in {sorted(r.devices)}: {h['device'] in r.devices}")
        if r.visit_days:
            limit = today - timedelta(days=r.visit_days)
            checks.append(f"not visited since {limit} (last {h['last_visit'] or 'never'}): "
                          f"{_day(h['last_visit']) < limit.toordinal()}")
        if r.trigger == "hazard":
            checks.append(f"warning of {sorted(r.hazards)} >= {r.min_colour} over the village")
        else:
            checks.append("village cut off by unrepaired flood damage marked blocks_heating")
        f = hits.get(r.id)
        out.append({"rule": r.id, "matched": f is not None, "priority": f.priority if f else None,
                    "reason": f.reason if f else None, "checks": checks})
    return out
