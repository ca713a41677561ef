"""StripeProvider: the Stripe implementation of the plugin contract."""

from __future__ import annotations

import time

import stripe

from providers.base.capabilities import STRIPE_LIKE, CredentialField, CredentialRole, CredentialsSpec
from providers.base.errors import ProviderError
from providers.base.provider import Provider, ProviderOptions, TenantContext
from providers.base.types import CredentialCheck, CredentialsInput, ProviderCredentials
from providers.stripe.client import StripeClientFactory
from providers.stripe.connect import StripeConnect
from providers.stripe.credentials import StripeCredentials, parse_credentials
from providers.stripe.customers import StripeCustomers
from providers.stripe.errors import stripe_errors
from providers.stripe.invoices import StripeInvoices
from providers.stripe.payments import StripePayments
from providers.stripe.recurring import StripeRecurring
from providers.stripe.transfers import StripeTransfers
from providers.stripe.webhooks import StripeWebhooks


class StripeProvider(
    StripePayments,
    StripeCustomers,
    StripeRecurring,
    StripeInvoices,
    StripeConnect,
    StripeTransfers,
    StripeWebhooks,
    Provider,
):
    name = "stripe"
    #: Stripe-like keys, and the signing secret of the tenant's Connect endpoint (events about its
    #: connected accounts), optional and kept in a column of its own: left out, the stored one stays.
    credentials_spec = CredentialsSpec(
        fields=(
            *STRIPE_LIKE.fields,
            CredentialField(
                "connect_webhook_secret",
                "Connect webhook signing secret",
                CredentialRole.SEALED,
                required=False,
                column="connect_webhook_secret_ct",
            ),
        )
    )

    def __init__(self, options: ProviderOptions | None = None) -> None:
        super().__init__(options)
        o = self.options
        self.clients = StripeClientFactory(
            api_base=o.api_base,
            timeout=o.timeout_seconds,
            max_network_retries=o.max_network_retries,
            cache_size=o.client_cache_size,
            deadline=o.deadline_seconds,
            transport=o.http_transport,
            observer=o.call_observer,
        )

    # -- credentials -------------------------------------------------------------------
    def parse_credentials(self, raw: CredentialsInput) -> StripeCredentials:
        return parse_credentials(raw)

    def secret_hint(self, credentials: ProviderCredentials) -> str:
        assert isinstance(credentials, StripeCredentials)
        return credentials.secret_hint()

    def client(self, ctx: TenantContext) -> stripe.StripeClient:
        creds = ctx.credentials
        assert isinstance(creds, StripeCredentials)
        return self.clients.for_tenant(ctx.tenant_id, ctx.credentials_version, creds.secret_key)

    async def check_credentials(self, ctx: TenantContext) -> CredentialCheck:
        creds = ctx.credentials
        assert isinstance(creds, StripeCredentials)
        started = time.perf_counter()
        with stripe_errors():
            # The balance is the cheapest read every key (restricted ones included) may need.
            await self.client(ctx).v1.balance.retrieve_async()
        return CredentialCheck(ok=True, mode=creds.mode, latency_ms=int((time.perf_counter() - started) * 1000))

    async def aclose(self) -> None:
        await self.clients.aclose()


__all__ = ["ProviderError", "StripeProvider"]
