"""Catalogue routes: products and prices. Storefront keys create and read, like admin keys."""

from __future__ import annotations

from litestar import Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.dependencies import storefront_guard
from hub.auth.principal import TenantPrincipal
from hub.catalog import schemas, service
from hub.operations import driver
from hub.recurring.http import CREATE, LIST, Cursor, Limit
from hub.services import Injected, Services
from hub.strict import require_strict

TAGS = ["catalogue"]


@post("/v1/products", tags=TAGS, guards=[storefront_guard], status_code=201, responses=CREATE)
async def create_product(
    request: Request,
    session: AsyncSession,
    services: Injected[Services],
    storefront: TenantPrincipal,
    data: schemas.ProductCreate,
) -> Response[schemas.Product]:
    op = service.CreateProduct(services, storefront, data)
    return await driver.run(op, request=request, session=session, body=data)


@get("/v1/products", tags=TAGS, guards=[storefront_guard], responses=LIST)
async def list_products(
    session: AsyncSession, storefront: TenantPrincipal, limit: Limit = 20, starting_after: Cursor = None
) -> schemas.ProductList:
    return await service.list_products(session, storefront, limit=limit, starting_after=starting_after)


@post("/v1/prices", tags=TAGS, guards=[storefront_guard], status_code=201, responses=CREATE)
async def create_price(
    request: Request,
    session: AsyncSession,
    services: Injected[Services],
    storefront: TenantPrincipal,
    data: schemas.PriceCreate,
) -> Response[schemas.Price]:
    await require_strict(request, schemas.PriceCreate)
    op = service.CreatePrice(services, storefront, data)
    return await driver.run(op, request=request, session=session, body=data)


@get("/v1/prices", tags=TAGS, guards=[storefront_guard], responses=LIST)
async def list_prices(
    session: AsyncSession,
    storefront: TenantPrincipal,
    limit: Limit = 20,
    starting_after: Cursor = None,
    product_id: Cursor = None,
) -> schemas.PriceList:
    return await service.list_prices(
        session, storefront, limit=limit, starting_after=starting_after, product_id=product_id
    )


ROUTES: list = [create_product, list_products, create_price, list_prices]
