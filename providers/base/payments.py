"""Neutral payment types, and the payments part of the provider contract."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any

import msgspec

from providers.base.errors import CardDeclined
from providers.base.statuses import PaymentStatus, RefundReason, RefundStatus

if TYPE_CHECKING:  # the Provider module imports this one
    from providers.base.provider import TenantContext

#: The decline of an off-session charge that needs the customer to authenticate (its own error code).
AUTHENTICATION_REQUIRED = "authentication_required"


class NextAction(msgspec.Struct, frozen=True):
    """What the buyer must do next, away from the storefront: ``redirect_to_url`` (their bank's page)."""

    type: str
    url: str


class PaymentMethodData(msgspec.Struct, frozen=True):
    """A payment method described by type (one of ``Capabilities.payment_method_types``) and the
    fields that type needs (a card token, a phone number, a bank code...), as the storefront sent
    them; the plugin checks them (``Provider.validate_payment``)."""

    type: str
    details: dict[str, Any] = {}

    def __repr__(self) -> str:  # the details name people (an id number, a phone)
        return f"PaymentMethodData(type={self.type!r}, ***)"


class PaymentSnapshot(msgspec.Struct, frozen=True):
    """A payment as the provider reports it at one moment (an API answer or an event's object).

    ``amount_refunded`` is money actually returned to the customer (sum of refunds), not an
    amount released by a partial capture. The hub does not apply it: it counts refunds from
    their own records and events (hub.payments.apply).
    """

    provider_payment_id: str
    status: PaymentStatus
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
    #: Where the buyer must go now (a redirect flow), while the payment waits for them.
    next_action: NextAction | None = None
    #: The type of the method paid with, when the gateway says (``Capabilities.payment_method_types``).
    payment_method_type: str | None = None
    #: A held authorization's last moment of capture (epoch seconds), when the provider says.
    capture_before: int | None = None
    #: Why the provider canceled the payment (``automatic``: a hold that lapsed uncaptured).
    cancellation_reason: str | None = None


class PaymentCreate(msgspec.Struct, frozen=True):
    """What the hub asks a provider to create. Amounts are already validated minor units.

    ``metadata`` already carries the hub's own keys (``hub_tenant_id``, ``hub_payment_id``).
    """

    amount: int
    currency: str
    capture_method: str
    metadata: dict[str, str]
    provider_customer_id: str | None = None
    payment_method: str | None = None
    confirm: bool = False
    description: str | None = None
    #: The customer is not present (a saved card charged later): the provider must not ask them to act.
    off_session: bool = False
    #: A payment method given by type and details, instead of ``payment_method`` (an id).
    payment_method_data: PaymentMethodData | None = None
    #: The buyer's email, for a gateway that needs it.
    customer_email: str | None = None
    #: The token of the gateway's terms the buyer was shown and accepted, for a gateway that needs it.
    acceptance_token: str | None = None
    #: Where the gateway sends the buyer back after a redirect flow.
    redirect_url: str | None = None
    #: A destination charge: the provider's id of the connected account the money goes to.
    transfer_destination: str | None = None
    #: What the platform keeps of a destination charge.
    application_fee_amount: int | None = None


class RefundSnapshot(msgspec.Struct, frozen=True):
    """A refund as the provider reports it. ``metadata`` carries ``hub_refund_id`` when the hub made it."""

    provider_refund_id: str
    amount: int
    #: The one refund state machine: ``providers.base.statuses.RefundStatus``.
    status: RefundStatus
    provider_payment_id: str | None = None
    reason: RefundReason | None = None
    metadata: dict[str, str] = {}
    #: The provider's id of the reversal of the destination charge's transfer this refund made.
    transfer_reversal: str | None = None


class CustomerCreate(msgspec.Struct, frozen=True):
    email: str | None = None
    name: str | None = None
    metadata: dict[str, str] = {}


class CustomerSnapshot(msgspec.Struct, frozen=True):
    provider_customer_id: str
    email: str | None = None
    name: str | None = None


class CheckoutLineItem(msgspec.Struct, frozen=True):
    name: str
    unit_amount: int
    quantity: int


class CheckoutCreate(msgspec.Struct, frozen=True):
    """A hosted checkout page for one payment; ``metadata`` goes on the session and on its payment."""

    currency: str
    line_items: tuple[CheckoutLineItem, ...]
    success_url: str
    cancel_url: str
    capture_method: str
    metadata: dict[str, str]
    provider_customer_id: str | None = None


class CheckoutSnapshot(msgspec.Struct, frozen=True):
    """A checkout session; ``provider_payment_id`` is absent until the provider has created the payment."""

    provider_session_id: str
    url: str | None
    status: str | None = None
    provider_payment_id: str | None = None


class PaymentDeclined(CardDeclined):
    """A card decline on create/confirm that left a payment behind at the provider.

    ``snapshot`` is that payment after the decline (``None`` when it could not be read),
    so the hub can keep it as ``failed`` and the customer can retry with another card.
    """

    def __init__(
        self,
        message: str,
        *,
        decline_code: str | None = None,
        snapshot: PaymentSnapshot | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(
            message,
            decline_code=decline_code,
            provider_object_id=snapshot.provider_payment_id if snapshot else None,
            param=param,
        )
        self.snapshot = snapshot
        if decline_code == AUTHENTICATION_REQUIRED:
            # Not a refusal of the card: the bank wants the customer back on session to authenticate.
            self.code = AUTHENTICATION_REQUIRED


class PaymentsAPI:
    """Payment operations a provider offers (see providers.stripe.payments for Stripe's).

    Every method takes the tenant's ``TenantContext``; none keeps tenant state between calls.
    ``idempotency_key`` is a key the hub derives from the tenant and the request; a provider
    that supports idempotent requests must send it, so that a retry after a crash between the
    provider call and the hub's database write cannot create a second object.
    Errors are the typed errors of ``providers.base.errors``.
    """

    @abstractmethod
    async def create_payment(self, ctx: TenantContext, data: PaymentCreate, *, idempotency_key: str) -> PaymentSnapshot:
        """Create (and, with ``data.confirm``, confirm) a payment.

        Raises ``PaymentDeclined`` when the card is declined during confirmation (with the
        payment's snapshot when the provider kept one), ``InvalidRequest`` for parameters the
        provider refuses, ``InvalidCredentials``, ``RateLimited`` or ``ProviderUnavailable``.
        """

    @abstractmethod
    async def get_payment(self, ctx: TenantContext, provider_payment_id: str) -> PaymentSnapshot:
        """Read the payment's current state from the provider (the truth ``sync`` applies)."""

    @abstractmethod
    async def find_payment(self, ctx: TenantContext, hub_payment_id: str) -> PaymentSnapshot | None:
        """Find the payment the hub created under ``hub_payment_id`` (its metadata), or ``None``.

        Used to repair a payment whose creation outcome the hub never learnt (crash, timeout).
        """

    @abstractmethod
    async def capture_payment(
        self, ctx: TenantContext, provider_payment_id: str, amount: int | None, *, idempotency_key: str
    ) -> PaymentSnapshot:
        """Capture an authorized payment, all of it (``amount=None``) or part of it.

        Capturing less than authorized releases the rest. Raises ``InvalidState`` when the
        payment cannot be captured.
        """

    @abstractmethod
    async def cancel_payment(
        self, ctx: TenantContext, provider_payment_id: str, *, idempotency_key: str
    ) -> PaymentSnapshot:
        """Cancel a payment that has not been captured. Raises ``InvalidState`` otherwise."""

    @abstractmethod
    async def create_refund(
        self,
        ctx: TenantContext,
        provider_payment_id: str,
        amount: int,
        *,
        reason: str | None,
        metadata: dict[str, str],
        idempotency_key: str,
        reverse_transfer: bool = False,
        refund_application_fee: bool = False,
    ) -> RefundSnapshot:
        """Return ``amount`` of a captured payment to the customer.

        Of a destination charge (``PaymentCreate.transfer_destination``): ``reverse_transfer`` takes
        the connected account's share back in proportion to ``amount``, ``refund_application_fee``
        returns the platform's fee in the same proportion. A provider without destination charges
        (``Capabilities.destination_charges``) raises ``NotSupported`` for either.
        """

    @abstractmethod
    async def list_refunds(self, ctx: TenantContext, provider_payment_id: str) -> list[RefundSnapshot]:
        """Every refund of the payment the provider knows, newest first."""

    @abstractmethod
    async def create_customer(
        self, ctx: TenantContext, data: CustomerCreate, *, idempotency_key: str
    ) -> CustomerSnapshot:
        """Create a customer in the tenant's provider account."""

    @abstractmethod
    async def create_checkout_session(
        self, ctx: TenantContext, data: CheckoutCreate, *, idempotency_key: str
    ) -> CheckoutSnapshot:
        """Create a hosted checkout page; the customer is sent to ``url``."""

    @abstractmethod
    async def get_checkout_session(self, ctx: TenantContext, provider_session_id: str) -> CheckoutSnapshot:
        """Read a checkout session (to learn the payment it created)."""
