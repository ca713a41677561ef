"""Deliveries that arrive together are stored together: one multi-row INSERT for a worker's batch.

While one batch's INSERT is in flight, the deliveries verified meanwhile wait and go out as the
next batch, in one statement (autocommit on PostgreSQL: one commit for them all). A delivery
alone, with nothing in flight, is written at once, as before: no window is waited for.

Each delivery still gets its own answer, and only after its row is committed: its waiter is
resolved once the batch's statement (and its commit) returned. The unique constraint still
decides per event: ``ON CONFLICT DO NOTHING RETURNING`` names the events the batch inserted;
every other delivery, an event already stored or a second delivery of one event in the same
batch, is a repeat and counts itself. A batch that fails for anything but a database outage is
written again one delivery at a time, so a delivery's own fault never fails the others with it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.errors import is_database_outage

#: The most deliveries one INSERT carries (12 bound values each: far under both databases' limits).
MAX_BATCH = 64

Key = tuple[str, str, str]
Values = Mapping[str, Any]
#: Stores a batch in one statement: for each delivery, True when it stored its event.
Write = Callable[[AsyncEngine, list[Values]], Awaitable[list[bool]]]


def key_of(values: Values) -> Key:
    return values["tenant_id"], values["provider"], values["provider_event_id"]


class Batcher:
    """One engine's deliveries waiting for their INSERT; one batch in flight at a time."""

    def __init__(self, engine: AsyncEngine, write: Write) -> None:
        self.engine, self.write = engine, write
        self.waiting: list[tuple[Values, asyncio.Future[bool]]] = []
        self.writer: asyncio.Task[None] | None = None

    async def store(self, values: Values) -> bool:
        """True when this delivery stored its event, False for a repeat (counted)."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.waiting.append((values, done))
        if self.writer is None:
            self.writer = asyncio.create_task(self._drain())
        return await done

    async def _drain(self) -> None:
        try:
            while self.waiting:
                batch = self.waiting[:MAX_BATCH]
                del self.waiting[:MAX_BATCH]
                await self._write(batch)
        finally:
            self.writer = None

    async def _write(self, batch: list[tuple[Values, asyncio.Future[bool]]]) -> None:
        try:
            stored = await self.write(self.engine, [values for values, _ in batch])
        except Exception as exc:
            if len(batch) == 1 or is_database_outage(exc):
                for _, done in batch:
                    _settle(done, exc=exc)
                return
            for values, done in batch:  # one delivery's fault stays its own
                try:
                    _settle(done, (await self.write(self.engine, [values]))[0])
                except Exception as alone:
                    _settle(done, exc=alone)
            return
        for (_, done), result in zip(batch, stored, strict=True):
            _settle(done, result)


def _settle(done: asyncio.Future[bool], result: bool = False, exc: BaseException | None = None) -> None:
    if done.done():  # its request went away meanwhile
        return
    if exc is not None:
        done.set_exception(exc)
    else:
        done.set_result(result)


_batchers: weakref.WeakKeyDictionary[AsyncEngine, Batcher] = weakref.WeakKeyDictionary()


def batcher(engine: AsyncEngine, write: Write) -> Batcher:
    """The engine's batcher (one per engine: its deliveries share its INSERTs)."""
    found = _batchers.get(engine)
    if found is None:
        found = _batchers[engine] = Batcher(engine, write)
    return found


def firsts(batch: Sequence[Values]) -> list[int]:
    """Positions of each event's first delivery in ``batch``: the rows to insert (the rest repeat them)."""
    seen: set[Key] = set()
    first = []
    for n, values in enumerate(batch):
        k = key_of(values)
        if k not in seen:
            first.append(n)
            seen.add(k)
    return first
