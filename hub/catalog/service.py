"""The tenant's catalogue at its provider: products, and one-off or recurring prices of them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.catalog import schemas
from hub.db.base import utcnow
from hub.db.recurring import Price, Product
from hub.idempotency import store
from hub.idempotency.attempt import Attempt
from hub.payments import common, money
from hub.recurring.objects import answer, created, owned
from hub.recurring.pages import page
from hub.services import Services
from providers.base import recurring as neutral

ROUTE_PRODUCT, ROUTE_PRICE = "products.create", "prices.create"


def product_view(p: Product) -> schemas.Product:
    return schemas.Product(
        id=p.id,
        provider=p.provider,
        provider_product_id=p.provider_product_id,
        name=p.name,
        description=p.description,
        active=p.active,
        metadata=dict(p.metadata_ or {}),
        created_at=p.created_at,
    )


def price_view(p: Price) -> schemas.Price:
    recurring = (
        schemas.Recurring(interval=p.interval, interval_count=p.interval_count or 1)  # type: ignore[arg-type]
        if p.interval
        else None
    )
    return schemas.Price(
        id=p.id,
        provider=p.provider,
        provider_price_id=p.provider_price_id,
        product_id=p.product_id,
        currency=p.currency,
        unit_amount=p.unit_amount,
        recurring=recurring,
        active=p.active,
        created_at=p.created_at,
    )


async def create_product(
    session: AsyncSession, services: Services, who: TenantPrincipal, data: schemas.ProductCreate, attempt: Attempt
) -> schemas.Product:
    metadata = common.check_metadata(data.metadata)
    provider = await common.choose_provider(session, services, who.tenant_id, data.provider)
    ctx = await common.tenant_context(session, services, provider, who.tenant_id)
    row = await created(
        session,
        Product,
        attempt,
        prefix="prod",
        call=lambda hub_id: provider.create_product(
            ctx,
            neutral.ProductCreate(
                name=data.name,
                description=data.description,
                metadata={**metadata, "hub_tenant_id": who.tenant_id, "hub_product_id": hub_id},
            ),
            idempotency_key=store.provider_key(hub_id, "product"),
        ),
        build=lambda hub_id, snap: Product(
            id=hub_id,
            tenant_id=who.tenant_id,
            provider=provider.name,
            provider_product_id=snap.provider_product_id,
            name=data.name,
            description=data.description,
            active=snap.active,
            metadata_=metadata,
            created_at=utcnow(),
        ),
    )
    return await answer(session, attempt, row, product_view)


async def create_price(
    session: AsyncSession, services: Services, who: TenantPrincipal, data: schemas.PriceCreate, attempt: Attempt
) -> schemas.Price:
    currency = money.normalize_currency(data.currency)
    # A price is a unit, not a charge: the per-charge minimum applies to what is billed, not here.
    money.check_amount(data.unit_amount, currency, param="unit_amount", minimum=False)
    product = await owned(session, Product, who.tenant_id, data.product_id, param="product_id")
    provider = common.provider_by_name(services, product.provider)
    ctx = await common.tenant_context(session, services, provider, who.tenant_id)
    recurring = data.recurring
    product_id, provider_product_id = product.id, product.provider_product_id
    row = await created(
        session,
        Price,
        attempt,
        prefix="price",
        call=lambda hub_id: provider.create_price(
            ctx,
            neutral.PriceCreate(
                provider_product_id=provider_product_id,
                currency=currency,
                unit_amount=data.unit_amount,
                recurring=neutral.Recurrence(recurring.interval, recurring.interval_count) if recurring else None,
                metadata={"hub_tenant_id": who.tenant_id, "hub_price_id": hub_id},
            ),
            idempotency_key=store.provider_key(hub_id, "price"),
        ),
        build=lambda hub_id, snap: Price(
            id=hub_id,
            tenant_id=who.tenant_id,
            provider=provider.name,
            provider_price_id=snap.provider_price_id,
            product_id=product_id,
            currency=currency,
            unit_amount=data.unit_amount,
            interval=recurring.interval if recurring else None,
            interval_count=recurring.interval_count if recurring else None,
            active=snap.active,
            created_at=utcnow(),
        ),
    )
    return await answer(session, attempt, row, price_view)


async def list_products(
    session: AsyncSession, who: TenantPrincipal, *, limit: int, starting_after: str | None
) -> schemas.ProductList:
    rows, more = await page(session, Product, who.tenant_id, limit=limit, starting_after=starting_after)
    return schemas.ProductList(data=[product_view(p) for p in rows], has_more=more)


async def list_prices(
    session: AsyncSession, who: TenantPrincipal, *, limit: int, starting_after: str | None, product_id: str | None
) -> schemas.PriceList:
    rows, more = await page(
        session, Price, who.tenant_id, limit=limit, starting_after=starting_after, product_id=product_id
    )
    return schemas.PriceList(data=[price_view(p) for p in rows], has_more=more)


async def owned_price(session: AsyncSession, tenant_id: str, price_id: str, param: str) -> Price:
    return await owned(session, Price, tenant_id, price_id, param=param)
