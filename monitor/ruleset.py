"""The rule set: `[[rules]]`, `[season]` and `[priority]` from config.toml, checked whole.

The calendar: the heating season (and its pre-season window) and the forest-fire prevention
period (and its high fire-risk period), yearly windows that may span the new year.

Every rule is checked before anything is evaluated: an unknown key, trigger, kind, subtype,
status, hazard, colour, priority or template field is refused with the file and line it is on,
so a typo never silently turns a rule off. `monitor.rules` evaluates what this module loads.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import date, timedelta

from . import kinds as K
from .alerts import hazards as hazard_table
from .config import Config
from .errors import ConfigError

PRIORITIES = ("P1", "P2", "P3")
COLOURS = hazard_table.COLOURS  # blue < yellow < orange < red
COLOUR_ZH = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
HAZARDS = tuple(hazard_table.HAZARDS)
TRIGGERS = ("hazard", "preseason", "season", "overdue", "access", "fire_period")
RULE_KEYS = {"id", "target", "trigger", "kinds", "subtypes", "statuses", "hazards", "min_colour", "forecasts",
             "max_age_days", "priority", "priority_high", "reason", "reason_en"}
HAZARD_ONLY = ("hazards", "min_colour", "forecasts")
# What a reason template may name (checked at load, so a typo cannot reach a follow-up).
TEMPLATE_FIELDS = {
    "kind", "kind_en", "subtype", "subtype_en", "status", "status_en",
    "hazard", "hazard_en", "colour", "colour_en", "headline", "headline_en", "alerts",
    "since", "inspected", "inspected_en", "due", "days",
    "season_start", "season_end", "preseason_start", "max_age_days",
    "fire_start", "fire_end", "fire_period", "fire_period_en",
}


@dataclass(frozen=True)
class Rule:
    id: str
    trigger: str
    kinds: tuple[str, ...]
    statuses: frozenset[tuple[str, str]]     # (kind, status) pairs that qualify
    priority: dict[str | None, str]          # warning colour (None for non-hazard rules) -> P1..P3
    reason: str
    reason_en: str
    subtypes: frozenset[tuple[str, str]] = frozenset()   # empty: every subtype
    hazards: frozenset[str] = frozenset()
    min_colour: str = "blue"
    forecasts: bool = True
    max_age_days: int | None = None
    priority_high: str | None = None         # fire_period rules: the priority in the high fire-risk period

    def rank(self, colour: str | None) -> int:
        """1..3 for P1..P3; for hazard rules by the warning's colour (none counts as blue)."""
        return int(self.priority[(colour or "blue") if self.trigger == "hazard" else None][1])

    @property
    def status_names(self) -> list[str]:
        return sorted({s for _, s in self.statuses})


@dataclass(frozen=True)
class FirePeriod:
    """The forest-fire prevention period current at some day, and its high fire-risk period."""
    start: date
    end: date
    high_start: date | None = None   # the high fire-risk period of this prevention period, if any
    high_end: date | None = None

    def high(self, today: date) -> bool:
        return self.high_start is not None and self.high_start <= today <= self.high_end


@dataclass
class Season:
    start: date           # the heating season that is current or next, as seen at `today`
    end: date
    preseason_start: date
    fire: FirePeriod | None = None   # the forest-fire prevention period `today` is in; None outside it

    @property
    def preseason_end(self) -> date:
        return self.start - timedelta(days=1)


# --- loading ---------------------------------------------------------------------------------

class _Lines:
    """Where each [[rules]] table and its keys are in the file, for messages that point at them."""

    RULES = re.compile(r"^\s*\[\[\s*rules\s*\]\]")
    TABLE = re.compile(r"^\s*\[\[?\s*[\w.\-\" ]+\]\]?\s*(#.*)?$")

    def __init__(self, config: Config):
        try:
            self.text = config.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            self.text = []
        self.starts = [n for n, line in enumerate(self.text, start=1) if self.RULES.match(line)]

    def block(self, n: int) -> tuple[int, int]:
        """First and past-the-last line (1-based) of the n-th [[rules]] table; (0, 0) if not found."""
        if n >= len(self.starts):
            return (0, 0)
        start = self.starts[n]
        for k in range(start + 1, len(self.text) + 1):
            if self.TABLE.match(self.text[k - 1]):
                return (start, k)
        return (start, len(self.text) + 1)

    def key(self, n: int, key: str | None) -> int:
        """The line of `key` in the n-th rule (its header line if the key is not written there)."""
        start, end = self.block(n)
        if key:
            pattern = re.compile(rf'^\s*"?{re.escape(key)}"?\s*=')
            for k in range(start, end):
                if pattern.match(self.text[k - 1]):
                    return k
        return start


