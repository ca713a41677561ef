"""The life of a tenant's provider-backed object, shared by customers, the catalogue,
subscriptions, invoices and payment links: find it (another tenant's is "not found"), create it
once per Idempotency-Key, and act on it once per key.

Each is: claim the key, replay a finished request, otherwise call the provider outside any
transaction, then write the result and settle the claim in one transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.errors import NotFound
from hub.recurring import claims
from hub.tenants.service import well_formed_id

Row = TypeVar("Row")
Snap = TypeVar("Snap")


async def owned(
    session: AsyncSession, model: type[Row], tenant_id: str, object_id: str, *, param: str | None = None
) -> Row:
    """The tenant's object; another tenant's is 'not found', never 'forbidden'."""
    m: Any = model
    if not well_formed_id(object_id):
        # Not one of the hub's ids (a NUL byte, say, which PostgreSQL would refuse): nothing to find.
        raise NotFound(f"No such {_name(m)}", param=param)
    row = (await session.execute(select(m).where(m.id == object_id, m.tenant_id == tenant_id))).scalar_one_or_none()
    if row is None:
        raise NotFound(f"No such {_name(m)}", param=param)
    return row


def _name(model: Any) -> str:
    return str(model.__tablename__).rstrip("s").replace("_", " ")


async def create_once(
    session: AsyncSession,
    model: type[Row],
    tenant_id: str,
    *,
    route: str,
    key: str | None,
    request: dict[str, Any],
    new_id: str,
    call: Callable[[str], Awaitable[Snap]],
    build: Callable[[str, Snap], Row],
) -> tuple[Row, bool]:
    """Create at the provider with ``call(hub_id)`` and store ``build(hub_id, answer)``; returns the row
    and whether this request only replayed an earlier one with the same key."""
    claim = await claims.claim(session, tenant_id, route, key, request, new_id)
    if claim.replay:
        return await owned(session, model, tenant_id, claim.object_id), True
    snap = await claims.call_provider(session, tenant_id, claim, call(claim.object_id))
    row = build(claim.object_id, snap)
    session.add(row)
    await claims.settle(session, tenant_id, claim, 201)
    await session.commit()
    return row, False


async def act_once(
    session: AsyncSession,
    model: type[Row],
    tenant_id: str,
    object_id: str,
    *,
    route: str,
    key: str | None,
    request: dict[str, Any],
    check: Callable[[Row], None],
    call: Callable[[Row], Awaitable[Snap]],
    apply: Callable[[Row, Snap], None],
) -> tuple[Row, bool]:
    """Run one provider operation on the tenant's object: ``check`` may refuse it (nothing is sent),
    ``apply`` records the provider's answer. Returns the row and whether this was a replay."""
    await owned(session, model, tenant_id, object_id)
    claim = await claims.claim(session, tenant_id, route, key, request, object_id)
    if claim.replay:
        return await owned(session, model, tenant_id, object_id), True
    row = await owned(session, model, tenant_id, object_id)
    try:
        check(row)
    except Exception:
        await claims.release(session, tenant_id, claim)
        raise
    await session.commit()
    snap = await claims.call_provider(session, tenant_id, claim, call(row))
    row = await owned(session, model, tenant_id, object_id)
    apply(row, snap)
    await claims.settle(session, tenant_id, claim, 200)
    await session.commit()
    return row, False
