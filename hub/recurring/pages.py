"""Newest-first cursor pages of a tenant's rows (ids are time-ordered, so the cursor is an id)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


async def page(
    session: AsyncSession, model: Any, tenant_id: str, *, limit: int, starting_after: str | None, **equal: Any
) -> tuple[Sequence[Any], bool]:
    """(rows, has_more) of the tenant's ``model`` rows, newest first; ``equal`` filters on columns
    (a ``None`` value is no filter)."""
    query = select(model).where(model.tenant_id == tenant_id).order_by(model.id.desc()).limit(limit + 1)
    for column, value in equal.items():
        if value is not None:
            query = query.where(getattr(model, column) == value)
    if starting_after is not None:
        query = query.where(model.id < starting_after)
    rows = (await session.execute(query)).scalars().all()
    await session.commit()
    return rows[:limit], len(rows) > limit
