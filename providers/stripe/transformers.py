"""Stripe <-> neutral shapes. The only place that knows Stripe's status names and amount fields.

Accepts both real Stripe's PaymentIntent (``latest_charge`` an id, ``amount_received`` and
``amount_capturable`` present) and the emulator's (``latest_charge`` expanded, the old
``charges`` list, no amount fields).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from functools import partial
from typing import Any, TypeVar

from providers.base.errors import UnexpectedAnswer
from providers.base.payments import (
    CheckoutCreate,
    CheckoutSnapshot,
    CustomerSnapshot,
    PaymentCreate,
    PaymentSnapshot,
    RefundSnapshot,
)
from providers.base.statuses import (
    REQUESTABLE_REFUND_REASONS,
    DisputeStatus,
    PaymentStatus,
    RefundReason,
    RefundStatus,
)
from providers.base.webhooks import ProviderEvent, RefundUpdate
from providers.stripe import wire
from providers.stripe.wire import FieldError as FieldError  # re-exported: the readers raise it

S = TypeVar("S", bound=StrEnum)
_STATUS_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")

#: Every PaymentIntent status Stripe documents: the neutral ones but the hub's own (a declined
#: attempt, and the refund part of a paid payment). Every other is refused (``status_of``), never guessed.
_STATUS: Mapping[str, PaymentStatus] = {
    s.value: s
    for s in PaymentStatus
    if s not in {PaymentStatus.FAILED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
}

#: Refund reasons Stripe accepts; anything else is refused by the hub before Stripe is called.
REFUND_REASONS = REQUESTABLE_REFUND_REASONS


def status_of(status: str | None, mapping: Mapping[str, S], what: str) -> S:
    """The neutral status of a Stripe ``status``, from a mapping of every status Stripe documents.

    Every other is ``UnexpectedAnswer``: a new Stripe status is an error the event log and the API
    show, never a default.
    """
    value = one_of(status, "status", mapping, what)
    if value is None:
        raise UnexpectedAnswer(f"`status` of the {what} is missing")
    return value


def one_of(raw: str | None, key: str, mapping: Mapping[str, S], what: str) -> S | None:
    """``raw`` (the field ``key``) read through ``mapping`` (every value Stripe documents); null is None.

    Every other value is ``UnexpectedAnswer``, naming it only when it looks like a name.
    """
    if raw is None:
        return None
    if raw in mapping:
        return mapping[raw]
    shown = f"`{raw}`" if _STATUS_NAME.fullmatch(raw) else "a value"
    raise UnexpectedAnswer(f"`{key}` of the {what} is {shown}, not one Stripe documents")


def _charges(pi: wire.PaymentIntent) -> list[wire.Charge]:
    """The intent's charges: the emulator's list, or its expanded latest charge (an id at Stripe says nothing)."""
    charges = list(pi.charges.data) if pi.charges else []
    if not charges and isinstance(pi.latest_charge, wire.Charge):
        charges = [pi.latest_charge]
    return charges


def payment_from_stripe(obj: object) -> PaymentSnapshot:
    pi = wire.decode(obj, wire.PaymentIntent)
    return _payment(pi)


def _payment(pi: wire.PaymentIntent) -> PaymentSnapshot:
    amount = pi.amount or 0
    error = pi.last_payment_error
    status = status_of(pi.status, _STATUS, "payment intent")
    if status == PaymentStatus.REQUIRES_PAYMENT_METHOD and error is not None:
        # Stripe sends a declined intent back to requires_payment_method and keeps the error;
        # the neutral model calls that attempt failed (the customer may still retry).
        status = PaymentStatus.FAILED
    if pi.amount_received is not None:
        received = pi.amount_received
    else:
        # Emulator shape: no amount_received; what its captured charges show was captured.
        received = sum(_captured(c) for c in _charges(pi) if c.captured and c.status == "succeeded")
    if pi.amount_capturable is not None:
        capturable = pi.amount_capturable
    else:
        capturable = amount if status == PaymentStatus.REQUIRES_CAPTURE else 0
    return PaymentSnapshot(
        provider_payment_id=pi.id,
        status=status,
        amount=amount,
        currency=(pi.currency or "").lower(),
        capture_method="manual" if pi.capture_method == "manual" else "automatic",
        amount_capturable=capturable,
        amount_received=received,
        client_secret=pi.client_secret,
        metadata=pi.metadata,
        last_error_code=error.code if error else None,
        decline_code=error.decline_code if error else None,
        capture_before=_capture_before(pi),
        cancellation_reason=pi.cancellation_reason,
    )


def _capture_before(pi: wire.PaymentIntent) -> int | None:
    """The latest charge's ``payment_method_details.card.capture_before``, if the intent carries the charge."""
    if pi.capture_method != "manual":
        return None
    for charge in reversed(_charges(pi)):
        details = charge.payment_method_details
        if details is not None and details.card is not None and details.card.capture_before is not None:
            return details.card.capture_before
    return None


