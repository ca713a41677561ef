"""The applier: an asyncio task in every worker that applies pending webhook events off the request path.

One batch is one transaction: claim the oldest due pending events (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so every worker on every machine takes different ones; SQLite's single writer
serialises appliers instead), apply them grouped by payment, mark each event, commit. The claim
is a row lock, not a column: a worker killed mid-batch leaves nothing behind but a rolled-back
transaction, and its events are pending again for whichever applier runs next.

Each payment's group runs in a savepoint, so an event that fails to apply (a poison event)
rolls back only its own group; it is retried with a growing delay, and after
``max_attempts`` it is marked ``failed`` with its reason. Groups are taken in a fixed order
(tenant, provider, payment id) so two appliers lock payments in the same order and never deadlock.

Ingest wakes its own worker's applier in-process. Other workers find events at their poll
(``poll_seconds``): PostgreSQL's LISTEN/NOTIFY would wake them at once, but a NOTIFY per delivery
makes every ingest commit take the server-wide lock that orders notifications, on the hottest path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.base import utcnow
from hub.db.events import WebhookEvent
from hub.observability.metrics import count_webhook_event, observe_apply_lag
from hub.settings import ApplierSettings
from hub.webhooks.apply import IGNORED, apply_events, apply_recurring, is_recurring
from hub.webhooks.store import FAILED, PENDING, REASON_WIDTH
from providers.base.webhooks import ProviderEvent

log = logging.getLogger("hub.webhooks.applier")

#: Events claimed per transaction: big enough to fold bursts, small enough to keep SQLite's write lock short.
BATCH_SIZE = 100
#: Delay before the retry of an event that failed to apply: doubles per attempt up to the cap.
RETRY_BASE_SECONDS, RETRY_CAP_SECONDS = 0.25, 30.0
_STOP_SECONDS = 10.0

_decode = msgspec.msgpack.Decoder(ProviderEvent).decode
GroupKey = tuple[str, str, str]


class Applier:
    """Applies pending events until stopped; ``wake`` is set by the ingest path when an event is stored."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: ApplierSettings, wake: asyncio.Event
    ) -> None:
        self.sessions, self.settings, self.wake = sessions, settings, wake
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hub-webhook-applier")

    async def stop(self) -> None:
        """Let the current batch finish (or cancel it after a bound: its transaction rolls back)."""
        if self._task is None:
            return
        self._stopping = True
        self.wake.set()
        try:
            await asyncio.wait_for(self._task, _STOP_SECONDS)
        except TimeoutError:
            pass
        except Exception:  # the loop logs its own failures; stopping must not raise
            log.warning("webhook applier ended with an error")

    async def _run(self) -> None:
        while not self._stopping:
            self.wake.clear()  # before the batch: an event stored meanwhile wakes the next wait at once
            retry_in: float | None = None
            try:
                claimed, retry_in = await self.apply_batch()
            except Exception as exc:  # the database is down, say: keep the task alive and try again
                log.warning("webhook applier: batch failed (%s); retrying", type(exc).__name__)
                claimed, retry_in = 0, min(1.0, self.settings.poll_seconds)
            if claimed >= BATCH_SIZE or self._stopping:
                continue
            timeout = self.settings.poll_seconds if retry_in is None else min(retry_in, self.settings.poll_seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout)

    async def apply_batch(self) -> tuple[int, float | None]:
        """Claim and apply one batch; (events claimed, seconds until the earliest retry scheduled)."""
        async with self.sessions() as session, session.begin():
            now = utcnow()
            rows = (
                await session.execute(
                    select(
                        WebhookEvent.id,
                        WebhookEvent.tenant_id,
                        WebhookEvent.provider,
                        WebhookEvent.payload,
                        WebhookEvent.attempts,
                        WebhookEvent.received_at,
                    )
                    .where(
                        WebhookEvent.outcome == PENDING,
                        or_(WebhookEvent.next_attempt_at.is_(None), WebhookEvent.next_attempt_at <= now),
                    )
                    .order_by(WebhookEvent.id)
                    .limit(BATCH_SIZE)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0, None
            batch = _Batch(self.settings.max_attempts)
            groups: dict[GroupKey, list[tuple[Any, ProviderEvent]]] = defaultdict(list)
            others: list[tuple[Any, ProviderEvent]] = []  # subscription, invoice, setup news: one at a time
            for row in rows:
                try:
                    event = _decode(row.payload or b"")
                except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                    # Written by a hub version that reads it differently (a rolling deploy): retry, then fail.
                    batch.failed([row], exc)
                    continue
                if is_recurring(event):
                    others.append((row, event))
                elif event.provider_payment_id is None:
                    batch.done(row, IGNORED, None)
                else:
                    groups[(row.tenant_id, row.provider, event.provider_payment_id)].append((row, event))
            for key in sorted(groups):
                members = groups[key]
                try:
                    async with session.begin_nested():
                        results = await apply_events(session, key[0], key[1], [e for _, e in members])
                except Exception as exc:
                    batch.failed([r for r, _ in members], exc)
                    continue
                for (row, _), (outcome, payment_id) in zip(members, results, strict=True):
                    batch.done(row, outcome, payment_id)
            for row, event in others:
                try:
                    async with session.begin_nested():
                        outcome, object_id = await apply_recurring(session, row.tenant_id, row.provider, event)
                except Exception as exc:
                    batch.failed([row], exc)
                    continue
                batch.done(row, outcome, object_id)
            # One executemany by primary key for every event of the batch.
            await session.execute(update(WebhookEvent), batch.updates)
        batch.observe()  # committed: count outcomes and the lag from receipt to application
        if batch.poisoned:
            log.warning("webhook applier: %d event(s) failed to apply this batch", batch.poisoned)
        return len(rows), batch.retry_in


class _Batch:
    """The row updates one batch ends with, and the earliest retry it scheduled."""

    def __init__(self, max_attempts: int) -> None:
        self.max_attempts = max_attempts
        self.updates: list[dict[str, Any]] = []
        self.retry_in: float | None = None
        self.poisoned = 0
        self.now = utcnow()
        self.finished: list[tuple[str, str, float]] = []  # (provider, outcome, seconds since receipt)

    def done(self, row: Any, outcome: str, payment_id: str | None) -> None:
        self._add(row, outcome=outcome, payment_id=payment_id, reason=None, attempts=row.attempts + 1, at=None)

    def failed(self, rows: list[Any], exc: Exception) -> None:
        self.poisoned += len(rows)
        for row in rows:
            attempts = row.attempts + 1
            # The exception's type only: its message may quote SQL parameters, which are no one's business.
            what = type(exc).__name__
            if attempts >= self.max_attempts:
                reason = f"Not applied after {attempts} attempts (last error: {what})"
                self._add(row, outcome=FAILED, payment_id=None, reason=reason, attempts=attempts, at=None)
                continue
            delay = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** (attempts - 1))
            self.retry_in = delay if self.retry_in is None else min(self.retry_in, delay)
            reason = f"Attempt {attempts} failed ({what}); retrying"
            at = self.now + timedelta(seconds=delay)
            self._add(row, outcome=PENDING, payment_id=None, reason=reason, attempts=attempts, at=at)

    def observe(self) -> None:
        for provider, outcome, lag in self.finished:
            count_webhook_event(outcome, provider)
            if outcome != FAILED:
                observe_apply_lag(lag)

    def _add(
        self, row: Any, *, outcome: str, payment_id: str | None, reason: str | None, attempts: int, at: datetime | None
    ) -> None:
        if outcome != PENDING:
            self.finished.append((row.provider, outcome, (self.now - row.received_at).total_seconds()))
        self.updates.append(
            {
                "id": row.id,
                "outcome": outcome,
                "payment_id": payment_id,
                "reason": reason[:REASON_WIDTH] if reason else None,
                "attempts": attempts,
                "next_attempt_at": at,
            }
        )
