"""Newest-first cursor pages of a tenant's rows (ids are time-ordered, so the cursor is an id)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession


async def page(
    session: AsyncSession, model: Any, query: Select[Any], *, limit: int, starting_after: str | None
) -> tuple[Sequence[Any], bool]:
    """(rows, has_more) of ``query`` (already filtered to one tenant), newest first."""
    query = query.order_by(model.id.desc()).limit(limit + 1)
    if starting_after is not None:
        query = query.where(model.id < starting_after)
    rows = (await session.execute(query)).scalars().all()
    await session.commit()
    return rows[:limit], len(rows) > limit
