"""Platform billing routes: thin handlers over hub/billing/subscriptions.py and events.py."""

from __future__ import annotations

from litestar import Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.dependencies import platform_guard
from hub.auth.principal import PlatformPrincipal
from hub.billing import events, schemas, subscriptions
from hub.billing.client import Billing
from hub.operations import driver
from hub.services import Injected, Services

TAGS = ["platform: billing"]


@get("/v1/platform/billing/plans", tags=TAGS, guards=[platform_guard])
async def list_plans(billing: Injected[Billing], platform: PlatformPrincipal) -> schemas.PlanList:
    return subscriptions.list_plans(billing.require_enabled())


@post("/v1/tenants/{tenant_id:str}/subscription", tags=TAGS, status_code=201, guards=[platform_guard])
async def create_subscription(
    request: Request,
    services: Injected[Services],
    billing: Injected[Billing],
    session: AsyncSession,
    platform: PlatformPrincipal,
    tenant_id: str,
    data: schemas.PlatformSubscriptionCreate,
) -> Response[schemas.PlatformSubscription]:
    op = subscriptions.CreateSubscription(services, platform, tenant_id, data, billing.require_enabled())
    return await driver.run(op, request=request, session=session, body=data)


@get("/v1/tenants/{tenant_id:str}/subscription", tags=TAGS, guards=[platform_guard])
async def get_subscription(
    billing: Injected[Billing], session: AsyncSession, platform: PlatformPrincipal, tenant_id: str
) -> schemas.PlatformSubscription:
    billing.require_enabled()
    return await subscriptions.get_subscription(session, tenant_id)


@post("/v1/platform/billing/webhook", tags=TAGS, status_code=200)
async def billing_webhook(request: Request, session: AsyncSession, billing: Injected[Billing]) -> schemas.Received:
    # Raw bytes: the signature covers the body exactly as sent, never a re-serialised copy.
    payload = await request.body()
    await events.receive(session, billing.require_enabled(), payload, request.headers.get("stripe-signature"))
    return schemas.Received()


ROUTES: list = [list_plans, create_subscription, get_subscription, billing_webhook]