def load_rules(config: Config) -> list[Rule]:
    """The rules in `config`, every one checked; ConfigError with file:line for the first problem.

    Also checks [season] and [priority], which evaluation reads, so that a run is refused before
    anything is evaluated rather than half way.
    """
    season_dates(config)
    households_steps(config)
    score_weights(config)
    raw = config.data.get("rules", [])
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{config.path}: 没有 [[rules]] 规则，请从自带的 config.toml 复制默认规则；no [[rules]]; the shipped "
                          "config.toml lists the defaults")
    lines = _Lines(config)
    rules, seen = [], set()
    for n, r in enumerate(raw):
        if isinstance(r, dict) and r.get("target", "facilities") != "facilities":
            continue  # households and calls: monitor.householdrules loads and checks them
        rules.append(_rule(config, lines, n, r, seen))
    return rules


def _rule(config: Config, lines: _Lines, n: int, r: dict, seen: set) -> Rule:
    def bad(msg: str, key: str | None = None) -> ConfigError:
        name = r.get("id") if isinstance(r, dict) and isinstance(r.get("id"), str) else f"#{n + 1}"
        at = lines.key(n, key) or "?"
        return ConfigError(f"{config.path.name} 第 {at} 行：规则 {name} 写得不对，请按后面的说明改正；"
                           f"{config.path}:{at}: rule {name}: {msg}")

    if not isinstance(r, dict):
        raise bad("each [[rules]] entry must be a table")
    unknown = set(r) - RULE_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise bad(f"unknown key '{key}'; known: {', '.join(sorted(RULE_KEYS))}", key)
    for key in ("id", "trigger", "kinds", "statuses", "priority", "reason"):
        if key not in r:
            raise bad(f"missing '{key}'")

    def text(key: str, value) -> str:
        if not isinstance(value, str) or not value.strip():
            raise bad(f"'{key}' must be a non-empty string", key)
        return value

    def names(key: str, value) -> list[str]:
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise bad(f"'{key}' must be a non-empty list of names", key)
        return value

    rid = text("id", r["id"])
    if rid in seen:
        raise bad("duplicate id (another rule has it)", "id")
    seen.add(rid)
    trigger = text("trigger", r["trigger"])
    if trigger not in TRIGGERS:
        raise bad(f"unknown trigger '{trigger}'; known: {', '.join(TRIGGERS)}", "trigger")
    if trigger != "hazard":
        for key in HAZARD_ONLY:
            if key in r:
                raise bad(f"'{key}' applies only to trigger = \"hazard\"", key)
    if "max_age_days" in r and trigger not in ("season", "preseason"):
        raise bad("'max_age_days' applies only to the season and preseason triggers", "max_age_days")
    if "priority_high" in r and trigger != "fire_period":
        raise bad("'priority_high' applies only to trigger = \"fire_period\"", "priority_high")

    kinds_ = tuple(names("kinds", r["kinds"]))
    for k in kinds_:
        if k not in K.KINDS:
            raise bad(f"unknown kind '{k}'; known: {', '.join(K.KINDS)}", "kinds")

    if r["statuses"] == "open":
        statuses = {(k, s.code) for k in kinds_ for s in K.KINDS[k].statuses.values() if s.open}
    elif isinstance(r["statuses"], list):
        statuses = set()
        for s in names("statuses", r["statuses"]):
            pairs = {(k, s) for k in kinds_ if s in K.KINDS[k].statuses}
            if not pairs:
                valid = sorted({s for k in kinds_ for s in K.KINDS[k].statuses})
                raise bad(f"unknown status '{s}' for {'/'.join(kinds_)}; known: {', '.join(valid)}", "statuses")
            statuses |= pairs
    else:
        raise bad('statuses must be a list or "open"', "statuses")

    subtypes = set()
    for s in names("subtypes", r["subtypes"]) if "subtypes" in r else []:
        pairs = {(k, s) for k in kinds_ if s in K.KINDS[k].subtypes}
        if not pairs:
            valid = sorted({s for k in kinds_ for s in K.KINDS[k].subtypes})
            raise bad(f"unknown subtype '{s}' for {'/'.join(kinds_)}; known: {', '.join(valid)}", "subtypes")
        subtypes |= pairs

    hazards = names("hazards", r["hazards"]) if "hazards" in r else []
    if trigger == "hazard" and not hazards:
        raise bad("a hazard rule needs 'hazards'", "trigger")
    for h in hazards:
        if h not in HAZARDS:
            raise bad(f"unknown hazard '{h}'; known: {', '.join(HAZARDS)}", "hazards")
    min_colour = r.get("min_colour", "blue")
    if min_colour not in COLOURS:
        raise bad(f"unknown colour '{min_colour}'; known: {', '.join(COLOURS)}", "min_colour")
    forecasts = r.get("forecasts", True)
    if not isinstance(forecasts, bool):
        raise bad("'forecasts' must be true or false", "forecasts")
    max_age = r.get("max_age_days")
    if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 1):
        raise bad("'max_age_days' must be a whole number of days, 1 or more", "max_age_days")

    priority = r["priority"]
    if isinstance(priority, dict):
        if trigger != "hazard":
            raise bad("a priority table by colour applies only to hazard rules; give \"P1\", \"P2\" or \"P3\"",
                      "priority")
        for c, p in priority.items():
            if c not in COLOURS:
                raise bad(f"unknown colour '{c}' in priority; known: {', '.join(COLOURS)}", "priority")
            if p not in PRIORITIES:
                raise bad(f"unknown priority '{p}'; use P1, P2 or P3", "priority")
        needed = COLOURS[COLOURS.index(min_colour):]
        missing = [c for c in needed if c not in priority]
        if missing:
            raise bad(f"priority has no entry for {', '.join(missing)}", "priority")
        ranks = [int(priority[c][1]) for c in needed]
        if any(b > a for a, b in zip(ranks, ranks[1:])):
            raise bad("priority must not fall as the warning colour rises (blue < yellow < orange < red)",
                      "priority")
        table = {c: priority[c] for c in needed}
    elif priority in PRIORITIES:
        table = {c: priority for c in (*COLOURS, None)}
    else:
        raise bad(f"unknown priority '{priority}'; use P1, P2 or P3, or a table by colour", "priority")
    high = r.get("priority_high")
    if high is not None:
        if high not in PRIORITIES:
            raise bad(f"unknown priority '{high}'; use P1, P2 or P3", "priority_high")
        if isinstance(priority, str) and high > priority:
            raise bad(f"priority_high {high} must not be below priority {priority} (P1 is the highest)",
                      "priority_high")

    reason = text("reason", r["reason"])
    reason_en = r.get("reason_en", "")
    if not isinstance(reason_en, str):
        raise bad("'reason_en' must be a string", "reason_en")
    for key, template in (("reason", reason), ("reason_en", reason_en)):
        _check_template(template, lambda msg, k=key: bad(msg, k))

    return Rule(id=rid, trigger=trigger, kinds=kinds_, statuses=frozenset(statuses), priority=table,
                reason=reason, reason_en=reason_en, subtypes=frozenset(subtypes), hazards=frozenset(hazards),
                min_colour=min_colour, forecasts=forecasts, max_age_days=max_age, priority_high=high)


