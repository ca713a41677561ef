"""Signed Stripe event deliveries and the request files the wrk script cycles through.

A Stripe signature is ``t=<unix>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>`` and is accepted
for 300 s, so files are written just before each run.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

#: Event types that move a payment (both are applied under the payment's row lock).
_TYPES = (("payment_intent.processing", "processing", 0), ("payment_intent.succeeded", "succeeded", 2000))


class Request(NamedTuple):
    method: str
    path: str
    authorization: str  # "-" for none
    signature: str  # "-" for none
    body: bytes


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def payment_event(n: int, tenant_id: str, hub_payment_id: str, pi_id: str) -> bytes:
    """The n-th distinct event about one payment: a PaymentIntent event in Stripe's shape."""
    type_, status, received = _TYPES[n % len(_TYPES)]
    event = {
        "id": "evt_" + secrets.token_hex(12),
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": type_,
        "data": {
            "object": {
                "id": pi_id,
                "object": "payment_intent",
                "amount": 2000,
                "currency": "usd",
                "status": status,
                "capture_method": "automatic",
                "amount_received": received,
                "amount_capturable": 0,
                "latest_charge": None,
                "client_secret": f"{pi_id}_secret_bench",
                "metadata": {"hub_tenant_id": tenant_id, "hub_payment_id": hub_payment_id},
                "last_payment_error": None,
            }
        },
    }
    return json.dumps(event, separators=(",", ":")).encode()


def deliveries(tenant_id: str, secret: str, payments: Sequence[tuple[str, str]], count: int) -> list[Request]:
    """``count`` distinct signed events, round-robin over ``payments`` ((hub id, Stripe id) pairs)."""
    t = int(time.time())
    path = f"/v1/webhooks/stripe/{tenant_id}"
    out = []
    for n in range(count):
        hub_id, pi_id = payments[n % len(payments)]
        body = payment_event(n // len(payments), tenant_id, hub_id, pi_id)
        out.append(Request("POST", path, "-", sign(body, secret, t), body))
    return out


def create_payments(keys: Sequence[str], count: int) -> list[Request]:
    """``count`` payment creations cycling over storefront ``keys`` (no Idempotency-Key: each is new)."""
    body = json.dumps({"amount": 2000, "currency": "usd", "metadata": {"order": "bench"}}).encode()
    return [Request("POST", "/v1/payments", f"Bearer {keys[n % len(keys)]}", "-", body) for n in range(count)]


def write(path: Path, requests: Iterable[Request]) -> int:
    lines = 0
    with path.open("wb") as f:
        for r in requests:
            assert b"\t" not in r.body and b"\n" not in r.body, "one request per line"
            f.write(f"{r.method}\t{r.path}\t{r.authorization}\t{r.signature}\t".encode() + r.body + b"\n")
            lines += 1
    return lines
