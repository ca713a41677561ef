"""Credential rules: format and mode checks, a check against the provider, then encrypted storage.

Nothing is stored unless the provider accepted the key. Every change is audited (never values).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub import audit
from hub.auth.principal import TenantPrincipal
from hub.credentials import fields, schemas
from hub.credentials.webhook_health import last_event_at
from hub.db.base import new_id, utcnow
from hub.db.vault import ProviderCredential
from hub.errors import NotFound
from hub.operations.driver import end
from hub.services import Services
from hub.tenancy.loader import SEALED_FIELD, CredentialsMissing, credential_row, vault_unavailable
from hub.tenants.service import webhook_url
from hub.vault.keyring import VaultError
from hub.vault.store import TenantSecrets, ensure_tenant_secrets
from hub.webhooks import endpoints
from providers.base.provider import Provider, TenantContext
from providers.base.registry import ProviderNotFound
from providers.base.types import ProviderCredentials

#: Stripe keeps a rolled webhook secret valid for up to 24 hours; so does the hub.
ROLLOVER = timedelta(hours=24)


def provider_named(services: Services, name: str) -> Provider:
    try:
        return services.providers.get(name)
    except ProviderNotFound:
        raise NotFound(f"No provider named {name!r}") from None


def _view(
    services: Services, provider: Provider, row: ProviderCredential, last_event: datetime | None
) -> schemas.CredentialsView:
    url = webhook_url(services.settings.server.public_url, row.tenant_id, row.provider)
    return fields.view(provider.credentials_spec, row, url, last_event)


async def put_credentials(
    session: AsyncSession, services: Services, who: TenantPrincipal, provider_name: str, body: schemas.CredentialsPut
) -> schemas.CredentialsView:
    provider = provider_named(services, provider_name)
    data = fields.read(provider.credentials_spec, body)  # unknown or missing fields: 422 naming it
    creds = provider.parse_credentials(data.raw())  # format / mode errors, no network
    existing = await credential_row(session, who.tenant_id, provider.name)
    next_version = (existing.version + 1) if existing else 1
    endpoint_state = endpoints.state_of(existing)
    await end(session)  # the driver's rule: no transaction (nor SQLite's lock) open while the provider is called
    ctx = TenantContext(tenant_id=who.tenant_id, credentials_version=next_version, credentials=creds)
    # Raises InvalidCredentials / ProviderUnavailable: nothing has been written yet.
    await provider.check_credentials(ctx)
    endpoint_id = None
    if data.signing is None and not (endpoint_state.has_secret and endpoint_state.endpoint_id is None):
        # No secret given: the hub keeps the endpoint on the tenant's own account itself. A secret
        # the tenant entered by hand (no hub-made endpoint) is simply kept: rolling the API key
        # must not depend on the key being allowed to manage webhook endpoints.
        endpoint = await endpoints.provision(services, provider, ctx, endpoint_state)
        endpoint_id = endpoint.endpoint_id
        if endpoint.secret:
            data = msgspec.structs.replace(data, signing=endpoint.secret)
    for attempt in range(2):
        try:
            async with session.begin_nested():  # a lost race undoes this attempt's writes only
                return await _store(session, services, who, provider, creds, data, endpoint_id)
        except IntegrityError:
            # Two first registrations raced on (tenant, provider): the loser retries as an update.
            if attempt:
                raise
    raise AssertionError("unreachable")


async def _store(
    session: AsyncSession,
    services: Services,
    who: TenantPrincipal,
    provider: Provider,
    creds: ProviderCredentials,
    data: fields.Submitted,
    endpoint_id: str | None = None,
) -> schemas.CredentialsView:
    now = utcnow()
    try:
        secrets = await ensure_tenant_secrets(session, services.vault, who.tenant_id)
    except VaultError:
        raise vault_unavailable() from None
    row = await credential_row(session, who.tenant_id, provider.name, for_update=True)
    spec = provider.credentials_spec
    changed = fields.changed_fields(spec, data)
    if row is None:
        row = ProviderCredential(
            id=new_id("cred"), tenant_id=who.tenant_id, provider=provider.name, version=1, created_at=now
        )
        session.add(row)
        action = "credentials.created"
    else:
        row.version += 1
        action = "credentials.replaced"
    # The format check accepted the secret stripped; a stored trailing newline would make every
    # signature check fail later.
    if data.signing is not None:
        set_webhook_secret(row, secrets, data.signing, now)
    for f in spec.sealed:
        # A sealed field kept in a column of its own (Stripe's Connect webhook secret): a body
        # that leaves it out keeps the stored one.
        if f.column is not None and f.name in data.sealed:
            setattr(row, f.column, secrets.seal(provider.name, f.name, data.sealed[f.name]))
    if endpoint_id is not None:
        row.webhook_endpoint_id = endpoint_id
    row.mode = creds.mode
    row.publishable_key = creds.publishable_key
    row.secret_key_hint = provider.secret_hint(creds)
    row.secret_key_ct = secrets.seal(provider.name, "secret_key", data.key)
    # The plugin's other secrets, sealed together under their own field name (absent: none declared).
    pooled = fields.pooled(spec, data)
    row.sealed_secrets_ct = (
        secrets.seal(provider.name, SEALED_FIELD, msgspec.json.encode(pooled).decode()) if pooled else None
    )
    row.verified_at = now
    row.updated_at = now
    audit.record(
        session,
        tenant_id=who.tenant_id,
        actor=who.actor,
        action=action,
        target=provider.name,
        details={"fields": changed, "mode": creds.mode, "version": row.version},
    )
    await session.flush()
    view = _view(services, provider, row, await last_event_at(session, who.tenant_id, provider.name))
    return view


def set_webhook_secret(row: ProviderCredential, secrets: TenantSecrets, secret: str, now: datetime) -> None:
    """Store a new webhook signing secret; the one it replaces keeps verifying for ``ROLLOVER``."""
    new = secret.strip()
    if row.webhook_secret_ct is not None:
        try:
            old = secrets.open(row.provider, "webhook_secret", row.webhook_secret_ct)
        except VaultError:
            raise vault_unavailable() from None
        if old.reveal() != new:
            # The old secret keeps verifying for the roll-over window (events already in flight).
            row.previous_webhook_secret_ct = secrets.seal(row.provider, "previous_webhook_secret", old.reveal())
            row.previous_webhook_secret_expires_at = now + ROLLOVER
    row.webhook_secret_ct = secrets.seal(row.provider, "webhook_secret", new)


async def registered(
    session: AsyncSession, services: Services, who: TenantPrincipal, provider_name: str, *, for_update: bool = False
) -> tuple[Provider, ProviderCredential]:
    """The provider and the tenant's stored credentials for it; 404 ``credentials_missing`` when none."""
    provider = provider_named(services, provider_name)
    row = await credential_row(session, who.tenant_id, provider.name, for_update=for_update)
    if row is None:
        raise CredentialsMissing(f"This tenant has no {provider.name} credentials")
    return provider, row


