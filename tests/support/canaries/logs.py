"""Every log record of every logger, as text, before any handler has masked or trimmed it.

The hub's own handler masks anything key-shaped as a last line of defence; the canary handler
sits first on the root logger, so it reads each record as the code wrote it: a secret the hub's
code logged is a leak even when the mask would have hidden it from this one output.
"""

from __future__ import annotations

import logging
import time
import traceback

from tests.support.canaries.ledger import Ledger
from tests.support.canaries.needles import LOG

#: Attributes every LogRecord has; anything else on a record came from ``extra=`` (the hub's ``fields``).
_STANDARD = set(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {"message", "asctime"}


def record_text(record: logging.LogRecord) -> str:
    """Message, arguments, attached exception, stack and extra fields of one record."""
    try:
        parts = [record.getMessage()]  # the message with its arguments
    except Exception:  # a record whose arguments do not fit its format: read both raw
        parts = [str(record.msg), repr(record.args)]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append("".join(traceback.format_exception(*record.exc_info)))
    for extra in (record.exc_text, record.stack_info):
        if extra:
            parts.append(extra)
    parts += [f"{k}={v!r}" for k, v in vars(record).items() if k not in _STANDARD]
    return "\n".join(parts)


class CanaryHandler(logging.Handler):
    def __init__(self, ledger: Ledger) -> None:
        super().__init__(logging.DEBUG)
        self.ledger = ledger

    def emit(self, record: logging.LogRecord) -> None:
        try:
            started = time.perf_counter()
            text = record_text(record)
            self.ledger.cost[LOG] += time.perf_counter() - started
            self.ledger.observe_log(text, f"a log record of {record.name} ({record.levelname})")
        except Exception:
            self.handleError(record)

    def install_first(self) -> None:
        """Put this handler before every other on the root logger (the hub's masking one included)."""
        root = logging.getLogger()
        if root.handlers[:1] != [self]:
            if self in root.handlers:
                root.removeHandler(self)
            root.handlers.insert(0, self)
