"""Endpoint signing secrets in the vault: sealed under the tenant's data key, bound to the endpoint."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.notifications import NotificationEndpoint
from hub.vault.keyring import Secret, Vault
from hub.vault.store import TenantSecrets, ensure_tenant_secrets, find_tenant_secrets

#: The vault's "provider" slot for these secrets: they belong to no payment provider.
VAULT_SCOPE = "notifications"


def _field(endpoint_id: str) -> str:
    return f"endpoint:{endpoint_id}:secret"


async def sealer(session: AsyncSession, vault: Vault, tenant_id: str) -> TenantSecrets:
    return await ensure_tenant_secrets(session, vault, tenant_id)


def seal(secrets: TenantSecrets, endpoint_id: str, secret: str) -> bytes:
    return secrets.seal(VAULT_SCOPE, _field(endpoint_id), secret)


async def endpoint_keys(
    session: AsyncSession, vault: Vault, endpoint: NotificationEndpoint, now: datetime
) -> tuple[Secret, ...]:
    """The secrets that sign this endpoint's messages now: the current one, and the previous one
    while its overlap lasts."""
    secrets = await find_tenant_secrets(session, vault, endpoint.tenant_id)
    if secrets is None:
        raise LookupError("the tenant has no data key")
    keys = [secrets.open(VAULT_SCOPE, _field(endpoint.id), endpoint.secret)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret is not None and expires is not None and expires > now:
        keys.append(secrets.open(VAULT_SCOPE, _field(endpoint.id), endpoint.previous_secret))
    return tuple(keys)
