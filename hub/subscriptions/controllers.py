"""Subscription routes. Storefront keys create and read; canceling takes an admin key."""

from __future__ import annotations

from litestar import Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.dependencies import admin_guard, storefront_guard
from hub.auth.principal import TenantPrincipal
from hub.operations import driver
from hub.recurring.http import ACTION, CREATE, LIST, READ, Cursor, Limit
from hub.services import Injected, Services
from hub.strict import require_strict
from hub.subscriptions import schemas, service

TAGS = ["subscriptions"]


@post("/v1/subscriptions", tags=TAGS, guards=[storefront_guard], status_code=201, responses=CREATE)
async def create_subscription(
    request: Request,
    session: AsyncSession,
    services: Injected[Services],
    storefront: TenantPrincipal,
    data: schemas.SubscriptionCreate,
) -> Response[schemas.Subscription]:
    await require_strict(request, schemas.SubscriptionCreate)
    op = service.CreateSubscription(services, storefront, data)
    return await driver.run(op, request=request, session=session, body=data)


@get("/v1/subscriptions", tags=TAGS, guards=[storefront_guard], responses=LIST)
async def list_subscriptions(
    session: AsyncSession,
    storefront: TenantPrincipal,
    limit: Limit = 20,
    starting_after: Cursor = None,
    customer_id: Cursor = None,
    status: schemas.Status | None = None,
) -> schemas.SubscriptionList:
    return await service.list_subscriptions(
        session, storefront, limit=limit, starting_after=starting_after, customer_id=customer_id, status=status
    )


@get("/v1/subscriptions/{subscription_id:str}", tags=TAGS, guards=[storefront_guard], responses=READ)
async def get_subscription(
    session: AsyncSession, storefront: TenantPrincipal, subscription_id: str
) -> schemas.Subscription:
    return await service.get_subscription(session, storefront, subscription_id)


@post(
    "/v1/subscriptions/{subscription_id:str}/cancel", tags=TAGS, guards=[admin_guard], status_code=200, responses=ACTION
)
async def cancel_subscription(
    request: Request,
    session: AsyncSession,
    services: Injected[Services],
    admin: TenantPrincipal,
    subscription_id: str,
    data: schemas.CancelRequest | None = None,
) -> Response[schemas.Subscription]:
    await require_strict(request, schemas.CancelRequest)
    body = data or schemas.CancelRequest()
    op = service.CancelSubscription(services, admin, subscription_id, body)
    return await driver.run(op, request=request, session=session, body=body)


@post(
    "/v1/subscriptions/{subscription_id:str}/sync",
    tags=TAGS,
    guards=[storefront_guard],
    status_code=200,
    responses=ACTION,
)
async def sync_subscription(
    session: AsyncSession, services: Injected[Services], storefront: TenantPrincipal, subscription_id: str
) -> schemas.Subscription:
    return await service.sync_subscription(session, services, storefront, subscription_id)


ROUTES: list = [create_subscription, list_subscriptions, get_subscription, cancel_subscription, sync_subscription]
