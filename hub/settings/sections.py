"""What each setting means: one msgspec Struct per concern, each field declared once with its
variable (``Env``), its default and its lower bound."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import msgspec

DEFAULT_HOME = Path(".hub")


class ConfigError(Exception):
    """The configuration cannot start the hub; the message names the variable."""


@dataclass(frozen=True)
class Env:
    """The variable a setting is read from: ``Annotated[float, Env("HUB_X", 0.001)]`` on a field
    whose default is the field's own. Numbers must be finite and at least ``minimum``; a bool is
    1 or 0 (true/false, yes/no, on/off)."""

    name: str
    minimum: float = 0


class MasterKey(msgspec.Struct, frozen=True):
    key_id: str
    key: bytes = msgspec.field()

    def __repr__(self) -> str:  # never show key bytes
        return f"MasterKey(key_id={self.key_id!r}, key=***)"

    __str__ = __repr__


class DatabaseSettings(msgspec.Struct, frozen=True):
    url: str
    #: Database connections each worker keeps open (``HUB_DATABASE_POOL_SIZE``), opened only as
    #: needed; up to half as many more are opened for peaks and closed after. Every worker of every
    #: machine takes up to 1.5x this from PostgreSQL's ``max_connections`` (100 by default), so the
    #: default leaves room for six workers; a worker serving more requests at once than its pool
    #: opens and closes a connection every few requests, so raise it with ``max_connections``.
    pool_size: Annotated[int, Env("HUB_DATABASE_POOL_SIZE", 1)] = 10


class VaultSettings(msgspec.Struct, frozen=True):
    keys: tuple[MasterKey, ...]

    @property
    def active(self) -> MasterKey:
        return self.keys[0]


class AuthSettings(msgspec.Struct, frozen=True):
    platform_token: str

    def __repr__(self) -> str:
        return "AuthSettings(platform_token=***)"


class StripeSettings(msgspec.Struct, frozen=True):
    api_base: str | None = None
    #: ``"localstripe"`` when ``api_base`` is that emulator (``HUB_STRIPE_EMULATOR``): the plugin then
    #: leaves out the parameters it refuses. Never inferred from ``api_base``.
    emulator: str | None = None
    timeout_seconds: Annotated[float, Env("HUB_STRIPE_TIMEOUT_SECONDS", 0.001)] = 20.0
    max_network_retries: Annotated[int, Env("HUB_STRIPE_MAX_NETWORK_RETRIES")] = 2
    client_cache_size: int = 1024
    #: One overall deadline for a provider call, the SDK's retries included.
    deadline_seconds: Annotated[float, Env("HUB_STRIPE_DEADLINE_SECONDS", 0.001)] = 25.0


class LimitSettings(msgspec.Struct, frozen=True):
    #: Requests a second one API key may make (bursts of twice that).
    per_key: Annotated[int, Env("HUB_RATE_LIMIT_PER_KEY", 1)] = 50
    #: Redis shared by every worker and machine; None keeps counters in each process.
    redis_url: str | None = None

    def __repr__(self) -> str:  # the URL may carry a password
        return f"LimitSettings(per_key={self.per_key}, redis_url={'***' if self.redis_url else None})"


class CacheSettings(msgspec.Struct, frozen=True):
    #: Decrypted tenant contexts one process keeps (least recently used beyond it are dropped).
    tenant_context_entries: Annotated[int, Env("HUB_TENANT_CONTEXT_CACHE_SIZE", 1)] = 10_000
    #: How long a context may be served without a change notice (SQLite; PostgreSQL while deaf), at most 1.
    tenant_context_ttl_seconds: Annotated[float, Env("HUB_TENANT_CONTEXT_TTL_SECONDS")] = 1.0


class ServerSettings(msgspec.Struct, frozen=True):
    env: str = "dev"
    public_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    #: ``json`` (one object a line) or ``text``; ``HUB_LOG_FORMAT``, json in prod and text in dev.
    log_format: str = "text"
    home: str = str(DEFAULT_HOME)
    #: Peers whose ``X-Forwarded-For`` names the client (``HUB_TRUSTED_PROXIES``): addresses and
    #: networks, or ``("*",)`` for every peer. Empty: the client is the connection's peer.
    trusted_proxies: tuple[str, ...] = ()


class ApplierSettings(msgspec.Struct, frozen=True):
    """The webhook applier each worker runs (``HUB_APPLIER=0``: an ingest-only worker)."""

    enabled: bool = True
    #: The safety net: how often an idle applier looks for pending events nobody woke it for.
    poll_seconds: Annotated[float, Env("HUB_APPLIER_POLL_SECONDS", 0.05)] = 2.0
    #: Attempts before an event that keeps failing to apply is marked ``failed``.
    max_attempts: Annotated[int, Env("HUB_APPLIER_MAX_ATTEMPTS", 1)] = 5


class NotifySettings(msgspec.Struct, frozen=True):
    """Outgoing notifications to tenants' own endpoints (HUB_NOTIFY_*)."""

    #: Seconds between attempts; after the last one a delivery is ``failed``.
    retry_schedule: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
    timeout_seconds: Annotated[float, Env("HUB_NOTIFY_TIMEOUT_SECONDS", 0.001)] = 15.0
    #: Read from HUB_NOTIFY_ALLOW_PRIVATE_URLS; unset, true in dev and false in prod.
    allow_private_urls: bool = True
    #: How often a dispatcher looks for due deliveries it was not woken for (other workers', retries).
    poll_seconds: Annotated[float, Env("HUB_NOTIFY_POLL_SECONDS", 0.01)] = 1.0
    #: Deliveries one worker sends at once, in all, to one endpoint and for one tenant: a dead
    #: endpoint holds at most ``per_endpoint`` of the ``concurrency`` slots and a tenant whose
    #: endpoints all hang at most ``per_tenant`` (a quarter by default), so other tenants'
    #: messages keep flowing.
    concurrency: Annotated[int, Env("HUB_NOTIFY_CONCURRENCY", 1)] = 32
    per_endpoint: Annotated[int, Env("HUB_NOTIFY_PER_ENDPOINT", 1)] = 2
    #: Read from HUB_NOTIFY_PER_TENANT; unset, a quarter of ``concurrency`` (at least 1).
    per_tenant: int = 8
    #: Whether this process sends (it always records): HUB_NOTIFY_DISPATCH=0 leaves sending to others.
    dispatch: Annotated[bool, Env("HUB_NOTIFY_DISPATCH")] = True


