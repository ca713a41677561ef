"""Thin route handlers: parse, call one service function, return a Struct."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.dependencies import admin_guard, platform_guard
from hub.auth.principal import PlatformPrincipal, TenantPrincipal
from hub.services import Injected
from hub.settings import Settings
from hub.tenants import schemas, service


class TenantController(Controller):
    path = "/v1/tenants"
    tags = ["platform: tenants"]
    guards = [platform_guard]

    @post("/", status_code=201)
    async def create(
        self,
        settings: Injected[Settings],
        session: AsyncSession,
        platform: PlatformPrincipal,
        data: schemas.TenantCreate,
    ) -> schemas.TenantCreated:
        return await service.create_tenant(session, data, settings.server.public_url)

    @get("/")
    async def list(
        self,
        settings: Injected[Settings],
        session: AsyncSession,
        platform: PlatformPrincipal,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
        starting_after: str | None = None,
    ) -> schemas.TenantList:
        return await service.list_tenants(session, settings.server.public_url, limit, starting_after)

    @get("/{tenant_id:str}")
    async def get(
        self, settings: Injected[Settings], session: AsyncSession, platform: PlatformPrincipal, tenant_id: str
    ) -> schemas.Tenant:
        return await service.get_tenant(session, tenant_id, settings.server.public_url)

    @post("/{tenant_id:str}/suspend", status_code=200)
    async def suspend(
        self, settings: Injected[Settings], session: AsyncSession, platform: PlatformPrincipal, tenant_id: str
    ) -> schemas.Tenant:
        return await service.set_status(session, tenant_id, "suspended", settings.server.public_url)

    @post("/{tenant_id:str}/activate", status_code=200)
    async def activate(
        self, settings: Injected[Settings], session: AsyncSession, platform: PlatformPrincipal, tenant_id: str
    ) -> schemas.Tenant:
        return await service.set_status(session, tenant_id, "active", settings.server.public_url)

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