def _check_template(template: str, bad) -> None:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as e:
        raise bad(f"template is not valid ({e}); write a literal brace as {{{{ or }}}}") from None
    for f in fields:
        if f not in TEMPLATE_FIELDS:
            raise bad(f"unknown field {{{f}}} in template; known: {', '.join(sorted(TEMPLATE_FIELDS))}")
    try:
        template.format_map({f: "" for f in TEMPLATE_FIELDS})
    except (ValueError, KeyError, IndexError) as e:
        raise bad(f"template cannot be formatted ({e})") from None


def _section_error(config: Config, section: str, key: str, msg: str) -> ConfigError:
    at = config.key_line(section, key)
    return ConfigError(f"{config.path.name} 第 {at or '?'} 行：[{section}] {key} 写得不对，请按后面的说明改正；"
                       f"{config.path}:{at or '?'}: [{section}] {key}: {msg}")


def _month_day(config: Config, key: str, default: str) -> tuple[int, int]:
    value = config.section("season").get(key, default)
    try:
        month, day = (int(x) for x in str(value).split("-"))
        date(2000, month, day)  # a leap year: 02-29 is a valid month-day
    except ValueError:
        raise _section_error(config, "season", key, f"'{value}' is not a month-day like \"11-15\"") from None
    return month, day


