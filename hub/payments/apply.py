"""The one accounting module: how provider news becomes a payment's amounts and status.

Every path that learns something from the provider comes here: the API's answers (create,
capture, cancel, refund), the webhook applier (``hub.webhooks.apply`` only finds and locks the
payment) and sync. Nothing else derives a payment's amounts or status.

What the hub keeps, each piece by a rule that no late or repeated news can undo:
- the amount received (``note_received``): the amount the hub captured itself (a partial
  capture releases the rest), else the provider's first figure of it. It never grows past that:
  a capture happens once, so a larger figure afterwards contradicts what is known (a charge's
  whole amount counted as received, news about another capture) and is logged as an anomaly
  (a warning naming the payment), not believed. A smaller one is older news (nothing received
  yet) or a figure net of refunds, and changes nothing. Only a sync that moves a terminal
  payment back to the provider's unpaid status takes the figure back down (``converge``);
- one refund row per provider refund, made by the API or recorded from the provider's news. Its
  state only moves forward, by the one refund state machine (``providers.base.statuses.RefundStatus``:
  pending < requires_action < succeeded < failed < canceled). ``status_at`` is
  the earliest provider time (epoch seconds; an event's ``created``, or the hub's clock when an
  API answer told it) at which it was known in that state;
- the provider's cumulative refunded figure (``provider_refunded``: a charge's
  ``amount_refunded``: the refunds not known to have failed, pending ones possibly among them),
  with the provider time it was true at (``provider_refunded_at``). Only a newer figure replaces
  it; of two figures of the same second, the larger. It stands for the refunds the hub has no row
  for (made in the Stripe Dashboard, or whose own events have not arrived yet).

The one refund accounting rule (``totals``):
- the rows the figure may count are every row except those known to have failed or been
  canceled before the figure's time. Strictly before: a row that failed in the same second as the
  figure may still be counted in it, so it is deducted from the figure, and the hub claims less
  rather than more. What the figure holds beyond those rows is *unexplained*: refunds without a
  row;
- ``amount_refunded`` (money returned to the customer) = the SUCCEEDED rows + the unexplained
  part. A pending refund may still fail, so it is not counted as returned; a refund that fails,
  even after succeeding, stops counting whatever figure came before;
- money HELD (which may not be refunded again) = rows not known to have failed (pending,
  requires_action, succeeded) + the unexplained part: ``refundable = amount_received - held``;
- ``amount_refund_reversed`` (a destination charge's refunds that took the seller's share back) =
  the SUCCEEDED rows that reversed the transfer (``Refund.reversed_transfer``, from the hub's own
  request or the provider's news, never unset), counted exactly like ``amount_refunded``; what the
  seller still holds follows from it (``hub.payments.common.amount_transferred``). A refund the
  hub has no row for is not known to have reversed anything, so it is not in it;
- a paid payment's status follows its amounts: ``succeeded`` with nothing returned,
  ``partially_refunded`` / ``refunded`` otherwise, so it moves back when a refund fails. Before
  it is paid, statuses only move forward (``hub.payments.status``), and out of a terminal one
  (canceled, refunded) never, whatever path the news came by, except one: an explicit sync,
  which reads the provider's object as it is now and converges to it (``converge``).

The amounts are a function of what is kept, and what is kept does not depend on the order news
arrived in, so any order and any repeats of the same news end in the same payment.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.base import new_id, utcnow
from hub.db.payments import Payment, Refund
from hub.db.upsert import insert_ignoring_conflict
from hub.payments.notify import payment_changed
from hub.payments.status import TERMINAL, may_move, refund_status
from providers.base.payments import PaymentSnapshot
from providers.base.statuses import (
    COUNTED_REFUND,
    OPEN_REFUND,
    REFUND_ORDER,
    DisputeStatus,
    PaymentStatus,
    RefundStatus,
)
from providers.base.webhooks import ProviderEvent, RefundUpdate

#: Statuses of a paid payment, whose refund part follows the amounts.
PAID = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED})
_DISPUTE_ORDER: dict[str, int] = {
    DisputeStatus.NEEDS_RESPONSE: 0,
    DisputeStatus.UNDER_REVIEW: 1,
    DisputeStatus.WON: 2,
    DisputeStatus.LOST: 2,
    DisputeStatus.CLOSED: 2,
}

log = logging.getLogger("hub.payments")


def clock() -> int:
    """Now, in the provider's unit (epoch seconds): the time of news the hub got from an API answer."""
    return int(time.time())


class Totals(NamedTuple):
    returned: int  # amount_refunded
    held: int  # not refundable again


def totals(rows: Iterable[tuple[int, str, int | None]], figure: int | None, figure_at: int | None) -> Totals:
    """The one rule (module docstring): ``rows`` are (amount, status, status_at) of the refund rows."""
    rows = list(rows)
    returned = sum(amount for amount, status, _ in rows if status in COUNTED_REFUND)
    held = sum(amount for amount, status, _ in rows if status in OPEN_REFUND)
    unexplained = 0
    if figure is not None:
        explained = sum(amount for amount, status, at in rows if not _ended_before(status, at, figure_at))
        unexplained = max(0, figure - explained)
    return Totals(returned + unexplained, held + unexplained)


