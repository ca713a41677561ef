"""Newest-first cursor pages of a tenant's rows, filtered on columns (hub/db/pages.py cuts the page)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.pages import newest_first
from hub.operations.driver import end
from hub.recurring.objects import shown


async def page(
    session: AsyncSession, model: Any, tenant_id: str, *, limit: int, starting_after: str | None, **equal: Any
) -> tuple[Sequence[Any], bool]:
    """(rows, has_more) of the tenant's ``model`` rows, newest first; ``equal`` filters on columns
    (a ``None`` value is no filter). A row whose creation has no provider answer yet is not listed."""
    query = select(model).where(model.tenant_id == tenant_id, *shown(model))
    for column, value in equal.items():
        if value is not None:
            query = query.where(getattr(model, column) == value)
    rows, more = await newest_first(session, query, model.id, limit=limit, starting_after=starting_after)
    await end(session)  # a read holds no transaction (nor SQLite's lock) past its page
    return rows, more
