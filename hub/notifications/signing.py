"""Standard Webhooks signing (standardwebhooks.com), through the reference ``standardwebhooks`` package.

``webhook-signature`` is ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, keyed with the
base64-decoded part of the ``whsec_`` secret; while a rotated-out secret is still valid, the
header carries one signature per secret, space-separated, and a receiver accepts any one.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from datetime import datetime

from standardwebhooks.webhooks import Webhook

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def headers(message_id: str, at: datetime, body: str, keys: Iterable[str]) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt (``at`` is the attempt's time, UTC)."""
    signatures = " ".join(Webhook(key).sign(message_id, at, body) for key in keys)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
    }
