"""Neutral webhook event types, and the webhook part of the provider contract.

A plugin turns its gateway's signed notification into a ``ProviderEvent``: what happened to
which payment, as facts the hub can apply in any order (statuses it ranks, cumulative amounts
it takes the maximum of). The hub never sees the gateway's wire shapes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING

import msgspec

from providers.base.customers import SetupIntentSnapshot
from providers.base.invoices import InvoiceSnapshot
from providers.base.recurring import SubscriptionSnapshot

if TYPE_CHECKING:  # the provider module imports this one
    from providers.base.provider import TenantContext

#: Neutral dispute statuses (a dispute's own life, kept beside the payment's status).
DISPUTE_STATUSES = ("needs_response", "under_review", "won", "lost", "closed")


class RefundUpdate(msgspec.Struct, frozen=True):
    """One refund as the event reports it. ``status``: pending, succeeded, failed or canceled."""

    provider_refund_id: str
    amount: int
    status: str
    reason: str | None = None


class ProviderEvent(msgspec.Struct, frozen=True):
    """A verified webhook event, reduced to the facts the hub applies.

    Every field but the identity ones is optional: ``None`` means "this event says nothing
    about it", never "zero". Amounts are cumulative totals as of the event, so applying the
    larger of stored and reported is right whatever order events arrive in.
    """

    provider_event_id: str
    #: The gateway's own event type name, shown as-is in the event list.
    type: str
    #: Seconds since the epoch at which the gateway created the event.
    created: int
    #: The gateway's id of the payment the event concerns; ``None`` when it is not about a payment.
    provider_payment_id: str | None = None
    #: ``metadata.hub_tenant_id`` / ``hub_payment_id`` the hub stamped on the object, when carried.
    hub_tenant_id: str | None = None
    hub_payment_id: str | None = None
    #: Neutral payment status the event implies (see providers.base.payments.STATUSES).
    status: str | None = None
    amount_capturable: int | None = None
    amount_received: int | None = None
    #: Money actually returned to the customer so far (never a released, uncaptured remainder).
    amount_refunded: int | None = None
    refund: RefundUpdate | None = None
    #: One of DISPUTE_STATUSES.
    dispute_status: str | None = None
    last_error_code: str | None = None
    decline_code: str | None = None
    #: The subscription as of this event (``as_of`` is the event's time), for subscription news.
    subscription: SubscriptionSnapshot | None = None
    #: A saved payment method's setup, for setup news.
    setup_intent: SetupIntentSnapshot | None = None
    #: An invoice as of this event, for invoice news.
    invoice: InvoiceSnapshot | None = None
    #: ``metadata.hub_*_id`` the hub stamped on a non-payment object (subscription, invoice...).
    hub_object_id: str | None = None


class WebhookEndpoint(msgspec.Struct, frozen=True):
    """The endpoint the hub keeps on a tenant's gateway account.

    ``secret`` is given only when the endpoint was (re)created by this call: gateways show a
    signing secret once, so an endpoint that is reused keeps the secret the hub already stores.
    """

    endpoint_id: str
    action: str  # "created", "reused" or "repaired"
    secret: str | None = None

    def __repr__(self) -> str:
        return f"WebhookEndpoint(endpoint_id={self.endpoint_id!r}, action={self.action!r}, secret=***)"

    __str__ = __repr__


class WebhooksAPI(ABC):
    """Webhook verification and parsing, and endpoint set-up, a provider offers."""

    @abstractmethod
    def parse_webhook(self, ctx: TenantContext, payload: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        """Verify a webhook delivery with the tenant's secrets and parse it into a neutral event.

        ``payload`` is the request body exactly as received (never re-serialised JSON);
        ``headers`` are the request headers (case-insensitive lookup is the caller's mapping's).
        Every signing secret in ``ctx.credentials`` that is still valid is tried (current, then
        the previous one during a roll-over). Raises ``SignatureInvalid`` when the signature is
        missing, wrong or too old for every secret, when the tenant has no webhook secret, or
        when the verified body is not an event. Makes no network call and has no side effects.
        """

    @abstractmethod
    async def ensure_webhook_endpoint(
        self, ctx: TenantContext, url: str, *, known_endpoint_id: str | None, has_secret: bool
    ) -> WebhookEndpoint:
        """Make sure exactly one endpoint on the tenant's own account sends the handled events to ``url``.

        ``known_endpoint_id`` is the endpoint the hub created before (if any) and ``has_secret``
        tells whether the hub holds a signing secret for the endpoint at ``url``. An endpoint
        whose secret the hub holds is reused (and repaired: re-enabled, events and url set);
        one whose secret the hub does not hold cannot be used and is replaced, so a retry
        never leaves a duplicate. Raises the typed provider errors (``InvalidCredentials``
        when the key may not manage endpoints, ``ProviderUnavailable``...).
        """
