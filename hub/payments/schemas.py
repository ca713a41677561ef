"""Request and response Structs of the storefront payment routes (docs/api.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from providers.base.statuses import RefundReasonName

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
ProviderName = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Currency = Annotated[str, msgspec.Meta(min_length=3, max_length=3)]
Text = Annotated[str, msgspec.Meta(max_length=1000)]
Url = Annotated[str, msgspec.Meta(min_length=1, max_length=2048, pattern=r"^https?://")]
Metadata = dict[str, str]
CaptureMethod = Literal["automatic", "manual"]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
MethodField = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
#: A payment method given by type (``{"type": "nequi", "phone_number": "..."}``): its fields are the
#: provider's to check (``Provider.validate_payment``); the type, the plugin's declared capabilities.
PaymentMethodObject = Annotated[
    dict[MethodField, Annotated[str, msgspec.Meta(max_length=255)] | int], msgspec.Meta(max_length=20)
]


class NextAction(msgspec.Struct):
    """What the buyer must do now: ``redirect_to_url`` (their bank's page) while the payment waits."""

    type: str
    url: str


class PaymentCreate(msgspec.Struct, forbid_unknown_fields=True):
    amount: int
    currency: Currency
    capture_method: CaptureMethod = "automatic"
    customer_id: Id | None = None
    #: The provider's id of a payment method, or a method given by type and fields.
    payment_method: Id | PaymentMethodObject | None = None
    confirm: bool = False
    #: Charge a saved payment method with the customer absent (needs customer_id and confirm).
    off_session: bool = False
    metadata: Metadata = {}
    description: Text | None = None
    #: Which of the tenant's providers; needed only when it has credentials for several.
    provider: ProviderName | None = None
    #: The buyer's email, for a provider that needs it.
    customer_email: Email | None = None
    #: The provider's terms the buyer accepted (``GET /v1/providers/{provider}/acceptance``).
    acceptance_token: Token | None = None
    #: Where a redirect flow sends the buyer back.
    redirect_url: Url | None = None
    #: A destination charge: the connected account (hub id) the money goes to, less the fee.
    transfer_to: Id | None = None
    #: With ``transfer_to``: what the tenant keeps (its commission), at most the amount.
    application_fee_amount: int | None = None


class Payment(msgspec.Struct):
    id: str
    provider: str
    provider_payment_id: str | None
    status: str
    amount: int
    currency: str
    capture_method: str
    amount_capturable: int
    amount_received: int
    amount_refunded: int
    client_secret: str | None
    publishable_key: str | None
    metadata: Metadata
    created_at: datetime
    updated_at: datetime
    customer_id: str | None = None
    description: str | None = None
    last_error_code: str | None = None
    decline_code: str | None = None
    #: The type of the method paid with, when known.
    payment_method_type: str | None = None
    #: Where the buyer must go now (a redirect flow), while the payment waits for them.
    next_action: NextAction | None = None
    #: A held authorization's last moment of capture, null while unknown (manual capture only).
    capture_before: datetime | None = None
    #: Why the provider canceled the payment (``automatic``: a hold that lapsed uncaptured).
    cancellation_reason: str | None = None
    #: What its transfers sent to connected accounts, less reversals.
    amount_transferred: int = 0
    #: ``amount_received - amount_refunded - amount_transferred``: the commission plus what is still held.
    platform_amount: int = 0


class Acceptance(msgspec.Struct, omit_defaults=True):
    """The provider's terms the buyer must be shown (``permalink``) and accept before paying."""

    acceptance_token: str
    permalink: str
    personal_data_token: str | None = None
    personal_data_permalink: str | None = None


class Bank(msgspec.Struct):
    code: str
    name: str


class BankList(msgspec.Struct):
    data: list[Bank]


class FieldChange(msgspec.Struct):
    """One field a sync changed: its value before (``from``) and after (``to``)."""

    field: str
    from_: str | int | None = msgspec.field(name="from")
    to: str | int | None


class SyncedPayment(Payment):
    """A sync's answer: the payment, and what the sync changed (empty when it agreed already)."""

    changes: list[FieldChange] = []


class PaymentList(msgspec.Struct):
    data: list[Payment]
    has_more: bool


class CaptureRequest(msgspec.Struct, forbid_unknown_fields=True):
    amount: int | None = None


class RefundCreate(msgspec.Struct, forbid_unknown_fields=True):
    amount: int | None = None
    reason: RefundReasonName | None = None
    #: Reverse the payment's transfers (newest first) by what the refund needs, or a destination
    #: charge's transfer in proportion to the refund; without it a payment with money still at a
    #: connected account is not refunded (409 ``transfers_outstanding``).
    reverse_transfers: bool = False


class Refund(msgspec.Struct):
    id: str
    payment_id: str
    provider_refund_id: str | None
    amount: int
    status: str
    reason: str | None
    created_at: datetime


class RefundList(msgspec.Struct):
    data: list[Refund]


class TransferCreate(msgspec.Struct, forbid_unknown_fields=True):
    connected_account_id: Id
    amount: int
    metadata: Metadata = {}


class Transfer(msgspec.Struct):
    id: str
    provider_transfer_id: str | None
    payment_id: str
    connected_account_id: str
    amount: int
    currency: str
    amount_reversed: int
    #: ``pending`` only while the provider's answer is not known yet.
    status: Literal["pending", "paid", "partially_reversed", "reversed"]
    metadata: Metadata
    created_at: datetime


class TransferList(msgspec.Struct):
    data: list[Transfer]


class ReversalCreate(msgspec.Struct, forbid_unknown_fields=True):
    amount: int | None = None


class Customer(msgspec.Struct):
    id: str
    provider: str
    #: null only while the customer's creation at the provider has not completed
    provider_customer_id: str | None
    email: str | None
    name: str | None
    metadata: Metadata
    created_at: datetime


class LineItem(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=250)]
    unit_amount: int
    quantity: Annotated[int, msgspec.Meta(ge=1, le=999)]


class CheckoutSessionCreate(msgspec.Struct, forbid_unknown_fields=True):
    currency: Currency
    line_items: Annotated[list[LineItem], msgspec.Meta(min_length=1, max_length=100)]
    success_url: Url
    cancel_url: Url
    capture_method: CaptureMethod = "automatic"
    customer_id: Id | None = None
    metadata: Metadata = {}
    provider: ProviderName | None = None


class CheckoutSession(msgspec.Struct):
    id: str
    provider: str
    url: str | None
    provider_session_id: str
    payment_id: str | None
    created_at: datetime
