"""The one table from warning types and colours to the hazards the rules use.

Hazards: cold_wave 寒潮, low_temperature 低温, blizzard 暴雪, road_icing 道路结冰, gale 大风,
forest_fire 森林火险, rainstorm 暴雨, frost 霜冻; after a flood and in winter also geohazard 地质灾害
(geological-hazard risk, debris flow, landslide, collapse), flash_flood 山洪, co_poisoning
一氧化碳中毒气象条件 (gas and coal heating), thunder 雷电, hail 冰雹, fog 大雾, haze 霾,
sand_dust 沙尘暴; everything else is `other` (typhoon, heat, drought, earthquake ... keep their own
names through `type_names`).

Where a type comes from, in the order `classify` tries them:
1. a CMA / QWeather type code: new style '1006' looked up in warning_types.csv (QWeather's
   warning-type table, 461 codes with Chinese and English names: warning-type__30c905f.csv from
   github.com/qwd/dev-site, MIT, the superset of the two shipped versions), old style '11B06'
   renumbered to '1006' first. Neither table lists the old codes; '11Bnn' -> '10nn' is the
   published renumbering and holds for both pairs in the shipped data (11B01/1001 Typhoon,
   11B06/1006 Gale: the same warnings served under both codes). The code's names are then
   classified by step 2 (Chinese name first for 1xxx codes, English first for foreign ones).
2. a name, Chinese or English, matched by the ordered patterns in `_NAMES` (specific first:
   '低温雨雪冰冻' before '冰冻', 'freezing rain' before 'freeze', 'coastal flood' before 'flood').

Choices worth knowing:
- NWS cold products (Extreme Cold, Cold Weather Advisory, Wind Chill) are `low_temperature`:
  they describe absolute cold, while CMA 寒潮 `cold_wave` is a sharp drop (8 °C or more in 24-48 h).
- NWS Winter Storm / Winter Weather / Lake Effect Snow are `blizzard` (snow); Ice Storm and
  freezing rain `road_icing`; floods (not coastal) `rainstorm`; Red Flag / Fire Weather
  `forest_fire`; Freeze / Frost `frost`. 雷雨大风 and 海上大风 are `gale`; 台风暴雨 `rainstorm`;
  冰冻 and 电线积冰 `road_icing`; 低温雨雪冰冻 `low_temperature`; 强降温 / 降温 `cold_wave`.
  山洪 (and NWS Flash Flood) is `flash_flood`, other floods stay `rainstorm`; 雷雨大风 / 雷暴大风 stay
  `gale` (the wind is what the rules act on), other thunder types `thunder`.
- Levels: `SIGNAL_LEVELS` lists the colours each CMA warning-signal type has; `level_warning`
  says when a warning claims a colour its type does not have (道路结冰 has no blue signal).
- Colours: 蓝/黄/橙/红, Blue/Yellow/Orange/Red, Ⅳ/Ⅲ/Ⅱ/Ⅰ级 (or IV..I); with none given, CAP
  severity Minor/Moderate/Severe/Extreme gives blue/yellow/orange/red.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Hazard:
    code: str
    zh: str
    en: str


HAZARDS: dict[str, Hazard] = {
    h.code: h
    for h in (
        Hazard("cold_wave", "寒潮", "cold wave"),
        Hazard("low_temperature", "低温", "low temperature"),
        Hazard("blizzard", "暴雪", "blizzard"),
        Hazard("road_icing", "道路结冰", "road icing"),
        Hazard("gale", "大风", "gale"),
        Hazard("forest_fire", "森林火险", "forest-fire danger"),
        Hazard("rainstorm", "暴雨", "rainstorm"),
        Hazard("frost", "霜冻", "frost"),
        Hazard("geohazard", "地质灾害", "geological hazard"),
        Hazard("flash_flood", "山洪", "flash flood"),
        Hazard("co_poisoning", "一氧化碳中毒", "carbon-monoxide poisoning conditions"),
        Hazard("thunder", "雷电", "thunder and lightning"),
        Hazard("hail", "冰雹", "hail"),
        Hazard("fog", "大雾", "fog"),
        Hazard("haze", "霾", "haze"),
        Hazard("sand_dust", "沙尘暴", "sand or dust storm"),
        Hazard("other", "其他", "other"),
    )
}

# (substring of the lower-cased name, hazard), first match wins: keep specific before general.
_NAMES: tuple[tuple[str, str], ...] = (
    # Chinese (CMA / QWeather names, GB/T 35965.1 events)
    ("道路结冰", "road_icing"), ("道路冰雪", "road_icing"), ("电线积冰", "road_icing"),
    ("冻雨", "road_icing"), ("低温雨雪冰冻", "low_temperature"), ("冰冻", "road_icing"),
    ("寒潮", "cold_wave"), ("强降温", "cold_wave"), ("降温", "cold_wave"),
    ("低温", "low_temperature"), ("寒冷", "low_temperature"), ("严寒", "low_temperature"),
    ("暴雪", "blizzard"), ("大雪", "blizzard"), ("雪灾", "blizzard"), ("暴风雪", "blizzard"),
    ("降雪", "blizzard"),
    ("一氧化碳", "co_poisoning"), ("煤气中毒", "co_poisoning"),
    ("地质灾害", "geohazard"), ("泥石流", "geohazard"), ("滑坡", "geohazard"), ("崩塌", "geohazard"),
    ("山泥倾泻", "geohazard"), ("地面塌陷", "geohazard"), ("山洪", "flash_flood"),
    ("台风暴雨", "rainstorm"), ("台风", "other"), ("热带气旋", "other"),
    ("沙尘", "sand_dust"), ("浮尘", "sand_dust"), ("扬沙", "sand_dust"), ("浓浮沉", "sand_dust"),
    ("干热风", "other"), ("风切变", "other"), ("大风", "gale"), ("强风", "gale"), ("烈风", "gale"),
    ("冰雹", "hail"), ("雷", "thunder"),
    ("大雾", "fog"), ("浓雾", "fog"), ("雾", "fog"), ("能见度", "fog"), ("霾", "haze"),
    ("森林", "forest_fire"), ("草原火险", "forest_fire"), ("火险", "forest_fire"), ("火灾", "forest_fire"),
    ("暴雨", "rainstorm"), ("强降雨", "rainstorm"), ("强降水", "rainstorm"), ("大雨", "rainstorm"),
    ("洪涝", "rainstorm"), ("内涝", "rainstorm"), ("渍涝", "rainstorm"),
    ("洪水", "rainstorm"),
    ("霜冻", "frost"),
    # English (NWS / CAP events, QWeather English type names)
    ("ice storm", "road_icing"), ("freezing rain", "road_icing"), ("freezing drizzle", "road_icing"),
    ("road icing", "road_icing"), ("icy road", "road_icing"), ("black ice", "road_icing"),
    ("cold wave", "cold_wave"), ("falling temperature", "cold_wave"),
    ("extreme cold", "low_temperature"), ("cold weather", "low_temperature"),
    ("wind chill", "low_temperature"), ("low temperature", "low_temperature"),
    ("severe cold", "low_temperature"),
    ("blizzard", "blizzard"), ("winter storm", "blizzard"), ("winter weather", "blizzard"),
    ("lake effect snow", "blizzard"), ("heavy snow", "blizzard"), ("snow storm", "blizzard"),
    ("snowstorm", "blizzard"), ("snow squall", "blizzard"),
    ("carbon monoxide", "co_poisoning"), ("co poisoning", "co_poisoning"),
    ("geological hazard", "geohazard"), ("debris flow", "geohazard"), ("mudflow", "geohazard"),
    ("landslide", "geohazard"), ("landslip", "geohazard"), ("flash flood", "flash_flood"),
    ("typhoon", "other"), ("hurricane", "other"), ("tropical storm", "other"),
    ("dust storm", "sand_dust"), ("duststorm", "sand_dust"), ("sandstorm", "sand_dust"),
    ("blowing dust", "sand_dust"), ("dry hot wind", "other"), ("wind shear", "other"),
    ("thunder", "thunder"), ("lightning", "thunder"), ("hail", "hail"),
    ("freezing fog", "fog"), ("dense fog", "fog"), ("fog", "fog"), ("haze", "haze"),
    ("high wind", "gale"), ("wind advisory", "gale"), ("lake wind", "gale"), ("extreme wind", "gale"),
    ("strong wind", "gale"), ("gale", "gale"),
    ("red flag", "forest_fire"), ("fire weather", "forest_fire"), ("fire danger", "forest_fire"),
    ("wildfire", "forest_fire"), ("forest fire", "forest_fire"), ("forestfire", "forest_fire"),
    ("grassland fire", "forest_fire"),
    ("coastal flood", "other"), ("lakeshore flood", "other"),
    ("flood", "rainstorm"), ("rainstorm", "rainstorm"),
    ("heavy rain", "rainstorm"),
    ("hard freeze", "frost"), ("freeze", "frost"), ("frost", "frost"),
    ("wind", "gale"),
)

COLOURS = ("blue", "yellow", "orange", "red")

_COLOUR_WORDS = {
    "blue": "blue", "蓝": "blue", "蓝色": "blue", "iv": "blue", "ⅳ": "blue",
    "yellow": "yellow", "黄": "yellow", "黄色": "yellow", "iii": "yellow", "ⅲ": "yellow",
    "orange": "orange", "橙": "orange", "橙色": "orange", "ii": "orange", "ⅱ": "orange",
    "red": "red", "红": "red", "红色": "red", "i": "red", "ⅰ": "red",
}
_SEVERITY_COLOUR = {"minor": "blue", "moderate": "yellow", "severe": "orange", "extreme": "red"}
_COLOUR_SEVERITY = {v: k.capitalize() for k, v in _SEVERITY_COLOUR.items()}

# Colours inside free text. English words only where they name the warning ("yellow gale
# warning", "Warning - Orange", "Code ORANGE"), so "Red Flag Warning" and "Red River" are not red.
_ZH_COLOUR = re.compile(r"(蓝|黄|橙|红)色")
_EN_COLOUR = re.compile(
    r"\b(blue|yellow|orange|red)\b(?!\s+flag)(?=(?:\s+[a-z-]+){0,2}\s+(?:warning|alert|signal)\b)"
    r"|(?:warning|alert|signal)\s*[-–:]\s*(blue|yellow|orange|red)\b"
    r"|\bcode\s+(blue|yellow|orange|red)\b",
    re.IGNORECASE,
)
_LEVEL = re.compile(r"(Ⅳ|Ⅲ|Ⅱ|Ⅰ)\s*级?|(?:level|grade|\[)\s*(IV|III|II|I)\b|\b(IV|III|II|I)\s*级", re.IGNORECASE)


# The colours each CMA warning-signal type has, from 中国气象局《气象灾害预警信号及防御指南》
# (the annex of 《气象灾害预警信号发布与传播办法》, CMA Order No. 16, 2007; 霾 given a red signal
# by CMA's revision of the haze signal, 2013). Types not listed here (地质灾害, 森林火险, 低温 ...)
# are issued by other bodies or under local standards and are not checked.
SIGNAL_LEVELS: dict[str, tuple[str, ...]] = {
    "台风": ("blue", "yellow", "orange", "red"),
    "暴雨": ("blue", "yellow", "orange", "red"),
    "暴雪": ("blue", "yellow", "orange", "red"),
    "寒潮": ("blue", "yellow", "orange", "red"),
    "大风": ("blue", "yellow", "orange", "red"),
    "沙尘暴": ("yellow", "orange", "red"),
    "高温": ("yellow", "orange", "red"),
    "干旱": ("orange", "red"),
    "雷电": ("yellow", "orange", "red"),
    "冰雹": ("orange", "red"),
    "霜冻": ("blue", "yellow", "orange"),
    "大雾": ("yellow", "orange", "red"),
    "霾": ("yellow", "orange", "red"),
    "道路结冰": ("yellow", "orange", "red"),
}
_SIGNAL_EN = {"台风": "typhoon", "暴雨": "rainstorm", "暴雪": "blizzard", "寒潮": "cold wave", "大风": "gale",
              "沙尘暴": "sandstorm", "高温": "high temperature", "干旱": "drought", "雷电": "lightning",
              "冰雹": "hail", "霜冻": "frost", "大雾": "fog", "霾": "haze", "道路结冰": "road icing"}
_COLOUR_ZH = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
# a signal named in a title: '...15时40分发布道路结冰蓝色预警信号'; not '海上大雾' or '雷雨大风'
_SIGNAL_IN_TEXT = re.compile(
    r"(?:^|(?<=[布的\s\d]))(" + "|".join(sorted(SIGNAL_LEVELS, key=len, reverse=True)) + r")(?:蓝|黄|橙|红)色预警")


def signal_type(event_text: str | None, type_code: str | None = None) -> str | None:
    """The CMA signal type ('道路结冰') a warning is, from its type code or its event or title text.

    >>> signal_type(None, "1021"), signal_type("北京市气象台发布大雾黄色预警信号"), signal_type("海上大雾")
    ('道路结冰', '大雾', None)
    """
    names = type_names(type_code)
    if names:
        return names[0] if names[0] in SIGNAL_LEVELS else None
    text = (event_text or "").strip()
    for t in (text, text.removesuffix("预警信号"), text.removesuffix("预警")):
        if t in SIGNAL_LEVELS:
            return t
    m = _SIGNAL_IN_TEXT.search(text)
    return m.group(1) if m else None


def level_warning(event_text: str | None, type_code: str | None, colour_: str | None,
                  *more_text: str | None) -> str | None:
    """A warning (Chinese, then English) when `colour_` is not a level of the warning's signal type.

    >>> level_warning("道路结冰", None, "yellow") is None, level_warning("道路结冰", None, "blue")[:12]
    (True, '道路结冰预警信号没有蓝色')
    """
    if colour_ not in COLOURS:
        return None
    kind = signal_type(event_text, type_code)
    if kind is None and not type_names(type_code):  # no code to go by: a title may name the type
        kind = next((k for t in more_text if (k := signal_type(t))), None)
    if kind is None or colour_ in SIGNAL_LEVELS[kind]:
        return None
    levels = SIGNAL_LEVELS[kind]
    return (f"{kind}预警信号没有{_COLOUR_ZH[colour_]}一级（只有{'、'.join(_COLOUR_ZH[c] for c in levels)}），"
            f"请核对原文；{_SIGNAL_EN[kind]} signals have no {colour_} level (only {', '.join(levels)}): "
            f"check the original message")


def colour(value: object) -> str | None:
    """One colour field ('Blue', '蓝色', 'Ⅳ级', 'IV', QWeather color.code) to blue..red, else None."""
    if value is None:
        return None
    v = str(value).strip().lower().removesuffix("级")
    return _COLOUR_WORDS.get(v)


def colour_in_text(text: str | None) -> str | None:
    """The warning colour named in a title or event ('大风蓝色预警', 'yellow gale warning'), else None.

    The last colour named wins: Chinese titles state the new colour last ('由黄色升级为橙色').
    """
    if not text:
        return None
    found = [(m.start(), m.group(1)) for m in _ZH_COLOUR.finditer(text)]
    found += [(m.start(), next(g for g in m.groups() if g)) for m in _EN_COLOUR.finditer(text)]
    if not found:
        found = [(m.start(), next(g for g in m.groups() if g)) for m in _LEVEL.finditer(text)]
    return colour(max(found)[1]) if found else None


def colour_from_severity(severity: str | None) -> str | None:
    """CAP severity to colour: Minor blue, Moderate yellow, Severe orange, Extreme red."""
    return _SEVERITY_COLOUR.get((severity or "").strip().lower())


def severity_from_colour(c: str | None) -> str | None:
    return _COLOUR_SEVERITY.get(c or "")


def colour_rank(c: str | None) -> int:
    """blue 1, yellow 2, orange 3, red 4; None or unknown 0 (below every colour)."""
    return COLOURS.index(c) + 1 if c in COLOURS else 0


def new_type_code(code: str | None) -> str | None:
    """'11B06' -> '1006' (old CMA style renumbered); other codes unchanged; '' -> None."""
    if not code or not str(code).strip():
        return None
    c = str(code).strip().upper()
    m = re.fullmatch(r"11B(\d\d)", c)
    return f"10{m.group(1)}" if m else c


def type_names(code: str | None) -> tuple[str, str] | None:
    """(Chinese, English) name of a CMA / QWeather type code, old or new style, or None."""
    return _types().get(new_type_code(code) or "")


def is_type_code(value: str | None) -> bool:
    return type_names(value) is not None


def classify(event_text: str | None, type_code: str | None = None) -> str:
    """Our hazard code for a warning: from its type code if that names a hazard, else from its text.

    >>> classify("大风"), classify("Winter Storm Warning"), classify("x", "11B05")
    ('gale', 'blizzard', 'cold_wave')
    """
    names = type_names(type_code)
    if names:
        # 1xxx are Chinese types (CMA 10xx, other ministries, HK/Macao/Taiwan): the Chinese name
        # is the original. Other ranges are foreign agencies' types: the English name is closer
        # to theirs (QWeather translates US 'Freeze Warning', frost, as 冰冻警报).
        zh, en = names
        for name in (zh, en) if new_type_code(type_code).startswith("1") else (en, zh):
            hazard = _by_name(name)
            if hazard:
                return hazard
    # an unknown code, or one whose names say nothing ('9999 其他预警'): the event text decides
    return _by_name(event_text or "") or "other"


def _by_name(text: str) -> str | None:
    t = text.strip().lower()
    if not t:
        return None
    for pattern, hazard in _NAMES:
        if pattern in t:
            return hazard
    return None


@lru_cache(maxsize=1)
def _types() -> dict[str, tuple[str, str]]:
    text = resources.files(__package__).joinpath("warning_types.csv").read_text(encoding="utf-8")
    rows = csv.reader(text.splitlines())
    next(rows)  # header: type,type_name_zh,type_name_en
    return {r[0].strip(): (r[1].strip(), r[2].strip()) for r in rows if len(r) >= 3}
