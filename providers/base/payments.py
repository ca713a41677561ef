"""Neutral payment types, and the payments part of the provider contract (filled in by the payments work)."""

from __future__ import annotations

import msgspec

#: Provider-neutral payment statuses (API.md).
STATUSES = (
    "requires_payment_method", "requires_confirmation", "requires_action", "processing",
    "requires_capture", "succeeded", "canceled", "failed", "partially_refunded", "refunded",
)


class PaymentSnapshot(msgspec.Struct, frozen=True):
    """A payment as the provider reports it at one moment (an API answer or an event's object).

    ``amount_refunded`` is money actually returned to the customer (sum of refunds), not an
    amount released by a partial capture.
    """

    provider_payment_id: str
    status: str
    amount: int
    currency: str
    capture_method: str
    amount_capturable: int = 0
    amount_received: int = 0
    amount_refunded: int = 0
    client_secret: str | None = None
    metadata: dict[str, str] = {}
    last_error_code: str | None = None
    decline_code: str | None = None


class PaymentsAPI:
    """Payment operations a provider offers (see providers.stripe.payments for Stripe's)."""
