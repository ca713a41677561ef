"""Registration without a webhook secret: the hub keeps the endpoint on the tenant's own account.

Called by the credentials service after the key was accepted and before anything is stored,
so a failure here stores nothing; the provider reuses or repairs what exists, never duplicates.
"""

from __future__ import annotations

from typing import NamedTuple

from hub.db.vault import ProviderCredential
from hub.errors import Unsupported
from hub.services import Services
from hub.tenants.service import webhook_url
from providers.base.errors import NotSupported
from providers.base.provider import Provider, TenantContext
from providers.base.webhooks import WebhookEndpoint


class EndpointState(NamedTuple):
    """What the hub already holds about the tenant's endpoint (read before the provider is called)."""

    endpoint_id: str | None
    has_secret: bool


def state_of(row: ProviderCredential | None) -> EndpointState:
    if row is None:
        return EndpointState(None, False)
    return EndpointState(row.webhook_endpoint_id, row.webhook_secret_ct is not None)


async def provision(
    services: Services, provider: Provider, ctx: TenantContext, state: EndpointState
) -> WebhookEndpoint:
    url = webhook_url(services.settings.server.public_url, ctx.tenant_id, provider.name)
    try:
        return await provider.ensure_webhook_endpoint(
            ctx, url, known_endpoint_id=state.endpoint_id, has_secret=state.has_secret
        )
    except NotSupported as exc:
        # The gateway it talks to has no endpoint API (the emulator): 422 in the plugin's words.
        raise Unsupported(exc.message) from None
