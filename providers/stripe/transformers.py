"""Stripe <-> neutral shapes. The only place that knows Stripe's status names and amount fields.

Accepts both real Stripe's PaymentIntent (``latest_charge`` an id, ``amount_received`` and
``amount_capturable`` present) and the emulator's (``latest_charge`` expanded, the old
``charges`` list, no amount fields).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
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

#: Every PaymentIntent status Stripe documents: the neutral ones but the hub's own (a declined
#: attempt, and the refund part of a paid payment). Any other is refused (``status_of``), never guessed.
_STATUS: Mapping[str, PaymentStatus] = {
    s.value: s
    for s in PaymentStatus
    if s not in {PaymentStatus.FAILED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
}

#: Refund reasons Stripe accepts; anything else is refused by the hub before Stripe is called.
REFUND_REASONS = REQUESTABLE_REFUND_REASONS


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


class FieldError(UnexpectedAnswer, ValueError):
    """A field whose type is not the one Stripe documents; the message names the field, never its value."""


S = TypeVar("S", bound=StrEnum)
_STATUS_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def status_of(obj: Any, mapping: Mapping[str, S], what: str) -> S:
    """The neutral status of ``obj``'s ``status``, from a mapping of every status Stripe documents.

    Any other is ``UnexpectedAnswer``: a new Stripe status is an error the event log and the API
    show, never a default.
    """
    value = one_of(obj, "status", mapping, what)
    if value is None:
        raise UnexpectedAnswer(f"`status` of the {what} is missing")
    return value


def one_of(obj: Any, key: str, mapping: Mapping[str, S], what: str) -> S | None:
    """``obj[key]`` read through ``mapping`` (every value Stripe documents); absent or null is None.

    Any other value is ``UnexpectedAnswer``, naming it only when it looks like a name.
    """
    raw = _get(obj, key)
    if raw is None:
        return None
    if isinstance(raw, str) and raw in mapping:
        return mapping[raw]
    shown = f"`{raw}`" if isinstance(raw, str) and _STATUS_NAME.fullmatch(raw) else "a value"
    raise UnexpectedAnswer(f"`{key}` of the {what} is {shown}, not one Stripe documents")


def _int(obj: Any, key: str) -> int:
    """An integer field (amounts, timestamps); absent or null is 0. A string or float is refused, not coerced."""
    value = _get(obj, key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(f"`{key}` is not an integer")
    return value


def _opt_int(obj: Any, key: str) -> int | None:
    """An integer field that may be absent or null (a due date, a period end); never coerced."""
    return None if _get(obj, key) is None else _int(obj, key)


def _text(obj: Any, key: str) -> str | None:
    """A string field (a status, a URL); absent or null is None. Anything else is refused."""
    value = _get(obj, key)
    if value is None or isinstance(value, str):
        return value
    raise FieldError(f"`{key}` is not a string")


def _flag(obj: Any, key: str) -> bool:
    """A boolean field; absent or null is False. A string such as "yes" is refused, not read as true."""
    value = _get(obj, key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise FieldError(f"`{key}` is not a boolean")
    return value


def _ident(obj: Any, key: str = "id") -> str:
    """The object's own id: a non-empty string."""
    value = _text(obj, key)
    if not value:
        raise FieldError(f"`{key}` is not a non-empty string")
    return value


def _ref(obj: Any, key: str) -> str | None:
    """A reference to another object: its id, or the object expanded (with a string id); absent is None."""
    value = _get(obj, key)
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, (int, float, bool, list)):
        raise FieldError(f"`{key}` is not an id or an object")
    ident = _get(value, "id")
    if not isinstance(ident, str):
        raise FieldError(f"`{key}` is not an id or an object")
    return ident


def _metadata(obj: Any) -> dict[str, str]:
    raw = _get(obj, "metadata") or {}
    if hasattr(raw, "to_dict"):
        raw = raw.to_dict()
    if not isinstance(raw, dict):
        raise FieldError("`metadata` is not an object")
    return {str(k): str(v) for k, v in raw.items()}


def payment_from_stripe(pi: Any) -> PaymentSnapshot:
    amount = _int(pi, "amount")
    error = _get(pi, "last_payment_error")
    status = status_of(pi, _STATUS, "payment intent")
    if status == PaymentStatus.REQUIRES_PAYMENT_METHOD and error is not None:
        # Stripe sends a declined intent back to requires_payment_method and keeps the error;
        # the neutral model calls that attempt failed (the customer may still retry).
        status = PaymentStatus.FAILED
    charges = _charges(pi)
    if _get(pi, "amount_received") is not None:
        received = _int(pi, "amount_received")
    else:
        # Emulator shape: no amount_received; what its captured charges show was captured.
        received = sum(_captured(c) for c in charges if _get(c, "captured") and _get(c, "status") == "succeeded")
    if _get(pi, "amount_capturable") is not None:
        capturable = _int(pi, "amount_capturable")
    else:
        capturable = amount if status == "requires_capture" else 0
    return PaymentSnapshot(
        provider_payment_id=_get(pi, "id"),
        status=status,
        amount=amount,
        currency=str(_get(pi, "currency") or "").lower(),
        capture_method="manual" if _get(pi, "capture_method") == "manual" else "automatic",
        amount_capturable=capturable,
        amount_received=received,
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
    params: dict[str, Any] = {"amount": data.amount, "currency": data.currency, "capture_method": data.capture_method}
    if data.provider_customer_id:
        params["customer"] = data.provider_customer_id
    if data.payment_method:
        params["payment_method"] = data.payment_method
    if data.confirm:
        params["confirm"] = True
    if data.off_session:
        params["off_session"] = True
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
        status=status_of(refund, _REFUND_STATUS, "refund"),
        provider_payment_id=pi,
        reason=one_of(refund, "reason", _REFUND_REASON, "refund"),
        metadata=_metadata(refund),
    )


