"""12-digit GB/T 2260 division codes: which townships a code covers. Light: no geometry library.

A code covers every township whose code it prefixes: 110000000000 (Beijing) covers
110116107000; 110116000000 (Huairou) covers its 16 townships; a village code stands for its
township.
"""

from __future__ import annotations


def code_prefix(code: str) -> str:
    """The significant prefix of a 12-digit division code (province 2, city 4, county 6, township 9).

    >>> code_prefix("110000000000"), code_prefix("110116107000"), code_prefix("110116107201")
    ('11', '110116107', '110116107')
    """
    code = code.strip()
    for n in (2, 4, 6, 9):
        if code[n:].strip("0") == "":
            return code[:n]
    return code[:9]  # a village code stands for its township


def covered_townships(division_codes: list[str] | None, township_codes: list[str]) -> set[str]:
    """The townships (of `township_codes`) that any of `division_codes` covers."""
    prefixes = [code_prefix(c) for c in division_codes or [] if c and c.isdigit()]
    return {t for t in township_codes if any(t.startswith(p) for p in prefixes)}
