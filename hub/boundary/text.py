"""Control characters: refused in ids, query parameters and JSON text, escaped in log lines."""

from __future__ import annotations

import re

#: C0 controls and DEL. NUL is what PostgreSQL refuses in text; the others forge log lines,
#: break headers and CSV exports, and are never part of an id.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: In free text (a description, a name) tab and line breaks are ordinary characters.
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control(value: str) -> bool:
    return _CONTROL.search(value) is not None


def has_control_in_text(value: str) -> bool:
    return _CONTROL_IN_TEXT.search(value) is not None


def escape_control(value: str) -> str:
    """``a\\nb`` for ``a<LF>b``: one log record stays one line, whatever a client sent."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", value)
