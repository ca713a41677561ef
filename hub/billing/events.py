"""The platform's billing webhook: verify, store once, apply in order.

Verified only with HUB_BILLING_STRIPE_WEBHOOK_SECRET, never with a tenant's secret (billing
cannot even reach the vault). A failed verification raises before the database is touched.
The event row (unique on the Stripe event id) and its effect commit in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.billing.client import Billing, BillingDisabled
from hub.billing.records import apply_facts, facts_from_subscription, lock_or_adopt, object_id, tenant_for_customer
from hub.billing.status import should_apply, status_after_invoice
from hub.db.base import new_id, utcnow
from hub.db.billing import BillingEvent
from providers.base.errors import SignatureInvalid
from providers.stripe.webhooks import verify_event

#: Stripe's own replay window.
TOLERANCE_SECONDS = 300

SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    }
)
INVOICE_EVENTS = frozenset({"invoice.payment_succeeded", "invoice.payment_failed"})


@dataclass
class VerifiedEvent:
    id: str
    type: str
    created: int
    object: dict[str, Any]


def verify(billing: Billing, payload: bytes, signature: str | None) -> VerifiedEvent:
    secret = billing.settings.webhook_secret
    if not secret:
        raise BillingDisabled("The platform billing webhook is not configured (HUB_BILLING_STRIPE_WEBHOOK_SECRET)")
    _ = billing.client  # 503 billing_disabled before any verification when the key is unset
    # The Stripe plugin's own verification, with the platform's secret: one implementation of
    # Stripe's scheme (and its 300 s tolerance) for tenants and the platform alike.
    data = verify_event(
        payload,
        signature,
        [secret],
        mismatch="The signature does not verify with the platform's billing webhook secret",
        tolerance=TOLERANCE_SECONDS,
    )
    inner = data.get("data")
    obj = inner.get("object") if isinstance(inner, dict) else None
    event_id, event_type, created = data.get("id"), data.get("type"), data.get("created")
    if (
        not isinstance(event_id, str)
        or not event_id.startswith("evt_")
        or len(event_id) > 255
        or not isinstance(event_type, str)
        or not event_type
        or len(event_type) > 120
        or not isinstance(created, int)
        or isinstance(created, bool)
        or not isinstance(obj, dict)
    ):
        raise SignatureInvalid("The body is not a Stripe event")
    return VerifiedEvent(id=event_id, type=event_type, created=created, object=obj)


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
        await session.commit()
        return
    row.outcome, row.tenant_id, row.stripe_subscription_id = await _apply(session, billing, event)
    await session.commit()


async def _apply(session: AsyncSession, billing: Billing, event: VerifiedEvent) -> tuple[str, str | None, str | None]:
    """``(outcome, tenant_id, subscription_id)``; outcome is applied, stale or ignored."""
    if event.type in SUBSCRIPTION_EVENTS:
        facts = facts_from_subscription(event.object, as_of=event.created)
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
        invoice = event.object
        parent = invoice.get("parent")
        parent = parent if isinstance(parent, dict) else {}
        details = parent.get("subscription_details")
        details = details if isinstance(details, dict) else {}
        # Newer API versions name the subscription under parent.subscription_details only.
        subscription_id = object_id(invoice.get("subscription")) or object_id(details.get("subscription"))
        customer_id = object_id(invoice.get("customer"))
        tenant_id = await tenant_for_customer(session, customer_id)
        if tenant_id is None or subscription_id is None or customer_id is None:
            return "ignored", tenant_id, subscription_id
        row = await lock_or_adopt(session, tenant_id, subscription_id, customer_id)
        amount_paid = invoice.get("amount_paid")
        new = status_after_invoice(row.status, event.type, amount_paid if isinstance(amount_paid, int) else 0)
        if new is None or not should_apply(row.status, row.status_as_of, new, event.created):
            return "stale", tenant_id, subscription_id
        row.status, row.status_as_of = new, max(row.status_as_of, event.created)
        return "applied", tenant_id, subscription_id

    return "ignored", None, None
