"""Request dependencies that resolve the bearer token to a principal and enforce scopes.

401: missing, unknown or revoked token. 403: valid token, wrong scope (or suspended tenant).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from litestar import Request
from litestar.di import Provide
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.keys import digest, same_secret
from hub.auth.principal import PlatformPrincipal, TenantPrincipal
from hub.db.tenants import ApiKey, Tenant
from hub.errors import Forbidden, Unauthorized
from hub.services import Services


def services_of(request: Request) -> Services:
    return request.app.state.services


async def provide_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with services_of(request).sessions() as session:
        yield session


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 512:
        raise Unauthorized("A valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    return token


async def _resolve(request: Request, session: AsyncSession) -> PlatformPrincipal | TenantPrincipal:
    token = _bearer(request)
    if same_secret(token, services_of(request).settings.auth.platform_token):
        return PlatformPrincipal()
    row = (
        await session.execute(
            select(ApiKey.id, ApiKey.scope, Tenant.id, Tenant.status)
            .join(Tenant, Tenant.id == ApiKey.tenant_id)
            .where(ApiKey.digest == digest(token), ApiKey.revoked_at.is_(None))
        )
    ).first()
    # The read must not hold SQLite's write lock (or a PostgreSQL snapshot) for the whole request.
    await session.commit()
    if row is None:
        raise Unauthorized("A valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    key_id, scope, tenant_id, status = row
    if status != "active":
        raise Forbidden("This tenant is suspended", code="tenant_suspended")
    return TenantPrincipal(tenant_id=tenant_id, scope=scope, key_id=key_id)


async def require_platform(request: Request, session: AsyncSession) -> PlatformPrincipal:
    principal = await _resolve(request, session)
    if not isinstance(principal, PlatformPrincipal):
        raise Forbidden("Only the platform operator may do this")
    return principal


async def require_admin(request: Request, session: AsyncSession) -> TenantPrincipal:
    principal = await _resolve(request, session)
    if not isinstance(principal, TenantPrincipal) or principal.scope != "admin":
        raise Forbidden("This needs a tenant admin key")
    return principal


async def require_storefront(request: Request, session: AsyncSession) -> TenantPrincipal:
    """Admin or storefront key of an active tenant."""
    principal = await _resolve(request, session)
    if not isinstance(principal, TenantPrincipal):
        raise Forbidden("This needs a tenant API key")
    return principal


DEPENDENCIES = {
    "session": Provide(provide_session),
    "platform": Provide(require_platform),
    "admin": Provide(require_admin),
    "storefront": Provide(require_storefront),
}