async def get_credentials(
    session: AsyncSession, services: Services, who: TenantPrincipal, provider_name: str
) -> schemas.CredentialsView:
    provider, row = await registered(session, services, who, provider_name)
    return _view(services, provider, row, await last_event_at(session, who.tenant_id, provider.name))


async def delete_credentials(
    session: AsyncSession, services: Services, who: TenantPrincipal, provider_name: str
) -> None:
    provider, row = await registered(session, services, who, provider_name, for_update=True)
    await session.delete(row)
    audit.record(
        session,
        tenant_id=who.tenant_id,
        actor=who.actor,
        action="credentials.deleted",
        target=provider.name,
        details={"version": row.version},
    )
    await session.flush()  # committed by the request's unit of work


async def end_rollover(session: AsyncSession, services: Services, who: TenantPrincipal, provider_name: str) -> None:
    """Stop the previous webhook secret verifying now (it leaked, say), not at the end of the roll-over."""
    provider = provider_named(services, provider_name)
    row = await credential_row(session, who.tenant_id, provider.name, for_update=True)
    if row is None:
        raise CredentialsMissing(f"This tenant has no {provider.name} credentials")
    if row.previous_webhook_secret_ct is not None:
        row.previous_webhook_secret_ct = None
        row.previous_webhook_secret_expires_at = None
        # A new version: every cache keyed by (tenant, version) drops the old secret with it.
        row.version += 1
        row.updated_at = utcnow()
        audit.record(
            session,
            tenant_id=who.tenant_id,
            actor=who.actor,
            action="credentials.rollover_ended",
            target=provider.name,
            details={"version": row.version},
        )
    await session.flush()  # committed by the request's unit of work
