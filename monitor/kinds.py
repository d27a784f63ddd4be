"""Facility kinds, their subtypes, statuses and allowed transitions: one table of data.

Everything that asks "is this a valid status?", "may X become Y?", "does this change need a
note?" or "what is this called in Chinese?" reads this table; nothing else hard-codes a status.
The `lookup_*` functions at the end match what people type (full-width, pinyin, English) and
say "did you mean" through `matching`. This module imports nothing heavy: the field CLI's fast
path uses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Status:
    code: str
    zh: str
    en: str
    open: bool  # still needs work (counts as an open item in follow-ups and reports)


@dataclass(frozen=True)
class Kind:
    code: str
    zh: str
    en: str
    subtypes: dict[str, tuple[str, str]]  # code -> (zh, en)
    statuses: dict[str, Status]
    initial: str
    transitions: dict[str, tuple[str, ...]]  # from -> allowed next statuses
    needs_note: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    severities: dict[str, tuple[str, str]] = field(default_factory=dict)  # damage degree

    def label(self, status: str) -> str:
        s = self.statuses.get(status)
        return f"{s.zh} {s.en}" if s else status


def _statuses(*rows: tuple[str, str, str, bool]) -> dict[str, Status]:
    return {code: Status(code, zh, en, is_open) for code, zh, en, is_open in rows}


HEATING = Kind(
    code="heating",
    zh="供暖设施",
    en="Heating",
    subtypes={
        "boiler_room": ("锅炉房", "boiler room"),
        "heat_pump": ("空气源热泵", "air-source heat pump"),
        "gas_heater": ("燃气壁挂炉", "gas heater"),
        "pipeline": ("供热管网", "heating pipeline"),
        "heating_station": ("村级供暖站", "village heating station"),
    },
    statuses=_statuses(
        ("unchecked", "未检查", "unchecked", True),
        ("ok", "正常", "ok", False),
        ("defect", "有缺陷", "defect", True),
        ("under_repair", "维修中", "under repair", True),
        ("out_of_service", "停用", "out of service", True),
    ),
    initial="unchecked",
    transitions={
        "unchecked": ("ok", "defect", "out_of_service"),
        "ok": ("unchecked", "defect", "out_of_service"),
        "defect": ("under_repair", "ok", "out_of_service"),
        "under_repair": ("ok", "defect", "out_of_service"),
        "out_of_service": ("under_repair", "ok", "unchecked"),
    },
    needs_note=frozenset({("defect", "ok"), ("under_repair", "ok"), ("out_of_service", "ok")}),
)

FIRE = Kind(
    code="fire",
    zh="消防隐患",
    en="Fire hazard",
    subtypes={
        "forest_edge": ("林区边缘风险点", "forest-edge risk point"),
        "fuel_store": ("燃料/煤炭存放点", "fuel or coal store"),
        "old_wiring": ("老旧电线", "old wiring"),
        "blocked_exit": ("堵塞安全出口", "blocked exit"),
    },
    statuses=_statuses(
        ("open", "待整改", "open", True),
        ("rectifying", "整改中", "rectifying", True),
        ("rectified", "已整改", "rectified", False),
        ("verified", "已验收", "verified", False),
    ),
    initial="open",
    transitions={
        "open": ("rectifying", "rectified"),
        "rectifying": ("rectified", "open"),
        "rectified": ("verified", "open"),
        "verified": ("open",),
    },
    needs_note=frozenset({("open", "rectified"), ("rectifying", "rectified"), ("rectified", "verified")}),
)

FLOOD = Kind(
    code="flood",
    zh="水毁设施",
    en="Flood damage",
    subtypes={
        "road": ("道路", "road"),
        "bridge": ("桥梁", "bridge"),
        "embankment": ("堤防", "embankment"),
        "water_supply": ("供水设施", "water supply"),
        "power_line": ("电力线路", "power line"),
        "telecom": ("通信设施", "telecoms"),
        "housing": ("房屋", "housing"),
    },
    statuses=_statuses(
        ("damaged", "受损", "damaged", True),
        ("temporarily_restored", "已抢通", "temporarily restored", True),
        ("under_repair", "修复中", "under repair", True),
        ("repaired", "已修复", "repaired", False),
        ("accepted", "已验收", "accepted", False),
    ),
    initial="damaged",
    transitions={
        "damaged": ("temporarily_restored", "under_repair", "repaired"),
        "temporarily_restored": ("under_repair", "repaired", "damaged"),
        "under_repair": ("repaired", "temporarily_restored", "damaged"),
        "repaired": ("accepted", "under_repair", "damaged"),
        "accepted": ("damaged",),
    },
    needs_note=frozenset({("repaired", "accepted")}),
    severities={
        "destroyed": ("损毁", "destroyed"),
        "major": ("严重受损", "major"),
        "minor": ("轻微受损", "minor"),
        "affected": ("受影响", "affected"),
    },
)

KINDS: dict[str, Kind] = {k.code: k for k in (HEATING, FIRE, FLOOD)}


def kind(code: str) -> Kind:
    """The kind called `code` (English code or Chinese name); KeyError if none."""
    if code in KINDS:
        return KINDS[code]
    for k in KINDS.values():
        if code == k.zh:
            return k
    raise KeyError(code)


def status_code(k: Kind, text: str) -> str:
    """Accept a status by code, Chinese name or English label; KeyError if unknown."""
    t = text.strip()
    if t in k.statuses:
        return t
    for s in k.statuses.values():
        if t in (s.zh, s.en) or t.replace(" ", "_").lower() == s.code:
            return s.code
    raise KeyError(text)


def subtype_code(k: Kind, text: str) -> str:
    t = text.strip()
    if t in k.subtypes:
        return t
    for code, (zh, en) in k.subtypes.items():
        if t in (zh, en):
            return code
    raise KeyError(text)


# --- what people type -------------------------------------------------------------------------
# Forgiving lookups for the command line and imports (monitor.matching: full-width input, case,
# pinyin, "did you mean"). Each raises UnknownName, a ValueError whose message says, in Chinese
# then in English, what was typed, what was close and what is known.

class UnknownName(ValueError):
    """A kind, subtype, status or severity that names nothing (the message lists what does)."""


_CHOICES: dict[tuple[str, str], list] = {}  # (what, kind code) -> its Choices, built once per process


def _cached(what: str, code: str, make) -> list:
    """The tables are fixed, so their Choices (each folds and shortens every name) are built once:
    an import of 10^5 rows looks up kind, status and subtype per row (issue 12)."""
    found = _CHOICES.get((what, code))
    if found is None:
        found = _CHOICES[(what, code)] = make()
    return found


def kind_choices() -> list:
    from .matching import Choice

    return _cached("kind", "", lambda: [Choice(k.code, (k.code, k.zh, k.en), f"{k.code} {k.zh}")
                                        for k in KINDS.values()])


def status_choices(k: Kind) -> list:
    from .matching import Choice

    return _cached("status", k.code, lambda: [Choice(s.code, (s.code, s.zh, s.en), f"{s.code} {s.zh}")
                                              for s in k.statuses.values()])


def subtype_choices(k: Kind) -> list:
    from .matching import Choice

    return _cached("subtype", k.code, lambda: [Choice(code, (code, zh, en), f"{code} {zh}")
                                               for code, (zh, en) in k.subtypes.items()])


def severity_choices(k: Kind) -> list:
    from .matching import Choice

    return [Choice(code, (code, zh, en), f"{code} {zh}") for code, (zh, en) in k.severities.items()]


def unknown(what_zh: str, what_en: str, text: str, choices: list, *, scope_zh: str = "", scope_en: str = "",
            suggestions: list = ()) -> UnknownName:
    """The error for `text` naming none of `choices`: did you mean (when something is close), known."""
    from .matching import shown

    t = shown(text)
    zh, en = f"未知{what_zh}“{t}”{scope_zh}", f"unknown {what_en} '{t}'{scope_en}"
    if suggestions:
        zh += f"，是否要找：{'、'.join(c.label for c in suggestions)}？"
        en += f"; did you mean {' or '.join(c.label for c in suggestions)}? Known: "
    else:
        zh += "；"
        en += "; known: "
    zh += f"可用：{'、'.join(c.label for c in choices)}"
    en += ", ".join(c.label for c in choices)
    return UnknownName(f"{zh}；{en}")


def _lookup(choices: list, text: str, what_zh: str, what_en: str, scope_zh: str = "", scope_en: str = "") -> str:
    from .matching import Unmatched, match

    try:
        return match(text, choices).value
    except Unmatched as e:
        raise unknown(what_zh, what_en, text, choices, scope_zh=scope_zh, scope_en=scope_en,
                      suggestions=e.suggestions or e.ambiguous) from None


def lookup_kind(text: str) -> Kind:
    """The kind `text` names (code, Chinese or English name, pinyin; full-width folded)."""
    return KINDS[_lookup(kind_choices(), text, "类别", "kind")]


def lookup_status(k: Kind, text: str) -> str:
    """The code of the status of kind `k` that `text` names."""
    return _lookup(status_choices(k), text, "状态", "status", f"（{k.zh}）", f" for {k.code} {k.zh}")


def lookup_subtype(k: Kind, text: str) -> str:
    """The code of the subtype of kind `k` that `text` names."""
    return _lookup(subtype_choices(k), text, "子类", "subtype", f"（{k.zh}）", f" for {k.code} {k.zh}")


def lookup_severity(k: Kind, text: str) -> str:
    """The code of the damage degree of kind `k` that `text` names."""
    if not k.severities:
        with_one = "、".join(x.zh for x in KINDS.values() if x.severities)
        raise UnknownName(f"{k.zh}没有损毁程度（只有{with_one}有）；{k.code} {k.zh} has no severity "
                          f"(only {', '.join(x.code for x in KINDS.values() if x.severities)} has one)")
    return _lookup(severity_choices(k), text, "损毁程度", "severity", f"（{k.zh}）", f" for {k.code} {k.zh}")
