"""Stripe's objects as the plugin reads them: typed msgspec structs, decoded strictly.

Each struct names only the fields the hub uses, with Stripe's names and JSON types; every other
field is ignored (Stripe adds fields in every API version). Both shapes the plugin meets decode:
real Stripe's (``latest_charge`` an id, ``amount_received`` present, a subscription's period on
its items) and the localstripe emulator's older ones (``latest_charge`` expanded, the ``charges``
list, no amount fields, ``plan`` beside ``price``, the period on the subscription). A field Stripe
may leave out or send as null is optional here; no value is ever coerced (``"2000"`` is not an
amount, ``"yes"`` is not a boolean).

``decode`` is the one entry: an SDK ``StripeObject`` (through its public ``to_dict``) or a decoded
JSON object (a webhook event's) in, a struct out, or ``FieldError`` naming the field (never its
value). Statuses stay strings here: the transformers map them exhaustively (``status_of``).
"""

from __future__ import annotations

import re
from typing import Annotated, TypeVar

import msgspec
import stripe

from providers.base.errors import UnexpectedAnswer

Id = Annotated[str, msgspec.Meta(min_length=1)]
Metadata = dict[str, str]
#: A JSON object not decoded yet (an event's object, a list's items): decoded once its type is known.
JsonObject = dict[str, object]


class FieldError(UnexpectedAnswer, ValueError):
    """A field whose type is not the one Stripe documents; the message names the field, never its value."""


class Wire(msgspec.Struct):
    """Base of every Stripe shape: unknown fields are ignored."""


class Expanded(Wire):
    """An expanded reference: only its id is read."""

    id: Id


#: A reference to another object: its id, or the object itself when Stripe expanded it.
Ref = str | Expanded | None


def ref_id(value: Ref) -> str | None:
    """The id a reference names (an empty id is no reference)."""
    if isinstance(value, Expanded):
        return value.id
    return value or None


class Stamped(Wire):
    """Whatever the object, the metadata the hub stamped on it (``hub_tenant_id``, ``hub_*_id``)."""

    metadata: Metadata = {}


class PaymentError(Wire):
    code: str | None = None
    decline_code: str | None = None


class CardDetails(Wire):
    #: A manual-capture charge's last moment of capture (epoch seconds).
    capture_before: int | None = None


class PaymentMethodDetails(Wire):
    card: CardDetails | None = None


class Charge(Wire):
    id: Id
    amount: int | None = None
    #: Absent from the emulator's charges (it counts a released remainder as refunded).
    amount_captured: int | None = None
    amount_refunded: int | None = None
    captured: bool | None = None
    status: str | None = None
    payment_intent: Ref = None
    metadata: Metadata = {}
    payment_method_details: PaymentMethodDetails | None = None


class ChargeList(Wire):
    data: list[Charge] = []


class PaymentIntent(Wire):
    id: Id
    status: str | None = None
    amount: int | None = None
    currency: str | None = None
    capture_method: str | None = None
    #: Absent from the emulator's PaymentIntents.
    amount_capturable: int | None = None
    amount_received: int | None = None
    client_secret: str | None = None
    metadata: Metadata = {}
    last_payment_error: PaymentError | None = None
    cancellation_reason: str | None = None
    #: An id at Stripe (unless expanded); the charge itself at the emulator.
    latest_charge: str | Charge | None = None
    #: The emulator's (and Stripe's before 2022-11-15) list of the intent's charges.
    charges: ChargeList | None = None


class Refund(Wire):
    id: Id
    amount: int | None = None
    status: str | None = None
    payment_intent: Ref = None
    reason: str | None = None
    metadata: Metadata = {}
    transfer_reversal: Ref = None


class TransferReversal(Wire):
    id: Id
    amount: int | None = None
    transfer: Ref = None
    metadata: Metadata = {}


class TransferReversalList(Wire):
    data: list[TransferReversal] = []


class Transfer(Wire):
    id: Id
    amount: int | None = None
    amount_reversed: int | None = None
    currency: str | None = None
    destination: Ref = None
    metadata: Metadata = {}
    #: Stripe lists the first reversals (up to 10) on the transfer itself.
    reversals: TransferReversalList | None = None


