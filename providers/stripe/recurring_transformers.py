"""Stripe <-> neutral shapes for customers' saved methods, the catalogue and subscriptions.

Accepts both real Stripe's objects and the emulator's (which speaks the older ``plan`` form
and keeps ``current_period_end`` on the subscription, where newer API versions put it on
each item).
"""

from __future__ import annotations

from functools import partial
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
from providers.stripe import wire
from providers.stripe.invoice_transformers import invoice_from_stripe
from providers.stripe.transformers import status_of

#: Stripe's setup-intent and subscription statuses are the neutral ones, name for name.
_SETUP_STATUS = {s.value: s for s in SetupStatus}
_SUBSCRIPTION_STATUS = {s.value: s for s in SubscriptionStatus}


def setup_intent_from_stripe(obj: object) -> SetupIntentSnapshot:
    """Read strictly (FieldError names a field of the wrong type), as every object of an event is."""
    si = wire.decode(obj, wire.SetupIntent)
    return SetupIntentSnapshot(
        provider_setup_intent_id=si.id,
        status=status_of(si.status, _SETUP_STATUS, "setup intent"),
        client_secret=si.client_secret,
        payment_method=wire.ref_id(si.payment_method),
    )


def payment_method_from_stripe(obj: object) -> SavedPaymentMethod:
    pm = wire.decode(obj, wire.PaymentMethod)
    card = pm.card
    return SavedPaymentMethod(
        id=pm.id,
        type=pm.type or "card",
        card=Card(brand=card.brand, last4=card.last4, exp_month=card.exp_month, exp_year=card.exp_year)
        if card is not None
        else None,
    )


def product_from_stripe(obj: object) -> ProductSnapshot:
    product = wire.decode(obj, wire.Product)
    return ProductSnapshot(provider_product_id=product.id, name=product.name or "", active=product.active)


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


def price_from_stripe(obj: object) -> PriceSnapshot:
    price = wire.decode(obj, wire.Price)
    return PriceSnapshot(provider_price_id=price.id, active=price.active)


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


def period_end(sub: wire.Subscription) -> int | None:
    """The subscription's current period end: its own at the emulator, its items' latest since 2025-03-31."""
    if sub.current_period_end is not None:
        return sub.current_period_end
    ends = [i.current_period_end for i in (sub.items.data if sub.items else []) if i.current_period_end is not None]
    return max(ends, default=None)


def subscription_from_stripe(obj: object, *, as_of: int | None = None) -> SubscriptionSnapshot:
    """``as_of`` is the time of the fact (an event's ``created``); the object's own ``created`` otherwise."""
    sub = wire.decode(obj, wire.Subscription)
    return SubscriptionSnapshot(
        provider_subscription_id=sub.id,
        status=status_of(sub.status, _SUBSCRIPTION_STATUS, "subscription"),
        as_of=as_of if as_of is not None else (sub.created or 0),
        current_period_end=period_end(sub),
        cancel_at_period_end=bool(sub.cancel_at_period_end),
        latest_invoice=wire.ref_id(sub.latest_invoice),
        metadata=sub.metadata,
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


def recurring_event(body: object) -> ProviderEvent | None:
    """The neutral facts of a subscription, invoice or setup event; ``None`` for every other type.

    A field whose type is not the one Stripe documents raises ``FieldError`` naming it, as for
    payment events: the hub keeps such an event as failed with that reason, never as an event
    without facts (which would read as "nothing happened").
    """
    event = wire.decode(body, wire.Event)
    if event.type not in RECURRING_EVENTS:
        return None
    obj = event.data.object
    meta = wire.decode(obj, wire.Stamped).metadata
    facts = partial(ProviderEvent, event.id, event.type, event.created, hub_tenant_id=meta.get("hub_tenant_id"))
    if event.type.startswith("customer.subscription."):
        return facts(
            subscription=subscription_from_stripe(obj, as_of=event.created),
            hub_object_id=meta.get("hub_subscription_id"),
        )
    if event.type.startswith("invoice."):
        return facts(invoice=invoice_from_stripe(obj), hub_object_id=meta.get("hub_invoice_id"))
    return facts(setup_intent=setup_intent_from_stripe(obj), hub_object_id=meta.get("hub_setup_intent_id"))
