"""``create_app(settings) -> Litestar``. Nothing runs at import time."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from hub.auth.dependencies import DEPENDENCIES
from hub.billing.client import EXTRAS_KEY as BILLING_KEY
from hub.billing.client import Billing
from hub.billing.controllers import ROUTES as BILLING_ROUTES
from hub.billing.settings import BillingSettings, load_billing_settings
from hub.catalog.controllers import ROUTES as CATALOG_ROUTES
from hub.credentials.controllers import CredentialsController
from hub.customers.controllers import ROUTES as CUSTOMER_ROUTES
from hub.db.engine import make_engine, make_sessionmaker
from hub.errors import EXCEPTION_HANDLERS
from hub.health.controllers import alive, ready
from hub.invoices.controllers import ROUTES as INVOICE_ROUTES
from hub.logging import configure_logging
from hub.payment_links.controllers import ROUTES as PAYMENT_LINK_ROUTES
from hub.payments.controllers import ROUTES as PAYMENT_ROUTES
from hub.services import Services
from hub.settings import Settings, load_settings
from hub.subscriptions.controllers import ROUTES as SUBSCRIPTION_ROUTES
from hub.tenants.controllers import ApiKeyController, TenantController
from hub.vault.keyring import Vault
from hub.webhooks.controllers import ROUTES as WEBHOOK_ROUTES
from providers.base.provider import ProviderOptions
from providers.base.registry import ProviderRegistry

#: Bodies above this are refused with 413 before any parsing (webhooks included).
MAX_BODY_BYTES = 1024 * 1024


def create_app(
    settings: Settings,
    *,
    provider_options: dict[str, Any] | None = None,
    registry: ProviderRegistry | None = None,
    billing: BillingSettings | None = None,
    billing_transport: httpx.AsyncBaseTransport | None = None,
) -> Litestar:
    """Build the hub. ``provider_options`` overrides ProviderOptions fields (tests pass an HTTP transport).

    ``billing`` is the platform billing configuration, read from ``HUB_BILLING_*`` when not given;
    it stays out of ``settings`` so the tenant side never holds the platform's Stripe key.
    """
    configure_logging(settings.server.log_level)
    billing_settings = billing if billing is not None else load_billing_settings(os.environ)
    options = ProviderOptions(
        api_base=settings.stripe.api_base,
        timeout_seconds=settings.stripe.timeout_seconds,
        max_network_retries=settings.stripe.max_network_retries,
        client_cache_size=settings.stripe.client_cache_size,
        **(provider_options or {}),
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = make_engine(settings.database.url)
        providers = registry or ProviderRegistry.discover(options=options)
        app.state.services = Services(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            vault=Vault(settings.vault.keys),
            providers=providers,
        )
        app.state.services.extras[BILLING_KEY] = billing_state = Billing(billing_settings, transport=billing_transport)
        try:
            yield
        finally:
            await billing_state.aclose()
            await providers.aclose()
            await engine.dispose()

    return Litestar(
        route_handlers=[
            alive,
            ready,
            TenantController,
            ApiKeyController,
            CredentialsController,
            *PAYMENT_ROUTES,
            *CUSTOMER_ROUTES,
            *CATALOG_ROUTES,
            *SUBSCRIPTION_ROUTES,
            *INVOICE_ROUTES,
            *PAYMENT_LINK_ROUTES,
            *WEBHOOK_ROUTES,
            *BILLING_ROUTES,
        ],
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title="Payment hub", version="1.0.0", path="/schema", render_plugins=[JsonRenderPlugin()]
        ),
        # Litestar's default logging config replaces the root logger's handlers, which would drop
        # the hub's secret-masking handler (and any handler the host process installed).
        logging_config=None,
        debug=False,
    )


def create_app_from_env() -> Litestar:
    """Factory for the ASGI server: each worker reads HUB_* itself."""
    return create_app(load_settings())
