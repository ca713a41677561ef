"""Loading a tenant's stored credentials into a provider TenantContext (decrypting via the vault)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.base import utcnow
from hub.db.vault import ProviderCredential
from hub.errors import HubError, NotFound, ServiceUnavailable
from hub.vault.keyring import Vault, VaultError
from hub.vault.store import find_tenant_secrets
from providers.base.provider import Provider, TenantContext
from providers.base.registry import ProviderNotFound
from providers.base.types import CredentialsInput

if TYPE_CHECKING:
    from hub.services import Services


#: The vault field name (bound into the ciphertext) of a plugin's other sealed secrets, stored together.
SEALED_FIELD = "sealed_secrets"


class CredentialsMissing(HubError):
    status, code, title = 404, "credentials_missing", "Credentials missing"


def vault_unavailable() -> ServiceUnavailable:
    return ServiceUnavailable("The credential vault cannot decrypt this tenant's secrets", code="vault_unavailable")


async def credential_row(
    session: AsyncSession, tenant_id: str, provider: str, *, for_update: bool = False
) -> ProviderCredential | None:
    q = select(ProviderCredential).where(
        ProviderCredential.tenant_id == tenant_id, ProviderCredential.provider == provider
    )
    if for_update:
        q = q.with_for_update()
    return (await session.execute(q)).scalar_one_or_none()


def previous_secret_live(row: ProviderCredential, now: datetime | None = None) -> bool:
    return bool(
        row.previous_webhook_secret_ct
        and row.previous_webhook_secret_expires_at
        and row.previous_webhook_secret_expires_at > (now or utcnow())
    )


async def decrypt_row(
    session: AsyncSession, vault: Vault, provider: Provider, row: ProviderCredential
) -> TenantContext:
    try:
        secrets = await find_tenant_secrets(session, vault, row.tenant_id)
        if secrets is None:
            raise VaultError("tenant has credentials but no data key")
        sk = secrets.open(row.provider, "secret_key", row.secret_key_ct)
        wh = secrets.open(row.provider, "webhook_secret", row.webhook_secret_ct) if row.webhook_secret_ct else None
        prev_ct = row.previous_webhook_secret_ct if previous_secret_live(row) else None
        prev = secrets.open(row.provider, "previous_webhook_secret", prev_ct) if prev_ct else None
        sealed = secrets.open(row.provider, SEALED_FIELD, row.sealed_secrets_ct) if row.sealed_secrets_ct else None
        extra = msgspec.json.decode(sealed.reveal(), type=dict[str, str]) if sealed else {}
        for f in provider.credentials_spec.sealed:
            # A sealed field kept in a column of its own (Stripe's Connect webhook secret).
            ct = getattr(row, f.column) if f.column is not None else None
            if ct:
                extra[f.name] = secrets.open(row.provider, f.name, ct).reveal()
    except (VaultError, msgspec.DecodeError):
        raise vault_unavailable() from None
    raw = CredentialsInput(
        publishable_key=row.publishable_key,
        secret_key=sk.reveal(),
        webhook_secret=wh.reveal() if wh else None,
        previous_webhook_secret=prev.reveal() if prev else None,
        extra=extra,
    )
    return TenantContext(
        tenant_id=row.tenant_id, credentials_version=row.version, credentials=provider.parse_credentials(raw)
    )


async def load_context(session: AsyncSession, vault: Vault, provider: Provider, tenant_id: str) -> TenantContext:
    """The tenant's decrypted credentials for ``provider``; 404 ``credentials_missing`` when none."""
    row = await credential_row(session, tenant_id, provider.name)
    if row is None:
        raise CredentialsMissing(f"This tenant has no {provider.name} credentials")
    return await decrypt_row(session, vault, provider, row)


def provider_by_name(services: Services, name: str) -> Provider:
    try:
        return services.providers.get(name)
    except ProviderNotFound:
        raise NotFound(f"No provider named {name!r}", param="provider") from None


async def provider_context(
    session: AsyncSession, services: Services, provider: Provider, tenant_id: str
) -> TenantContext:
    """The tenant's context, read in the caller's transaction (the operation driver ends it)."""
    return await load_context(session, services.vault, provider, tenant_id)
