"""Console sign-in: a tenant admin API key opens a server-side session; the cookie holds a random id.

The key itself is never stored in the cookie or the session: only the id of the key, so that
revoking the key ends every session opened with it at the next page. Suspending the tenant
deletes its sessions in the same transaction (``hub.tenants.service.set_status``): re-activating it
revives none.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hub.auth.keys import digest
from hub.auth.principal import TenantPrincipal
from hub.db.base import utcnow
from hub.db.console import ConsoleSession
from hub.db.engine import reads, single_statements
from hub.db.tenants import ApiKey, Tenant

COOKIE = "hub_console"
#: A session lasts a working day at most; signing in again is cheap, a stolen cookie ages out.
LIFETIME = timedelta(hours=8)


class SignInRefused(Exception):
    """Why a key may not open a console session, in words for the sign-in page."""


async def admin_key(session: AsyncSession, api_key: str) -> TenantPrincipal:
    """The admin of an active tenant whose key ``api_key`` is; SignInRefused says why not."""
    key = api_key.strip()
    if not key or len(key) > 512 or not key.isprintable():
        raise SignInRefused("That is not an API key.")
    # Like the bearer token's lookup (hub/auth/dependencies.py), on a pooled connection of its own
    # that takes no write lock: none is held (nor a snapshot) while the caller counts the sign-in.
    engine = session.bind
    assert isinstance(engine, AsyncEngine)
    async with reads(single_statements(engine)).connect() as conn:
        row = (
            await conn.execute(
                select(ApiKey.id, ApiKey.scope, ApiKey.revoked_at, Tenant.id, Tenant.status)
                .join(Tenant, Tenant.id == ApiKey.tenant_id)
                .where(ApiKey.digest == digest(key))
            )
        ).first()
    if row is None:
        raise SignInRefused("This API key is not known.")
    key_id, scope, revoked_at, tenant_id, status = row
    if revoked_at is not None:
        raise SignInRefused("This API key has been revoked.")
    if scope != "admin":
        raise SignInRefused("The console needs an admin key; this is a storefront key.")
    if status != "active":
        raise SignInRefused("This tenant is suspended.")
    return TenantPrincipal(tenant_id=tenant_id, scope="admin", key_id=key_id)


async def open_session(session: AsyncSession, who: TenantPrincipal) -> str:
    """A new session for ``who`` (from ``admin_key``): the cookie value.

    The tenant is read again under a share lock in the inserting transaction: a suspension
    committed since ``admin_key`` refuses the session (SignInRefused), and one still running waits
    for this one and then deletes the session with the others. None outlives a suspension.
    """
    token = secrets.token_urlsafe(32)
    now = utcnow()
    status = await session.scalar(select(Tenant.status).where(Tenant.id == who.tenant_id).with_for_update(read=True))
    if status != "active":
        raise SignInRefused("This tenant is suspended.")  # nothing written
    # Expired sessions of this tenant go as new ones come: the table never grows without bound.
    await session.execute(
        delete(ConsoleSession).where(ConsoleSession.tenant_id == who.tenant_id, ConsoleSession.expires_at < now)
    )
    session.add(
        ConsoleSession(
            id=digest(token), tenant_id=who.tenant_id, api_key_id=who.key_id, created_at=now, expires_at=now + LIFETIME
        )
    )
    await session.flush()  # committed by the request's unit of work
    return token


async def current(session: AsyncSession, cookie: str | None) -> TenantPrincipal | None:
    """The signed-in admin, or None: unknown, expired, revoked key or suspended tenant."""
    if not cookie or len(cookie) > 128:
        return None
    row = (
        await session.execute(
            select(ConsoleSession.tenant_id, ConsoleSession.api_key_id)
            .join(ApiKey, ApiKey.id == ConsoleSession.api_key_id)
            .join(Tenant, Tenant.id == ConsoleSession.tenant_id)
            .where(
                ConsoleSession.id == digest(cookie),
                ConsoleSession.expires_at > utcnow(),
                ApiKey.revoked_at.is_(None),
                Tenant.status == "active",
            )
        )
    ).first()
    if row is None:
        return None
    return TenantPrincipal(tenant_id=row[0], scope="admin", key_id=row[1])


async def sign_out(session: AsyncSession, cookie: str | None) -> None:
    if cookie and len(cookie) <= 128:
        await session.execute(delete(ConsoleSession).where(ConsoleSession.id == digest(cookie)))
