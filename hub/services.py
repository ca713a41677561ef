"""The process-wide services every request reaches through ``app.state.services``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.settings import Settings
from providers.base.registry import ProviderRegistry

if TYPE_CHECKING:  # billing reaches Services too, and must not import the vault or the credentials
    from hub.credentials.cache import TenantContexts
    from hub.credentials.webhook_health import SignatureFailures
    from hub.idempotency.deferred import Deferred
    from hub.vault.keyring import Vault


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    vault: Vault
    providers: ProviderRegistry
    #: Decrypted tenant contexts, bounded, evicted on change (hub/credentials/cache.py).
    tenant_contexts: TenantContexts
    # This process's memory of badly signed webhook deliveries (written to the database sparingly).
    signature_failures: SignatureFailures
    #: Idempotency-Key writes a database outage cut off, written once it is back (hub/idempotency/deferred.py).
    deferred: Deferred
    #: Set when a webhook event is stored, so this worker's applier runs at once (not at its next poll).
    inbox_wake: asyncio.Event = field(default_factory=asyncio.Event)
    # Extension slots for modules that keep their own process-wide state (e.g. platform billing).
    extras: dict[str, Any] = field(default_factory=dict)
