"""Tenant contexts kept in-process: each tenant's decrypted credentials, bounded, evicted by the database.

The ingest path needs a tenant's webhook secrets on every delivery and the create path its
secret key on every checkout; reading and decrypting them each time is three round trips.
This cache keeps one ``TenantContext`` per (tenant, provider), tagged with the credentials
version it was built from, in a bounded LRU (``HUB_TENANT_CONTEXT_CACHE_SIZE``).

Staleness is bounded without a read per request:
- PostgreSQL: a trigger sends ``NOTIFY hub_tenant_contexts, '<tenant id>'`` in the transaction
  that changes a tenant's credentials or status, or deletes it (migration ``0005_cache``); every
  process listens on one dedicated connection and evicts that tenant. While the listener is not
  connected (start-up, a dropped connection) entries live at most ``HUB_TENANT_CONTEXT_TTL_SECONDS``
  and every reconnection empties the cache, since notifications sent meanwhile are lost.
- SQLite (one machine): every entry lives at most ``HUB_TENANT_CONTEXT_TTL_SECONDS``.
- In this process, a commit that touched a tenant's credentials or status evicts it at once
  (``watch_commits``), so a request following a change never sees the old context.

A create request also brings the current version from its authenticating read; a cached
context of another version is rebuilt, so a checkout never uses replaced keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

import asyncpg
from cachetools import TLRUCache
from sqlalchemy import event, inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from hub.auth.principal import StoredCredentials
from hub.db.base import utcnow
from hub.db.engine import reads
from hub.db.ids import well_formed_id
from hub.db.tenants import Tenant
from hub.db.vault import ProviderCredential
from hub.errors import NotFound
from hub.tenancy.loader import CredentialsMissing, decrypt_row
from hub.vault.keyring import Vault
from providers.base.provider import Provider, TenantContext
from providers.base.registry import ProviderNotFound, ProviderRegistry

log = logging.getLogger("hub.tenancy.contexts")

#: The channel the PostgreSQL trigger notifies; the payload is the tenant id.
CHANNEL = "hub_tenant_contexts"
#: How often the listening connection proves it is alive (a silently dropped link sends no FIN).
HEARTBEAT_SECONDS = 10.0
RECONNECT_SECONDS, MAX_RECONNECT_SECONDS = 0.5, 8.0
#: The listening connection's application_name (seen in pg_stat_activity).
LISTENER_NAME = "hub-tenant-contexts"


def unknown_webhook_endpoint() -> NotFound:
    return NotFound("No such webhook endpoint: unknown tenant, or one without credentials for this provider")


class _Entry(NamedTuple):
    context: TenantContext
    expires: float  # on the cache's monotonic clock
    # The credentials row: a version number restarts at 1 when credentials are deleted and
    # registered again, the row id does not repeat.
    row_id: str


class TenantContexts:
    """The process's cache of decrypted tenant contexts. One per app; start it, then close it."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        vault: Vault,
        providers: ProviderRegistry,
        max_entries: int,
        ttl_seconds: float,
    ) -> None:
        self._engine = engine
        self._sessions = sessions
        self._vault = vault
        self._providers = providers
        self._ttl = ttl_seconds
        self._cache: TLRUCache[tuple[str, str], _Entry] = TLRUCache(
            maxsize=max(1, max_entries), ttu=lambda _k, entry, _now: entry.expires, timer=time.monotonic
        )
        # Bumped by every eviction: a context read before an eviction and stored after it would
        # bring the old credentials back, so a fill that saw the counter move is not kept.
        self._generation = 0
        self._listening = False
        self._loading: dict[tuple[str, str], asyncio.Future[TenantContext | None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        #: How many times the listener has connected (a reconnection shows here).
        self.connections = 0

    # -- lookups -----------------------------------------------------------------------------

    async def for_webhook(self, tenant_id: str, provider_name: str) -> TenantContext:
        """The tenant's decrypted context for verifying a webhook from ``provider_name``.

        No database statement when the context is cached. Raises ``NotFound`` (404, the ingest
        path's answer) for an unknown provider, a malformed or unknown tenant id, or a tenant
        without credentials for that provider. A suspended tenant still gets its context: its
        webhooks are verified and stored.
        """
        try:
            provider = self._providers.get(provider_name)
        except ProviderNotFound:
            raise NotFound("No such webhook endpoint") from None
        if not well_formed_id(tenant_id):  # e.g. a NUL byte, which PostgreSQL refuses in a text value
            raise NotFound("No such webhook endpoint")
        entry = self._cache.get((tenant_id, provider.name))
        if entry is not None:
            return entry.context
        context = await self._load(provider, tenant_id)
        if context is None:
            raise unknown_webhook_endpoint()
        return context

    async def for_request(self, provider: Provider, tenant_id: str, stored: StoredCredentials | None) -> TenantContext:
        """The context of the credentials the request's authenticating read saw (``stored``).

        A cached context of another row or version is rebuilt: a checkout never uses replaced
        keys, whether or not this worker has heard of the change yet. Raises
        ``CredentialsMissing`` (404 ``credentials_missing``) when the tenant has none.
        """
        if stored is None:
            raise CredentialsMissing(f"This tenant has no {provider.name} credentials")
        entry = self._cache.get((tenant_id, provider.name))
        if entry is not None and (entry.row_id, entry.context.credentials_version) == (stored.id, stored.version):
            return entry.context
        context = await self._load(provider, tenant_id)
        if context is not None and context.credentials_version != stored.version:
            # The shared read may have started before the change this request already saw.
            context = await self._fill(provider, tenant_id)
        if context is None:
            raise CredentialsMissing(f"This tenant has no {provider.name} credentials")
        return context

    async def _load(self, provider: Provider, tenant_id: str) -> TenantContext | None:
        """Read and decrypt, once for all the concurrent misses of one (tenant, provider)."""
        key = (tenant_id, provider.name)
        pending = self._loading.get(key)
        if pending is None:
            pending = self._loading[key] = asyncio.ensure_future(self._fill(provider, tenant_id))
            pending.add_done_callback(lambda done: self._loading.pop(key) if self._loading.get(key) is done else None)
        # Shielded: one caller giving up (a client disconnecting) must not cancel the others' read.
        return await asyncio.shield(pending)

    async def _fill(self, provider: Provider, tenant_id: str) -> TenantContext | None:
        generation = self._generation
        # A read (no write lock on SQLite: it never waits for a writer, the request that asked included);
        # leaving the block ends its transaction.
        async with self._sessions(bind=reads(self._engine)) as session:
            # Joined to the tenant: credentials never outlive it, even where a foreign key is not enforced.
            row = (
                await session.execute(
                    select(ProviderCredential)
                    .join(Tenant, Tenant.id == ProviderCredential.tenant_id)
                    .where(ProviderCredential.tenant_id == tenant_id, ProviderCredential.provider == provider.name)
                )
            ).scalar_one_or_none()
            if row is None:
                return None
            context = await decrypt_row(session, self._vault, provider, row)
            entry = _Entry(context, self._expiry(row.previous_webhook_secret_expires_at), row.id)
        if generation == self._generation:
            self._cache[(tenant_id, provider.name)] = entry
        return context

    def _expiry(self, previous_secret_expires_at: datetime | None) -> float:
        now = time.monotonic()
        expires = math.inf if self._listening else now + self._ttl
        if previous_secret_expires_at is not None:
            # The previous webhook secret stops verifying at its roll-over's end, cached or not.
            remaining = (previous_secret_expires_at - utcnow()).total_seconds()
            expires = min(expires, now + max(0.0, remaining))
        return expires

    # -- eviction ----------------------------------------------------------------------------

    def forget(self, tenant_id: str) -> None:
        """Evict every context of ``tenant_id`` in this process (its credentials or status changed)."""
        self._generation += 1
        for name in self._providers.names():
            self._cache.pop((tenant_id, name), None)

    def clear(self) -> None:
        self._generation += 1
        self._cache.clear()

    def __len__(self) -> int:
        return len(self._cache)

    def peek(self, tenant_id: str, provider_name: str) -> TenantContext | None:
        """The cached context, if any, without loading one (metrics, tests)."""
        entry = self._cache.get((tenant_id, provider_name))
        return entry.context if entry is not None else None

    @property
    def listening(self) -> bool:
        """Whether change notices reach this process (PostgreSQL); if not, entries are time-bound."""
        return self._listening

    def watch_commits(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Evict, after each commit of ``sessions``, the tenants whose credentials or status it changed.

        Covers ORM writes in this process at once; other processes learn of them through the
        database (NOTIFY, or the time bound on SQLite).
        """
        # A class of this app's own: listening on Session itself would see every app's commits.
        watched = type("ContextWatchedSession", (sessions.kw.get("sync_session_class", Session),), {})
        sessions.configure(sync_session_class=watched)

        def after_flush(session: Session, _ctx: Any) -> None:
            # Read in after_flush (the changes are still pending there), acted on after the commit.
            touched = session.info.setdefault("hub_touched_tenants", set())
            for obj in (*session.new, *session.dirty, *session.deleted):
                tenant_id = _changes_context(obj, session)
                if tenant_id is not None:
                    touched.add(tenant_id)

        def after_commit(session: Session) -> None:
            for tenant_id in session.info.pop("hub_touched_tenants", ()):
                self.forget(tenant_id)

        def after_rollback(session: Session) -> None:
            session.info.pop("hub_touched_tenants", None)

        event.listen(watched, "after_flush", after_flush)
        event.listen(watched, "after_commit", after_commit)
        event.listen(watched, "after_soft_rollback", lambda s, _t: after_rollback(s))

    # -- the PostgreSQL listener -------------------------------------------------------------

    def start(self) -> None:
        """Listen for other processes' changes (PostgreSQL); SQLite relies on the time bound."""
        if self._engine.dialect.name == "postgresql" and self._task is None:
            self._task = asyncio.create_task(self._listen_forever(), name="hub-tenant-context-listener")

    async def aclose(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self.forget(payload)

    async def _listen_forever(self) -> None:
        _, connect_args = self._engine.dialect.create_connect_args(self._engine.url)
        delay = RECONNECT_SECONDS
        while not self._stopping.is_set():
            connections = self.connections
            try:
                await self._listen_once(connect_args)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: go deaf (entries time-bound), then reconnect
                if self.connections != connections or delay == RECONNECT_SECONDS:
                    log.warning("tenant context listener disconnected (%s); reconnecting", type(exc).__name__)
            self._go_deaf()
            # Back off while the database stays away; a connection that was up starts over.
            delay = RECONNECT_SECONDS if self.connections != connections else min(delay * 2, MAX_RECONNECT_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def _listen_once(self, connect_args: Mapping[str, Any]) -> None:
        conn = await asyncpg.connect(**connect_args, timeout=5, server_settings={"application_name": LISTENER_NAME})
        closed = asyncio.Event()
        try:
            conn.add_termination_listener(lambda _c: closed.set())
            await conn.add_listener(CHANNEL, self._on_notify)
            # Whatever changed while nobody listened is unknown: start empty.
            self.clear()
            self._listening = True
            self.connections += 1
            while not closed.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(closed.wait(), HEARTBEAT_SECONDS)
                if not closed.is_set():
                    await conn.fetchval("SELECT 1", timeout=5)
            raise ConnectionError("listener connection closed")
        finally:
            self._go_deaf()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)

    def _go_deaf(self) -> None:
        if self._listening:
            self._listening = False
            self.clear()


#: The columns whose change alters a decrypted context (the PostgreSQL trigger watches the same).
CONTEXT_COLUMNS = (
    "version",
    "publishable_key",
    "secret_key_ct",
    "webhook_secret_ct",
    "previous_webhook_secret_ct",
    "previous_webhook_secret_expires_at",
    "sealed_secrets_ct",
    "connect_webhook_secret_ct",
)


def _changes_context(obj: object, session: Session) -> str | None:
    """The tenant id whose context this pending ORM change alters, if any."""
    if isinstance(obj, ProviderCredential):
        if obj in session.new or obj in session.deleted:
            return obj.tenant_id
        attrs = inspect(obj).attrs
        return obj.tenant_id if any(attrs[c].history.has_changes() for c in CONTEXT_COLUMNS) else None
    if isinstance(obj, Tenant) and (obj in session.deleted or inspect(obj).attrs.status.history.has_changes()):
        return obj.id
    return None
