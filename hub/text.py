"""Control characters: refused in ids, query parameters and JSON text, escaped in log lines.

The one rule, for every check, schema pattern and log line of the hub.
"""

from __future__ import annotations

import re

#: C0 controls and DEL, as a regex character range. NUL is what PostgreSQL refuses in text; the
#: others forge log lines, break headers and CSV exports, and are never part of an id.
CONTROL = r"\x00-\x1f\x7f"
#: In free text (a description) tab and line breaks are ordinary characters.
CONTROL_IN_TEXT = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
#: Schema patterns (msgspec ``Meta``, Litestar ``Parameter``): a value without control characters...
PLAIN = rf"^[^{CONTROL}]*$"
#: ...and free text, where line breaks and tabs are allowed.
LINES = rf"^[^{CONTROL_IN_TEXT}]*$"

_CONTROL = re.compile(f"[{CONTROL}]")
_CONTROL_IN_TEXT = re.compile(f"[{CONTROL_IN_TEXT}]")


def has_control(value: str) -> bool:
    return _CONTROL.search(value) is not None


def has_control_in_text(value: str) -> bool:
    return _CONTROL_IN_TEXT.search(value) is not None


def escape_control(value: str) -> str:
    """``a\\nb`` for ``a<LF>b`` (``\\r``, ``\\t``, else ``\\x1b``): one log record stays one line,
    whatever a client sent. Escaping an escaped text changes nothing."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), value)
