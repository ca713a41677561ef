"""Neutral webhook event types, and the webhook part of the provider contract.

A plugin turns its gateway's signed notification into a ``ProviderEvent``: what happened to
which payment, as facts the hub can apply in any order (statuses it ranks, refund states that
only move forward, cumulative figures it orders by the event's time). The hub never sees the
gateway's wire shapes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

import msgspec

from providers.base.connect import ConnectedAccountSnapshot
from providers.base.customers import SetupIntentSnapshot
from providers.base.errors import EventNotUnderstood, NotSupported
from providers.base.invoices import InvoiceSnapshot
from providers.base.recurring import SubscriptionSnapshot
from providers.base.statuses import DisputeStatus, PaymentStatus, RefundReason, RefundStatus
from providers.base.types import MAX_AMOUNT as MAX_AMOUNT  # re-exported: plugins and tests name it here
from providers.base.types import Amount

if TYPE_CHECKING:  # the provider module imports this one
    from providers.base.provider import TenantContext

#: The longest gateway id an event may carry (the width of the hub's id columns).
MAX_ID_LENGTH = 255
#: The longest machine code (status, error or decline code, refund reason) an event may carry.
MAX_CODE_LENGTH = 80

Ident = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_LENGTH)]
Ref = Annotated[str, msgspec.Meta(max_length=MAX_ID_LENGTH)]
Code = Annotated[str, msgspec.Meta(max_length=MAX_CODE_LENGTH)]


class RefundUpdate(msgspec.Struct, frozen=True):
    """One refund as the event reports it (``status``: the one refund state machine, ``RefundStatus``)."""

    provider_refund_id: Ident
    amount: Amount
    status: RefundStatus
    reason: RefundReason | None = None
    #: The reversal of the destination charge's transfer the refund made (``RefundSnapshot``).
    transfer_reversal: Ident | None = None


class ReversalUpdate(msgspec.Struct, frozen=True):
    """One reversal of a transfer as the event lists it (``hub_reversal_id`` when the hub asked for it)."""

    provider_reversal_id: Ident
    amount: Amount
    hub_reversal_id: Ref | None = None


class TransferUpdate(msgspec.Struct, frozen=True):
    """A transfer as the event reports it: ``amount_reversed`` is the provider's cumulative figure,
    ``reversals`` the reversals it lists (the provider may list only the first few)."""

    provider_transfer_id: Ident
    amount: Amount
    amount_reversed: Amount
    reversals: tuple[ReversalUpdate, ...] = ()


class ProviderEvent(msgspec.Struct, frozen=True):
    """A verified webhook event, reduced to the facts the hub applies.

    Every field but the identity ones is optional: ``None`` means "this event says nothing
    about it", never "zero". Amounts are cumulative totals as of ``created``: the hub keeps the
    larger amount received, and the newest refunded figure (hub.payments.apply).
    """

    provider_event_id: Ident
    #: The gateway's own event type name, shown as-is in the event list.
    type: Ident
    #: Seconds since the epoch at which the gateway created the event.
    created: Amount
    #: The gateway's id of the payment the event concerns; ``None`` when it is not about a payment.
    provider_payment_id: Ident | None = None
    #: ``metadata.hub_tenant_id`` / ``hub_payment_id`` the hub stamped on the object, when carried.
    hub_tenant_id: Ref | None = None
    hub_payment_id: Ref | None = None
    #: Neutral payment status the event implies (see PaymentSnapshot.status).
    status: PaymentStatus | None = None
    amount_capturable: Amount | None = None
    amount_received: Amount | None = None
    #: The provider's cumulative refunded figure as of ``created``: refunds not known to have
    #: failed, pending ones possibly among them (never a released, uncaptured remainder). The hub counts it
    #: only for refunds it has no row for, and only the newest figure.
    amount_refunded: Amount | None = None
    refund: RefundUpdate | None = None
    #: The dispute's own life, kept beside the payment's status: needs_response, under_review, won,
    #: lost or closed.
    dispute_status: DisputeStatus | None = None
    last_error_code: Code | None = None
    decline_code: Code | None = None
    #: A held authorization's last moment of capture (epoch seconds).
    capture_before: Amount | None = None
    #: Why the provider canceled the payment (``automatic``: a hold that lapsed uncaptured).
    cancellation_reason: Code | None = None

    #: The subscription as of this event (``as_of`` is the event's time), for subscription news.
    subscription: SubscriptionSnapshot | None = None
    #: A saved payment method's setup, for setup news.
    setup_intent: SetupIntentSnapshot | None = None
    #: An invoice as of this event, for invoice news.
    invoice: InvoiceSnapshot | None = None
    #: ``metadata.hub_*_id`` the hub stamped on a non-payment object (subscription, invoice...).
    hub_object_id: Ref | None = None
    #: A connected account as of this event: only from an event the Connect endpoint's secret
    #: verified (``VerifiedEvent.connect``) that names the account it is about.
    connected_account: ConnectedAccountSnapshot | None = None
    #: A transfer to a connected account as of this event (``hub_object_id``: the hub's transfer id
    #: it carries, ``hub_payment_id``: its payment).
    transfer: TransferUpdate | None = None


class VerifiedEvent(msgspec.Struct, frozen=True):
    """A delivery whose signature checked out, before its content is interpreted.

    ``provider_event_id`` and ``type`` are only known to be non-empty strings (the hub stores the
    event under them whatever else the body holds); ``body`` is the decoded event, in the
    gateway's own shape, for the plugin's ``interpret_webhook`` alone.
    """

    provider_event_id: str
    type: str
    body: Any
    #: Verified with the secret of the tenant's Connect endpoint (events about its connected
    #: accounts), not with its own account's webhook secret.
    connect: bool = False


def checked(event: ProviderEvent) -> ProviderEvent:
    """``event`` if every field is within the neutral bounds (amounts, id lengths), else ``EventNotUnderstood``.

    Plugins build events with the plain constructor, which checks nothing; this is the one
    place the bounds of the annotations above are enforced before the hub stores an event.
    """
    fields = msgspec.to_builtins(event)
    if _holds_nul(fields):  # no database text column (PostgreSQL's) can hold it
        raise EventNotUnderstood("The event does not fit the hub's bounds: a text field holds a NUL character")
    try:
        return msgspec.convert(fields, type=ProviderEvent)
    except msgspec.ValidationError as exc:
        raise EventNotUnderstood(f"The event does not fit the hub's bounds: {exc}") from None


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(v) for v in value.values())
    return False


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


#: What a diagnosis says of the endpoint the hub needs on the tenant's account: ``unknown`` when
#: the gateway would not say (e.g. a restricted key that may not read endpoints).
ENDPOINT_STATES = ("enabled", "disabled", "missing", "unknown")


class WebhookDiagnosis(msgspec.Struct, frozen=True):
    """The gateway's view of the endpoint the hub relies on to hear about the tenant's payments.

    ``endpoint_id`` names the endpoint the hub can verify (the one it created, or the one whose
    signing secret it holds); ``url_matches`` tells whether that endpoint sends to the hub's URL
    (``None`` when there is no such endpoint, or it could not be read); ``missing_events`` are
    the event types the hub handles that the endpoint does not send. ``note`` says, in a sentence
    for the tenant, why an ``unknown`` endpoint cannot be known at all (e.g. an emulator without
    the endpoint API); the hub shows it instead of its own guess.
    """

    endpoint: str  # one of ENDPOINT_STATES
    endpoint_id: str | None = None
    url_matches: bool | None = None
    missing_events: tuple[str, ...] = ()
    note: str | None = None


#: The diagnosis of a gateway that cannot be asked.
UNKNOWN_ENDPOINT = WebhookDiagnosis(endpoint="unknown")


class WebhooksAPI(ABC):
    """Webhook verification and parsing, and endpoint set-up, a provider offers."""

    @abstractmethod
    def verify_webhook(self, ctx: TenantContext, payload: bytes, headers: Mapping[str, str]) -> VerifiedEvent:
        """Verify a webhook delivery with the tenant's secrets; return the event it carries, uninterpreted.

        ``payload`` is the request body exactly as received (never re-serialised JSON);
        ``headers`` are the request headers (case-insensitive lookup is the caller's mapping's).
        Every signing secret in ``ctx.credentials`` that is still valid is tried (current, then
        the previous one during a roll-over). Raises ``SignatureInvalid`` when the signature is
        missing, wrong or too old for every secret, when the tenant has no webhook secret, or
        when the verified body is not an event (no id or type to store it under). Makes no
        network call and has no side effects.
        """

    @abstractmethod
    def interpret_webhook(self, event: VerifiedEvent) -> ProviderEvent:
        """Turn a verified event into the neutral facts it carries.

        Raises ``EventNotUnderstood`` (naming the field) when the content is not what the
        gateway's documented shape says, e.g. an amount that is not an integer or metadata
        that is not an object. Returns events within the neutral bounds (see ``checked``).
        Pure: no network call, no side effects.
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
        when the key may not manage endpoints, ``NotSupported`` when the gateway it talks to has
        no endpoint API, the hub answering 422 ``not_supported`` with its message,
        ``ProviderUnavailable``...).
        """

    async def diagnose_webhook_endpoint(
        self, ctx: TenantContext, url: str, *, known_endpoint_id: str | None, has_secret: bool
    ) -> WebhookDiagnosis:
        """Read (never change) the tenant's endpoints and say how the one the hub uses stands.

        Picks the endpoint as ``ensure_webhook_endpoint`` would keep it, so a diagnosis and the
        repair that follows it speak of the same endpoint. Returns ``UNKNOWN_ENDPOINT`` when the
        key may not read endpoints; raises the typed provider errors otherwise. A plugin whose
        gateway offers no endpoint API keeps this default.
        """
        return UNKNOWN_ENDPOINT

    async def diagnose_connect_endpoint(self, ctx: TenantContext, url: str, *, has_secret: bool) -> WebhookDiagnosis:
        """Like ``diagnose_webhook_endpoint``, for the endpoint that sends the events of the tenant's
        connected accounts (Stripe: one made with ``connect=true``, with its own signing secret).
        ``has_secret``: the hub holds that endpoint's secret. A plugin without connected accounts
        keeps this default."""
        return UNKNOWN_ENDPOINT

    async def ensure_connect_endpoint(self, ctx: TenantContext, url: str, *, has_secret: bool) -> WebhookEndpoint:
        """Like ``ensure_webhook_endpoint``, for the connected accounts' endpoint: reuse and repair the
        one whose secret the hub holds, else replace it; the secret is given only when it was created."""
        raise NotSupported(f"{type(self).__name__} has no connected-account webhook endpoint")
