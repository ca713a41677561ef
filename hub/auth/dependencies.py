"""Resolving the bearer token to a principal, and enforcing scopes.

401: missing, unknown or revoked token. 403: valid token, wrong scope (or suspended tenant).

Controllers put a scope guard (``platform_guard``, ``admin_guard``, ``storefront_guard``) on
their routes: guards run before Litestar decodes the body, so an unauthenticated or
wrongly-scoped caller gets 401/403, never a validation answer about a body it may not send.
Handlers then name the ``platform``/``admin``/``storefront`` dependency to receive the
principal; the dependency reuses what the guard resolved and checks the scope again, so a
route without a guard is still protected.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers import BaseRouteHandler
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.keys import digest, same_secret
from hub.auth.principal import PlatformPrincipal, StoredCredentials, TenantPrincipal
from hub.db.engine import reads, single_statements
from hub.db.tenants import ApiKey, Tenant
from hub.db.vault import ProviderCredential
from hub.errors import Forbidden, Unauthorized
from hub.services import Injected, Services, services_of

Principal = PlatformPrincipal | TenantPrincipal

_STATE_KEY = "hub_principal"


#: Methods whose requests only read: their unit of work takes no write lock (``reads``).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def provide_session(request: Request, services: Injected[Services]) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed when the handler returned, rolled back when it raised.

    Litestar ends a generator dependency after the handler returned and its answer was built, and
    before a byte of it is sent: a client never sees an answer whose writes are not committed, and
    a failed commit is answered as the error it is. A handler's exception is thrown in at the
    ``yield``, and leaving the block rolls back what it wrote. The writes at a provider end their
    own transactions earlier, in the operation driver (hub/operations/driver.py), since none may be
    open while the provider is called. A read request's session begins DEFERRED on SQLite (no
    write lock: it reads beside the writer, hub/db/engine.py ``reads``).
    """
    read_only = request.method in READ_METHODS
    async with services.sessions(bind=reads(services.engine)) if read_only else services.sessions() as session:
        yield session
        if session.in_transaction():
            await session.commit()  # the request's unit of work: the handler returned normally


def principal_in(state: Any) -> Principal | None:
    """The principal this request's guard resolved, if any (read by the access log)."""
    found = state.get(_STATE_KEY) if isinstance(state, dict) else None
    return found if isinstance(found, (PlatformPrincipal, TenantPrincipal)) else None


def _unauthorized() -> Unauthorized:
    return Unauthorized("A valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})


def _bearer(connection: ASGIConnection) -> str:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 512 or not token.isprintable():
        raise _unauthorized()
    return token


#: The one read that resolves a tenant key, built once: the key, its tenant's status, and the
#: tenant's credentials (one row per provider).
_KEY_LOOKUP = (
    select(
        ApiKey.id,
        ApiKey.scope,
        Tenant.id,
        Tenant.status,
        ProviderCredential.provider,
        ProviderCredential.id,
        ProviderCredential.version,
        ProviderCredential.publishable_key,
    )
    .join(Tenant, Tenant.id == ApiKey.tenant_id)
    .outerjoin(ProviderCredential, ProviderCredential.tenant_id == Tenant.id)
    .where(ApiKey.digest == bindparam("digest"), ApiKey.revoked_at.is_(None))
)


async def _lookup(connection: ASGIConnection) -> Principal:
    token = _bearer(connection)
    services = services_of(connection)
    if same_secret(token, services.settings.auth.platform_token):
        return PlatformPrincipal()
    # One statement on a pooled connection, read on every request (no cache): a revoked key or
    # a suspended tenant is refused by every worker from the moment the change commits. In
    # autocommit on PostgreSQL (no BEGIN/COMMIT round trips); on SQLite in a short DEFERRED
    # transaction (no write lock), ended as the connection goes back to the pool.
    async with reads(single_statements(services.engine)).connect() as conn:
        rows = (await conn.execute(_KEY_LOOKUP, {"digest": digest(token)})).all()
    if not rows:
        raise _unauthorized()
    key_id, scope, tenant_id, status = rows[0][:4]
    if status != "active":
        raise Forbidden("This tenant is suspended", code="tenant_suspended")
    stored = tuple(
        StoredCredentials(provider=provider, id=cred_id, version=version, publishable_key=pk)
        for *_, provider, cred_id, version, pk in rows
        if provider is not None
    )
    return TenantPrincipal(tenant_id=tenant_id, scope=scope, key_id=key_id, credentials=stored)


async def authenticate(connection: ASGIConnection) -> Principal:
    """The caller's principal, resolved once per request.

    A failure counts against the client's address; past the limit it is answered 429 instead of
    401. The token is looked up all the same, so a valid key is never refused for the failures of
    others who share its address (every client of a proxy the hub is not told to trust).
    """
    cached = connection.state.get(_STATE_KEY)
    if cached is not None:
        return cached
    try:
        principal = await _lookup(connection)
    except Unauthorized:
        address = connection.client.host if connection.client else "unknown"
        limited = await services_of(connection).limits.failed_authentication(address)
        if limited is not None:
            raise limited from None
        raise
    connection.state[_STATE_KEY] = principal
    return principal


def _platform(principal: Principal) -> PlatformPrincipal:
    if not isinstance(principal, PlatformPrincipal):
        raise Forbidden("Only the platform operator may do this")
    return principal


def _admin(principal: Principal) -> TenantPrincipal:
    if not isinstance(principal, TenantPrincipal) or principal.scope != "admin":
        raise Forbidden("This needs a tenant admin key")
    return principal


def _tenant(principal: Principal) -> TenantPrincipal:
    """Admin or storefront key of an active tenant."""
    if not isinstance(principal, TenantPrincipal):
        raise Forbidden("This needs a tenant API key")
    return principal


async def platform_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    _platform(await authenticate(connection))


async def admin_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    _admin(await authenticate(connection))


async def storefront_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    _tenant(await authenticate(connection))


async def require_platform(request: Request) -> PlatformPrincipal:
    return _platform(await authenticate(request))


async def require_admin(request: Request) -> TenantPrincipal:
    return _admin(await authenticate(request))


async def require_storefront(request: Request) -> TenantPrincipal:
    """Admin or storefront key of an active tenant."""
    return _tenant(await authenticate(request))


DEPENDENCIES = {
    "session": Provide(provide_session),
    "platform": Provide(require_platform),
    "admin": Provide(require_admin),
    "storefront": Provide(require_storefront),
}
