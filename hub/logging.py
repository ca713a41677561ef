"""Logging setup, with a filter that masks anything shaped like a Stripe secret."""

from __future__ import annotations

import logging
import re

_SECRETISH = re.compile(r"\b(sk|rk)_(test|live)_[0-9A-Za-z]+|\bwhsec_[0-9A-Za-z+/=_-]+|\bhub_(ad|st|pt)_[\w-]+")


def mask(text: str) -> str:
    return _SECRETISH.sub(lambda m: m.group(0)[:8] + "…", text)


class MaskSecrets(logging.Filter):
    """Last line of defence: code never logs secrets, and this masks any that slip through."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    if not any(isinstance(f, MaskSecrets) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(MaskSecrets())
        root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
