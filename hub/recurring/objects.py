"""The life of a tenant's provider-backed object, shared by setup intents, the catalogue,
subscriptions, invoices and payment links: find it (another tenant's is "not found"), create it,
act on it.

Creating and acting are operations of the driver (hub/operations/): :class:`Creation` and
:class:`Action` are the phases these objects share; each route declares the rest.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.db.ids import well_formed_id
from hub.errors import NotFound
from hub.idempotency.attempt import Attempt
from hub.operations.phases import Answer, Operation
from hub.services import Services
from hub.tenancy.loader import provider_by_name, provider_context
from providers.base.provider import Provider, TenantContext

Row = TypeVar("Row")


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


class Creation(Operation[Answer]):
    """A provider object created by the request. Its id comes from the Idempotency-Key's seed, so
    the provider idempotency key derived from it is the same on a retry; its row (whose provider
    id is required) is written with the provider's answer, so a retry after an unknown outcome
    asks again under the same key and lands on the provider's same object.

    A subclass's ``load`` sets ``provider`` and ``ctx``; it writes ``call`` (with ``hub_id``),
    ``build`` (the row from the answer) and ``view``."""

    status_code = 201
    #: The row's model, and the prefix of its id.
    model: ClassVar[Any]
    prefix: ClassVar[str]

    provider: Provider
    ctx: TenantContext
    hub_id: str

    async def resume(self, tx: AsyncSession, attempt: Attempt) -> msgspec.Struct | None:
        earlier = await tx.get(self.model, attempt.object_id(self.prefix))
        return self.view(earlier) if earlier is not None else None

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> None:
        self.hub_id = attempt.object_id(self.prefix)

    async def record(self, tx: AsyncSession, answer: Answer) -> msgspec.Struct:
        row = self.build(answer)
        tx.add(row)
        await tx.flush()  # an update time is set by the flush: the answer shows what is stored
        return self.view(row)

    def build(self, answer: Answer) -> Any:
        raise NotImplementedError

    def view(self, row: Any) -> msgspec.Struct:
        raise NotImplementedError


class Action(Operation[Answer]):
    """One provider operation on the tenant's existing object: ``check`` may refuse it (nothing is
    sent), ``call`` asks the provider, ``apply`` records its answer on the row, read again after
    the call (one deleted meanwhile is "not found")."""

    status_code = 200
    model: ClassVar[Any]

    def __init__(self, services: Services, who: TenantPrincipal, object_id: str) -> None:
        super().__init__(services, who)
        self.object_id = object_id

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        self.row = await owned(tx, self.model, self.who.tenant_id, self.object_id)
        self.provider = provider_by_name(self.services, self.row.provider)
        self.ctx = await provider_context(tx, self.services, self.provider, self.who.tenant_id)

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> None:
        self.check(self.row)

    async def record(self, tx: AsyncSession, answer: Answer) -> msgspec.Struct:
        row = await owned(tx, self.model, self.who.tenant_id, self.object_id)
        self.apply(row, answer)
        await tx.flush()  # an update time is set by the flush: the answer shows what is stored
        return self.view(row)

    def check(self, row: Any) -> None:
        """Refuse the operation before anything is sent."""

    def apply(self, row: Any, answer: Answer) -> None:
        raise NotImplementedError

    def view(self, row: Any) -> msgspec.Struct:
        raise NotImplementedError
