"""Platform billing test helpers: settings pointed at the emulator, plans created there, signed webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import httpx

from hub.billing.settings import BillingPlan, BillingSettings

PLATFORM_SECRET_KEY = "sk_test_platformbilling00000001"
PLATFORM_WEBHOOK_SECRET = "whsec_platformBilling01"
TENANT_WEBHOOK_SECRET = "whsec_tenantsecret00001"


def create_emulator_plan(
    emulator_url: str, *, amount: int = 2900, currency: str = "usd", interval: str = "month"
) -> str:
    """A Product and a Plan on the emulator (it has no Prices); the Plan id plays the price id."""
    auth = (PLATFORM_SECRET_KEY, "")
    plan_id = f"hub_test_{secrets.token_hex(6)}"
    r = httpx.post(f"{emulator_url}/v1/products", data={"name": f"Hub plan {plan_id}"}, auth=auth, timeout=10)
    r.raise_for_status()
    r = httpx.post(
        f"{emulator_url}/v1/plans",
        auth=auth,
        timeout=10,
        data={
            "id": plan_id,
            "product": r.json()["id"],
            "amount": str(amount),
            "currency": currency,
            "interval": interval,
        },
    )
    r.raise_for_status()
    return plan_id


def billing_settings(api_base: str | None, plans: tuple[BillingPlan, ...], **overrides: Any) -> BillingSettings:
    values: dict[str, Any] = {
        "secret_key": PLATFORM_SECRET_KEY,
        "webhook_secret": PLATFORM_WEBHOOK_SECRET,
        "plans": plans,
        "api_base": api_base,
        "timeout_seconds": 10.0,
        "max_network_retries": 0,
    }
    values.update(overrides)
    return BillingSettings(**values)


def signature_header(body: bytes, *secrets_: str, timestamp: int | None = None) -> str:
    """Stripe-Signature: ``t=...,v1=...`` with one v1 per secret (HMAC-SHA256 of ``"{t}.{body}"``)."""
    t = int(time.time()) if timestamp is None else timestamp
    signed = f"{t}.".encode() + body
    parts = [f"t={t}"] + [f"v1={hmac.new(s.encode(), signed, hashlib.sha256).hexdigest()}" for s in secrets_]
    return ",".join(parts)


def event_body(
    event_type: str, obj: dict[str, Any], *, event_id: str | None = None, created: int | None = None
) -> bytes:
    return json.dumps(
        {
            "id": event_id or f"evt_{secrets.token_hex(12)}",
            "object": "event",
            "type": event_type,
            "created": int(time.time()) if created is None else created,
            "livemode": False,
            "api_version": "2024-06-20",
            "data": {"object": obj},
        }
    ).encode()


def signed(
    event_type: str, obj: dict[str, Any], *, secret: str = PLATFORM_WEBHOOK_SECRET, **kw: Any
) -> tuple[bytes, dict[str, str]]:
    body = event_body(event_type, obj, **kw)
    return body, {"Stripe-Signature": signature_header(body, secret), "Content-Type": "application/json"}
