"""The row a provider event about a created object is applied to, under its row lock.

The row is found by its provider id; a row written before its creation's call (hub/recurring/objects.py)
has none until the answer arrives, so an event that comes first finds it by the hub id the object
names in its metadata, and only while it has no provider id: the event's provider id is then
written into it, instead of the event being lost or a second row being made.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.ids import well_formed_id
from hub.recurring.objects import PROVIDER_ID

Row = TypeVar("Row")


async def created_row(
    session: AsyncSession, model: type[Row], tenant_id: str, provider: str, provider_id: str, hub_id: str | None
) -> Row | None:
    """The tenant's ``model`` row for the provider's object ``provider_id`` (locked), or ``None``.

    ``hub_id`` is the id the object's metadata names: trusted only for a row of this tenant and
    provider that has no provider id yet (the caller has checked the event's tenant stamp)."""
    m: Any = model
    column = PROVIDER_ID[m]
    base = select(m).where(m.tenant_id == tenant_id, m.provider == provider).with_for_update()
    row = (await session.execute(base.where(column == provider_id))).scalar_one_or_none()
    if row is None and hub_id is not None and well_formed_id(hub_id):
        row = (await session.execute(base.where(m.id == hub_id, column.is_(None)))).scalar_one_or_none()
        if row is not None:
            setattr(row, column.key, provider_id)
    return row
