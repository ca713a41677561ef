"""Applying verified provider events to the tenant's payment, under the payment's row lock.

Order-safe by construction: statuses only move forward (hub.payments.status), amounts are
cumulative and only grow, refunds and disputes keep their own forward-only state. So any
order, and any number of repeats, of the same set of events ends in the same payment, and
several events of one payment fold into one row update.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.base import new_id, utcnow
from hub.db.payments import Payment, Refund
from hub.db.upsert import insert_ignoring_conflict
from hub.notifications.outbox import payment_changed
from hub.payments.apply import refunded_amount
from hub.payments.status import may_move, refund_status
from hub.recurring.apply import apply_recurring_event
from providers.base.webhooks import ProviderEvent, RefundUpdate

APPLIED, IGNORED = "applied", "ignored"

_REFUND_RANK = {"pending": 0, "succeeded": 1, "failed": 2, "canceled": 2}
_DISPUTE_RANK = {"needs_response": 0, "under_review": 1, "won": 2, "lost": 2, "closed": 2}


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
    """News of a subscription, an invoice or a saved payment method's setup (hub.recurring applies it)."""
    return event.subscription is not None or event.invoice is not None or event.setup_intent is not None


async def apply_recurring(
    session: AsyncSession, tenant_id: str, provider: str, event: ProviderEvent
) -> tuple[str, str | None]:
    """(outcome, hub object id) of one subscription, invoice or setup event."""
    return await apply_recurring_event(session, tenant_id, provider, event) or (IGNORED, None)


def _locator(events: Sequence[ProviderEvent], tenant_id: str) -> ProviderEvent:
    # The event that can find the payment even before its provider id was written (see below).
    return next((e for e in events if e.hub_payment_id and e.hub_tenant_id == tenant_id), events[0])


async def _fold_into_payment(session: AsyncSession, payment: Payment, events: Sequence[ProviderEvent]) -> None:
    """The one place a payment row is written from provider events (one UPDATE for all of them)."""
    refunds = [e.refund for e in events if e.refund is not None]
    for refund in refunds:
        await _record_refund(session, payment, refund)
    if refunds:
        payment.amount_refunded = max(payment.amount_refunded, await _refunded_total(session, payment.id))
    for event in sorted(events, key=lambda e: e.created):
        _apply_to_payment(payment, event)
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


def _apply_to_payment(payment: Payment, event: ProviderEvent) -> None:
    if event.amount_received is not None:
        payment.amount_received = max(payment.amount_received, event.amount_received)
    if event.amount_refunded is not None:
        payment.amount_refunded = max(payment.amount_refunded, event.amount_refunded)
    if event.status is not None:
        moved = may_move(payment.status, event.status)
        if moved:
            payment.status = event.status
            if event.status == "failed":
                payment.last_error_code = event.last_error_code
                payment.decline_code = event.decline_code
        if (moved or payment.status == event.status) and event.amount_capturable is not None:
            # Only a current snapshot says what is capturable now; an older one is history.
            payment.amount_capturable = event.amount_capturable
    refunded = refund_status(payment.amount_received, payment.amount_refunded)
    if refunded is not None and may_move(payment.status, refunded):
        payment.status = refunded
    if payment.status != "requires_capture":
        payment.amount_capturable = 0
    if event.dispute_status is not None:
        current = payment.dispute_status
        if current is None or _DISPUTE_RANK.get(event.dispute_status, 0) > _DISPUTE_RANK.get(current, 0):
            payment.dispute_status = event.dispute_status


async def _record_refund(session: AsyncSession, payment: Payment, update: RefundUpdate) -> None:
    now = utcnow()
    # The refund may already be known (the hub created it, or an earlier event told of it).
    await session.execute(
        insert_ignoring_conflict(
            session,
            Refund,
            ["tenant_id", "provider_refund_id"],
            id=new_id("ref"),
            tenant_id=payment.tenant_id,
            payment_id=payment.id,
            provider_refund_id=update.provider_refund_id,
            amount=update.amount,
            status=update.status,
            reason=update.reason,
            created_at=now,
            updated_at=now,
        )
    )
    refund = (
        await session.execute(
            select(Refund)
            .where(Refund.tenant_id == payment.tenant_id, Refund.provider_refund_id == update.provider_refund_id)
            .with_for_update()
        )
    ).scalar_one()
    if refund.payment_id != payment.id:
        return
    if _REFUND_RANK.get(update.status, 0) > _REFUND_RANK.get(refund.status, 0):
        refund.status = update.status
        refund.updated_at = now
    refund.amount = update.amount


async def _refunded_total(session: AsyncSession, payment_id: str) -> int:
    return await refunded_amount(session, payment_id)
