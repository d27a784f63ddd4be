"""Text from data made safe to print on a terminal: the one escaping function.

A feed's description, an imported file's cell or an error quoting either may hold control
characters: ESC sequences that retitle the window or rewrite the screen (`ESC]0;...BEL`,
`ESC[2J`), a carriage return that prints over a line, C1 controls (U+0080-U+009F, which some
terminals obey like ESC), and bidirectional overrides that reorder what is shown. `printable`
writes each as a visible escape (`\\x1b`, `\\x9b`, `\\u202e`) and keeps everything else: Chinese,
other scripts, tabs, and newlines where a field legitimately holds them (descriptions, notes).
The CLI applies it to table cells, echoed lines, JSON output and error lines, and the log filter
(monitor.redaction) to log records.

>>> printable("怀柔\\x1b]0;pwned\\x07 red\\r\\nnext")
'怀柔\\\\x1b]0;pwned\\\\x07 red\\\\x0d\\nnext'
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_OR_NEWLINE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(m: re.Match) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def printable(text: object, *, newlines: bool = True) -> str:
    """`text` (str() of anything; None gives "") with control characters and bidi controls
    written as visible escapes; newlines are kept unless `newlines` is False."""
    if text is None:
        return ""
    return (_UNSAFE if newlines else _UNSAFE_OR_NEWLINE).sub(_visible, str(text))


def json_safe(text: str) -> str:
    """JSON text (from json.dumps, which already escapes C0 controls) with C1 and bidi controls
    escaped as \\uXXXX too: still the same JSON, but nothing in it steers a terminal."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