def customer_from_stripe(customer: Any) -> CustomerSnapshot:
    return CustomerSnapshot(
        provider_customer_id=_get(customer, "id"), email=_get(customer, "email"), name=_get(customer, "name")
    )


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


def checkout_from_stripe(session: Any) -> CheckoutSnapshot:
    pi = _get(session, "payment_intent")
    if pi is not None and not isinstance(pi, str):
        pi = _get(pi, "id")
    return CheckoutSnapshot(
        provider_session_id=_get(session, "id"),
        url=_get(session, "url"),
        status=_get(session, "status"),
        provider_payment_id=pi,
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


def _id_of(value: Any) -> str | None:
    """An id whether Stripe sent the reference as a string or as an expanded object."""
    if value is None or isinstance(value, str):
        return value or None
    return _get(value, "id")


def _captured(charge: Any) -> int:
    """The amount a captured charge shows was captured: Stripe's ``amount_captured``.

    A charge without it (the emulator's) shows only ``amount`` and ``amount_refunded``, which
    counts the remainder a partial capture released (amount 2000, captured 1500 ->
    amount_refunded 500): the least it proves captured is ``amount - amount_refunded``, exact
    until a refund is made. Never its whole ``amount``: that would count released money received.
    """
    if _get(charge, "amount_captured") is not None:
        return _int(charge, "amount_captured")
    return max(0, _int(charge, "amount") - _int(charge, "amount_refunded"))


def _charge_money(charge: Any) -> tuple[int | None, int | None]:
    """(amount received, cumulative refunded figure) of a charge.

    The figure is Stripe's ``amount_refunded`` as of the event: the refunds not known to have
    failed (the hub's rule does not depend on whether pending ones are among them). Stripe also
    counts the remainder released by a partial capture inside ``amount_refunded``
    (amount 2000, captured 1500 -> amount_refunded 500 before any refund): that part never
    reached the merchant and is not a refund, so it is taken out. A charge that does not say what
    it captured (no ``amount_captured``) has its whole figure counted as refunded: of two readings
    the one that holds more money back from a second refund.
    """
    if not _get(charge, "captured"):
        return None, None
    amount = _int(charge, "amount")
    known = _get(charge, "amount_captured") is not None
    released = max(0, amount - _int(charge, "amount_captured")) if known else 0
    returned = max(0, _int(charge, "amount_refunded") - released)
    return _captured(charge), returned


def event_from_stripe(event: Any) -> ProviderEvent:
    """A verified Stripe event -> the neutral facts it carries (unhandled types carry none)."""
    etype = str(_get(event, "type"))
    obj = _get(_get(event, "data"), "object")
    base: dict[str, Any] = {
        "provider_event_id": str(_get(event, "id")),
        "type": etype,
        "created": _int(event, "created"),
    }
    if etype not in HANDLED_EVENTS:
        return ProviderEvent(**base)
    meta = _metadata(obj)
    base["hub_tenant_id"] = meta.get("hub_tenant_id")
    base["hub_payment_id"] = meta.get("hub_payment_id")
    if etype.startswith("payment_intent."):
        snap = payment_from_stripe(obj)
        # Stripe puts a PaymentIntent back to requires_payment_method after a failed attempt;
        # the hub's neutral name for that moment is "failed" (a later attempt may still succeed).
        status = PaymentStatus.FAILED if etype == "payment_intent.payment_failed" else snap.status
        return ProviderEvent(
            **base,
            provider_payment_id=snap.provider_payment_id,
            status=status,
            amount_capturable=snap.amount_capturable,
            amount_received=snap.amount_received,
            last_error_code=snap.last_error_code,
            decline_code=snap.decline_code,
        )
    if etype == "checkout.session.completed":
        # The session names the payment it made: links the hub's checkout payment to it (its
        # status comes with the payment's own events, or a sync).
        return ProviderEvent(**base, provider_payment_id=_id_of(_get(obj, "payment_intent")))
    if etype == "charge.refunded":
        received, returned = _charge_money(obj)
        return ProviderEvent(
            **base,
            provider_payment_id=_id_of(_get(obj, "payment_intent")),
            amount_received=received,
            amount_refunded=returned,
        )
    if etype.startswith("refund."):
        refund_status = status_of(obj, _REFUND_STATUS, "refund")
        refund_id = _get(obj, "id")
        if not isinstance(refund_id, str):
            raise FieldError("`id` of the refund is not a string")
        refund = RefundUpdate(
            provider_refund_id=refund_id,
            amount=_int(obj, "amount"),
            status=refund_status,
            reason=one_of(obj, "reason", _REFUND_REASON, "refund"),
        )
        return ProviderEvent(**base, provider_payment_id=_id_of(_get(obj, "payment_intent")), refund=refund)
    # charge.dispute.*: the dispute carries its own metadata, not the payment's.
    base["hub_tenant_id"] = base["hub_payment_id"] = None
    return ProviderEvent(
        **base,
        provider_payment_id=_id_of(_get(obj, "payment_intent")),
        dispute_status=status_of(obj, _DISPUTE_STATUS, "dispute"),
    )
