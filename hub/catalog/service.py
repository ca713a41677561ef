"""The tenant's catalogue at its provider: products, and one-off or recurring prices of them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.catalog import schemas
from hub.db.recurring import Price, Product
from hub.idempotency import store
from hub.idempotency.attempt import Attempt
from hub.operations.driver import declare
from hub.payments import common, money
from hub.recurring.objects import Creation, owned, provider_id
from hub.recurring.pages import page
from hub.services import Services
from hub.tenancy.loader import provider_by_name, provider_context
from providers.base import recurring as neutral

ROUTE_PRODUCT, ROUTE_PRICE = "products.create", "prices.create"


def product_view(p: Product) -> schemas.Product:
    return schemas.Product(
        id=p.id,
        provider=p.provider,
        provider_product_id=provider_id(p),
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
        provider_price_id=provider_id(p),
        product_id=p.product_id,
        currency=p.currency,
        unit_amount=p.unit_amount,
        recurring=recurring,
        active=p.active,
        created_at=p.created_at,
    )


@declare("POST", "/v1/products")
class CreateProduct(Creation[neutral.ProductSnapshot]):
    route = ROUTE_PRODUCT
    model, prefix = Product, "prod"

    def __init__(self, services: Services, who: TenantPrincipal, data: schemas.ProductCreate) -> None:
        super().__init__(services, who)
        self.data = data

    def validate(self) -> None:
        self.metadata = common.check_metadata(self.data.metadata)

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        self.provider = await common.choose_provider(tx, self.services, self.who.tenant_id, self.data.provider)
        self.ctx = await provider_context(tx, self.services, self.provider, self.who.tenant_id)

    async def call(self) -> neutral.ProductSnapshot:
        data, hub_id = self.data, self.hub_id
        return await self.provider.create_product(
            self.ctx,
            neutral.ProductCreate(
                name=data.name,
                description=data.description,
                metadata={**self.metadata, "hub_tenant_id": self.who.tenant_id, "hub_product_id": hub_id},
            ),
            idempotency_key=store.provider_key(hub_id, "product"),
        )

    def pending(self) -> Product:
        return self.new_row(
            name=self.data.name,
            description=self.data.description,
            metadata_=self.metadata,
        )

    def fill(self, row: Product, answer: neutral.ProductSnapshot) -> None:
        row.provider_product_id, row.active = answer.provider_product_id, answer.active

    def view(self, row: Product) -> schemas.Product:
        return product_view(row)


@declare("POST", "/v1/prices")
class CreatePrice(Creation[neutral.PriceSnapshot]):
    route = ROUTE_PRICE
    model, prefix = Price, "price"

    def __init__(self, services: Services, who: TenantPrincipal, data: schemas.PriceCreate) -> None:
        super().__init__(services, who)
        self.data = data

    def validate(self) -> None:
        self.currency = money.normalize_currency(self.data.currency)
        # A price is a unit, not a charge: the per-charge minimum applies to what is billed, not here.
        money.check_amount(self.data.unit_amount, self.currency, param="unit_amount", minimum=False)

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        product = await owned(tx, Product, self.who.tenant_id, self.data.product_id, param="product_id")
        self.provider = provider_by_name(self.services, product.provider)
        self.ctx = await provider_context(tx, self.services, self.provider, self.who.tenant_id)
        self.product_id, self.provider_product_id = product.id, provider_id(product)

    async def call(self) -> neutral.PriceSnapshot:
        recurring, hub_id = self.data.recurring, self.hub_id
        return await self.provider.create_price(
            self.ctx,
            neutral.PriceCreate(
                provider_product_id=self.provider_product_id,
                currency=self.currency,
                unit_amount=self.data.unit_amount,
                recurring=neutral.Recurrence(recurring.interval, recurring.interval_count) if recurring else None,
                metadata={"hub_tenant_id": self.who.tenant_id, "hub_price_id": hub_id},
            ),
            idempotency_key=store.provider_key(hub_id, "price"),
        )

    def pending(self) -> Price:
        recurring = self.data.recurring
        return self.new_row(
            product_id=self.product_id,
            currency=self.currency,
            unit_amount=self.data.unit_amount,
            interval=recurring.interval if recurring else None,
            interval_count=recurring.interval_count if recurring else None,
        )

    def fill(self, row: Price, answer: neutral.PriceSnapshot) -> None:
        row.provider_price_id, row.active = answer.provider_price_id, answer.active

    def view(self, row: Price) -> schemas.Price:
        return price_view(row)


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
