"""Receiving one webhook delivery: verify, store, answer. Applying it is the applier's job.

Verification happens before anything is written, so a forged or replayed delivery changes
nothing. A genuine event the plugin cannot interpret is stored as failed with the reason and
still acknowledged: the gateway would otherwise retry, for days, a body that never changes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from hub.credentials.loader import CredentialsMissing, load_context
from hub.errors import NotFound
from hub.services import Services
from hub.tenants.service import well_formed_id
from hub.webhooks import store
from providers.base.errors import EventNotUnderstood, SignatureInvalid
from providers.base.provider import Provider, TenantContext
from providers.base.registry import ProviderNotFound
from providers.base.webhooks import ProviderEvent

log = logging.getLogger("hub.webhooks")


async def receive(
    session: AsyncSession,
    services: Services,
    provider_name: str,
    tenant_id: str,
    payload: bytes,
    headers: Mapping[str, str],
) -> None:
    """Verify and store one delivery. 404 unknown tenant, 400 signature_invalid; anything signed is kept."""
    try:
        provider = services.providers.get(provider_name)
    except ProviderNotFound:
        raise NotFound("No such webhook endpoint") from None
    if not well_formed_id(tenant_id):  # e.g. a NUL byte, which PostgreSQL refuses in a text value
        raise NotFound("No such webhook endpoint")
    ctx = await tenant_context(session, services, provider, tenant_id)
    try:
        verified = provider.verify_webhook(ctx, payload, headers)
    except SignatureInvalid:
        log.info("webhook refused: signature invalid (tenant %s, %d bytes)", tenant_id, len(payload))
        raise
    event: ProviderEvent | None = None
    reason = None
    try:
        event = provider.interpret_webhook(verified)
    except EventNotUnderstood as exc:
        reason = exc.message
        log.info("webhook for tenant %s kept as failed: %s", tenant_id, reason)
    stored = await store.record(session, tenant_id, provider.name, verified, event, reason)
    if stored and event is not None:
        services.inbox_wake.set()


async def tenant_context(
    session: AsyncSession, services: Services, provider: Provider, tenant_id: str
) -> TenantContext:
    """The tenant's decrypted secrets for ``provider``; 404 for an unknown tenant or one without credentials.

    A credentials row exists only for an existing tenant (a foreign key), so one lookup answers
    both. Ends its read transaction: verification needs none (and SQLite's would hold the write lock).
    """
    try:
        return await load_context(session, services.vault, provider, tenant_id)
    except CredentialsMissing:
        raise NotFound(
            "No such webhook endpoint: unknown tenant, or one without credentials for this provider"
        ) from None
    finally:
        await session.rollback()
