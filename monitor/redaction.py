"""Keeping secrets out of logs, errors, JSON and the database: the one redactor.

Every value that monitor.sources substitutes from the environment (`${NAME}` in a source's URL
or headers: API keys, tokens, passwords) is remembered here, with its URL-encoded forms, and
`redact` replaces each with `***` in any text. It also always hides a URL's user-info
(`https://user:pass@host` -> `https://***@host`) and the values of query parameters whose names
say they are keys (key, token, access_token, apikey, appid, tk, secret, password, signature ...).

It is applied wherever a URL or error text leaves the process or enters the database: fetch
errors and warnings (fetch_log, `refresh --json`), the refresh summary, `status`, and every log
record (`install_log_filter` puts a filter on the root logger's handlers, which also covers
httpx's own "HTTP Request: GET <url>" lines at -v and tracebacks, and escapes control
characters as monitor.terminal does). Nothing heavy is imported.

>>> remember("s3cr3t")
>>> redact("GET https://u:pw@example.org/feed/s3cr3t?appid=42&x=1")
'GET https://***@example.org/feed/***?appid=***&x=1'
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote, quote_plus

MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern | None = None
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s?#@'\"<>]*@")
_KEY_NAMES = (r"[A-Za-z0-9_.-]*(?:key|token|secret|passw(?:or)?d|pwd|sig(?:nature)?|auth|credential)"
              r"[A-Za-z0-9_.-]*|appid|app_id|tk|code_challenge")
_KEYED_QUERY = re.compile(rf"(?i)([?&;](?:{_KEY_NAMES})=)[^&#\s'\"<>]*")


def remember(value: str | None) -> None:
    """Remember a secret (and its URL-encoded forms); empty values are ignored."""
    global _pattern
    if not value:
        return
    forms = {value, quote(value, safe=""), quote_plus(value), quote(value, safe="/:")}
    with _lock:
        if forms <= _secrets:
            return
        _secrets.update(f for f in forms if f)
        ordered = sorted(_secrets, key=len, reverse=True)  # longest first: a secret holding another
        _pattern = re.compile("|".join(map(re.escape, ordered)))


def redact(text: object) -> object:
    """`text` with every remembered secret, URL user-info and keyed query value hidden
    (non-strings are returned as they are)."""
    if not isinstance(text, str) or not text:
        return text
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    text = _USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)
    return _KEYED_QUERY.sub(lambda m: m.group(1) + MASK, text)


class RedactingFilter(logging.Filter):
    """A handler filter: the record's message (arguments merged in) and traceback redacted, and
    the message's control characters escaped (monitor.terminal: log lines reach terminals)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from .terminal import printable

        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error handling
            return True
        record.msg, record.args = printable(redact(message)), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_log_filter() -> None:
    """Put the redacting filter on every handler of the root logger (once each)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
