"""Key writes a database outage cut off: this worker keeps them and writes them once it can.

A request whose key is claimed must leave the key answered, reopened or forgotten. When the
database goes away at that moment (the work's last transaction, or the key's own write after a
failure), nothing is written and the key would stay "running" until its lease ends: every
retry with it would be told "in progress" for that long, although this worker knows what
to write. So it keeps the write (bounded, in memory) and one task per worker writes it as soon
as the database answers again.

A kept write lands only over its own attempt: the key record must still carry this attempt's
``attempts`` count, and the work's rows (``Attempt.keep_rows``) must still carry its claim;
otherwise another request took over since, and nothing is written. The key and the rows are
written in one transaction, so a retry sees both or neither.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.errors import is_database_outage
from hub.idempotency import store

log = logging.getLogger("hub.idempotency")

#: Writes the work's rows again in the given transaction: False when they no longer carry its
#: claim, else True, or the answer (status, body) they make, which the key then stores.
Rows = Callable[[AsyncSession], Awaitable["bool | tuple[int, bytes]"]]
Op = Literal["settle", "reopen", "forget"]
#: More than this many waiting writes means the database has been gone for long: the oldest is
#: dropped (its key waits for the lease instead) rather than let memory grow without bound.
MAX_WAITING = 10_000
#: Pause between tries while the database is still away.
RETRY_SECONDS = 0.5


@dataclass(frozen=True)
class KeyWrite:
    """What one attempt still has to write: the key's answer, reopening or forgetting, and its rows."""

    tenant_id: str
    route: str
    key: str
    claimed: store.Claimed
    op: Op
    answer: tuple[int, bytes] | None = None  # with "settle": (status, body)
    rows: Rows | None = None

    @property
    def ident(self) -> tuple[str, str, str]:
        return (self.tenant_id, self.route, self.key)


async def write(sessions: async_sessionmaker[AsyncSession], item: KeyWrite) -> bool:
    """Write ``item`` in one transaction; False when the key or its rows were taken over since."""
    async with sessions() as session:
        op, answer, ours = item.op, item.answer, True
        if item.rows is not None:
            made = await item.rows(session)
            if isinstance(made, tuple):  # the rows make the answer: the key stores it
                op, answer = "settle", made
            ours = made is not False
        if ours:
            ours = await _key(session, item, op, answer)
        await (session.commit() if ours else session.rollback())
        return ours


async def _key(session: AsyncSession, item: KeyWrite, op: Op, answer: tuple[int, bytes] | None) -> bool:
    args = (session, item.tenant_id, item.route, item.key, item.claimed)
    if op == "settle":
        assert answer is not None
        return await store.settle(*args, *answer)
    if op == "forget":
        return await store.forget_in(*args)
    return await store.reopen_in(*args)


class Deferred:
    """This worker's key writes waiting for the database; one task writes them, started on demand."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._waiting: dict[tuple[str, str, str], KeyWrite] = {}
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def __len__(self) -> int:
        return len(self._waiting)

    async def write_or_keep(self, item: KeyWrite) -> None:
        """Write ``item`` now; if the database is what fails, keep it for later."""
        try:
            await write(self.sessions, item)
        except Exception as exc:
            if is_database_outage(exc):
                self.keep(item)
            else:  # not the outage: the lease ends the key's run by itself
                log.warning("could not write an idempotency key (%s)", type(exc).__name__)

    def keep(self, item: KeyWrite) -> None:
        if self._closed:
            return
        self._waiting.pop(item.ident, None)
        if len(self._waiting) >= MAX_WAITING:
            dropped = self._waiting.pop(next(iter(self._waiting)))
            log.warning(
                "too many idempotency writes waiting for the database; one left to its lease (%s)", dropped.route
            )
        self._waiting[item.ident] = item
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="hub-idempotency-deferred")

    async def aclose(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while self._waiting:
            item = next(iter(self._waiting.values()))
            try:
                await write(self.sessions, item)
            except Exception as exc:
                if is_database_outage(exc):
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                # Not the outage: leave this one to the lease rather than retry a write that fails.
                log.error("kept idempotency write for %s not written (%s)", item.route, type(exc).__name__)
            if self._waiting.get(item.ident) is item:
                del self._waiting[item.ident]
