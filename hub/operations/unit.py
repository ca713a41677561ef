"""A unit of work in a session of its own: committed when the block ends, rolled back when it raises.

For the writes that belong to no request's phases: the Idempotency-Key's own transactions (its
claim when it is not joined, its answer, reopening or forgetting), the vault's data key for a
sealed answer. The driver ends the phases' transactions itself (hub/operations/driver.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as session, session.begin():
        yield session
