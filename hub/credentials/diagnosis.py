"""The credential health-check with its webhook diagnosis, and the repair of the tenant's webhook endpoint.

The classic silent failure: the webhook handler works and verifies signatures, but the endpoint
at the provider was never registered, is disabled, sends to an old address or with another
secret, and nobody notices until payments go missing. The health-check tells each apart, from
the provider's own view (read with the tenant's key) and from what the hub received.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from hub import audit
from hub.auth.principal import TenantPrincipal
from hub.credentials import schemas
from hub.credentials.advice import advise
from hub.credentials.service import provider_named, registered, set_webhook_secret
from hub.credentials.webhook_health import last_event_at
from hub.db.base import utcnow
from hub.idempotency.attempt import Attempt
from hub.operations.driver import declare, end
from hub.operations.phases import Operation
from hub.services import Services
from hub.tenancy.loader import decrypt_row, vault_unavailable
from hub.tenants.service import webhook_url
from hub.vault.keyring import VaultError
from hub.vault.store import find_tenant_secrets
from hub.webhooks import endpoints
from providers.base.errors import ProviderError
from providers.base.provider import Provider, TenantContext
from providers.base.types import CredentialCheck
from providers.base.webhooks import UNKNOWN_ENDPOINT, WebhookDiagnosis, WebhookEndpoint


async def health_check(
    session: AsyncSession, services: Services, who: TenantPrincipal, provider_name: str
) -> schemas.HealthCheck:
    provider, row = await registered(session, services, who, provider_name)
    ctx = await decrypt_row(session, services.vault, provider, row)
    state = endpoints.state_of(row)
    last_event = await last_event_at(session, who.tenant_id, provider.name)
    last_failure = services.signature_failures.latest(row)
    mode = row.mode
    await end(session)  # hold no snapshot (nor SQLite's lock) while the provider is called
    url = webhook_url(services.settings.server.public_url, who.tenant_id, provider.name)
    try:
        check = await provider.check_credentials(ctx)
    except ProviderError as exc:
        check = CredentialCheck(ok=False, mode=mode, latency_ms=0, error=exc.code)
    endpoint = await _diagnose(provider, ctx, url, state) if check.ok else UNKNOWN_ENDPOINT
    webhook = schemas.WebhookHealth(
        endpoint=endpoint.endpoint,
        endpoint_id=endpoint.endpoint_id,
        url=url,
        url_matches=endpoint.url_matches,
        missing_events=list(endpoint.missing_events),
        secret_set=state.has_secret,
        last_event_at=last_event,
        last_signature_failure_at=last_failure,
        advice=[],
    )
    key_error = None if check.ok else (check.error or "invalid_credentials")
    webhook.advice = advise(provider.name, key_error, webhook, note=endpoint.note)
    # Without an enabled endpoint at the hub's URL sending every handled event, and a secret to
    # verify it, some payment updates never arrive: that is the silent failure this check is for.
    # A gateway without an endpoint API cannot be asked: the key and the secret are all there is to check.
    endpoint_ok = not provider.capabilities.webhook_endpoint_api or (
        endpoint.endpoint == "enabled" and endpoint.url_matches is True and not endpoint.missing_events
    )
    ok = check.ok and endpoint_ok and state.has_secret
    return schemas.HealthCheck(ok=ok, mode=check.mode, latency_ms=check.latency_ms, error=check.error, webhook=webhook)


async def _diagnose(
    provider: Provider, ctx: TenantContext, url: str, state: endpoints.EndpointState
) -> WebhookDiagnosis:
    try:
        return await provider.diagnose_webhook_endpoint(
            ctx, url, known_endpoint_id=state.endpoint_id, has_secret=state.has_secret
        )
    except ProviderError:
        # The key answered the credential check a moment ago; a failure reading endpoints
        # (rate limit, outage) leaves the endpoint unknown rather than failing the whole check.
        return UNKNOWN_ENDPOINT


class Repaired(msgspec.Struct):
    """What the repair did: ``reused``, ``repaired`` or ``created`` (the route then answers with the health-check)."""

    endpoint: str


@declare("POST", "/v1/providers/{provider:str}/webhook/repair")
class RepairWebhook(Operation[WebhookEndpoint]):
    """Reuse or repair the hub's endpoint (enable it, fix its URL, add events); create one only when none exists.

    The same provider call as a registration without a webhook secret, so it never makes a
    second endpoint; a newly created endpoint's signing secret is stored (the old one rolls over).
    The route answers with the health-check as it stands after the repair. The route takes no
    Idempotency-Key: repairing twice finds the endpoint the first stored.
    """

    route = "providers.webhook_repair"
    keyed = False

    def __init__(self, services: Services, who: TenantPrincipal, provider_name: str) -> None:
        super().__init__(services, who)
        # Keyed by a provider that exists, so no request can grow the lock table with names of its own.
        self.provider = provider_named(services, provider_name)

    @asynccontextmanager
    async def serialized(self) -> AsyncIterator[None]:
        """Two repairs of one tenant at once (a double click) would both find no endpoint and both
        create one: this process runs them one after the other, the second reusing what the first stored."""
        locks = self.services.webhook_repair_locks
        async with locks.setdefault((self.who.tenant_id, self.provider.name), asyncio.Lock()):
            yield

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        _, row = await registered(tx, self.services, self.who, self.provider.name)
        self.ctx = await decrypt_row(tx, self.services.vault, self.provider, row)
        self.state = endpoints.state_of(row)

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> None:
        return None

    async def call(self) -> WebhookEndpoint:
        # Raises InvalidCredentials (the key may not manage endpoints) / ProviderUnavailable: nothing is written.
        return await endpoints.provision(self.services, self.provider, self.ctx, self.state)

    async def record(self, tx: AsyncSession, answer: WebhookEndpoint) -> Repaired:
        await _store_endpoint(tx, self.services, self.who, self.provider, answer)
        return Repaired(endpoint=answer.action)


async def _store_endpoint(
    session: AsyncSession, services: Services, who: TenantPrincipal, provider: Provider, endpoint: WebhookEndpoint
) -> None:
    now = utcnow()
    # Locked, and 404 if the credentials were deleted while the provider was being called.
    _, row = await registered(session, services, who, provider.name, for_update=True)
    changed = []
    if row.webhook_endpoint_id != endpoint.endpoint_id:
        row.webhook_endpoint_id = endpoint.endpoint_id
        changed.append("webhook_endpoint_id")
    if endpoint.secret:
        try:
            secrets = await find_tenant_secrets(session, services.vault, who.tenant_id)
        except VaultError:
            raise vault_unavailable() from None
        if secrets is None:
            raise vault_unavailable()
        set_webhook_secret(row, secrets, endpoint.secret, now)
        row.version += 1  # the cached verification secrets are keyed by version
        row.updated_at = now
        changed.append("webhook_secret")
    audit.record(
        session,
        tenant_id=who.tenant_id,
        actor=who.actor,
        action="credentials.webhook_repaired",
        target=provider.name,
        details={"endpoint": endpoint.action, "fields": changed, "version": row.version},
    )
