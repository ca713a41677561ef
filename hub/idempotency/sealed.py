"""Stored answers that hold a secret shown once (a notification endpoint's signing secret):
sealed under the tenant's data key like every other secret at rest, opened only to replay.

The ciphertext is bound to (tenant, route, key), so a stored answer copied to another key or
tenant does not open.
"""

from __future__ import annotations

from hub.operations.unit import transaction
from hub.services import Services
from hub.tenancy.loader import vault_unavailable
from hub.vault.keyring import VaultError
from hub.vault.store import ensure_tenant_secrets, find_tenant_secrets

#: The vault's "provider" slot for these answers: they belong to no payment provider.
VAULT_SCOPE = "idempotency"


def _field(route: str, key: str) -> str:
    return f"answer:{route}:{key}"


async def seal(services: Services, tenant_id: str, route: str, key: str, body: bytes) -> bytes:
    try:
        async with transaction(services.sessions) as session:
            secrets = await ensure_tenant_secrets(session, services.vault, tenant_id)
        return secrets.seal(VAULT_SCOPE, _field(route, key), body.decode())
    except VaultError:
        raise vault_unavailable() from None


async def unseal(services: Services, tenant_id: str, route: str, key: str, blob: bytes) -> bytes:
    try:
        async with transaction(services.sessions) as session:
            secrets = await find_tenant_secrets(session, services.vault, tenant_id)
        if secrets is None:
            raise VaultError("the tenant has no data key")
        return secrets.open(VAULT_SCOPE, _field(route, key), blob).reveal().encode()
    except VaultError:
        raise vault_unavailable() from None
