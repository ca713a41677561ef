"""Tenant and API-key rules. Every query is scoped by tenant id; another tenant's object is 'not found'."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import audit
from hub.auth.keys import SCOPES, digest, new_token, token_prefix
from hub.db.base import new_id, utcnow
from hub.db.console import ConsoleSession
from hub.db.ids import well_formed_id
from hub.db.pages import newest_first
from hub.db.tenants import ApiKey, Tenant
from hub.errors import Conflict, NotFound, ValidationFailed
from hub.tenants import schemas


def webhook_url(public_url: str, tenant_id: str, provider: str = "stripe") -> str:
    return f"{public_url}/v1/webhooks/{provider}/{tenant_id}"


def _view(t: Tenant, public_url: str) -> schemas.Tenant:
    return schemas.Tenant(
        id=t.id, name=t.name, status=t.status, created_at=t.created_at, webhook_url=webhook_url(public_url, t.id)
    )


async def _issue_key(session: AsyncSession, tenant_id: str, scope: str) -> tuple[ApiKey, str]:
    token = new_token(scope)
    key = ApiKey(id=new_id("key"), tenant_id=tenant_id, scope=scope, digest=digest(token), prefix=token_prefix(token))
    session.add(key)
    return key, token


async def create_tenant(session: AsyncSession, data: schemas.TenantCreate, public_url: str) -> schemas.TenantCreated:
    name = data.name.strip()
    if not name:
        raise ValidationFailed("name must not be blank", param="name")
    tenant = Tenant(id=new_id("ten"), name=name, status="active", created_at=utcnow())
    session.add(tenant)
    await session.flush()
    _, admin = await _issue_key(session, tenant.id, "admin")
    _, storefront = await _issue_key(session, tenant.id, "storefront")
    audit.record(session, tenant_id=tenant.id, actor="platform", action="tenant.created", target=tenant.id)
    await session.flush()  # committed by the request's unit of work
    v = _view(tenant, public_url)
    return schemas.TenantCreated(
        id=v.id,
        name=v.name,
        status=v.status,
        created_at=v.created_at,
        webhook_url=v.webhook_url,
        api_keys=schemas.TenantKeys(admin=admin, storefront=storefront),
    )


async def get_tenant(session: AsyncSession, tenant_id: str, public_url: str) -> schemas.Tenant:
    tenant = await session.get(Tenant, tenant_id) if well_formed_id(tenant_id) else None
    if tenant is None:
        raise NotFound("No such tenant")
    return _view(tenant, public_url)


async def list_tenants(
    session: AsyncSession, public_url: str, limit: int, starting_after: str | None
) -> schemas.TenantList:
    if starting_after and not well_formed_id(starting_after):
        raise ValidationFailed("starting_after must be a tenant id", param="starting_after")
    rows, more = await newest_first(session, select(Tenant), Tenant.id, limit=limit, starting_after=starting_after)
    return schemas.TenantList(data=[_view(t, public_url) for t in rows], has_more=more)


_VERB = {"active": "activated", "suspended": "suspended"}


async def set_status(session: AsyncSession, tenant_id: str, status: str, public_url: str) -> schemas.Tenant:
    tenant = await session.get(Tenant, tenant_id, with_for_update=True) if well_formed_id(tenant_id) else None
    if tenant is None:
        raise NotFound("No such tenant")
    if status == "suspended":
        # Ends the tenant's console sessions for good, in the suspension's own transaction: a
        # re-activation revives none (the console opens no session for a suspended tenant).
        await session.execute(delete(ConsoleSession).where(ConsoleSession.tenant_id == tenant.id))
    if tenant.status != status:
        tenant.status = status
        audit.record(session, tenant_id=tenant.id, actor="platform", action=f"tenant.{_VERB[status]}", target=tenant.id)
    await session.flush()  # committed by the request's unit of work
    return _view(tenant, public_url)


async def recover_api_key(session: AsyncSession, tenant_id: str, scope: str) -> schemas.ApiKeyCreated:
    """The platform issues a key for a tenant that lost its admin key (there is no other way back in)."""
    if not well_formed_id(tenant_id) or await session.get(Tenant, tenant_id) is None:
        raise NotFound("No such tenant")
    return await create_api_key(session, tenant_id, scope, actor="platform")


async def create_api_key(session: AsyncSession, tenant_id: str, scope: str, *, actor: str) -> schemas.ApiKeyCreated:
    if scope not in SCOPES:
        raise ValidationFailed("scope must be admin or storefront", param="scope")
    key, token = await _issue_key(session, tenant_id, scope)
    key.created_at = utcnow()
    audit.record(
        session, tenant_id=tenant_id, actor=actor, action="api_key.created", target=key.id, details={"scope": scope}
    )
    await session.flush()  # committed by the request's unit of work
    return schemas.ApiKeyCreated(id=key.id, scope=key.scope, key=token, created_at=key.created_at)


async def list_api_keys(session: AsyncSession, tenant_id: str) -> schemas.ApiKeyList:
    rows = (
        (await session.execute(select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.id.desc())))
        .scalars()
        .all()
    )
    return schemas.ApiKeyList(
        data=[
            schemas.ApiKey(id=k.id, scope=k.scope, prefix=k.prefix, created_at=k.created_at, revoked_at=k.revoked_at)
            for k in rows
        ]
    )


async def revoke_api_key(session: AsyncSession, tenant_id: str, key_id: str, *, actor: str) -> None:
    key = (
        (
            await session.execute(select(ApiKey).where(ApiKey.id == key_id, ApiKey.tenant_id == tenant_id))
        ).scalar_one_or_none()
        if well_formed_id(key_id)
        else None
    )
    if key is None:
        raise NotFound("No such API key")
    if key.revoked_at is None and key.scope == "admin":
        # The tenant row's lock serialises two admins revoking each other's keys at once.
        await session.get(Tenant, tenant_id, with_for_update=True)
        others = await session.scalar(
            select(func.count())
            .select_from(ApiKey)
            .where(
                ApiKey.tenant_id == tenant_id,
                ApiKey.scope == "admin",
                ApiKey.revoked_at.is_(None),
                ApiKey.id != key.id,
            )
        )
        if not others:
            raise Conflict(
                "This is the tenant's last active admin key: create another admin key first",
                code="last_admin_key",
            )
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record(session, tenant_id=tenant_id, actor=actor, action="api_key.revoked", target=key.id)
    await session.flush()  # committed by the request's unit of work
