"""The platform's billing webhook: verify, store once, apply in order.

Verified only with HUB_BILLING_STRIPE_WEBHOOK_SECRET, never with a tenant's secret (billing
cannot even reach the vault). A failed verification raises before the database is touched.
The event row (unique on the Stripe event id) and its effect commit in one transaction.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.billing.client import Billing, BillingDisabled
from hub.billing.records import apply_facts, facts_from_subscription, lock_or_adopt, tenant_for_customer
from hub.billing.status import should_apply, status_after_invoice
from hub.db.base import new_id, utcnow
from hub.db.billing import BillingEvent
from providers.base.errors import SignatureInvalid
from providers.stripe import wire
from providers.stripe.webhooks import verify_event
from providers.stripe.wire import FieldError

SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    }
)
INVOICE_EVENTS = frozenset({"invoice.payment_succeeded", "invoice.payment_failed"})


def verify(billing: Billing, payload: bytes, signature: str | None) -> wire.Event:
    secret = billing.settings.webhook_secret
    if not secret:
        raise BillingDisabled("The platform billing webhook is not configured (HUB_BILLING_STRIPE_WEBHOOK_SECRET)")
    _ = billing.client  # 503 billing_disabled before any verification when the key is unset
    # The Stripe plugin's own verification and reader of events, with the platform's secret: one
    # implementation of Stripe's scheme (and its tolerance) for tenants and the platform alike.
    data = verify_event(
        payload,
        signature,
        [secret],
        mismatch="The signature does not verify with the platform's billing webhook secret",
    )
    try:
        event = wire.decode(data, wire.Event)
    except FieldError:
        raise SignatureInvalid("The body is not a Stripe event") from None
    if not event.id.startswith("evt_") or len(event.id) > 255 or len(event.type) > 120:
        raise SignatureInvalid("The body is not a Stripe event")
    return event


async def receive(session: AsyncSession, billing: Billing, payload: bytes, signature: str | None) -> None:
    event = verify(billing, payload, signature)
    try:
        async with session.begin_nested():
            row = BillingEvent(id=new_id("bevt"), stripe_event_id=event.id, type=event.type, outcome="pending")
            session.add(row)
            await session.flush()
    except IntegrityError:
        # Seen before (or being applied by a concurrent delivery, which this insert waited for):
        # count the delivery, change nothing else.
        await session.execute(
            update(BillingEvent)
            .where(BillingEvent.stripe_event_id == event.id)
            .values(deliveries=BillingEvent.deliveries + 1, last_delivery_at=utcnow())
        )
        return  # committed by the request's unit of work, as is what follows
    row.outcome, row.tenant_id, row.stripe_subscription_id = await _apply(session, billing, event)


async def _apply(session: AsyncSession, billing: Billing, event: wire.Event) -> tuple[str, str | None, str | None]:
    """``(outcome, tenant_id, subscription_id)``; outcome is applied, stale or ignored."""
    if event.type in SUBSCRIPTION_EVENTS:
        facts = facts_from_subscription(event.data.object, as_of=event.created)
        if facts is None:
            return "ignored", None, None
        if event.type == "customer.subscription.deleted":
            facts.status = "canceled"
        tenant_id = await tenant_for_customer(session, facts.customer_id)
        if tenant_id is None:  # not a customer the hub created: not one of our tenants
            return "ignored", None, facts.subscription_id
        row = await lock_or_adopt(session, tenant_id, facts.subscription_id, facts.customer_id)
        applied = apply_facts(row, facts, billing.settings)
        return ("applied" if applied else "stale"), tenant_id, facts.subscription_id

    if event.type in INVOICE_EVENTS:
        try:
            invoice = wire.decode(event.data.object, wire.Invoice)
        except FieldError:
            return "ignored", None, None
        subscription_id, customer_id = invoice.subscription_id, wire.ref_id(invoice.customer)
        tenant_id = await tenant_for_customer(session, customer_id)
        if tenant_id is None or subscription_id is None or customer_id is None:
            return "ignored", tenant_id, subscription_id
        row = await lock_or_adopt(session, tenant_id, subscription_id, customer_id)
        new = status_after_invoice(row.status, event.type, invoice.amount_paid or 0)
        if new is None or not should_apply(row.status, row.status_as_of, new, event.created):
            return "stale", tenant_id, subscription_id
        row.status, row.status_as_of = new, max(row.status_as_of, event.created)
        return "applied", tenant_id, subscription_id

    return "ignored", None, None
