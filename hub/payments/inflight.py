"""The in-flight marker: which worker may call the provider for a payment right now.

A conditional UPDATE sets ``pending_op`` only where none is set (or the one set is older than
the lease), so of two racing requests, on any number of workers, exactly one changes the
row and goes on to the provider; the other is told the payment is busy. No lock is held
while the provider is called.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.base import utcnow
from hub.db.payments import Payment

#: Longer than the provider's worst case (timeout x attempts + backoff): a marker this old
#: belongs to a worker that died, and a later request may take over.
LEASE = timedelta(minutes=5)


def is_stale(since: datetime | None, now: datetime | None = None) -> bool:
    return since is None or since < (now or utcnow()) - LEASE


async def claim(
    session: AsyncSession,
    payment: Payment,
    operation: str,
    *,
    statuses: Iterable[str] | None = None,
    require_no_provider_id: bool = False,
) -> datetime | None:
    """Mark ``payment`` as running ``operation``; returns the claim's timestamp, or None if another
    request holds it (or the status is no longer one of ``statuses``). Does not commit."""
    now = utcnow()
    conditions = [
        Payment.id == payment.id,
        Payment.tenant_id == payment.tenant_id,
        or_(Payment.pending_op.is_(None), Payment.pending_since < now - LEASE),
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
