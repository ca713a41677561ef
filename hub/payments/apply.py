"""Applying what a provider reports to the hub's payment row, never moving its status backwards.

The hub knows the money it moved itself: the amount it captured (a partial capture releases
the rest, and the emulator reports no captured amount) and the refunds it made (its refunds
table). Provider news fills in what the hub did not do itself.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.payments import Payment, Refund
from hub.notifications.outbox import payment_changed
from hub.payments.status import may_move, refund_status
from providers.base.payments import PaymentSnapshot

#: Refund states that hold money back from being refunded again.
OPEN_REFUND = ("pending", "requires_action", "succeeded")
#: Refund states counted as returned to the customer (a provider-confirmed pending refund counts:
#: card refunds are final once accepted).
COUNTED_REFUND = ("pending", "requires_action", "succeeded")


async def apply_snapshot(session: AsyncSession, payment: Payment, snap: PaymentSnapshot) -> None:
    """Apply the provider's view, and record the notifications a move causes (same transaction)."""
    previous = payment.status
    _apply_snapshot(payment, snap)
    await payment_changed(session, payment, previous)


async def set_status(session: AsyncSession, payment: Payment, status: str) -> None:
    """A status the hub concludes itself (a declined creation, one that never happened)."""
    previous = payment.status
    payment.status = status
    await payment_changed(session, payment, previous)


def _apply_snapshot(payment: Payment, snap: PaymentSnapshot) -> None:
    if payment.provider_payment_id is None:
        payment.provider_payment_id = snap.provider_payment_id
    if payment.client_secret is None and snap.client_secret:
        payment.client_secret = snap.client_secret
    if payment.amount_received == 0 and snap.amount_received > 0:
        # Captured outside the hub (automatic capture, the provider's dashboard): take its word.
        payment.amount_received = snap.amount_received
    new = snap.status
    if new == "succeeded":
        new = refund_status(payment.amount_received, payment.amount_refunded) or new
    if may_move(payment.status, new):
        payment.status = new
    payment.amount_capturable = (
        (snap.amount_capturable or payment.amount) if payment.status == "requires_capture" else 0
    )
    if snap.last_error_code:
        payment.last_error_code = snap.last_error_code
        payment.decline_code = snap.decline_code


async def refund_totals(session: AsyncSession, payment_id: str) -> tuple[int, int]:
    """(money counted as refunded, money held by refunds not known to have failed)."""
    rows = (
        await session.execute(
            select(Refund.amount, Refund.status, Refund.provider_refund_id).where(Refund.payment_id == payment_id)
        )
    ).all()
    counted = sum(a for a, s, pid in rows if s in COUNTED_REFUND and pid is not None)
    held = sum(a for a, s, _ in rows if s in OPEN_REFUND)
    return counted, held


async def apply_refunds(session: AsyncSession, payment: Payment) -> None:
    counted, _ = await refund_totals(session, payment.id)
    previous = payment.status
    payment.amount_refunded = counted
    new = refund_status(payment.amount_received, counted)
    if new and may_move(payment.status, new):
        payment.status = new
    await payment_changed(session, payment, previous)
