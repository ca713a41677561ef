"""The life of a tenant's provider-backed object, shared by setup intents, the catalogue,
subscriptions, invoices and payment links: find it (another tenant's is "not found"), create it,
act on it.

Their routes run through ``hub.idempotency.route.once``, which claims the Idempotency-Key; here
the provider is called outside any transaction, with an idempotency key derived from the object's
id (from the key's seed, so a retry lands on the same object), and the row is written in one
transaction with the key's stored answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.ids import well_formed_id
from hub.errors import NotFound
from hub.idempotency.attempt import Attempt

Row = TypeVar("Row")
Snap = TypeVar("Snap")
View = TypeVar("View", bound=msgspec.Struct)


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


async def created(
    session: AsyncSession,
    model: type[Row],
    attempt: Attempt,
    *,
    prefix: str,
    call: Callable[[str], Awaitable[Snap]],
    build: Callable[[str, Snap], Row],
) -> Row:
    """The object this request creates: the one an earlier attempt with its key made, or a new one
    made at the provider with ``call(hub_id)`` and added as ``build(hub_id, answer)``, uncommitted,
    so that :func:`answer` stores the row and the key's answer in one transaction."""
    hub_id = attempt.object_id(prefix)
    if attempt.resumed:
        earlier = await session.get(model, hub_id)
        if earlier is not None:
            return earlier
    snap = await call(hub_id)
    row = build(hub_id, snap)
    session.add(row)
    return row


async def acted(
    session: AsyncSession,
    model: type[Row],
    tenant_id: str,
    object_id: str,
    *,
    check: Callable[[Row], None],
    call: Callable[[Row], Awaitable[Snap]],
    apply: Callable[[Row, Snap], None],
) -> Row:
    """Run one provider operation on the tenant's object: ``check`` may refuse it (nothing is sent),
    ``apply`` records the provider's answer on the row, uncommitted (see :func:`answer`)."""
    row = await owned(session, model, tenant_id, object_id)
    check(row)
    await session.commit()
    snap = await call(row)
    row = await owned(session, model, tenant_id, object_id)
    apply(row, snap)
    return row


async def answer(
    session: AsyncSession, attempt: Attempt, row: Row, view: Callable[[Row], View], *, status: int = 201
) -> View:
    """Commit the work's rows with ``view(row)`` as its key's stored answer."""
    await session.flush()  # an update time is set by the flush: the answer shows what is stored
    body = view(row)
    await attempt.settle(session, status, body)
    await session.commit()
    return body
