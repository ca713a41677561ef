"""Payment-link routes. Storefront keys create and read; deactivating takes an admin key."""

from __future__ import annotations

from litestar import Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.dependencies import admin_guard, storefront_guard
from hub.auth.principal import TenantPrincipal
from hub.operations import driver
from hub.payment_links import schemas, service
from hub.recurring.http import ACTION, CREATE, LIST, Cursor, Limit
from hub.services import Injected, Services
from hub.strict import require_strict

TAGS = ["payment links"]


@post("/v1/payment-links", tags=TAGS, guards=[storefront_guard], status_code=201, responses=CREATE)
async def create_payment_link(
    request: Request,
    session: AsyncSession,
    services: Injected[Services],
    storefront: TenantPrincipal,
    data: schemas.PaymentLinkCreate,
) -> Response[schemas.PaymentLink]:
    await require_strict(request, schemas.PaymentLinkCreate)
    op = service.CreatePaymentLink(services, storefront, data)
    return await driver.run(op, request=request, session=session, body=data)


@get("/v1/payment-links", tags=TAGS, guards=[storefront_guard], responses=LIST)
async def list_payment_links(
    session: AsyncSession,
    storefront: TenantPrincipal,
    limit: Limit = 20,
    starting_after: Cursor = None,
    active: bool | None = None,
) -> schemas.PaymentLinkList:
    return await service.list_payment_links(
        session, storefront, limit=limit, starting_after=starting_after, active=active
    )


@post("/v1/payment-links/{link_id:str}/deactivate", tags=TAGS, guards=[admin_guard], status_code=200, responses=ACTION)
async def deactivate_payment_link(
    request: Request,
    session: AsyncSession,
    services: Injected[Services],
    admin: TenantPrincipal,
    link_id: str,
) -> Response[schemas.PaymentLink]:
    op = service.DeactivatePaymentLink(services, admin, link_id)
    return await driver.run(op, request=request, session=session, body=None)


ROUTES: list = [create_payment_link, list_payment_links, deactivate_payment_link]