class Dispute(Wire):
    id: Id
    status: str | None = None
    payment_intent: Ref = None


class Customer(Wire):
    id: Id
    email: str | None = None
    name: str | None = None


class CheckoutSession(Wire):
    id: Id
    url: str | None = None
    status: str | None = None
    payment_intent: Ref = None
    metadata: Metadata = {}


class SetupIntent(Wire):
    id: Id
    status: str | None = None
    client_secret: str | None = None
    payment_method: Ref = None
    metadata: Metadata = {}


class Card(Wire):
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None


class PaymentMethod(Wire):
    id: Id
    type: str | None = None
    card: Card | None = None


class Product(Wire):
    id: Id
    name: str | None = None
    active: bool = True


class Price(Wire):
    """A Price at Stripe, or a Plan at the emulator (which has no Prices)."""

    id: Id
    active: bool = True


class SubscriptionItem(Wire):
    #: Since API 2025-03-31 the period belongs to each item.
    current_period_end: int | None = None
    price: Ref = None
    #: The emulator's (and older API versions') plan.
    plan: Ref = None


class SubscriptionItems(Wire):
    data: list[SubscriptionItem] = []


class Subscription(Wire):
    id: Id
    status: str | None = None
    created: int | None = None
    customer: Ref = None
    #: On the subscription at the emulator and before API 2025-03-31; on each item since.
    current_period_end: int | None = None
    items: SubscriptionItems | None = None
    plan: Ref = None
    cancel_at_period_end: bool | None = None
    latest_invoice: Ref = None
    metadata: Metadata = {}


class SubscriptionDetails(Wire):
    subscription: Ref = None


class InvoiceParent(Wire):
    subscription_details: SubscriptionDetails | None = None


class Invoice(Wire):
    id: Id
    status: str | None = None
    amount_due: int | None = None
    amount_paid: int | None = None
    currency: str | None = None
    hosted_invoice_url: str | None = None
    due_date: int | None = None
    customer: Ref = None
    #: Older API versions (and the emulator) name the subscription here...
    subscription: Ref = None
    #: ...newer ones only under ``parent.subscription_details``.
    parent: InvoiceParent | None = None
    metadata: Metadata = {}

    @property
    def subscription_id(self) -> str | None:
        details = self.parent.subscription_details if self.parent else None
        return ref_id(self.subscription) or (ref_id(details.subscription) if details else None)


class PaymentLink(Wire):
    id: Id
    url: str | None = None
    active: bool = True


class WebhookEndpoint(Wire):
    id: Id
    url: str | None = None
    status: str | None = None
    enabled_events: list[str] = []
    metadata: Metadata = {}
    #: Shown once, in the answer that created the endpoint.
    secret: str | None = None


class EventData(Wire):
    #: Decoded with the struct its event type names (``decode``), once the type is known.
    object: JsonObject


class Event(Wire):
    id: Id
    type: Id
    created: int
    data: EventData


class Page(Wire):
    """A list or search result: ``data`` decoded item by item with the item's own struct."""

    data: list[JsonObject] = []


W = TypeVar("W", bound=Wire)
_AT = re.compile(r" - at `\$\.?([^`]*)`")


def decode(obj: object, into: type[W]) -> W:
    """``obj`` (a ``StripeObject`` or a decoded JSON object) as ``into``; ``FieldError`` names a misfit field."""
    if isinstance(obj, into):
        return obj
    data = obj.to_dict() if isinstance(obj, stripe.StripeObject) else obj
    try:
        return msgspec.convert(data, type=into, strict=True)
    except msgspec.ValidationError as exc:
        raise FieldError(_named(str(exc), into)) from None


def _named(message: str, into: type[Wire]) -> str:
    """msgspec's message with the field path as ``field.sub`` (it never carries the value)."""
    what = into.__name__
    at = _AT.search(message)
    if at is None:
        return f"the {what} {message[:1].lower()}{message[1:]}"
    return f"`{at.group(1) or what}` of the {what}: {_AT.sub('', message)}"
