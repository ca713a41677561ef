"""Cursor pages, newest first: ``limit``, ``starting_after`` and ``has_more`` of every list.

Ids are time-ordered, so "older than the cursor" is "id below it"; one row past the limit is
read to learn whether there is more. An empty cursor is no cursor (the first page).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute


async def newest_first(
    session: AsyncSession,
    query: Select[Any],
    id_column: InstrumentedAttribute[str],
    *,
    limit: int,
    starting_after: str | None,
) -> tuple[list[Any], bool]:
    """(rows, has_more) of ``query``'s rows older than ``starting_after``, newest first."""
    query = query.order_by(id_column.desc()).limit(limit + 1)
    if starting_after:
        query = query.where(id_column < starting_after)
    rows = list((await session.execute(query)).scalars())
    return rows[:limit], len(rows) > limit