def season_dates(config: Config) -> tuple[tuple[int, int], tuple[int, int], int]:
    """([season] heating_start, heating_end as (month, day), preseason_days), checked."""
    s = config.section("season")
    out = [_month_day(config, "heating_start", "11-15"), _month_day(config, "heating_end", "03-15")]
    fire_dates(config)
    lead = s.get("preseason_days", 45)
    if isinstance(lead, bool) or not isinstance(lead, int) or not 0 <= lead <= 180:
        raise _section_error(config, "season", "preseason_days", f"'{lead}' is not a number of days from 0 to 180")
    return out[0], out[1], lead


def households_steps(config: Config) -> tuple[int, ...]:
    """[priority] households_raise: one threshold or a list; each one reached raises one level."""
    value = config.get("priority", "households_raise", ())
    steps = value if isinstance(value, list) else ([] if value in ((), 0) else [value])
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in steps):
        raise _section_error(config, "priority", "households_raise",
                             f"'{value}' must be a number of households (or a list of them), above 0")
    return tuple(sorted(steps))


def score_weights(config: Config) -> dict[str, float]:
    """[priority] score_weights: the risk-score weight of one open follow-up of each priority."""
    value = config.get("priority", "score_weights", {"P1": 5, "P2": 3, "P3": 1})
    if not isinstance(value, dict) or set(value) - set(PRIORITIES) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in value.values()):
        raise _section_error(config, "priority", "score_weights",
                             "must be a table like { P1 = 5, P2 = 3, P3 = 1 } of numbers 0 or more")
    return {p: float(value.get(p, 0)) for p in PRIORITIES}


def fire_dates(config: Config) -> tuple[tuple[int, int], ...]:
    """[season] fire_start, fire_end, fire_high_start, fire_high_end as (month, day), checked.

    The defaults are Beijing's: the forest-fire prevention period runs from 11-01 to 05-31 (of
    the next year), its high fire-risk period from 01-01 to 04-15 (北京市森林防火办法).
    """
    return tuple(_month_day(config, key, default) for key, default in (
        ("fire_start", "11-01"), ("fire_end", "05-31"), ("fire_high_start", "01-01"), ("fire_high_end", "04-15")))


def _day(year: int, month: int, d: int) -> date:
    return date(year, month, min(d, 28) if (month, d) == (2, 29) and year % 4 else d)


def window_at(today: date, start: tuple[int, int], end: tuple[int, int]) -> tuple[date, date] | None:
    """The yearly window from month-day `start` to `end` (inclusive; into the next year when `end`
    comes earlier in the year) that holds `today`, or None.

    >>> window_at(date(2026, 3, 1), (11, 1), (5, 31))
    (datetime.date(2025, 11, 1), datetime.date(2026, 5, 31))
    """
    for year in (today.year - 1, today.year):
        first = _day(year, *start)
        last = _day(year + 1 if end < start else year, *end)
        if first <= today <= last:
            return first, last
    return None


def fire_period_at(config: Config, today: date) -> FirePeriod | None:
    """The forest-fire prevention period holding `today` (with its high fire-risk period), or None."""
    start, end, high_start, high_end = fire_dates(config)
    period = window_at(today, start, end)
    if period is None:
        return None
    high = window_at(today, high_start, high_end)
    if high is None:  # today is not in it: the one of this prevention period, if there is one
        for year in (period[0].year, period[1].year):
            first = _day(year, *high_start)
            if period[0] <= first <= period[1]:
                high = window_at(first, high_start, high_end)
                break
    return FirePeriod(period[0], period[1], *(high or (None, None)))


def season_at(config: Config, today: date) -> Season:
    """The heating season current at `today`, or the next one if none is."""
    (sm, sd), (em, ed), lead = season_dates(config)
    fire = fire_period_at(config, today)
    day = _day

    for year in (today.year - 1, today.year):
        start = day(year, sm, sd)
        end = day(year + 1 if (em, ed) < (sm, sd) else year, em, ed)
        if today <= end:
            return Season(start, end, start - timedelta(days=lead), fire)
    start = day(today.year + 1, sm, sd)
    end = day(today.year + 2 if (em, ed) < (sm, sd) else today.year + 1, em, ed)
    return Season(start, end, start - timedelta(days=lead), fire)
