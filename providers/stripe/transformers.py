"""Stripe <-> neutral shapes. The only place that knows Stripe's status names and amount fields.

Accepts both real Stripe's PaymentIntent (``latest_charge`` an id, ``amount_received`` and
``amount_capturable`` present) and the emulator's (``latest_charge`` expanded, the old
``charges`` list, no amount fields).
"""

from __future__ import annotations

from typing import Any

from providers.base.payments import PaymentSnapshot

_STATUS = {
    "requires_payment_method": "requires_payment_method",
    "requires_confirmation": "requires_confirmation",
    "requires_action": "requires_action",
    "processing": "processing",
    "requires_capture": "requires_capture",
    "succeeded": "succeeded",
    "canceled": "canceled",
}


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(key, default)
    try:
        return obj[key]
    except (KeyError, TypeError, AttributeError):
        return getattr(obj, key, default)


def _charges(pi: Any) -> list[Any]:
    charges = _get(_get(pi, "charges"), "data") or []
    latest = _get(pi, "latest_charge")
    if not charges and latest is not None and not isinstance(latest, str):
        charges = [latest]
    return list(charges)


def payment_from_stripe(pi: Any) -> PaymentSnapshot:
    amount = int(_get(pi, "amount") or 0)
    status = _STATUS.get(_get(pi, "status") or "", "requires_payment_method")
    charges = _charges(pi)
    received = _get(pi, "amount_received")
    if received is None:
        received = sum(int(_get(c, "amount_captured", _get(c, "amount", 0)) or 0) for c in charges
                       if _get(c, "captured") and _get(c, "status") == "succeeded")
    capturable = _get(pi, "amount_capturable")
    if capturable is None:
        capturable = amount if status == "requires_capture" else 0
    error = _get(pi, "last_payment_error")
    metadata = _get(pi, "metadata") or {}
    return PaymentSnapshot(
        provider_payment_id=_get(pi, "id"),
        status=status,
        amount=amount,
        currency=str(_get(pi, "currency") or "").lower(),
        capture_method="manual" if _get(pi, "capture_method") == "manual" else "automatic",
        amount_capturable=int(capturable or 0),
        amount_received=int(received or 0),
        client_secret=_get(pi, "client_secret"),
        metadata={str(k): str(v) for k, v in dict(metadata).items()},
        last_error_code=_get(error, "code"),
        decline_code=_get(error, "decline_code"),
    )
