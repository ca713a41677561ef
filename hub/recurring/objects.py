"""The life of a tenant's provider-backed object, shared by setup intents, the catalogue,
subscriptions, invoices and payment links: find it (another tenant's is "not found", and so is
one whose creation has no provider answer yet), create it (its row first), act on it.

Creating and acting are operations of the driver (hub/operations/): :class:`Creation` and
:class:`Action` are the phases these objects share; each route declares the rest.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import msgspec
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.db.base import utcnow
from hub.db.ids import well_formed_id
from hub.db.recurring import Invoice, PaymentLink, Price, Product, SetupIntent, Subscription
from hub.errors import NotFound
from hub.idempotency.attempt import Attempt
from hub.operations.phases import Answer, Operation
from hub.operations.policy import RowFate, Rule
from hub.services import Services
from hub.tenancy.loader import provider_by_name, provider_context
from providers.base.errors import ProviderError
from providers.base.provider import Provider, TenantContext

Row = TypeVar("Row")


#: The provider-id column of each object created row first whose pending row is not shown: the
#: response's provider id is never null (customers and connected accounts show theirs as null).
PROVIDER_ID: dict[Any, Any] = {
    Product: Product.provider_product_id,
    Price: Price.provider_price_id,
    Subscription: Subscription.provider_subscription_id,
    Invoice: Invoice.provider_invoice_id,
    PaymentLink: PaymentLink.provider_payment_link_id,
    SetupIntent: SetupIntent.provider_setup_intent_id,
}


def shown(model: Any) -> list[ColumnElement[bool]]:
    """The condition of a ``model`` row reads show: its creation's answer reached it."""
    column = PROVIDER_ID.get(model)
    return [] if column is None else [column.is_not(None)]


def made(row: Any) -> bool:
    """The provider's answer (or its event) reached the row: it has its provider id."""
    column = PROVIDER_ID.get(type(row))
    return column is None or getattr(row, column.key) is not None


def provider_id(row: Any) -> str:
    """The provider's id of a row reads show (found by :func:`owned` or a page, or just filled)."""
    value = getattr(row, PROVIDER_ID[type(row)].key)
    assert value is not None, "a row without its provider id is not shown"
    return str(value)


async def owned(
    session: AsyncSession, model: type[Row], tenant_id: str, object_id: str, *, param: str | None = None
) -> Row:
    """The tenant's object; another tenant's is 'not found', never 'forbidden', and so is one whose
    creation is still pending at its provider."""
    m: Any = model
    if not well_formed_id(object_id):
        # Not one of the hub's ids (a NUL byte, say, which PostgreSQL would refuse): nothing to find.
        raise NotFound(f"No such {_name(m)}", param=param)
    query = select(m).where(m.id == object_id, m.tenant_id == tenant_id, *shown(m))
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"No such {_name(m)}", param=param)
    return row


def _name(model: Any) -> str:
    return str(model.__tablename__).rstrip("s").replace("_", " ")


class Creation(Operation[Answer]):
    """A provider object created by the request, row first (docs/architecture.md, the write path).

    ``prepare`` writes the row (``pending``: its provider id null) with the Idempotency-Key's claim;
    ``call`` asks the provider under a provider idempotency key derived from the row's id (which
    comes from the key's seed); ``record`` fills the row from the answer, read again under its lock
    (the provider's event may have filled it meanwhile); ``failed`` applies the policy table: a
    refusal drops the row, an unknown outcome keeps it for the retry with the same key, which finds
    it in ``resume`` and asks again under the same provider key, so the provider answers with the
    object it made. Without a key nothing could resume it, so it is dropped then too. Until its
    provider id is known the row is not shown (:func:`owned`, hub/recurring/pages.py).

    A subclass's ``load`` sets ``provider`` and ``ctx``; it writes ``call`` (with ``hub_id``),
    ``pending`` (the row before the call), ``fill`` (the answer into the row) and ``view``."""

    status_code = 201
    joined = True
    #: The row's model, and the prefix of its id.
    model: ClassVar[Any]
    prefix: ClassVar[str]

    provider: Provider
    ctx: TenantContext
    hub_id: str
    #: The row: the earlier attempt's (``resume``), or the one ``prepare`` writes.
    row: Any = None

    async def resume(self, tx: AsyncSession, attempt: Attempt) -> msgspec.Struct | None:
        self.row = await tx.get(self.model, attempt.object_id(self.prefix))
        if self.row is not None and made(self.row):
            # The answer reached the row but not the key (its worker died in between).
            return self.view(self.row)
        return None

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> None:
        self.hub_id = attempt.object_id(self.prefix)
        self.resumable = attempt.key is not None
        if self.row is None:
            self.row = self.pending()
            tx.add(self.row)

    async def record(self, tx: AsyncSession, answer: Answer) -> msgspec.Struct:
        row = await tx.get(self.model, self.hub_id, with_for_update=True, populate_existing=True)
        assert row is not None, "a pending row is dropped only when its call failed"
        self.fill(row, answer)
        await tx.flush()  # an update time is set by the flush: the answer shows what is stored
        return self.view(row)

    async def failed(self, tx: AsyncSession, exc: ProviderError, rule: Rule) -> None:
        if rule.row is not RowFate.KEEP_FOR_RETRY or not self.resumable:
            await tx.delete(self.row)
        # With a key, the row stays for the retry, which asks under the same provider key.

    def pending(self) -> Any:
        """The row before the provider is called: its provider id unset (made with :meth:`new_row`)."""
        raise NotImplementedError

    def new_row(self, **fields: Any) -> Any:
        """A row of ``model`` for this creation: its id, tenant, provider and times, and ``fields``."""
        now = utcnow()
        times = {"created_at": now, "updated_at": now} if hasattr(self.model, "updated_at") else {"created_at": now}
        return self.model(id=self.hub_id, tenant_id=self.who.tenant_id, provider=self.provider.name, **times, **fields)

    def fill(self, row: Any, answer: Answer) -> None:
        """The provider's answer into the row."""
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
