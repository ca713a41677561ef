"""Applying a verified provider event to the tenant's payment, under the payment's row lock.

Order-safe by construction: statuses only move forward (hub.payments.status), amounts are
cumulative and only grow, refunds and disputes keep their own forward-only state. So any
order, and any number of repeats, of the same set of events ends in the same payment.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.base import new_id, utcnow
from hub.db.payments import Payment, Refund
from hub.db.upsert import insert_ignoring_conflict
from hub.payments.status import may_move, refund_status
from hub.recurring.apply import apply_recurring_event
from providers.base.webhooks import ProviderEvent, RefundUpdate

APPLIED, IGNORED = "applied", "ignored"

_REFUND_RANK = {"pending": 0, "succeeded": 1, "failed": 2, "canceled": 2}
_DISPUTE_RANK = {"needs_response": 0, "under_review": 1, "won": 2, "lost": 2, "closed": 2}


async def apply_event(
    session: AsyncSession, tenant_id: str, provider: str, event: ProviderEvent
) -> tuple[str, str | None]:
    """(outcome, payment id). ``ignored`` when the event is not about a payment this tenant owns."""
    recurring = await apply_recurring_event(session, tenant_id, provider, event)
    if recurring is not None:
        return recurring
    if event.hub_tenant_id is not None and event.hub_tenant_id != tenant_id:
        # Stamped by the hub for another tenant: whatever this tenant's account says, not ours.
        return IGNORED, None
    payment = await _locked_payment(session, tenant_id, provider, event)
    if payment is None:
        return IGNORED, None
    if event.refund is not None:
        await _record_refund(session, payment, event.refund)
        returned = await _refunded_total(session, payment.id)
        payment.amount_refunded = max(payment.amount_refunded, returned)
    _apply_to_payment(payment, event)
    payment.updated_at = utcnow()
    await session.flush()
    return APPLIED, payment.id


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
    await session.flush()
    total = await session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.payment_id == payment_id, Refund.status == "succeeded"
        )
    )
    return int(total or 0)