def payment_intent_params(data: PaymentCreate, *, emulator: bool) -> dict[str, Any]:
    """PaymentIntent create parameters.

    ``emulator``: localstripe refuses any parameter it does not know (``description`` among
    them), so against it the description travels in metadata instead.
    """
    metadata = dict(data.metadata)
    params: dict[str, Any] = {"amount": data.amount, "currency": data.currency, "capture_method": data.capture_method}
    if data.provider_customer_id:
        params["customer"] = data.provider_customer_id
    if data.payment_method:
        params["payment_method"] = data.payment_method
    if data.confirm:
        params["confirm"] = True
    if data.off_session:
        params["off_session"] = True
    if data.transfer_destination:
        params["transfer_data"] = {"destination": data.transfer_destination}
    if data.application_fee_amount is not None:
        params["application_fee_amount"] = data.application_fee_amount
    if data.capture_method == "manual" and not emulator:
        # The charge says until when the hold may be captured (the emulator's intents carry it already).
        params["expand"] = ["latest_charge"]
    if data.description:
        if emulator:
            metadata["hub_description"] = data.description[:500]
        else:
            params["description"] = data.description
    params["metadata"] = metadata
    return params


def refund_from_stripe(obj: object) -> RefundSnapshot:
    refund = wire.decode(obj, wire.Refund)
    return RefundSnapshot(
        provider_refund_id=refund.id,
        amount=refund.amount or 0,
        status=status_of(refund.status, _REFUND_STATUS, "refund"),
        provider_payment_id=wire.ref_id(refund.payment_intent),
        reason=one_of(refund.reason, "reason", _REFUND_REASON, "refund"),
        metadata=refund.metadata,
        transfer_reversal=wire.ref_id(refund.transfer_reversal),
    )


def customer_from_stripe(obj: object) -> CustomerSnapshot:
    customer = wire.decode(obj, wire.Customer)
    return CustomerSnapshot(provider_customer_id=customer.id, email=customer.email, name=customer.name)


def checkout_session_params(data: CheckoutCreate) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "success_url": data.success_url,
        "cancel_url": data.cancel_url,
        "line_items": [
            {
                "quantity": item.quantity,
                "price_data": {
                    "currency": data.currency,
                    "unit_amount": item.unit_amount,
                    "product_data": {"name": item.name},
                },
            }
            for item in data.line_items
        ],
        "metadata": dict(data.metadata),
        # The PaymentIntent Stripe creates for the session carries the hub's ids too.
        "payment_intent_data": {"capture_method": data.capture_method, "metadata": dict(data.metadata)},
    }
    if data.provider_customer_id:
        params["customer"] = data.provider_customer_id
    return params


def checkout_from_stripe(obj: object) -> CheckoutSnapshot:
    session = wire.decode(obj, wire.CheckoutSession)
    return CheckoutSnapshot(
        provider_session_id=session.id,
        url=session.url,
        status=session.status,
        provider_payment_id=wire.ref_id(session.payment_intent),
    )


# -- webhook events ------------------------------------------------------------------------

#: Stripe event types the hub applies; everything else is stored and marked ignored.
HANDLED_EVENTS = (
    "payment_intent.succeeded",
    "payment_intent.processing",
    "payment_intent.requires_action",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.amount_capturable_updated",
    "charge.refunded",
    "refund.created",
    "refund.updated",
    "refund.failed",
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "checkout.session.completed",
)

#: Stripe's refund statuses are the hub's (``RefundStatus``: one state machine, none folded).
_REFUND_STATUS: Mapping[str, RefundStatus] = {s.value: s for s in RefundStatus}

_REFUND_REASON: Mapping[str, RefundReason] = {r.value: r for r in RefundReason}

#: Every dispute status Stripe documents.
_DISPUTE_STATUS: Mapping[str, DisputeStatus] = {
    "warning_needs_response": DisputeStatus.NEEDS_RESPONSE,
    "needs_response": DisputeStatus.NEEDS_RESPONSE,
    "warning_under_review": DisputeStatus.UNDER_REVIEW,
    "under_review": DisputeStatus.UNDER_REVIEW,
    "won": DisputeStatus.WON,
    "lost": DisputeStatus.LOST,
    "warning_closed": DisputeStatus.CLOSED,
    "prevented": DisputeStatus.CLOSED,
}


