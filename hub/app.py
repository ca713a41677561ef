"""``create_app(settings) -> Litestar``. Nothing runs at import time."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar
from litestar.di import Provide
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from sqlalchemy import event

from hub.auth.dependencies import DEPENDENCIES
from hub.billing.client import Billing, provide_billing
from hub.billing.controllers import ROUTES as BILLING_ROUTES
from hub.billing.settings import BillingSettings, load_billing_settings
from hub.boundary import logsafe, proxies
from hub.boundary.ratelimit import Limits, rate_limit_middleware
from hub.boundary.requests import check_request
from hub.boundary.responses import api_headers
from hub.catalog.controllers import ROUTES as CATALOG_ROUTES
from hub.connect.controllers import ROUTES as CONNECT_ROUTES
from hub.console.pages import register_filters as console_filters
from hub.console.providers import provider_pages
from hub.console.routes import TEMPLATES as CONSOLE_TEMPLATES
from hub.console.routes import console_router
from hub.credentials.controllers import CredentialsController
from hub.credentials.webhook_health import SignatureFailures
from hub.customers.controllers import ROUTES as CUSTOMER_ROUTES
from hub.db.engine import make_engine, make_sessionmaker
from hub.errors import EXCEPTION_HANDLERS
from hub.health.controllers import alive, ready
from hub.idempotency.deferred import Deferred
from hub.invoices.controllers import ROUTES as INVOICE_ROUTES
from hub.logging import configure_logging
from hub.notifications.controllers import NotificationEndpointController
from hub.notifications.dispatcher import Dispatcher
from hub.observability import metrics, requests
from hub.observability.controllers import metrics as metrics_route
from hub.openapi import openapi_config
from hub.payment_links.controllers import ROUTES as PAYMENT_LINK_ROUTES
from hub.payments.controllers import ROUTES as PAYMENT_ROUTES
from hub.payments.expiry import CaptureWatch
from hub.retention.pruner import Pruner
from hub.services import DEPENDENCIES as SERVICE_DEPENDENCIES
from hub.services import Services, install
from hub.settings import Settings, load_settings
from hub.subscriptions.controllers import ROUTES as SUBSCRIPTION_ROUTES
from hub.tenancy.contexts import TenantContexts
from hub.tenants.controllers import ApiKeyController, TenantController
from hub.vault.keyring import Vault
from hub.webhooks.applier import Applier
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
    freeze_gc: bool = False,
) -> Litestar:
    """Build the hub. ``provider_options`` overrides ProviderOptions fields (tests pass an HTTP transport).

    ``billing`` is the platform billing configuration, read from ``HUB_BILLING_*`` when not given;
    it stays out of ``settings`` so the tenant side never holds the platform's Stripe key.
    ``freeze_gc``: a served worker's (``hub serve``) start-up objects are frozen out of the cyclic
    collector once started; an app built in a test process, beside others, leaves the collector alone.
    """
    configure_logging(settings.server.log_level, settings.server.log_format)
    logsafe.install()
    billing_settings = billing if billing is not None else load_billing_settings(os.environ)
    bases = {"stripe": settings.stripe.api_base} if settings.stripe.api_base else {}
    options = ProviderOptions(
        api_base=settings.stripe.api_base,
        # Each plugin its own: HUB_STRIPE_API_BASE for Stripe, HUB_<NAME>_API_BASE for the others.
        api_bases={**dict(settings.providers.api_bases), **bases},
        timeout_seconds=settings.stripe.timeout_seconds,
        max_network_retries=settings.stripe.max_network_retries,
        deadline_seconds=settings.stripe.deadline_seconds,
        client_cache_size=settings.stripe.client_cache_size,
        emulator=settings.stripe.emulator,
        call_observer=metrics.observe_stripe_call,
        **(provider_options or {}),
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = make_engine(settings.database.url, settings.database.pool_size)
        event.listen(engine.sync_engine, "connect", lambda *_: metrics.count_db_connection())
        providers = registry or ProviderRegistry.discover(options=options)
        if app.template_engine is not None:  # the console's navigation: a page per provider plugin
            app.template_engine.engine.globals["provider_pages"] = provider_pages(providers)
        sessions = make_sessionmaker(engine)
        vault = Vault(settings.vault.keys)
        contexts = TenantContexts(
            engine=engine,
            sessions=sessions,
            vault=vault,
            providers=providers,
            max_entries=settings.cache.tenant_context_entries,
            ttl_seconds=settings.cache.tenant_context_ttl_seconds,
        )
        contexts.watch_commits(sessions)
        contexts.start()
        services = Services(
            settings=settings,
            engine=engine,
            sessions=sessions,
            vault=vault,
            providers=providers,
            tenant_contexts=contexts,
            signature_failures=SignatureFailures(),
            deferred=Deferred(sessions),
            limits=Limits(settings.limits.per_key, settings.limits.redis_url),
            billing=Billing(billing_settings, transport=billing_transport),
        )
        install(app, services)
        # Every worker applies stored webhook events unless HUB_APPLIER=0 makes it ingest-only,
        # and sends due notifications unless HUB_NOTIFY_DISPATCH=0.
        applier = (
            Applier(services.sessions, settings.applier, services.inbox_wake) if settings.applier.enabled else None
        )
        if applier is not None:
            applier.start()
        dispatcher = Dispatcher.for_services(services)
        if dispatcher is not None:
            await dispatcher.start()
        # Every worker prunes what retention lets go (on PostgreSQL one process per table at a time).
        pruner = Pruner(engine, settings.retention) if settings.retention.enabled else None
        if pruner is not None:
            pruner.start()
        # Every worker looks for held authorizations about to lapse (one claim per payment).
        capture_watch = CaptureWatch(services.sessions, settings.holds)
        capture_watch.start()
        if freeze_gc:
            # What start-up made lives as long as the worker: out of the collector's sight, so a
            # full collection under load walks only what requests make (it stalls the loop less).
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            await capture_watch.stop()
            if pruner is not None:
                await pruner.stop()
            if dispatcher is not None:
                await dispatcher.stop()
            if applier is not None:
                await applier.stop()
            await services.deferred.aclose()
            await services.billing.aclose()
            await contexts.aclose()
            await providers.aclose()
            await engine.dispose()

    app = Litestar(
        route_handlers=[
            alive,
            ready,
            metrics_route,
            TenantController,
            ApiKeyController,
            CredentialsController,
            NotificationEndpointController,
            *PAYMENT_ROUTES,
            *CUSTOMER_ROUTES,
            *CONNECT_ROUTES,
            *CATALOG_ROUTES,
            *SUBSCRIPTION_ROUTES,
            *INVOICE_ROUTES,
            *PAYMENT_LINK_ROUTES,
            *WEBHOOK_ROUTES,
            *BILLING_ROUTES,
            console_router(settings.auth.platform_token, secure_cookies=settings.server.env == "prod"),
        ],
        template_config=TemplateConfig(
            directory=CONSOLE_TEMPLATES, engine=JinjaTemplateEngine, engine_callback=console_filters
        ),
        # Handlers name what they use: the request's session and principal, the process's services.
        dependencies={
            **DEPENDENCIES,
            **SERVICE_DEPENDENCIES,
            "billing": Provide(provide_billing, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=check_request,
        middleware=[rate_limit_middleware],
        before_send=[api_headers],
        lifespan=[lifespan],
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=openapi_config(),
        # Litestar's default logging config replaces the root logger's handlers, which would drop
        # the hub's secret-masking handler (and any handler the host process installed).
        logging_config=None,
        debug=False,
    )
    return proxies.install(requests.install(app), settings.server.trusted_proxies)


def create_app_from_env() -> Litestar:
    """Factory for the ASGI server: each worker reads HUB_* itself."""
    return create_app(load_settings(), freeze_gc=True)
