"""Logging: one handler on the root logger, text or JSON, every line masked and tagged with its request id.

``HUB_LOG_FORMAT=json`` writes one JSON object a line (``ts``, ``level``, ``logger``, ``message``,
``request_id`` and any structured ``fields``); ``text`` writes one readable line with the same facts.
Control characters in a message are escaped in both, so client text can never forge a line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from hub.text import escape_control
from providers.base.secrets import mask_secrets

#: The id of the request being served by this task (``X-Request-Id``); ``None`` outside a request.
REQUEST_ID: ContextVar[str | None] = ContextVar("hub_request_id", default=None)

#: stripe-python logs every request (and each retry) at INFO, and httpx (which carries it) one more
#: line per request: the plugin's one DEBUG line per call says what they did. Held at WARNING at
#: every log level (stripe-python's DEBUG lines would also print whole Stripe responses, and
#: aiosqlite's two lines per statement print its parameters: names, emails, sealed secrets).
QUIET_LOGGERS = ("stripe", "httpx", "httpcore", "aiosqlite")


def _stamp_request_id(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    """Wrap a LogRecord factory so every record, whoever handles it, carries the current request id."""

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        record.request_id = REQUEST_ID.get()
        return record

    factory.hub_request_id = True  # type: ignore[attr-defined]
    return factory


class MaskSecrets(logging.Filter):
    """Last line of defence: code never logs secrets, and this masks any that slip through."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):  # structured values can be client text too (a path parameter)
            record.fields = {k: mask_secrets(v) if isinstance(v, str) else v for k, v in fields.items()}
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = mask_secrets(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "fields", None)
    return fields if isinstance(fields, dict) else {}


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        parts = [
            self.formatTime(record),
            record.levelname,
            record.name + (f" [{rid}]" if rid else "") + ":",
            escape_control(record.getMessage()),
        ]
        parts += [f"{k}={escape_control(str(v))}" for k, v in _fields(record).items()]
        line = " ".join(parts)
        if record.exc_text:
            line += "\n" + record.exc_text
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        entry.update(_fields(record))
        if record.exc_text:
            entry["exception"] = record.exc_text
        # json escapes every control character itself; ensure_ascii keeps the line plain ASCII.
        return json.dumps(entry, default=str)


def configure_logging(level: str, fmt: str = "text") -> None:
    """Install (or re-format) the hub's one root handler; idempotent, keeps the host's own handlers."""
    root = logging.getLogger()
    if not getattr(logging.getLogRecordFactory(), "hub_request_id", False):
        logging.setLogRecordFactory(_stamp_request_id(logging.getLogRecordFactory()))
    formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    ours: list[logging.Handler] = [h for h in root.handlers if any(isinstance(f, MaskSecrets) for f in h.filters)]
    if not ours:
        stream = logging.StreamHandler()
        stream.addFilter(MaskSecrets())
        root.addHandler(stream)
        ours = [stream]
    for handler in ours:
        handler.setFormatter(formatter)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    for chatty in QUIET_LOGGERS:
        logging.getLogger(chatty).setLevel(logging.WARNING)
