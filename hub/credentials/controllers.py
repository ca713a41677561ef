"""Thin route handlers for a tenant's provider credentials (tenant admin only)."""

from __future__ import annotations

from litestar import Controller, Request, delete, get, post, put
from litestar import delete as http_delete  # the class's own ``delete`` handler shadows the name
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.dependencies import admin_guard
from hub.auth.principal import TenantPrincipal
from hub.credentials import diagnosis, schemas, service
from hub.operations import driver
from hub.services import Injected, Services


class CredentialsController(Controller):
    path = "/v1/providers/{provider:str}"
    tags = ["tenant admin: credentials"]
    guards = [admin_guard]

    @put("/credentials")
    async def put(
        self,
        session: AsyncSession,
        services: Injected[Services],
        admin: TenantPrincipal,
        provider: str,
        data: schemas.CredentialsPut,
    ) -> schemas.CredentialsView:
        return await service.put_credentials(session, services, admin, provider, data)

    @get("/credentials")
    async def get(
        self, session: AsyncSession, services: Injected[Services], admin: TenantPrincipal, provider: str
    ) -> schemas.CredentialsView:
        return await service.get_credentials(session, services, admin, provider)

    @delete("/credentials", status_code=204)
    async def delete(
        self, session: AsyncSession, services: Injected[Services], admin: TenantPrincipal, provider: str
    ) -> None:
        await service.delete_credentials(session, services, admin, provider)

    @http_delete("/credentials/previous-webhook-secret", status_code=204)
    async def end_rollover(
        self, session: AsyncSession, services: Injected[Services], admin: TenantPrincipal, provider: str
    ) -> None:
        await service.end_rollover(session, services, admin, provider)

    @post("/health-check", status_code=200)
    async def health_check(
        self, session: AsyncSession, services: Injected[Services], admin: TenantPrincipal, provider: str
    ) -> schemas.HealthCheck:
        return await diagnosis.health_check(session, services, admin, provider)

    @post("/webhook/repair", status_code=200)
    async def repair_webhook(
        self,
        request: Request,
        session: AsyncSession,
        services: Injected[Services],
        admin: TenantPrincipal,
        provider: str,
    ) -> schemas.HealthCheck:
        op = diagnosis.RepairWebhook(services, admin, provider)
        async with op.serialized():
            await driver.run(op, request=request, session=session, body=None)
        return await diagnosis.health_check(session, services, admin, provider)
