"""Held authorizations that are about to lapse: one ``payment.capture_expiring`` notification each.

A manual-capture payment's authorization can be captured only until the provider's
``capture_before``; after it the provider cancels the payment (``cancellation_reason``
``automatic``). ``HUB_CAPTURE_WARNING_HOURS`` before that moment the tenant's application is told
once, so it can capture in time (or release by transfer instead of holding).

Every worker runs a :class:`CaptureWatch`: every ``HUB_CAPTURE_CHECK_SECONDS`` one short
transaction claims the due payments and records their messages in the outbox. The claim is the
conditional ``UPDATE ... SET capture_warned_at = now WHERE capture_warned_at IS NULL``: of any
number of workers and machines, exactly one changes the row and records the message, in the
same transaction (so a rolled-back claim sends nothing and a committed one is never lost). On
PostgreSQL the candidates are read ``FOR UPDATE SKIP LOCKED`` first, so workers take disjoint
payments instead of queueing behind each other; SQLite's write transaction serialises them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.base import utcnow
from hub.db.notifications import NotificationEndpoint
from hub.db.payments import Payment
from hub.db.vault import ProviderCredential
from hub.notifications.outbox import CAPTURE_EXPIRING, record
from hub.payments.common import payment_view
from hub.settings import HoldSettings

log = logging.getLogger("hub.payments.expiry")

#: Payments claimed per transaction.
BATCH_SIZE = 100
_STOP_SECONDS = 10.0


async def warn_due(session: AsyncSession, warning: timedelta, now: datetime | None = None) -> int:
    """Claim the held payments whose hold lapses within ``warning`` and not yet warned; record their
    messages. Returns how many this call claimed. Does not commit."""
    now = now or utcnow()
    due = (
        (
            await session.execute(
                select(Payment)
                .where(
                    Payment.status == "requires_capture",
                    Payment.capture_before.is_not(None),
                    Payment.capture_before <= now + warning,
                    Payment.capture_warned_at.is_(None),
                )
                .order_by(Payment.capture_before)
                .limit(BATCH_SIZE)
                .with_for_update(skip_locked=True)
            )
        )
        .scalars()
        .all()
    )
    claimed = 0
    for payment in due:
        result = await session.execute(
            update(Payment)
            .where(Payment.id == payment.id, Payment.capture_warned_at.is_(None))
            .values(capture_warned_at=now)
            .execution_options(synchronize_session=False)
        )
        if cast("CursorResult[Any]", result).rowcount != 1:
            continue  # another worker's claim took it
        payment.capture_warned_at = now
        claimed += 1
        await _announce(session, payment)
    return claimed


async def _announce(session: AsyncSession, payment: Payment) -> None:
    endpoints = (
        await session.execute(
            select(NotificationEndpoint.id, NotificationEndpoint.enabled_events).where(
                NotificationEndpoint.tenant_id == payment.tenant_id, NotificationEndpoint.status == "enabled"
            )
        )
    ).all()
    if not endpoints:
        return
    publishable_key = await session.scalar(
        select(ProviderCredential.publishable_key).where(
            ProviderCredential.tenant_id == payment.tenant_id, ProviderCredential.provider == payment.provider
        )
    )
    record(
        session,
        payment.tenant_id,
        CAPTURE_EXPIRING,
        payment_view(payment, publishable_key),
        [(e.id, e.enabled_events) for e in endpoints],
        payment.id,
    )


class CaptureWatch:
    """Looks for holds about to lapse every ``check_seconds`` until stopped (one per worker)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: HoldSettings) -> None:
        self.sessions, self.settings = sessions, settings
        self.warning = timedelta(hours=settings.warning_hours)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hub-capture-watch")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stop.set()
        try:
            await asyncio.wait_for(self._task, _STOP_SECONDS)
        except TimeoutError:
            pass
        except Exception:  # the loop logs its own failures; stopping must not raise
            log.warning("capture watch ended with an error")

    async def check_once(self) -> int:
        async with self.sessions() as session, session.begin():
            return await warn_due(session, self.warning)

    async def _run(self) -> None:
        while not self._stop.is_set():
            claimed = 0
            try:
                claimed = await self.check_once()
            except Exception as exc:  # the database is down, say: keep the task alive and try again
                log.warning("capture watch: check failed (%s); retrying", type(exc).__name__)
            if claimed >= BATCH_SIZE:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.settings.check_seconds)
