"""Stripe <-> neutral shapes. The only place that knows Stripe's status names and amount fields.

Accepts both real Stripe's PaymentIntent (``latest_charge`` an id, ``amount_received`` and
``amount_capturable`` present) and the emulator's (``latest_charge`` expanded, the old
``charges`` list, no amount fields).
"""

from __future__ import annotations

from typing import Any

from providers.base.payments import (
    CheckoutCreate,
    CheckoutSnapshot,
    CustomerSnapshot,
    PaymentCreate,
    PaymentSnapshot,
    RefundSnapshot,
)

_STATUS = {
    "requires_payment_method": "requires_payment_method",
    "requires_confirmation": "requires_confirmation",
    "requires_action": "requires_action",
    "processing": "processing",
    "requires_capture": "requires_capture",
    "succeeded": "succeeded",
    "canceled": "canceled",
}

_REFUND_STATUS = {
    "pending": "pending",
    "requires_action": "requires_action",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "canceled",
}

#: Refund reasons Stripe accepts; anything else is refused by the hub before Stripe is called.
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def _get(obj: Any, key: str, default: Any = None) -> Any:
    """A field of a dict or a StripeObject (which, in stripe-python 16, is not a mapping)."""
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


field = _get


def _metadata(obj: Any) -> dict[str, str]:
    raw = _get(obj, "metadata") or {}
    if hasattr(raw, "to_dict"):
        raw = raw.to_dict()
    return {str(k): str(v) for k, v in dict(raw).items()}


def payment_from_stripe(pi: Any) -> PaymentSnapshot:
    amount = int(_get(pi, "amount") or 0)
    error = _get(pi, "last_payment_error")
    raw_status = _get(pi, "status") or ""
    status = _STATUS.get(raw_status, "requires_payment_method")
    if status == "requires_payment_method" and error is not None:
        # Stripe sends a declined intent back to requires_payment_method and keeps the error;
        # the neutral model calls that attempt failed (the customer may still retry).
        status = "failed"
    charges = _charges(pi)
    received = _get(pi, "amount_received")
    if received is None:
        # Emulator shape: no amount_received. A charge without amount_captured counts whole;
        # the hub keeps the amount it captured itself, so a partial capture is not lost here.
        received = sum(int(_get(c, "amount_captured", _get(c, "amount", 0)) or 0) for c in charges
                       if _get(c, "captured") and _get(c, "status") == "succeeded")
    capturable = _get(pi, "amount_capturable")
    if capturable is None:
        capturable = amount if status == "requires_capture" else 0
    return PaymentSnapshot(
        provider_payment_id=_get(pi, "id"),
        status=status,
        amount=amount,
        currency=str(_get(pi, "currency") or "").lower(),
        capture_method="manual" if _get(pi, "capture_method") == "manual" else "automatic",
        amount_capturable=int(capturable or 0),
        amount_received=int(received or 0),
        client_secret=_get(pi, "client_secret"),
        metadata=_metadata(pi),
        last_error_code=_get(error, "code"),
        decline_code=_get(error, "decline_code"),
    )


def payment_intent_params(data: PaymentCreate, *, emulator: bool) -> dict[str, Any]:
    """PaymentIntent create parameters.

    ``emulator``: localstripe refuses any parameter it does not know (``description`` among
    them), so against it the description travels in metadata instead.
    """
    metadata = dict(data.metadata)
    params: dict[str, Any] = {"amount": data.amount, "currency": data.currency,
                              "capture_method": data.capture_method}
    if data.provider_customer_id:
        params["customer"] = data.provider_customer_id
    if data.payment_method:
        params["payment_method"] = data.payment_method
    if data.confirm:
        params["confirm"] = True
    if data.description:
        if emulator:
            metadata["hub_description"] = data.description[:500]
        else:
            params["description"] = data.description
    params["metadata"] = metadata
    return params


def refund_from_stripe(refund: Any) -> RefundSnapshot:
    pi = _get(refund, "payment_intent")
    if pi is not None and not isinstance(pi, str):
        pi = _get(pi, "id")
    return RefundSnapshot(
        provider_refund_id=_get(refund, "id"),
        amount=int(_get(refund, "amount") or 0),
        status=_REFUND_STATUS.get(_get(refund, "status") or "", "pending"),
        provider_payment_id=pi,
        reason=_get(refund, "reason"),
        metadata=_metadata(refund),
    )


def customer_from_stripe(customer: Any) -> CustomerSnapshot:
    return CustomerSnapshot(provider_customer_id=_get(customer, "id"), email=_get(customer, "email"),
                            name=_get(customer, "name"))


def checkout_session_params(data: CheckoutCreate) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "success_url": data.success_url,
        "cancel_url": data.cancel_url,
        "line_items": [
            {"quantity": item.quantity,
             "price_data": {"currency": data.currency, "unit_amount": item.unit_amount,
                            "product_data": {"name": item.name}}}
            for item in data.line_items
        ],
        "metadata": dict(data.metadata),
        # The PaymentIntent Stripe creates for the session carries the hub's ids too.
        "payment_intent_data": {"capture_method": data.capture_method, "metadata": dict(data.metadata)},
    }
    if data.provider_customer_id:
        params["customer"] = data.provider_customer_id
    return params


def checkout_from_stripe(session: Any) -> CheckoutSnapshot:
    pi = _get(session, "payment_intent")
    if pi is not None and not isinstance(pi, str):
        pi = _get(pi, "id")
    return CheckoutSnapshot(provider_session_id=_get(session, "id"), url=_get(session, "url"),
                            status=_get(session, "status"), provider_payment_id=pi)