def _ended_before(status: str, at: int | None, figure_at: int | None) -> bool:
    # A row without a time (written before times were kept) may be in the figure.
    return status not in OPEN_REFUND and at is not None and figure_at is not None and at < figure_at


def reversed_part(rows: Iterable[tuple[int, str, bool]]) -> int:
    """``amount_refund_reversed``: ``rows`` are (amount, status, reversed_transfer) of the refund rows."""
    return sum(amount for amount, status, reversed_ in rows if reversed_ and status in COUNTED_REFUND)


async def refund_totals(session: AsyncSession, payment: Payment) -> Totals:
    await session.flush()
    rows = await session.execute(
        select(Refund.amount, Refund.status, Refund.status_at).where(Refund.payment_id == payment.id)
    )
    return totals(((a, s, t) for a, s, t in rows), payment.provider_refunded, payment.provider_refunded_at)


# -- what is kept ---------------------------------------------------------------------------


def advance_refund(refund: Refund, status: str, at: int) -> None:
    """Move ``refund`` to ``status`` if that is forward; ``at`` is the provider time of the news."""
    if REFUND_ORDER[RefundStatus(status)] > REFUND_ORDER[RefundStatus(refund.status)]:
        refund.status, refund.status_at = status, at
    elif status == refund.status and (refund.status_at is None or at < refund.status_at):
        refund.status_at = at  # the earliest time it was known so, whatever order news came in


async def record_refund(session: AsyncSession, payment: Payment, update: RefundUpdate, at: int) -> None:
    """The provider's news of one refund of ``payment``: a new row, or its row moved forward."""
    now = utcnow()
    status = RefundStatus(update.status)  # the plugin mapped it; checked() held it to the enum
    # The refund may already be known (the hub created it, or earlier news told of it).
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
            status=status,
            status_at=at,
            reason=update.reason,
            reversed_transfer=update.transfer_reversal is not None,
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
    note_refund(refund, update, at)


def note_refund(refund: Refund, update: RefundUpdate, at: int) -> None:
    """The provider's news of ``refund`` (a row of the payment it is about): its state moved forward."""
    advance_refund(refund, RefundStatus(update.status), at)
    refund.amount = update.amount
    note_reversal(refund, update.transfer_reversal)


def note_reversal(refund: Refund, transfer_reversal: str | None) -> None:
    """The provider says the refund reversed its destination charge's transfer: kept for good."""
    if transfer_reversal is not None:
        refund.reversed_transfer = True


def note_provider_refunded(payment: Payment, amount: int, at: int) -> bool:
    """Keep the provider's cumulative figure if it is newer (same second: larger); True if kept."""
    kept = payment.provider_refunded
    if kept is not None and (at, amount) <= (payment.provider_refunded_at or 0, kept):
        return False
    payment.provider_refunded, payment.provider_refunded_at = amount, at
    return True


# -- the payment ----------------------------------------------------------------------------


def note_received(payment: Payment, figure: int) -> None:
    """The provider's figure of the amount received: kept if it is the first, never grown (module docstring)."""
    current = payment.amount_received
    if figure <= current:
        return
    if current == 0:
        # Captured outside the hub, or the hub's own capture answer was lost: take its word.
        payment.amount_received = figure
        return
    log.warning(
        "payment %s: the provider reports %d received where %d was captured; kept %d",
        payment.id,
        figure,
        current,
        current,
    )


def note_hold(payment: Payment, capture_before: int | None, status: str | None, reason: str | None) -> None:
    """A held authorization's last moment of capture, and why the provider canceled the payment.

    ``capture_before`` is the provider's figure for the charge (epoch seconds): the one it
    reports is kept. ``reason`` counts only with news of the cancellation itself.
    """
    if capture_before is not None:
        payment.capture_before = datetime.fromtimestamp(capture_before, UTC)
    if reason and status == PaymentStatus.CANCELED and payment.status == PaymentStatus.CANCELED:
        payment.cancellation_reason = reason


def record_capture(payment: Payment, captured: int, snap: PaymentSnapshot) -> None:
    """The hub's own capture of ``captured``, and the provider's answer to it.

    The answer's figure is the provider's: less than asked (and not nothing) is what the hub
    believes; more is an anomaly (``note_received``) and the hub keeps what it captured.
    """
    figure = snap.amount_received
    if 0 < figure < captured:
        log.warning(
            "payment %s: captured %d, the provider reports %d received; kept %d", payment.id, captured, figure, figure
        )
        captured = figure
    payment.amount_received = captured
    note_received(payment, figure)


def settle_status(payment: Payment) -> None:
    """Make the status agree with the amounts: exactly for a paid payment, forward only before."""
    new = refund_status(payment.amount_received, payment.amount_refunded)
    if payment.status in PAID:
        payment.status = new or "succeeded"
    elif new is not None and may_move(payment.status, new):
        payment.status = new


