"""Receiving one webhook delivery: resolve the tenant's secrets, verify, then store and apply.

Verification happens before anything is written and holds no transaction open, so a
forged or replayed delivery costs one read and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.credentials.loader import credential_row, decrypt_row
from hub.db.tenants import Tenant
from hub.errors import NotFound
from hub.services import Services
from hub.tenants.service import well_formed_id
from hub.webhooks import store
from providers.base.errors import SignatureInvalid
from providers.base.registry import ProviderNotFound

log = logging.getLogger("hub.webhooks")


async def receive(
    session: AsyncSession,
    services: Services,
    provider_name: str,
    tenant_id: str,
    payload: bytes,
    headers: Mapping[str, str],
) -> str:
    """Verify and record one delivery; returns the outcome. 404 unknown tenant, 400 signature_invalid."""
    try:
        provider = services.providers.get(provider_name)
    except ProviderNotFound:
        raise NotFound("No such webhook endpoint") from None
    if not well_formed_id(tenant_id):  # e.g. a NUL byte, which PostgreSQL refuses in a text value
        raise NotFound("No such webhook endpoint")
    tenant = await session.scalar(select(Tenant.id).where(Tenant.id == tenant_id))
    row = await credential_row(session, tenant_id, provider.name) if tenant else None
    if row is None:
        await session.rollback()
        raise NotFound("No such webhook endpoint: unknown tenant, or one without credentials for this provider")
    ctx = await decrypt_row(session, services.vault, provider, row)
    await session.rollback()  # verification needs no transaction; SQLite's would hold the write lock
    try:
        event = provider.parse_webhook(ctx, payload, headers)
    except SignatureInvalid:
        await services.signature_failures.record(session, tenant_id, provider.name)
        log.info("webhook refused: signature invalid (tenant %s, %d bytes)", tenant_id, len(payload))
        raise
    outcome = await store.record(session, tenant_id, provider.name, event)
    log.info("webhook %s %s for tenant %s: %s", event.type, event.provider_event_id, tenant_id, outcome)
    return outcome
