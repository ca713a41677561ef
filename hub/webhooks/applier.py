"""The applier: an asyncio task in every worker that applies pending webhook events off the request path.

One batch is one transaction: claim the oldest due pending events (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so every worker on every machine takes different ones; SQLite's single writer
serialises appliers instead), apply them set-wise (``hub.webhooks.apply.apply_groups``: every
payment locked by one statement, ordered by id so two appliers never deadlock, and written by
one), mark each event, commit. The claim is a row lock, not a column: a worker killed
mid-batch leaves nothing behind but a rolled-back transaction, and its events are pending
again for whichever applier runs next.

No savepoint on the happy path. A batch that fails rolls back and is claimed again and applied
one payment at a time, each group in a savepoint, so an event that fails to apply (a poison
event) rolls back only its own group; it is retried with a growing delay, and after
``max_attempts`` it is marked ``failed`` with its reason.

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
from typing import Any, cast

import msgspec
from sqlalchemy import Table, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.base import utcnow
from hub.db.events import WebhookEvent
from hub.observability.metrics import count_webhook_event, observe_apply_lag
from hub.settings import ApplierSettings
from hub.webhooks.apply import IGNORED, GroupKey, apply_groups, apply_recurring, is_recurring
from hub.webhooks.store import FAILED, PENDING, REASON_WIDTH
from providers.base.webhooks import ProviderEvent

log = logging.getLogger("hub.webhooks.applier")

#: Events claimed per transaction: a batch costs a handful of statements whatever its size, so a
#: big one drains a burst fast; a batch of 500 still holds SQLite's write lock for only milliseconds.
BATCH_SIZE = 500
#: Delay before the retry of an event that failed to apply: doubles per attempt up to the cap.
RETRY_BASE_SECONDS, RETRY_CAP_SECONDS = 0.25, 30.0
_STOP_SECONDS = 10.0

_decode = msgspec.msgpack.Decoder(ProviderEvent).decode
_EVENTS = cast(Table, WebhookEvent.__table__)
#: The claim, built once: the oldest due pending events, rows another applier holds skipped.
_CLAIM = (
    select(
        _EVENTS.c.id,
        _EVENTS.c.tenant_id,
        _EVENTS.c.provider,
        _EVENTS.c.payload,
        _EVENTS.c.attempts,
        _EVENTS.c.received_at,
    )
    .where(
        _EVENTS.c.outcome == PENDING,
        or_(_EVENTS.c.next_attempt_at.is_(None), _EVENTS.c.next_attempt_at <= bindparam("now")),
    )
    .order_by(_EVENTS.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
#: Each event's outcome, executed many by primary key.
_MARK = update(_EVENTS).where(_EVENTS.c.id == bindparam("b_id"))


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
        """Claim and apply one batch; (events claimed, seconds until the earliest retry scheduled).

        The batch is applied set-wise with no savepoint; if anything in it fails, its transaction
        rolls back and the batch is claimed again and applied one payment (one other event) at a
        time, each in its own savepoint, so the event that fails is found and only it is retried.
        """
        try:
            return await self._apply_batch(isolated=False)
        except Exception as exc:
            log.info("webhook applier: a batch failed (%s); applying it payment by payment", type(exc).__name__)
        return await self._apply_batch(isolated=True)

    async def _apply_batch(self, *, isolated: bool) -> tuple[int, float | None]:
        async with self.sessions() as session, session.begin():
            now = utcnow()
            rows = (await session.execute(_CLAIM, {"now": now, "limit": BATCH_SIZE})).all()
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
            if isolated:
                for key in sorted(groups):
                    await self._apply_groups(session, batch, {key: groups[key]}, savepoint=True)
            elif groups:
                await self._apply_groups(session, batch, groups, savepoint=False)
            for row, event in others:
                try:
                    async with session.begin_nested() if isolated else contextlib.nullcontext():
                        outcome, object_id = await apply_recurring(session, row.tenant_id, row.provider, event)
                except Exception as exc:
                    if not isolated:
                        raise
                    batch.failed([row], exc)
                    continue
                batch.done(row, outcome, object_id)
            # One executemany by primary key for every event of the batch.
            await session.execute(_MARK, batch.updates)
        batch.observe()  # committed: count outcomes and the lag from receipt to application
        if batch.poisoned:
            log.warning("webhook applier: %d event(s) failed to apply this batch", batch.poisoned)
        return len(rows), batch.retry_in

    @staticmethod
    async def _apply_groups(
        session: AsyncSession,
        batch: _Batch,
        groups: dict[GroupKey, list[tuple[Any, ProviderEvent]]],
        *,
        savepoint: bool,
    ) -> None:
        events = {key: [e for _, e in members] for key, members in groups.items()}
        try:
            async with session.begin_nested() if savepoint else contextlib.nullcontext():
                results = await apply_groups(session, events)
        except Exception as exc:
            if not savepoint:
                raise
            batch.failed([r for members in groups.values() for r, _ in members], exc)
            return
        for key, members in groups.items():
            for (row, _), (outcome, payment_id) in zip(members, results[key], strict=True):
                batch.done(row, outcome, payment_id)


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
                "b_id": row.id,
                "outcome": outcome,
                "payment_id": payment_id,
                "reason": reason[:REASON_WIDTH] if reason else None,
                "attempts": attempts,
                "next_attempt_at": at,
            }
        )
