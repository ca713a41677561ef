"""Customers in the tenant's provider account: create, read, list, update, delete.

Another tenant's customer is "not found", never "forbidden". Provider calls happen outside
any database transaction.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.customers import schemas
from hub.db.base import new_id, utcnow
from hub.db.payments import Customer
from hub.errors import Unsupported
from hub.idempotency import store
from hub.idempotency.attempt import Attempt
from hub.operations.driver import declare
from hub.operations.phases import Operation
from hub.operations.policy import RowFate, Rule
from hub.payments import common
from hub.recurring import objects
from hub.recurring.pages import page
from hub.services import Services
from hub.tenancy.loader import provider_by_name, provider_context
from providers.base import payments as neutral
from providers.base.customers import CustomerUpdate
from providers.base.errors import ProviderError

ROUTE_CREATE = "customers.create"


@declare("POST", "/v1/customers")
class CreateCustomer(Operation[neutral.CustomerSnapshot]):
    """The row is written before the provider is called (with the Idempotency-Key's claim, in one
    transaction), so a request the hub cannot store never leaves a customer at the provider that
    the hub does not know; its id comes from the key's seed, so a retry resumes the same customer."""

    route = ROUTE_CREATE
    status_code = 201
    joined = True

    def __init__(self, services: Services, who: TenantPrincipal, data: schemas.CustomerCreate) -> None:
        super().__init__(services, who)
        self.data = data
        self.row: Customer | None = None

    def validate(self) -> None:
        self.metadata = common.check_metadata(self.data.metadata)

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        tenant_id = self.who.tenant_id
        self.provider = await common.choose_provider(tx, self.services, tenant_id, self.data.provider)
        if not self.provider.capabilities.customers:
            raise Unsupported(f"{self.provider.name} keeps no customers", param="provider")
        self.ctx = await provider_context(tx, self.services, self.provider, tenant_id)

    async def resume(self, tx: AsyncSession, attempt: Attempt) -> schemas.Customer | None:
        self.row = await tx.get(Customer, attempt.object_id("cust"))
        if self.row is not None and self.row.provider_customer_id is not None:
            # The answer reached the row but not the key (its worker died in between).
            return common.customer_view(self.row)
        return None

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> None:
        # Without a key nothing can resume the row: one the provider may never have heard of is not kept.
        self.resumable = attempt.key is not None
        if self.row is None:
            self.row = Customer(
                id=attempt.object_id("cust"),
                tenant_id=self.who.tenant_id,
                provider=self.provider.name,
                email=self.data.email,
                name=self.data.name,
                metadata_=self.metadata,
                created_at=utcnow(),
            )
            tx.add(self.row)

    async def call(self) -> neutral.CustomerSnapshot:
        row = self.row
        assert row is not None
        return await self.provider.create_customer(
            self.ctx,
            neutral.CustomerCreate(
                email=row.email,
                name=row.name,
                metadata={**(row.metadata_ or {}), "hub_tenant_id": self.who.tenant_id, "hub_customer_id": row.id},
            ),
            idempotency_key=store.provider_key(row.id, "customer"),
        )

    async def record(self, tx: AsyncSession, answer: neutral.CustomerSnapshot) -> schemas.Customer:
        assert self.row is not None
        self.row.provider_customer_id = answer.provider_customer_id
        await tx.flush()
        return common.customer_view(self.row)

    async def failed(self, tx: AsyncSession, exc: ProviderError, rule: Rule) -> None:
        if rule.row is not RowFate.KEEP_FOR_RETRY or not self.resumable:
            await tx.delete(self.row)
        # With a key, the row stays for the retry, which asks under the same provider key.


async def owned(session: AsyncSession, tenant_id: str, customer_id: str, param: str | None = None) -> Customer:
    return await objects.owned(session, Customer, tenant_id, customer_id, param=param)


async def get_customer(session: AsyncSession, who: TenantPrincipal, customer_id: str) -> schemas.Customer:
    row = await owned(session, who.tenant_id, customer_id)
    return common.customer_view(row)


async def list_customers(
    session: AsyncSession, who: TenantPrincipal, *, limit: int, starting_after: str | None, email: str | None
) -> schemas.CustomerList:
    rows, more = await page(session, Customer, who.tenant_id, limit=limit, starting_after=starting_after, email=email)
    return schemas.CustomerList(data=[common.customer_view(c) for c in rows], has_more=more)


class _CustomerChange(Operation[None]):
    """A change to an existing customer at its provider, then in its row (read again after the
    call: one deleted meanwhile is "not found"). These routes take no Idempotency-Key."""

    keyed = False

    def __init__(self, services: Services, who: TenantPrincipal, customer_id: str) -> None:
        super().__init__(services, who)
        self.customer_id = customer_id

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        self.row = await owned(tx, self.who.tenant_id, self.customer_id)
        self.provider = provider_by_name(self.services, self.row.provider)
        self.ctx = await provider_context(tx, self.services, self.provider, self.who.tenant_id)

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> None:
        self.remote_id = common.remote_customer_id(self.row)

    async def record(self, tx: AsyncSession, answer: None) -> schemas.Customer:
        row = await owned(tx, self.who.tenant_id, self.customer_id)
        self.change(row)
        return common.customer_view(row)

    def change(self, row: Customer) -> None:
        raise NotImplementedError


@declare("PATCH", "/v1/customers/{customer_id:str}")
class UpdateCustomer(_CustomerChange):
    route = "customers.update"

    def __init__(
        self, services: Services, who: TenantPrincipal, customer_id: str, data: schemas.CustomerUpdate
    ) -> None:
        super().__init__(services, who, customer_id)
        self.data = data

    def validate(self) -> None:
        self.metadata = common.check_metadata(self.data.metadata) if self.data.metadata is not None else None

    async def call(self) -> None:
        sent, metadata = None, self.metadata
        if metadata is not None:
            # The provider merges metadata; a key set to "" is removed there. The hub's own keys stay.
            sent = {**{k: "" for k in (self.row.metadata_ or {}) if k not in metadata}, **metadata}
        # A fresh key per request: an identical later update must reach the provider again, while
        # the SDK's own retries of this one share it.
        await self.provider.update_customer(
            self.ctx,
            self.remote_id,
            CustomerUpdate(email=self.data.email, name=self.data.name, metadata=sent),
            idempotency_key=store.provider_key(new_id("upd"), "customer_update"),
        )

    def change(self, row: Customer) -> None:
        if self.data.email is not None:
            row.email = self.data.email
        if self.data.name is not None:
            row.name = self.data.name
        if self.metadata is not None:
            row.metadata_ = self.metadata


@declare("DELETE", "/v1/customers/{customer_id:str}")
class DeleteCustomer(_CustomerChange):
    route = "customers.delete"
    status_code = 204

    async def call(self) -> None:
        await self.provider.delete_customer(self.ctx, self.remote_id)

    async def record(self, tx: AsyncSession, answer: None) -> schemas.Customer:
        row = await owned(tx, self.who.tenant_id, self.customer_id)
        await tx.delete(row)
        return common.customer_view(row)
