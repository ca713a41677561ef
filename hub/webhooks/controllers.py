"""Per-tenant webhook route and the event list."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.dependencies import admin_guard
from hub.auth.principal import TenantPrincipal
from hub.services import Injected, Services
from hub.webhooks import service, store
from hub.webhooks.schemas import EventList, WebhookAck


@post(
    "/v1/webhooks/{provider:str}/{tenant_id:str}",
    status_code=200,
    tags=["webhooks"],
    summary="Receive a provider webhook for one tenant (no Authorization; verified by signature)",
)
async def receive_webhook(request: Request, services: Injected[Services], provider: str, tenant_id: str) -> WebhookAck:
    # The raw bytes, never a re-serialised JSON: the signature covers the exact body. No session:
    # the store writes one Core statement on a pooled connection.
    payload = await request.body()
    await service.receive(services, provider, tenant_id, payload, request.headers)
    return WebhookAck()


@get(
    "/v1/events",
    tags=["tenant admin: events"],
    guards=[admin_guard],
    summary="The tenant's received webhook events, newest first",
)
async def list_events(
    session: AsyncSession,
    admin: TenantPrincipal,
    limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
    starting_after: str | None = None,
) -> EventList:
    return await store.list_events(session, admin.tenant_id, limit, starting_after)


ROUTES: list = [receive_webhook, list_events]
