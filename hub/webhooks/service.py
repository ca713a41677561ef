"""Receiving one webhook delivery: verify, store, answer. Applying it is the applier's job.

Verification happens before anything is written, so a forged or replayed delivery changes
nothing. A genuine event the plugin cannot interpret is stored as failed with the reason and
still acknowledged: the gateway would otherwise retry, for days, a body that never changes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from hub.observability.metrics import count_webhook_event
from hub.services import Services
from hub.webhooks import store
from providers.base.errors import EventNotUnderstood, SignatureInvalid
from providers.base.webhooks import ProviderEvent

log = logging.getLogger("hub.webhooks")


async def receive(
    services: Services,
    provider_name: str,
    tenant_id: str,
    payload: bytes,
    headers: Mapping[str, str],
) -> None:
    """Verify and store one delivery. 404 unknown tenant, 400 signature_invalid; anything signed is kept."""
    # From the in-process cache: no database statement once the tenant's context is warm.
    ctx = await services.tenant_contexts.for_webhook(tenant_id, provider_name)
    provider = services.providers.get(provider_name)  # cannot fail once for_webhook has answered
    try:
        verified = provider.verify_webhook(ctx, payload, headers)
    except SignatureInvalid:
        async with services.sessions() as session:
            await services.signature_failures.record(session, tenant_id, provider.name)
        log.info("webhook refused: signature invalid (tenant %s, %d bytes)", tenant_id, len(payload))
        count_webhook_event("signature_invalid", provider.name)
        raise
    event: ProviderEvent | None = None
    reason = None
    try:
        event = provider.interpret_webhook(verified)
    except EventNotUnderstood as exc:
        reason = exc.message
        log.info("webhook for tenant %s kept as failed: %s", tenant_id, reason)
    stored = await store.record(services.engine, tenant_id, provider.name, verified, event, reason)
    if not stored:
        count_webhook_event("duplicate", provider.name)
    elif event is None:
        count_webhook_event("failed", provider.name)
    else:
        count_webhook_event("pending", provider.name)
        services.inbox_wake.set()
