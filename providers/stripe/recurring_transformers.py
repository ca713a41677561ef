"""Stripe <-> neutral shapes for customers' saved methods, the catalogue and subscriptions.

Accepts both real Stripe's objects and the emulator's (which speaks the older ``plan`` form
and keeps ``current_period_end`` on the subscription, where newer API versions put it on
each item).
"""

from __future__ import annotations

from typing import Any

from providers.base.customers import Card, SavedPaymentMethod, SetupIntentSnapshot
from providers.base.recurring import (
    PriceCreate,
    PriceSnapshot,
    ProductSnapshot,
    SubscriptionCreate,
    SubscriptionSnapshot,
)
from providers.base.statuses import SetupStatus, SubscriptionStatus
from providers.base.webhooks import ProviderEvent
from providers.stripe.invoice_transformers import invoice_from_stripe
from providers.stripe.transformers import _flag, _ident, _int, _metadata, _opt_int, _ref, _text, field, status_of

#: Stripe's setup-intent and subscription statuses are the neutral ones, name for name.
_SETUP_STATUS = {s.value: s for s in SetupStatus}
_SUBSCRIPTION_STATUS = {s.value: s for s in SubscriptionStatus}


def setup_intent_from_stripe(si: Any) -> SetupIntentSnapshot:
    """Read strictly (FieldError names a field of the wrong type), as every object of an event is."""
    return SetupIntentSnapshot(
        provider_setup_intent_id=_ident(si),
        status=status_of(si, _SETUP_STATUS, "setup intent"),
        client_secret=_text(si, "client_secret"),
        payment_method=_ref(si, "payment_method"),
    )


def payment_method_from_stripe(pm: Any) -> SavedPaymentMethod:
    card = field(pm, "card")
    return SavedPaymentMethod(
        id=str(field(pm, "id")),
        type=str(field(pm, "type") or "card"),
        card=Card(
            brand=field(card, "brand"),
            last4=field(card, "last4"),
            exp_month=field(card, "exp_month"),
            exp_year=field(card, "exp_year"),
        )
        if card is not None
        else None,
    )


def product_from_stripe(product: Any) -> ProductSnapshot:
    return ProductSnapshot(
        provider_product_id=str(field(product, "id")),
        name=str(field(product, "name") or ""),
        active=bool(field(product, "active", True)),
    )


def price_params(data: PriceCreate, *, emulator: bool) -> dict[str, Any]:
    """A Price's create parameters; for the emulator, which has no Prices, a Plan's."""
    params: dict[str, Any] = {
        "currency": data.currency,
        "product": data.provider_product_id,
        "metadata": dict(data.metadata),
    }
    if emulator:
        assert data.recurring is not None  # the caller refuses a one-off price there
        params["amount"] = data.unit_amount
        params["interval"] = data.recurring.interval
        params["interval_count"] = data.recurring.interval_count
        return params
    params["unit_amount"] = data.unit_amount
    if data.recurring is not None:
        params["recurring"] = {"interval": data.recurring.interval, "interval_count": data.recurring.interval_count}
    return params


def price_from_stripe(price: Any) -> PriceSnapshot:
    return PriceSnapshot(provider_price_id=str(field(price, "id")), active=bool(field(price, "active", True)))


def subscription_params(data: SubscriptionCreate, *, emulator: bool) -> dict[str, Any]:
    """Subscription create parameters: ``items[].price`` at Stripe, ``items[].plan`` at the emulator."""
    name = "plan" if emulator else "price"
    params: dict[str, Any] = {
        "customer": data.provider_customer_id,
        "items": [{name: i.provider_price_id, "quantity": i.quantity} for i in data.items],
        "metadata": dict(data.metadata),
    }
    if data.trial_days:
        params["trial_period_days"] = data.trial_days
    return params


def _period_end(sub: Any) -> int | None:
    end = _opt_int(sub, "current_period_end")
    if end is None:
        # Since API 2025-03-31 the period belongs to each item.
        ends = [_opt_int(i, "current_period_end") for i in field(field(sub, "items"), "data") or []]
        end = max((e for e in ends if e is not None), default=None)
    return end


def subscription_from_stripe(sub: Any, *, as_of: int | None = None) -> SubscriptionSnapshot:
    """``as_of`` is the time of the fact (an event's ``created``); the object's own ``created`` otherwise."""
    return SubscriptionSnapshot(
        provider_subscription_id=_ident(sub),
        status=status_of(sub, _SUBSCRIPTION_STATUS, "subscription"),
        as_of=as_of if as_of is not None else _int(sub, "created"),
        current_period_end=_period_end(sub),
        cancel_at_period_end=_flag(sub, "cancel_at_period_end"),
        latest_invoice=_ref(sub, "latest_invoice"),
        metadata=_metadata(sub),
    )


# -- webhook events ------------------------------------------------------------------------

#: Stripe event types about subscriptions and saved payment methods the hub applies.
RECURRING_EVENTS = (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "setup_intent.succeeded",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.voided",
    "invoice.marked_uncollectible",
)


def recurring_event(event: Any) -> ProviderEvent | None:
    """The neutral facts of a subscription, invoice or setup event; ``None`` for every other type.

    A field whose type is not the one Stripe documents raises ``FieldError`` naming it, as for
    payment events: the hub keeps such an event as failed with that reason, never as an event
    without facts (which would read as "nothing happened").
    """
    etype = str(field(event, "type"))
    if etype not in RECURRING_EVENTS:
        return None
    obj = field(field(event, "data"), "object")
    meta = _metadata(obj)
    created = _int(event, "created")
    base: dict[str, Any] = {
        "provider_event_id": str(field(event, "id")),
        "type": etype,
        "created": created,
        "hub_tenant_id": meta.get("hub_tenant_id"),
    }
    if etype.startswith("customer.subscription."):
        return ProviderEvent(
            **base,
            subscription=subscription_from_stripe(obj, as_of=created),
            hub_object_id=meta.get("hub_subscription_id"),
        )
    if etype.startswith("invoice."):
        return ProviderEvent(**base, invoice=invoice_from_stripe(obj), hub_object_id=meta.get("hub_invoice_id"))
    return ProviderEvent(
        **base, setup_intent=setup_intent_from_stripe(obj), hub_object_id=meta.get("hub_setup_intent_id")
    )
