"""Thin route handlers: parse, call one service function, return a Struct."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, delete, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.dependencies import admin_guard, platform_guard
from hub.auth.principal import PlatformPrincipal, TenantPrincipal
from hub.tenants import schemas, service


def _public_url(request: Request) -> str:
    return request.app.state.services.settings.server.public_url


class TenantController(Controller):
    path = "/v1/tenants"
    tags = ["platform: tenants"]
    guards = [platform_guard]

    @post("/", status_code=201)
    async def create(
        self, request: Request, session: AsyncSession, platform: PlatformPrincipal, data: schemas.TenantCreate
    ) -> schemas.TenantCreated:
        return await service.create_tenant(session, data, _public_url(request))

    @get("/")
    async def list(
        self,
        request: Request,
        session: AsyncSession,
        platform: PlatformPrincipal,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
        starting_after: str | None = None,
    ) -> schemas.TenantList:
        return await service.list_tenants(session, _public_url(request), limit, starting_after)

    @get("/{tenant_id:str}")
    async def get(
        self, request: Request, session: AsyncSession, platform: PlatformPrincipal, tenant_id: str
    ) -> schemas.Tenant:
        return await service.get_tenant(session, tenant_id, _public_url(request))

    @post("/{tenant_id:str}/suspend", status_code=200)
    async def suspend(
        self, request: Request, session: AsyncSession, platform: PlatformPrincipal, tenant_id: str
    ) -> schemas.Tenant:
        return await service.set_status(session, tenant_id, "suspended", _public_url(request))

    @post("/{tenant_id:str}/activate", status_code=200)
    async def activate(
        self, request: Request, session: AsyncSession, platform: PlatformPrincipal, tenant_id: str
    ) -> schemas.Tenant:
        return await service.set_status(session, tenant_id, "active", _public_url(request))

    @post("/{tenant_id:str}/api-keys", status_code=201)
    async def recover_api_key(
        self, session: AsyncSession, platform: PlatformPrincipal, tenant_id: str, data: schemas.ApiKeyCreate
    ) -> schemas.ApiKeyCreated:
        return await service.recover_api_key(session, tenant_id, data.scope)


class ApiKeyController(Controller):
    path = "/v1/api-keys"
    tags = ["tenant admin: API keys"]
    guards = [admin_guard]

    @post("/", status_code=201)
    async def create(
        self, session: AsyncSession, admin: TenantPrincipal, data: schemas.ApiKeyCreate
    ) -> schemas.ApiKeyCreated:
        return await service.create_api_key(session, admin.tenant_id, data.scope, actor=admin.actor)

    @get("/")
    async def list(self, session: AsyncSession, admin: TenantPrincipal) -> schemas.ApiKeyList:
        return await service.list_api_keys(session, admin.tenant_id)

    @delete("/{key_id:str}", status_code=204)
    async def revoke(self, session: AsyncSession, admin: TenantPrincipal, key_id: str) -> None:
        await service.revoke_api_key(session, admin.tenant_id, key_id, actor=admin.actor)
