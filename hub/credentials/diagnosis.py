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
from typing import NamedTuple

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import audit
from hub.auth.principal import TenantPrincipal
from hub.credentials import schemas
from hub.credentials.advice import advise, advise_connect
from hub.credentials.service import provider_named, registered, set_webhook_secret
from hub.credentials.webhook_health import last_event_at
from hub.db.base import utcnow
from hub.db.connect import ConnectedAccount
from hub.db.vault import ProviderCredential
from hub.idempotency.attempt import Attempt
from hub.operations.driver import declare, end
from hub.operations.phases import Operation
from hub.services import Services
from hub.tenancy.loader import decrypt_row, vault_unavailable
from hub.tenants.service import webhook_url
from hub.vault.keyring import VaultError
from hub.vault.store import TenantSecrets, find_tenant_secrets
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
    connect_secret = row.connect_webhook_secret_ct is not None
    marketplace = await uses_connect(session, row)
    await end(session)  # hold no snapshot (nor SQLite's lock) while the provider is called
    url = webhook_url(services.settings.server.public_url, who.tenant_id, provider.name)
    try:
        check = await provider.check_credentials(ctx)
    except ProviderError as exc:
        check = CredentialCheck(ok=False, mode=mode, latency_ms=0, error=exc.code)
    endpoint = await _diagnose(provider, ctx, url, state) if check.ok else UNKNOWN_ENDPOINT
    connect = None
    if marketplace:
        seen = await _diagnose_connect(provider, ctx, url, connect_secret) if check.ok else UNKNOWN_ENDPOINT
        connect = schemas.ConnectWebhookHealth(
            endpoint=seen.endpoint,
            endpoint_id=seen.endpoint_id,
            url_matches=seen.url_matches,
            missing_events=list(seen.missing_events),
            secret_set=connect_secret,
        )
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
        connect=connect,
    )
    key_error = None if check.ok else (check.error or "invalid_credentials")
    webhook.advice = advise(provider.name, key_error, webhook, note=endpoint.note)
    if connect is not None and check.ok:
        webhook.advice += advise_connect(provider.name, url, connect)
    # Without an enabled endpoint at the hub's URL sending every handled event, and a secret to
    # verify it, some payment updates never arrive: that is the silent failure this check is for.
    # A gateway without an endpoint API cannot be asked: the key and the secret are all there is to check.
    endpoint_ok = not provider.capabilities.webhook_endpoint_api or (
        endpoint.endpoint == "enabled" and endpoint.url_matches is True and not endpoint.missing_events
    )
    ok = check.ok and endpoint_ok and state.has_secret and (connect is None or _healthy(connect))
    return schemas.HealthCheck(ok=ok, mode=check.mode, latency_ms=check.latency_ms, error=check.error, webhook=webhook)


def _healthy(c: schemas.ConnectWebhookHealth) -> bool:
    return c.endpoint == "enabled" and c.url_matches is True and not c.missing_events and c.secret_set


async def uses_connect(session: AsyncSession, row: ProviderCredential) -> bool:
    """A marketplace tenant: it saved a Connect webhook secret, or has connected accounts."""
    if row.connect_webhook_secret_ct is not None:
        return True
    found = await session.execute(
        select(ConnectedAccount.id)
        .where(ConnectedAccount.tenant_id == row.tenant_id, ConnectedAccount.provider == row.provider)
        .limit(1)
    )
    return found.first() is not None


async def _diagnose_connect(provider: Provider, ctx: TenantContext, url: str, has_secret: bool) -> WebhookDiagnosis:
    try:
        return await provider.diagnose_connect_endpoint(ctx, url, has_secret=has_secret)
    except ProviderError:
        return UNKNOWN_ENDPOINT


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


class Endpoints(NamedTuple):
    """What the repair's provider calls did: the account's endpoint, and the Connect one (None when the
    tenant has no sellers, or the provider could not repair it: the health-check that follows says so)."""

    account: WebhookEndpoint
    connect: WebhookEndpoint | None


class Repaired(msgspec.Struct):
    """What the repair did: ``reused``, ``repaired`` or ``created`` (the route then answers with the health-check)."""

    endpoint: str


@declare("POST", "/v1/providers/{provider:str}/webhook/repair")
class RepairWebhook(Operation[Endpoints]):
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
        self.marketplace = await uses_connect(tx, row)
        self.connect_secret = row.connect_webhook_secret_ct is not None

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> None:
        return None

    async def call(self) -> Endpoints:
        # Raises InvalidCredentials (the key may not manage endpoints) / ProviderUnavailable: nothing is written.
        account = await endpoints.provision(self.services, self.provider, self.ctx, self.state)
        connect = None
        if self.marketplace:
            url = webhook_url(self.services.settings.server.public_url, self.who.tenant_id, self.provider.name)
            try:
                connect = await self.provider.ensure_connect_endpoint(self.ctx, url, has_secret=self.connect_secret)
            except ProviderError:
                # The account's endpoint is repaired (its new secret must be stored); the health-check
                # that answers the repair shows the Connect endpoint as it still is.
                connect = None
        return Endpoints(account, connect)

    async def record(self, tx: AsyncSession, answer: Endpoints) -> Repaired:
        await _store_endpoint(tx, self.services, self.who, self.provider, answer.account, answer.connect)
        return Repaired(endpoint=answer.account.action)


async def _store_endpoint(
    session: AsyncSession,
    services: Services,
    who: TenantPrincipal,
    provider: Provider,
    endpoint: WebhookEndpoint,
    connect: WebhookEndpoint | None = None,
) -> None:
    now = utcnow()
    # Locked, and 404 if the credentials were deleted while the provider was being called.
    _, row = await registered(session, services, who, provider.name, for_update=True)
    changed = []
    if row.webhook_endpoint_id != endpoint.endpoint_id:
        row.webhook_endpoint_id = endpoint.endpoint_id
        changed.append("webhook_endpoint_id")
    if endpoint.secret:
        set_webhook_secret(row, await _secrets(session, services, who), endpoint.secret, now)
        row.version += 1  # the cached verification secrets are keyed by version
        row.updated_at = now
        changed.append("webhook_secret")
    if connect is not None and connect.secret:
        secrets = await _secrets(session, services, who)
        row.connect_webhook_secret_ct = secrets.seal(provider.name, "connect_webhook_secret", connect.secret)
        row.version += 1
        row.updated_at = now
        changed.append("connect_webhook_secret")
    audit.record(
        session,
        tenant_id=who.tenant_id,
        actor=who.actor,
        action="credentials.webhook_repaired",
        target=provider.name,
        details={"endpoint": endpoint.action, "fields": changed, "version": row.version},
    )


async def _secrets(session: AsyncSession, services: Services, who: TenantPrincipal) -> TenantSecrets:
    try:
        secrets = await find_tenant_secrets(session, services.vault, who.tenant_id)
    except VaultError:
        raise vault_unavailable() from None
    if secrets is None:
        raise vault_unavailable()
    return secrets
