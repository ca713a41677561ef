"""Tenant-admin routes of notification endpoints: parse, call one service function, return a Struct."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, delete, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.dependencies import admin_guard
from hub.auth.principal import TenantPrincipal
from hub.idempotency import sealed
from hub.idempotency.route import once
from hub.notifications import schemas, service
from hub.services import Injected, Services
from hub.strict import require_strict

Limit = Annotated[int, Parameter(ge=1, le=100)]
Cursor = Annotated[str | None, Parameter(max_length=64)]


class NotificationEndpointController(Controller):
    path = "/v1/notification-endpoints"
    tags = ["tenant admin: notifications"]
    guards = [admin_guard]

    @post("/", status_code=201)
    async def create(
        self,
        request: Request,
        session: AsyncSession,
        services: Injected[Services],
        admin: TenantPrincipal,
        data: schemas.EndpointCreate,
    ) -> Response[schemas.EndpointCreated]:
        await require_strict(request, schemas.EndpointCreate)
        # The answer holds the signing secret, shown once: stored sealed by the vault for a replay.
        return await once(
            request,
            session,
            admin.tenant_id,
            service.ROUTE_CREATE,
            data,
            lambda attempt: service.create_endpoint(session, services, admin, data, attempt),
            status_code=201,
            sealing=sealed,
        )

    @get("/")
    async def list(
        self, session: AsyncSession, admin: TenantPrincipal, limit: Limit = 20, starting_after: Cursor = None
    ) -> schemas.EndpointList:
        return await service.list_endpoints(session, admin, limit=limit, starting_after=starting_after)

    @get("/{endpoint_id:str}")
    async def show(self, session: AsyncSession, admin: TenantPrincipal, endpoint_id: str) -> schemas.Endpoint:
        return await service.get_endpoint(session, admin, endpoint_id)

    @delete("/{endpoint_id:str}", status_code=204)
    async def remove(self, session: AsyncSession, admin: TenantPrincipal, endpoint_id: str) -> None:
        await service.delete_endpoint(session, admin, endpoint_id)

    @post("/{endpoint_id:str}/rotate-secret", status_code=200)
    async def rotate(
        self, session: AsyncSession, services: Injected[Services], admin: TenantPrincipal, endpoint_id: str
    ) -> schemas.SecretRotated:
        return await service.rotate_secret(session, services, admin, endpoint_id)

    @post("/{endpoint_id:str}/test", status_code=202)
    async def ping(self, session: AsyncSession, admin: TenantPrincipal, endpoint_id: str) -> schemas.PingSent:
        return await service.send_ping(session, admin, endpoint_id)

    @get("/{endpoint_id:str}/deliveries")
    async def deliveries(
        self,
        session: AsyncSession,
        admin: TenantPrincipal,
        endpoint_id: str,
        limit: Limit = 20,
        starting_after: Cursor = None,
    ) -> schemas.DeliveryList:
        return await service.list_deliveries(session, admin, endpoint_id, limit=limit, starting_after=starting_after)

    @post("/{endpoint_id:str}/deliveries/{delivery_id:str}/retry", status_code=202)
    async def retry(
        self, session: AsyncSession, admin: TenantPrincipal, endpoint_id: str, delivery_id: str
    ) -> schemas.Delivery:
        return await service.retry_delivery(session, admin, endpoint_id, delivery_id)
