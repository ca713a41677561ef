"""The platform's own Stripe client, built once per process from BillingSettings.

Never a ``stripe.*`` global: the platform key lives only in this ``StripeClient``, which no
tenant code path can reach (it sits in ``services.extras["billing"]``).
"""

from __future__ import annotations

from typing import Any

import httpx
import stripe
from litestar import Request

from hub.billing.settings import BillingSettings
from hub.errors import ServiceUnavailable

EXTRAS_KEY = "billing"


class BillingDisabled(ServiceUnavailable):
    code, title = "billing_disabled", "Billing disabled"


class _HTTPXClient(stripe.HTTPXClient):
    """``stripe.HTTPXClient`` over an ``httpx.AsyncClient`` we build (timeouts, optional test transport).

    stripe-python keeps the async client in the private ``_client_async``; the billing tests go
    through it, so they fail if the SDK stops honouring it.
    """

    def __init__(self, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(timeout=timeout)
        self._client_async = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=5),
        )

    async def aclose(self) -> None:
        await self._client_async.aclose()


class Billing:
    """Process-wide billing state: settings and, when enabled, the platform's StripeClient."""

    def __init__(self, settings: BillingSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self._http: _HTTPXClient | None = None
        self._client: stripe.StripeClient | None = None
        if settings.enabled:
            self._http = _HTTPXClient(timeout=settings.timeout_seconds, transport=transport)
            kwargs: dict[str, Any] = {"http_client": self._http, "max_network_retries": settings.max_network_retries}
            if settings.api_base:
                base = settings.api_base
                kwargs["base_addresses"] = {"api": base, "files": base, "connect": base}
            self._client = stripe.StripeClient(settings.secret_key or "", **kwargs)

    @property
    def client(self) -> stripe.StripeClient:
        if self._client is None:
            raise BillingDisabled("Platform billing is not configured (HUB_BILLING_STRIPE_SECRET_KEY is unset)")
        return self._client

    def require_enabled(self) -> Billing:
        _ = self.client
        return self

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()


def billing_of(request: Request) -> Billing:
    """The billing state of this app; 503 billing_disabled when billing is not configured."""
    billing = request.app.state.services.extras.get(EXTRAS_KEY)
    if billing is None:
        raise BillingDisabled("Platform billing is not configured")
    return billing.require_enabled()
