"""Applying what a provider reports to the hub's payment row, never moving its status backwards.

The hub knows the money it moved itself: the amount it captured (a partial capture releases
the rest, and the emulator reports no captured amount) and the refunds it made (its refunds
table). Provider news fills in what the hub did not do itself.

The one refund accounting rule, used by the API paths, the webhook applier and sync:
- ``amount_refunded`` is money returned to the customer: the sum of SUCCEEDED refunds. A pending
  refund may still fail (a bank refusing it), so it is not counted as returned.
- money HELD by refunds not known to have failed (pending, requires_action, succeeded) is what
  may not be refunded again: ``refundable = amount_received - held``.
- a paid payment's status follows its amounts: ``succeeded`` with nothing returned,
  ``partially_refunded`` / ``refunded`` otherwise. Refund states only move forward, so a late or
  repeated event cannot change the outcome; a refund that fails after all lowers the amount.
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
#: Refund states counted as returned to the customer.
COUNTED_REFUND = ("succeeded",)
#: Statuses of a paid payment, whose refund part follows the amounts.
PAID = frozenset({"succeeded", "partially_refunded", "refunded"})


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
    """(money returned to the customer, money held by refunds not known to have failed)."""
    await session.flush()
    rows = (await session.execute(select(Refund.amount, Refund.status).where(Refund.payment_id == payment_id))).all()
    counted = sum(a for a, s in rows if s in COUNTED_REFUND)
    held = sum(a for a, s in rows if s in OPEN_REFUND)
    return counted, held


async def refunded_amount(session: AsyncSession, payment_id: str) -> int:
    """Money returned to the customer (``amount_refunded``), by the one rule above."""
    counted, _ = await refund_totals(session, payment_id)
    return counted


def settle_refund_status(payment: Payment) -> None:
    """Make a paid payment's status agree with its amounts (a failed refund lowers them)."""
    if payment.status in PAID:
        payment.status = refund_status(payment.amount_received, payment.amount_refunded) or "succeeded"
    else:
        new = refund_status(payment.amount_received, payment.amount_refunded)
        if new and may_move(payment.status, new):
            payment.status = new


async def apply_refunds(session: AsyncSession, payment: Payment) -> None:
    previous = payment.status
    payment.amount_refunded = await refunded_amount(session, payment.id)
    settle_refund_status(payment)
    await payment_changed(session, payment, previous)
