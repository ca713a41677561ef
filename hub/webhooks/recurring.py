"""Applying a provider event about a subscription, an invoice or a saved payment method.

One entry point for the webhook applier: ``apply_recurring_event`` returns ``None`` for an
event that is not about these objects, so the applier goes on to payments. Each object is
changed under its row lock (``FOR UPDATE`` on PostgreSQL), by its own status rules; one whose
creation answer has not arrived yet is found by the hub id its metadata names (hub/recurring/found.py).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.base import utcnow
from hub.db.recurring import Invoice, SetupIntent, Subscription
from hub.invoices.apply import apply_invoice
from hub.invoices.service import view as invoice_view
from hub.notifications.outbox import INVOICE_TYPES, SUBSCRIPTION_STATUSES, object_changed
from hub.recurring.found import created_row
from hub.subscriptions.service import view as subscription_view
from hub.subscriptions.status import apply_snapshot
from providers.base.webhooks import ProviderEvent

APPLIED, IGNORED = "applied", "ignored"


async def apply_recurring_event(
    session: AsyncSession, tenant_id: str, provider: str, event: ProviderEvent
) -> tuple[str, str | None] | None:
    """(outcome, hub object id) for subscription, invoice and setup news; ``None`` for any other event."""
    if event.subscription is None and event.setup_intent is None and event.invoice is None:
        return None
    if event.hub_tenant_id is not None and event.hub_tenant_id != tenant_id:
        # Stamped by the hub for another tenant: not this tenant's object, whatever its account says.
        return IGNORED, None
    if event.invoice is not None:
        invoice_id = await apply_invoice(session, tenant_id, provider, event.invoice, _named(event, tenant_id))
        if invoice_id is None:
            return IGNORED, None
        if event.type in INVOICE_TYPES:  # the news itself (each event is applied once)
            invoice = await session.get(Invoice, invoice_id)
            if invoice is not None:
                await object_changed(session, tenant_id, event.type, invoice_view(invoice))
        return APPLIED, invoice_id
    if event.subscription is not None:
        sub = await created_row(
            session,
            Subscription,
            tenant_id,
            provider,
            event.subscription.provider_subscription_id,
            _named(event, tenant_id),
        )
        if sub is None:
            return IGNORED, None
        moved = apply_snapshot(sub, event.subscription)
        sub.updated_at = utcnow()
        await session.flush()
        if moved and sub.status in SUBSCRIPTION_STATUSES:
            await object_changed(session, tenant_id, f"subscription.{sub.status}", subscription_view(sub))
        return APPLIED, sub.id
    assert event.setup_intent is not None
    setup = await created_row(
        session, SetupIntent, tenant_id, provider, event.setup_intent.provider_setup_intent_id, _named(event, tenant_id)
    )
    if setup is None:
        return IGNORED, None
    setup.client_secret = setup.client_secret or event.setup_intent.client_secret
    # "succeeded" is the setup's last word: nothing later takes it back.
    setup.status = "succeeded" if event.setup_intent.status == "succeeded" else setup.status
    setup.payment_method = event.setup_intent.payment_method or setup.payment_method
    setup.updated_at = utcnow()
    await session.flush()
    return APPLIED, setup.id


def _named(event: ProviderEvent, tenant_id: str) -> str | None:
    """The hub id the object names, when the hub stamped it for this tenant (a pending row's way in)."""
    return event.hub_object_id if event.hub_tenant_id == tenant_id else None
