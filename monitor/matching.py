"""Matching what people type to one of a few known names, forgivingly, and saying "did you mean".

Field staff type township, kind, subtype and status names on a Chinese keyboard, in Chinese, in
pinyin or in English. `match` tries, in order, and returns the first step that names exactly one
choice:

1. the exact name (a code, the Chinese name, the English name), after NFKC normalisation (so
   full-width `１５５` and `＃2` are `155` and `#2`), case, spaces, `_` and `-` folded;
2. the short name: the Chinese name without 镇, 乡, 满族乡, 地区办事处, 街道 (汤河口 for 汤河口镇),
   the English name without Town, Subdistrict, ... (Tanghekou);
3. where the caller allows it, a unique part of a name (宝山 in 宝山镇);
4. pinyin (tanghekou, tang he kou), any reading of each character (长 is chang or zhang):
   pypinyin is imported only here, when the cheaper steps found nothing, and each name's
   readings are cached;
5. otherwise `Unmatched`, carrying difflib's close matches as suggestions (or, for a part that
   names several, the candidates).

Nothing here knows what a township or a status is: callers pass `Choice`s and word the message.
This module imports nothing heavy: `monitor facility update` uses it on its fast path.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

# the generic part of a name, longest first so that 满族乡 goes before 乡
ZH_SUFFIXES = ("地区办事处", "满族乡", "民族乡", "街道", "镇", "乡")
EN_SUFFIXES = ("manchu ethnic township", "ethnic township", "subdistrict", "township", "town")
SUGGESTED = 3
CJK = re.compile(r"[\u3400-\u9fff]")


def normalise(text: str | None) -> str:
    """NFKC (full-width letters, digits and signs to ASCII), stripped, inner spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text or "").split())


def shown(text: str | None, limit: int = 40) -> str:
    """Typed text made safe to echo in a message: controls escaped, long text cut."""
    from .facilities import CONTROL_OR_NEWLINE

    safe = CONTROL_OR_NEWLINE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text or "")
    return safe if len(safe) <= limit else safe[:limit] + "…"


def fold(text: str | None) -> str:
    """The form names are compared in: normalised, case-folded, `_` and `-` read as spaces."""
    return " ".join(normalise(text).casefold().replace("_", " ").replace("-", " ").split())


def short_name(name: str) -> str | None:
    """汤河口镇 -> 汤河口, Tanghekou Town -> tanghekou (folded); None when nothing generic to drop."""
    f = fold(name)
    for suffix in ZH_SUFFIXES:
        if f.endswith(suffix) and len(f) - len(suffix) >= 2:
            return f[: -len(suffix)]
    for suffix in EN_SUFFIXES:
        if f.endswith(" " + suffix):
            return f[: -len(suffix) - 1]
    return None


@dataclass(frozen=True)
class Choice:
    """One thing that may be meant: `value` is returned, `names` are matched, `label` is shown."""
    value: str
    names: tuple[str, ...]
    label: str
    keys: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = [fold(n) for n in self.names if n]
        keys += [s for s in (short_name(n) for n in self.names if n) if s]
        object.__setattr__(self, "keys", tuple(dict.fromkeys(k for k in keys if k)))


class Unmatched(LookupError):
    """Nothing matched `text` exactly; `suggestions` are close, `ambiguous` the several it names."""

    def __init__(self, text: str, suggestions: Sequence[Choice] = (), ambiguous: Sequence[Choice] = ()):
        super().__init__(text)
        self.text = text
        self.suggestions = list(suggestions)
        self.ambiguous = list(ambiguous)


def _one(found: Iterable[Choice], text: str) -> Choice | None:
    distinct = list(dict.fromkeys(found))
    if len(distinct) > 1:
        raise Unmatched(text, ambiguous=distinct)
    return distinct[0] if distinct else None


def match(text: str | None, choices: Sequence[Choice], *, parts: bool = False) -> Choice:
    """The one choice `text` names (see the module docstring); `Unmatched` otherwise."""
    typed = normalise(text)
    t = fold(typed)
    if not t:
        raise Unmatched(typed)
    found = _one((c for c in choices if t in c.keys), typed)
    if found:
        return found
    if parts:
        found = _one((c for c in choices if any(t in k for k in c.keys)), typed)
        if found:
            return found
    letters = t.replace(" ", "").replace("'", "")
    spelled = letters.isascii() and letters.isalpha()
    if spelled:
        found = _one((c for c in choices if any(_spells(letters, n) for n in c.names if n and CJK.search(n))), typed)
        if found:
            return found
    raise Unmatched(typed, suggestions=_close(t, choices, spelled))


def _close(t: str, choices: Sequence[Choice], spelled: bool) -> list[Choice]:
    """difflib's close matches of `t` among every key (and, for letters, every name's pinyin)."""
    owner: dict[str, list[Choice]] = {}  # a key may belong to several (已验收: fire's and flood's)
    for c in choices:
        keys = list(c.keys)
        if spelled:
            keys += [pinyin(k) for k in c.keys if CJK.search(k)]
        for k in dict.fromkeys(keys):
            owner.setdefault(k, []).append(c)
    target = t.replace(" ", "") if spelled else t
    # two Chinese characters with one wrong (汤和口, 正長) are as close as short names get
    cutoff = 0.5 if CJK.search(t) else 0.6
    close = difflib.get_close_matches(target, list(owner), n=SUGGESTED * 2, cutoff=cutoff)
    return list(dict.fromkeys(c for k in close for c in owner[k]))[:SUGGESTED]


# --- pinyin -----------------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def readings(name: str) -> tuple[tuple[str, ...], ...]:
    """Every toneless pinyin reading of each character of `name` (non-Chinese characters as they are)."""
    from pypinyin import Style, pinyin as _pinyin

    return tuple(tuple(dict.fromkeys(r.lower() for r in rs))
                 for rs in _pinyin(name, style=Style.NORMAL, heteronym=True, errors=lambda s: list(s)))


@lru_cache(maxsize=4096)
def pinyin(name: str) -> str:
    """The most common reading of `name`, run together (汤河口 -> tanghekou): for suggestions."""
    return "".join(rs[0] for rs in readings(name) if rs)


def _spells(letters: str, name: str) -> bool:
    """Whether `letters` is some reading of all of `name`, or of its short name."""
    names = [name] + [s for s in (short_name(name),) if s]
    return any(_reads(letters, readings(normalise(n).casefold())) for n in names)


def _reads(letters: str, chars: tuple[tuple[str, ...], ...]) -> bool:
    ends = {0}  # positions in `letters` reached after reading chars[:i]
    for options in chars:
        ends = {e + len(r) for e in ends for r in options if r and letters.startswith(r, e)}
        if not ends:
            return False
    return len(letters) in ends