async def recount(session: AsyncSession, payment: Payment) -> None:
    """``amount_refunded`` from the refund rows and the provider's figure, and the status with it."""
    await session.flush()
    rows = (
        await session.execute(
            select(Refund.amount, Refund.status, Refund.status_at, Refund.reversed_transfer).where(
                Refund.payment_id == payment.id
            )
        )
    ).all()
    figure, figure_at = payment.provider_refunded, payment.provider_refunded_at
    payment.amount_refunded = totals(((a, s, t) for a, s, t, _ in rows), figure, figure_at).returned
    payment.amount_refund_reversed = reversed_part((a, s, bool(r)) for a, s, _, r in rows)
    settle_status(payment)


def recount_rows(payment: Payment, refunds: Iterable[Refund]) -> None:
    """``recount`` over refund rows already in hand (every row of ``payment``, read under its lock)."""
    refunds = list(refunds)
    rows = ((r.amount, r.status, r.status_at) for r in refunds)
    payment.amount_refunded = totals(rows, payment.provider_refunded, payment.provider_refunded_at).returned
    payment.amount_refund_reversed = reversed_part((r.amount, r.status, bool(r.reversed_transfer)) for r in refunds)
    settle_status(payment)


def fold_events(payment: Payment, events: Iterable[ProviderEvent]) -> bool:
    """Fold events' payment facts in, oldest first (``apply_event``); True if a recount is due.

    A refund event always makes one due: its row is recorded beside (``note_refund``).
    """
    due = False
    for event in sorted(events, key=lambda e: e.created):
        due = apply_event(payment, event) or event.refund is not None or due
    return due


async def apply_refunds(session: AsyncSession, payment: Payment) -> None:
    """Recount after the refund rows changed (API, sync), and record the notifications a move causes."""
    previous = payment.status
    await recount(session, payment)
    await payment_changed(session, payment, previous)


def apply_event(payment: Payment, event: ProviderEvent) -> bool:
    """Fold one event's payment facts in (not its refund: ``record_refund``); True if a recount is due.

    Call ``settle_status`` once all the news is in.
    """
    if event.amount_received is not None:
        note_received(payment, event.amount_received)
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
    if payment.status != "requires_capture":
        payment.amount_capturable = 0
    note_hold(payment, event.capture_before, event.status, event.cancellation_reason)
    if event.dispute_status is not None:
        current = payment.dispute_status
        if current is None or _DISPUTE_ORDER.get(event.dispute_status, 0) > _DISPUTE_ORDER.get(current, 0):
            payment.dispute_status = event.dispute_status
    if event.amount_refunded is not None:
        return note_provider_refunded(payment, event.amount_refunded, event.created)
    return False


def converge(payment: Payment, snap: PaymentSnapshot) -> None:
    """Sync only: leave a terminal status the provider's current object contradicts.

    A sync reads the provider's object as it is now, so a terminal status it contradicts is the
    hub's error, not late news (a payment the hub marked canceled that the provider still has
    authorized, or captured): the payment takes the provider's status, and, if the provider has
    it unpaid, the provider's amount received. Every other path (API answers, webhook events,
    whose news may be late) and every other status stay forward-only; a paid payment's refund
    part still follows the amounts (``settle_status``).
    """
    if payment.status not in TERMINAL or payment.status == snap.status:
        return
    if snap.status == "succeeded":
        if payment.status not in PAID:
            payment.status = "succeeded"
        return
    payment.status = snap.status
    # Not paid at the provider: whatever the hub believed received, the provider shows this.
    payment.amount_received = min(payment.amount_received, snap.amount_received)


async def apply_snapshot(
    session: AsyncSession, payment: Payment, snap: PaymentSnapshot, *, current: bool = False
) -> None:
    """Apply the provider's view (an API answer), and record the notifications a move causes.

    ``current``: the object a sync has just read, with nothing having changed the payment since
    (``converge``); otherwise statuses only move forward.
    """
    previous = payment.status
    if current:
        converge(payment, snap)
    if payment.provider_payment_id is None:
        payment.provider_payment_id = snap.provider_payment_id
    if payment.client_secret is None and snap.client_secret:
        payment.client_secret = snap.client_secret
    if snap.next_action is not None:
        payment.next_action_url = snap.next_action.url
    if payment.payment_method_type is None and snap.payment_method_type:
        payment.payment_method_type = snap.payment_method_type
    note_received(payment, snap.amount_received)
    if may_move(payment.status, snap.status):
        payment.status = snap.status
    settle_status(payment)
    payment.amount_capturable = (
        (snap.amount_capturable or payment.amount) if payment.status == "requires_capture" else 0
    )
    if snap.last_error_code:
        payment.last_error_code = snap.last_error_code
        payment.decline_code = snap.decline_code
    note_hold(payment, snap.capture_before, snap.status, snap.cancellation_reason)
    await payment_changed(session, payment, previous)


async def set_status(session: AsyncSession, payment: Payment, status: str) -> None:
    """A status the hub concludes itself (a declined creation, one that never happened)."""
    previous = payment.status
    payment.status = status
    await payment_changed(session, payment, previous)
