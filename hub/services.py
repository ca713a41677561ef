"""The process-wide services, and how a request reaches them.

Handlers name what they use (``services``, ``settings``, ``billing``) and Litestar's dependency
injection hands it over (:data:`DEPENDENCIES`). The services are kept on the app's state, written
by :func:`install` when the app starts; :func:`services_of` and :func:`running` are the one place
that reads them back, for the code that runs outside a handler's injection: the dependency
providers themselves, the guards that authenticate a request before its handler's dependencies
are resolved, and the ASGI rate-limit middleware.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, TypeVar

from litestar import Litestar, Request
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.params import Dependency
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.settings import Settings
from providers.base.registry import ProviderRegistry

if TYPE_CHECKING:  # billing reaches Services too, and must not import the vault or the credentials
    from hub.billing.client import Billing
    from hub.boundary.ratelimit import Limits
    from hub.credentials.webhook_health import SignatureFailures
    from hub.idempotency.deferred import Deferred
    from hub.tenancy.contexts import TenantContexts
    from hub.vault.keyring import Vault


T = TypeVar("T")

#: A handler's (or a provider's) parameter that dependency injection fills: ``services: Injected[Services]``.
#: Handed over as it is; Litestar does not try to validate a process-wide object as if it were input.
Injected = Annotated[T, Dependency(skip_validation=True)]


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    vault: Vault
    providers: ProviderRegistry
    #: Decrypted tenant contexts, bounded, evicted on change (hub/tenancy/contexts.py).
    tenant_contexts: TenantContexts
    # This process's memory of badly signed webhook deliveries (written to the database sparingly).
    signature_failures: SignatureFailures
    #: Idempotency-Key writes a database outage cut off, written once it is back (hub/idempotency/deferred.py).
    deferred: Deferred
    #: The per-key and failed-authentication limits (in-process, or in Redis shared by every worker).
    limits: Limits
    #: Platform billing: its settings and, when enabled, the platform's own StripeClient.
    billing: Billing
    #: Set when a webhook event is stored, so this worker's applier runs at once (not at its next poll).
    inbox_wake: asyncio.Event = field(default_factory=asyncio.Event)
    #: One lock per (tenant, provider): two webhook repairs of one tenant run one after the other.
    webhook_repair_locks: dict[tuple[str, str], asyncio.Lock] = field(default_factory=dict)


def install(app: Litestar, services: Services) -> None:
    """Make ``services`` this app's (its lifespan calls this once, before the first request)."""
    app.state.services = services


def running(app: Litestar) -> Services | None:
    """The app's services, or None before its lifespan has started them."""
    found = getattr(app.state, "services", None)
    return found if isinstance(found, Services) else None


def services_of(connection: ASGIConnection) -> Services:
    """The services of the app serving ``connection`` (guards and dependency providers only)."""
    services: Services = connection.app.state.services
    return services


def provide_services(request: Request) -> Services:
    return services_of(request)


def provide_settings(services: Injected[Services]) -> Settings:
    return services.settings


DEPENDENCIES = {
    "services": Provide(provide_services, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
}
