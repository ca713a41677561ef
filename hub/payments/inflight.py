"""The in-flight marker: which worker may call the provider for a payment right now.

A conditional UPDATE sets ``pending_op`` only where none is set (or the one set is older than
the lease), so of two racing requests, on any number of workers, exactly one changes the
row and goes on to the provider; the other is told the payment is busy. No lock is held
while the provider is called.

The lease is the one an Idempotency-Key claim has (``store.lease_for``: the provider deadline
times the calls of one request, plus a margin): a marker older than that belongs to a worker
that died, and the next request takes over instead of waiting minutes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.base import utcnow
from hub.db.payments import Payment
from hub.errors import Conflict
from hub.idempotency.store import retry_after


def is_stale(since: datetime | None, lease: timedelta, now: datetime | None = None) -> bool:
    return since is None or since < (now or utcnow()) - lease


def busy(payment: Payment, lease: timedelta) -> Conflict:
    """Another request holds the payment: come back when its lease would end (at most a few seconds)."""
    held = 0.0
    if payment.pending_op is not None and payment.pending_since is not None:
        held = (payment.pending_since + lease - utcnow()).total_seconds()
    return Conflict(
        "Another operation on this payment is in progress, or its state changed; retry later",
        code="invalid_state",
        headers={"Retry-After": retry_after(held)},
    )


async def claim(
    session: AsyncSession,
    payment: Payment,
    operation: str,
    *,
    lease: timedelta,
    statuses: Iterable[str] | None = None,
    require_no_provider_id: bool = False,
) -> datetime | None:
    """Mark ``payment`` as running ``operation``; returns the claim's timestamp, or None if another
    request holds it (or the status is no longer one of ``statuses``). Does not commit."""
    now = utcnow()
    conditions = [
        Payment.id == payment.id,
        Payment.tenant_id == payment.tenant_id,
        or_(Payment.pending_op.is_(None), Payment.pending_since < now - lease),
    ]
    if statuses is not None:
        conditions.append(Payment.status.in_(list(statuses)))
    if require_no_provider_id:
        conditions.append(Payment.provider_payment_id.is_(None))
    result = await session.execute(
        update(Payment)
        .where(and_(*conditions))
        .values(pending_op=operation, pending_since=now)
        .execution_options(synchronize_session=False)
    )
    if cast("CursorResult[Any]", result).rowcount != 1:
        return None
    payment.pending_op, payment.pending_since = operation, now
    return now


def release(payment: Payment) -> None:
    payment.pending_op = None
    payment.pending_since = None
