"""Applying verified provider events to the tenant's payment, under the payment's row lock.

This module finds the payment an event is about (and refuses another tenant's); what the news
does to the payment's amounts and status is the accounting module's (``hub.payments.apply``),
the same functions the API paths and sync use. Its rules keep every piece of news by a
forward-only or newest-wins rule, so any order, and any number of repeats, of the same set of
events ends in the same payment, and several events of one payment fold into one row update.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.connect.apply import apply_account_event
from hub.db.base import utcnow
from hub.db.payments import Payment
from hub.payments.apply import apply_event, record_refund, recount, settle_status
from hub.payments.notify import payment_changed
from hub.payments.transfers import apply_transfer_event
from hub.webhooks.recurring import apply_recurring_event
from providers.base.webhooks import ProviderEvent

APPLIED, IGNORED = "applied", "ignored"


async def apply_events(
    session: AsyncSession, tenant_id: str, provider: str, events: Sequence[ProviderEvent]
) -> list[tuple[str, str | None]]:
    """Apply events that name one provider payment id; (outcome, payment id) for each, in order.

    ``ignored`` for an event not about a payment this tenant owns. The payment is locked once
    and written once, whatever the number of events.
    """
    # Stamped by the hub for another tenant: whatever this tenant's account says, not ours.
    ours = [e for e in events if e.hub_tenant_id is None or e.hub_tenant_id == tenant_id]
    payment = await _locked_payment(session, tenant_id, provider, _locator(ours, tenant_id)) if ours else None
    if payment is None:
        return [(IGNORED, None)] * len(events)
    await _fold_into_payment(session, payment, ours)
    applied = {id(e) for e in ours}
    return [(APPLIED, payment.id) if id(e) in applied else (IGNORED, None) for e in events]


def is_recurring(event: ProviderEvent) -> bool:
    """News of a subscription, an invoice, a saved payment method's setup or a connected account:
    applied one event at a time, in the order they were stored."""
    return (
        event.subscription is not None
        or event.invoice is not None
        or event.setup_intent is not None
        or event.connected_account is not None
        or event.transfer is not None
    )


async def apply_recurring(
    session: AsyncSession, tenant_id: str, provider: str, event: ProviderEvent
) -> tuple[str, str | None]:
    """(outcome, hub object id) of one subscription, invoice, setup or connected-account event."""
    if event.connected_account is not None:
        return await apply_account_event(session, tenant_id, provider, event)
    if event.transfer is not None:
        return await apply_transfer_event(session, tenant_id, event)
    return await apply_recurring_event(session, tenant_id, provider, event) or (IGNORED, None)


def _locator(events: Sequence[ProviderEvent], tenant_id: str) -> ProviderEvent:
    # The event that can find the payment even before its provider id was written (see below).
    return next((e for e in events if e.hub_payment_id and e.hub_tenant_id == tenant_id), events[0])


async def _fold_into_payment(session: AsyncSession, payment: Payment, events: Sequence[ProviderEvent]) -> None:
    """Apply the events by the accounting module's rules (one UPDATE of the payment for all of them).

    A refund event records its refund; a cumulative figure is kept if it is the newest. Only then
    are the refund rows read again, to recount: events that carry neither cost no refund query.
    """
    due = False
    for event in events:
        if event.refund is not None:
            await record_refund(session, payment, event.refund, event.created)
            due = True
    for event in sorted(events, key=lambda e: e.created):
        due = apply_event(payment, event) or due
    if due:
        await recount(session, payment)
    else:
        settle_status(payment)
    payment.updated_at = utcnow()
    await payment_changed(session, payment)
    await session.flush()


async def _locked_payment(session: AsyncSession, tenant_id: str, provider: str, event: ProviderEvent) -> Payment | None:
    # FOR UPDATE serialises every event of one payment across workers on PostgreSQL
    # (SQLite serialises writers already; the clause is not rendered there).
    if not event.provider_payment_id:
        return None
    base = select(Payment).where(Payment.tenant_id == tenant_id, Payment.provider == provider).with_for_update()
    found = (
        await session.execute(base.where(Payment.provider_payment_id == event.provider_payment_id))
    ).scalar_one_or_none()
    if found is not None or not (event.hub_payment_id and event.hub_tenant_id == tenant_id):
        return found
    # A payment row written before the provider id came back (a crash in between): the object
    # names it, it has no provider id yet, and the hub stamped it for this tenant.
    found = (
        await session.execute(base.where(Payment.id == event.hub_payment_id, Payment.provider_payment_id.is_(None)))
    ).scalar_one_or_none()
    if found is not None:
        found.provider_payment_id = event.provider_payment_id
    return found
