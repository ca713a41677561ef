"""Stripe-shaped, signed webhook deliveries for tests (shapes from Stripe's API reference).

The signature is Stripe's scheme: HMAC-SHA256 of ``f"{t}.{raw_body}"`` with the
whole ``whsec_...`` string as key, sent as ``t=...,v1=...`` (several ``v1`` allowed).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import httpx


def signature(body: bytes, secret: str, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(body: bytes, *secrets_: str, timestamp: int | None = None, extra: list[str] | None = None) -> str:
    """A Stripe-Signature header with one ``v1`` per secret (plus any ``extra`` raw v1 values)."""
    t = int(time.time()) if timestamp is None else timestamp
    parts = [f"t={t}"] + [f"v1={signature(body, s, t)}" for s in secrets_] + [f"v1={v}" for v in extra or []]
    return ",".join(parts)


def event_id() -> str:
    return "evt_" + secrets.token_hex(12)


def event(type_: str, obj: dict[str, Any], *, id: str | None = None, created: int | None = None) -> dict[str, Any]:
    return {
        "id": id or event_id(),
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": created or int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": type_,
        "data": {"object": obj},
    }


def payment_intent(
    pi_id: str,
    status: str,
    *,
    amount: int = 2000,
    currency: str = "usd",
    capture_method: str = "automatic",
    amount_received: int = 0,
    amount_capturable: int = 0,
    metadata: dict[str, str] | None = None,
    last_payment_error: dict | None = None,
) -> dict[str, Any]:
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount,
        "currency": currency,
        "status": status,
        "capture_method": capture_method,
        "amount_received": amount_received,
        "amount_capturable": amount_capturable,
        "latest_charge": "ch_" + pi_id[3:],
        "client_secret": f"{pi_id}_secret_x",
        "metadata": metadata or {},
        "last_payment_error": last_payment_error,
    }


def charge(
    pi_id: str,
    *,
    amount: int = 2000,
    amount_captured: int | None = None,
    amount_refunded: int = 0,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    captured = amount if amount_captured is None else amount_captured
    return {
        "id": "ch_" + pi_id[3:],
        "object": "charge",
        "amount": amount,
        "amount_captured": captured,
        "amount_refunded": amount_refunded,
        "captured": True,
        "currency": "usd",
        "paid": True,
        "payment_intent": pi_id,
        "refunded": amount_refunded >= amount,
        "status": "succeeded",
        "metadata": metadata or {},
    }


def refund(pi_id: str, refund_id: str, amount: int, status: str = "succeeded") -> dict[str, Any]:
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "currency": "usd",
        "status": status,
        "charge": "ch_" + pi_id[3:],
        "payment_intent": pi_id,
        "reason": "requested_by_customer",
        "metadata": {},
    }


def dispute(pi_id: str, status: str = "needs_response", amount: int = 2000) -> dict[str, Any]:
    return {
        "id": "dp_" + secrets.token_hex(8),
        "object": "dispute",
        "amount": amount,
        "currency": "usd",
        "charge": "ch_" + pi_id[3:],
        "payment_intent": pi_id,
        "reason": "fraudulent",
        "status": status,
        "metadata": {},
    }


def encode(evt: dict[str, Any], *, pretty: bool = False) -> bytes:
    return (json.dumps(evt, indent=2, sort_keys=True) if pretty else json.dumps(evt)).encode()


async def deliver(
    http: Any, tenant_id: str, body: bytes, *secrets_: str, timestamp: int | None = None, header: str | None = None
) -> httpx.Response:
    """POST one delivery to the tenant's webhook URL, signed with ``secrets_`` (or the given header)."""
    sig = header if header is not None else sign(body, *secrets_, timestamp=timestamp)
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if sig:
        headers["Stripe-Signature"] = sig
    return await http.post(f"/v1/webhooks/stripe/{tenant_id}", content=body, headers=headers)


def nested_event_body(depth: int, *, type_: str = "customer.created") -> bytes:
    """A Stripe-shaped event whose object carries a value nested ``depth`` arrays deep.

    Written as bytes: ``json.dumps`` itself recurses, and would fail on the depths tests send.
    """
    head = json.dumps(event(type_, {"id": "cus_deep", "object": "customer", "metadata": {}}))
    assert head.endswith("}}}")
    return head[:-3].encode() + b', "deep": ' + b"[" * depth + b"]" * depth + b"}}}"


#: A year, in seconds: how far ahead the decoy timestamps below are signed.
YEAR = 365 * 24 * 3600


def decoy_headers(body: bytes, secret: str, now: int) -> dict[str, str]:
    """Stripe-Signature headers that carry a second, decoy timestamp beside a year-ahead signed one.

    Each is correctly signed for the year-ahead timestamp; only a reader that takes a different
    ``t`` than the verifier does would let it through as "not from the future".
    """
    ahead = now + YEAR
    good = signature(body, secret, ahead)
    return {
        "decoy first": f"t={now},t={ahead},v1={good}",
        "decoy after a blank": f"v0=x, t={now},t={ahead},v1={good}",
        "decoy with a second equals sign": f"t={ahead}=0,v1={good}",
    }
