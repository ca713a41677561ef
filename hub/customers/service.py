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
from hub.payments import common
from hub.recurring import claims, objects
from hub.recurring.objects import create_once
from hub.recurring.pages import page
from hub.services import Services
from providers.base import payments as neutral
from providers.base.customers import CustomerUpdate

ROUTE_CREATE = "customers.create"


async def create_customer(
    session: AsyncSession, services: Services, who: TenantPrincipal, data: schemas.CustomerCreate, key: str | None
) -> tuple[schemas.Customer, bool]:
    """The customer, and whether this request only replayed an earlier one with its Idempotency-Key."""
    metadata = common.check_metadata(data.metadata)
    provider = await common.choose_provider(session, services, who.tenant_id, data.provider)
    ctx = await common.tenant_context(session, services, provider, who.tenant_id)
    request = {"provider": provider.name, "email": data.email, "name": data.name, "metadata": metadata}
    row, replayed = await create_once(
        session,
        Customer,
        who.tenant_id,
        route=ROUTE_CREATE,
        key=key,
        request=request,
        new_id=new_id("cust"),
        call=lambda hub_id: provider.create_customer(
            ctx,
            neutral.CustomerCreate(
                email=data.email,
                name=data.name,
                metadata={**metadata, "hub_tenant_id": who.tenant_id, "hub_customer_id": hub_id},
            ),
            idempotency_key=claims.provider_key(hub_id, "customer"),
        ),
        build=lambda hub_id, snap: Customer(
            id=hub_id,
            tenant_id=who.tenant_id,
            provider=provider.name,
            provider_customer_id=snap.provider_customer_id,
            email=data.email,
            name=data.name,
            metadata_=metadata,
            created_at=utcnow(),
        ),
    )
    return common.customer_view(row), replayed


async def owned(session: AsyncSession, tenant_id: str, customer_id: str, param: str | None = None) -> Customer:
    return await objects.owned(session, Customer, tenant_id, customer_id, param=param)


async def get_customer(session: AsyncSession, who: TenantPrincipal, customer_id: str) -> schemas.Customer:
    row = await owned(session, who.tenant_id, customer_id)
    await session.commit()
    return common.customer_view(row)


async def list_customers(
    session: AsyncSession, who: TenantPrincipal, *, limit: int, starting_after: str | None, email: str | None
) -> schemas.CustomerList:
    rows, more = await page(session, Customer, who.tenant_id, limit=limit, starting_after=starting_after, email=email)
    return schemas.CustomerList(data=[common.customer_view(c) for c in rows], has_more=more)


async def update_customer(
    session: AsyncSession, services: Services, who: TenantPrincipal, customer_id: str, data: schemas.CustomerUpdate
) -> schemas.Customer:
    metadata = common.check_metadata(data.metadata) if data.metadata is not None else None
    row = await owned(session, who.tenant_id, customer_id)
    provider = common.provider_by_name(services, row.provider)
    ctx = await common.tenant_context(session, services, provider, who.tenant_id)
    sent = None
    if metadata is not None:
        # The provider merges metadata; a key set to "" is removed there. The hub's own keys stay.
        sent = {**{k: "" for k in (row.metadata_ or {}) if k not in metadata}, **metadata}
    # A fresh key per request: an identical later update must reach the provider again, while
    # the SDK's own retries of this one share it.
    await provider.update_customer(
        ctx,
        common.remote_customer_id(row),
        CustomerUpdate(email=data.email, name=data.name, metadata=sent),
        idempotency_key=claims.provider_key(new_id("upd"), "customer_update"),
    )
    row = await owned(session, who.tenant_id, customer_id)
    if data.email is not None:
        row.email = data.email
    if data.name is not None:
        row.name = data.name
    if metadata is not None:
        row.metadata_ = metadata
    await session.commit()
    return common.customer_view(row)


async def delete_customer(session: AsyncSession, services: Services, who: TenantPrincipal, customer_id: str) -> None:
    row = await owned(session, who.tenant_id, customer_id)
    provider = common.provider_by_name(services, row.provider)
    ctx = await common.tenant_context(session, services, provider, who.tenant_id)
    await provider.delete_customer(ctx, common.remote_customer_id(row))
    row = await owned(session, who.tenant_id, customer_id)
    await session.delete(row)
    await session.commit()