class ProviderSettings(msgspec.Struct, frozen=True):
    #: ``HUB_<PROVIDER>_API_BASE`` of every provider plugin but Stripe (``stripe.api_base``), by
    #: plugin name in lower case (``HUB_WOMPI_API_BASE`` -> ``wompi``): emulators only.
    api_bases: tuple[tuple[str, str], ...] = ()


class RetentionSettings(msgspec.Struct, frozen=True):
    """How long finished rows are kept, and how often each worker prunes older ones (HUB_RETENTION_*).

    Nothing still needed is ever pruned: a pending webhook event or delivery, an Idempotency-Key
    whose request is in flight, the newest event of a tenant's provider (its credentials view
    reads it). Expired console sessions go at once.
    """

    #: Whether each worker prunes in the background (``hub prune`` works either way).
    enabled: Annotated[bool, Env("HUB_RETENTION")] = True
    #: Seconds between two background prunings of one worker (the first is one interval after start).
    interval_seconds: Annotated[float, Env("HUB_RETENTION_INTERVAL_SECONDS", 0.05)] = 3600.0
    #: Rows one statement deletes, each batch its own short transaction.
    batch_size: Annotated[int, Env("HUB_RETENTION_BATCH_SIZE", 1)] = 1000
    #: Applied and ignored webhook events, and handled platform billing events.
    events_days: Annotated[float, Env("HUB_RETENTION_EVENTS_DAYS", 1)] = 30.0
    #: Webhook events that failed to apply.
    failed_events_days: Annotated[float, Env("HUB_RETENTION_FAILED_EVENTS_DAYS", 1)] = 90.0
    #: Delivered notification deliveries, their attempts, and messages with nothing left to deliver.
    notifications_days: Annotated[float, Env("HUB_RETENTION_NOTIFICATIONS_DAYS", 1)] = 30.0
    #: Notification deliveries given up on (``failed``) and their attempts.
    failed_notifications_days: Annotated[float, Env("HUB_RETENTION_FAILED_NOTIFICATIONS_DAYS", 1)] = 90.0
    #: Idempotency-Key records; a replay is guaranteed for 24 hours, so at least 1.
    idempotency_days: Annotated[float, Env("HUB_RETENTION_IDEMPOTENCY_DAYS", 1)] = 7.0
    #: A credential's note of its last badly signed webhook delivery.
    signature_failures_days: Annotated[float, Env("HUB_RETENTION_SIGNATURE_FAILURES_DAYS", 1)] = 7.0


class HoldSettings(msgspec.Struct, frozen=True):
    """Held (manual-capture) authorizations whose capture deadline nears (HUB_CAPTURE_*)."""

    #: How long before a hold's ``capture_before`` the ``payment.capture_expiring`` notification goes out.
    warning_hours: Annotated[float, Env("HUB_CAPTURE_WARNING_HOURS", 0)] = 24.0
    #: How often each worker looks for holds entering that window.
    check_seconds: Annotated[float, Env("HUB_CAPTURE_CHECK_SECONDS", 0.01)] = 60.0


class Settings(msgspec.Struct, frozen=True):
    server: ServerSettings
    database: DatabaseSettings
    vault: VaultSettings
    auth: AuthSettings
    stripe: StripeSettings
    cache: CacheSettings = CacheSettings()
    applier: ApplierSettings = msgspec.field(default_factory=ApplierSettings)
    notify: NotifySettings = NotifySettings()
    limits: LimitSettings = msgspec.field(default_factory=LimitSettings)
    providers: ProviderSettings = msgspec.field(default_factory=lambda: ProviderSettings())
    retention: RetentionSettings = RetentionSettings()
    holds: HoldSettings = HoldSettings()
