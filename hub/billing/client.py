"""The platform's own Stripe client, built once per process from BillingSettings.

Never a ``stripe.*`` global: the platform key lives only in this ``StripeClient``, which no
tenant code path can reach (it sits in ``Services.billing``; billing handlers name ``billing``).
"""

from __future__ import annotations

import httpx
import stripe

from hub.billing.settings import BillingSettings
from hub.errors import ServiceUnavailable
from hub.observability.metrics import observe_stripe_call
from hub.services import Injected, Services
from providers.stripe.client import StripeClientFactory


class BillingDisabled(ServiceUnavailable):
    code, title = "billing_disabled", "Billing disabled"


class Billing:
    """Process-wide billing state: settings and, when enabled, the platform's StripeClient."""

    def __init__(self, settings: BillingSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self._factory: StripeClientFactory | None = None
        self._client: stripe.StripeClient | None = None
        if settings.enabled:
            # The Stripe plugin's factory (timeouts, retries, API base, metrics of each call), with its
            # own small pool: the platform's key never shares a client or a cache with a tenant's.
            self._factory = StripeClientFactory(
                api_base=settings.api_base,
                timeout=settings.timeout_seconds,
                max_network_retries=settings.max_network_retries,
                cache_size=1,
                transport=transport,
                observer=observe_stripe_call,
                max_connections=20,
            )
            self._client = self._factory.unbound(settings.secret_key or "")

    @property
    def client(self) -> stripe.StripeClient:
        if self._client is None:
            raise BillingDisabled("Platform billing is not configured (HUB_BILLING_STRIPE_SECRET_KEY is unset)")
        return self._client

    def require_enabled(self) -> Billing:
        _ = self.client
        return self

    async def aclose(self) -> None:
        if self._factory is not None:
            await self._factory.aclose()


def provide_billing(services: Injected[Services]) -> Billing:
    """The billing state of this app (its handlers call ``require_enabled``: 503 billing_disabled)."""
    return services.billing