def _captured(charge: wire.Charge) -> int:
    """The amount a captured charge shows was captured: Stripe's ``amount_captured``.

    A charge without it (the emulator's) shows only ``amount`` and ``amount_refunded``, which
    counts the remainder a partial capture released (amount 2000, captured 1500 ->
    amount_refunded 500): the least it proves captured is ``amount - amount_refunded``, exact
    until a refund is made. Never its whole ``amount``: that would count released money received.
    """
    if charge.amount_captured is not None:
        return charge.amount_captured
    return max(0, (charge.amount or 0) - (charge.amount_refunded or 0))


def _charge_money(charge: wire.Charge) -> tuple[int | None, int | None]:
    """(amount received, cumulative refunded figure) of a charge.

    The figure is Stripe's ``amount_refunded`` as of the event: the refunds not known to have
    failed (the hub's rule does not depend on whether pending ones are among them). Stripe also
    counts the remainder released by a partial capture inside ``amount_refunded``
    (amount 2000, captured 1500 -> amount_refunded 500 before any refund): that part never
    reached the merchant and is not a refund, so it is taken out. A charge that does not say what
    it captured (no ``amount_captured``) has its whole figure counted as refunded: of two readings
    the one that holds more money back from a second refund.
    """
    if not charge.captured:
        return None, None
    amount = charge.amount or 0
    known = charge.amount_captured is not None
    released = max(0, amount - (charge.amount_captured or 0)) if known else 0
    returned = max(0, (charge.amount_refunded or 0) - released)
    return _captured(charge), returned


def event_from_stripe(body: object) -> ProviderEvent:
    """A verified Stripe event -> the neutral facts it carries (unhandled types carry none)."""
    event = wire.decode(body, wire.Event)
    return _payment_event(event)


def _payment_event(event: wire.Event) -> ProviderEvent:
    etype, obj = event.type, event.data.object
    if etype not in HANDLED_EVENTS:
        return ProviderEvent(provider_event_id=event.id, type=etype, created=event.created)
    meta = wire.decode(obj, wire.Stamped).metadata
    tenant_id, payment_id = meta.get("hub_tenant_id"), meta.get("hub_payment_id")
    facts = partial(ProviderEvent, event.id, etype, event.created, hub_tenant_id=tenant_id, hub_payment_id=payment_id)
    if etype.startswith("payment_intent."):
        snap = payment_from_stripe(obj)
        # Stripe puts a PaymentIntent back to requires_payment_method after a failed attempt;
        # the hub's neutral name for that moment is "failed" (a later attempt may still succeed).
        status = PaymentStatus.FAILED if etype == "payment_intent.payment_failed" else snap.status
        return facts(
            provider_payment_id=snap.provider_payment_id,
            status=status,
            amount_capturable=snap.amount_capturable,
            amount_received=snap.amount_received,
            last_error_code=snap.last_error_code,
            decline_code=snap.decline_code,
            capture_before=snap.capture_before,
            cancellation_reason=snap.cancellation_reason,
        )
    if etype == "checkout.session.completed":
        # The session names the payment it made: links the hub's checkout payment to it (its
        # status comes with the payment's own events, or a sync).
        return facts(provider_payment_id=checkout_from_stripe(obj).provider_payment_id)
    if etype == "charge.refunded":
        charge = wire.decode(obj, wire.Charge)
        received, returned = _charge_money(charge)
        return facts(
            provider_payment_id=wire.ref_id(charge.payment_intent), amount_received=received, amount_refunded=returned
        )
    if etype.startswith("refund."):
        refund = refund_from_stripe(obj)
        update = RefundUpdate(
            provider_refund_id=refund.provider_refund_id,
            amount=refund.amount,
            status=refund.status,
            reason=refund.reason,
            transfer_reversal=refund.transfer_reversal,
        )
        return facts(provider_payment_id=refund.provider_payment_id, refund=update)
    # charge.dispute.*: the dispute carries its own metadata, not the payment's.
    dispute = wire.decode(obj, wire.Dispute)
    return ProviderEvent(
        event.id,
        etype,
        event.created,
        provider_payment_id=wire.ref_id(dispute.payment_intent),
        dispute_status=status_of(dispute.status, _DISPUTE_STATUS, "dispute"),
    )
