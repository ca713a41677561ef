"""Log lines that a client cannot forge: control characters in a message are escaped.

A path such as ``/v1/payments/x%0A2026-01-01 CRITICAL ...`` would otherwise print a second,
made-up line into a text log.
"""

from __future__ import annotations

import logging

from hub.text import escape_control


class EscapeControl(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        escaped = escape_control(message)
        if escaped != message:
            record.msg, record.args = escaped, None
        return True


def install() -> None:
    """Add the filter to every handler of the root logger (once)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, EscapeControl) for f in handler.filters):
            handler.addFilter(EscapeControl())
