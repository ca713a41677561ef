"""Configuration: one msgspec Struct per concern, read from ``HUB_*`` once.

In ``dev`` a missing vault key or platform token is generated once and kept under
``HUB_HOME`` (``./.hub/`` by default, mode 0600); in ``prod`` a missing one stops start-up
naming the variable.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit

import msgspec

log = logging.getLogger("hub.settings")

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
    #: Database connections each worker keeps open (``HUB_DATABASE_POOL_SIZE``): as many as the
    #: requests it serves at once, so a busy worker never opens and closes connections per request.
    #: Up to half as many more are opened for peaks and closed after. Opened only as needed.
    pool_size: Annotated[int, Env("HUB_DATABASE_POOL_SIZE", 1)] = 32


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


_API_BASE = re.compile(r"^HUB_([A-Z][A-Z0-9]{0,38})_API_BASE$")


def provider_api_bases(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The API base set for each provider plugin other than Stripe, by lower-case plugin name."""
    found: dict[str, str] = {}
    for name, value in env.items():
        m = _API_BASE.match(name)
        if m and m.group(1) != "STRIPE" and value.strip():
            found[m.group(1).lower()] = value.strip().rstrip("/")
    return tuple(sorted(found.items()))


_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # 64: the width of tenant_data_keys.master_key_id
_KEY_B64 = re.compile(r"[A-Za-z0-9_-]{43}=?")  # 32 bytes in base64url, padding optional
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_LOG_FORMATS = ("json", "text")
EMULATORS = ("localstripe",)

#: Driver names users write -> the async driver the hub runs on (one engine for the app and Alembic).
_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}
_URL_EXPECTED = (
    "HUB_DATABASE_URL must be a PostgreSQL URL (postgresql://user:password@host:5432/db; postgres:// and "
    "postgresql+asyncpg:// work too) or an SQLite one (sqlite:///path/to/hub.db or sqlite+aiosqlite:///…)"
)


def normalise_database_url(raw: str) -> str:
    """The SQLAlchemy async URL for ``raw``: ``postgres(ql)://`` -> asyncpg, ``sqlite://`` -> aiosqlite.

    libpq's ``sslmode`` becomes asyncpg's ``ssl`` (same values). The error names the scheme at most,
    never the URL: it may hold a password.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):
        raise ConfigError(f"{_URL_EXPECTED}; the value given is not a URL") from None
    driver = _DRIVERS.get(url.drivername)
    if driver is None:
        scheme = url.drivername if re.fullmatch(r"[a-z0-9+]{1,32}", url.drivername) else "unknown"
        raise ConfigError(f"{_URL_EXPECTED}; got a {scheme}:// URL")
    url = url.set(drivername=driver)
    if driver.startswith("postgresql") and "sslmode" in url.query:
        query = dict(url.query)
        query["ssl"] = query.pop("sslmode")
        url = url.set(query=query)
    return url.render_as_string(hide_password=False)


def parse_vault_keys(raw: str) -> tuple[MasterKey, ...]:
    """Parse ``KEY_ID:BASE64URL_32_BYTES[,...]``.

    Errors name the entry by position only: a key pasted where the id belongs (or an id
    that is really a key) must never be echoed into a log or a terminal.
    """
    keys: list[MasterKey] = []
    seen: dict[str, int] = {}
    entries = [p.strip() for p in raw.split(",")]
    for n, entry in enumerate(entries, start=1):
        if not entry:
            continue
        key_id, sep, encoded = (part.strip() for part in entry.partition(":"))
        if not sep:
            raise ConfigError(f"HUB_VAULT_KEYS entry {n} must look like KEY_ID:BASE64URL_32_BYTES (no ':' found)")
        if not _KEY_ID.fullmatch(key_id):
            raise ConfigError(f"HUB_VAULT_KEYS entry {n}: the key id must be 1-64 letters, digits, '-' or '_'")
        if not _KEY_B64.fullmatch(encoded):
            raise ConfigError(
                f"HUB_VAULT_KEYS entry {n}: the key must be 32 bytes in base64url "
                "(43 characters of A-Z a-z 0-9 - _; `hub vault generate-key` prints one)"
            )
        key = base64.urlsafe_b64decode(encoded.rstrip("=") + "=")
        if key_id in seen:
            raise ConfigError(f"HUB_VAULT_KEYS entry {n} repeats the key id of entry {seen[key_id]}")
        seen[key_id] = n
        keys.append(MasterKey(key_id=key_id, key=key))
    if not keys:
        raise ConfigError("HUB_VAULT_KEYS holds no key")
    return tuple(keys)


def generate_vault_key_entry() -> str:
    """A new ``KEY_ID:KEY`` entry for ``HUB_VAULT_KEYS``."""
    key_id = "k" + secrets.token_hex(4)
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return f"{key_id}:{key}"


def _make_home(home: Path) -> None:
    # Private: it holds the dev vault key and platform token (and the default SQLite file).
    home.mkdir(parents=True, exist_ok=True, mode=0o700)


def _read_kept(path: Path, variable: str) -> str | None:
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{variable} is not set and {path} cannot be read ({exc.strerror})") from None
    if not value:
        raise ConfigError(
            f"{variable} is not set and {path} is empty: set {variable} or delete the file to generate a new one"
        )
    return value


def _dev_secret(home: Path, name: str, variable: str, make: Callable[[], str]) -> str:
    """Read ``home/name`` or create it once (mode 0600), warning that it was generated."""
    path = home / name
    kept = _read_kept(path, variable)
    if kept is not None:
        return kept
    try:
        _make_home(home)
        value = make()
        # Write a private temporary file, then link it into place: the kept file appears complete
        # or not at all, and of two processes starting together exactly one wins (link refuses an
        # existing name); the loser reads the winner's value.
        fd, tmp = tempfile.mkstemp(dir=home, prefix=f".{name}.")  # mkstemp creates it 0600
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(value + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, path)
            except FileExistsError:
                return _read_kept(path, variable) or value
        finally:
            os.unlink(tmp)
    except OSError as exc:
        raise ConfigError(f"{variable} is not set and cannot be generated under {home} ({exc.strerror})") from None
    log.warning(
        "%s is not set: generated a development value and kept it in %s (mode 0600). "
        "HUB_ENV=dev only; production must set %s.",
        variable,
        path,
        variable,
    )
    return value


#: A number setting is an int or a float, and its default, cast and minimum are of that one kind.
N = TypeVar("N", int, float)


def env_number(env: Mapping[str, str], name: str, default: N, cast: Callable[[str], N], minimum: N) -> N:
    """A finite number of at least ``minimum`` from ``env[name]``, or ``default`` when unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = cast(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number") from None
    if not (value >= minimum) or value != value or value == float("inf"):
        raise ConfigError(f"{name} must be a finite number of at least {minimum}")
    return value


def parse_retry_schedule(raw: str) -> tuple[float, ...]:
    """``HUB_NOTIFY_RETRY_SCHEDULE``: comma-separated non-negative seconds (at least one)."""
    try:
        values = tuple(float(part) for part in raw.split(","))
    except ValueError:
        raise ConfigError("HUB_NOTIFY_RETRY_SCHEDULE must be comma-separated numbers of seconds") from None
    if not values or any(not (0 <= v < float("inf")) for v in values):
        raise ConfigError("HUB_NOTIFY_RETRY_SCHEDULE must be comma-separated finite, non-negative seconds")
    return values


def parse_trusted_proxies(raw: str) -> tuple[str, ...]:
    """``HUB_TRUSTED_PROXIES``: comma-separated IP addresses and networks (``10.0.0.0/8``), or ``*``."""
    entries = [part.strip() for part in raw.split(",") if part.strip()]
    if entries == ["*"]:
        return ("*",)
    trusted = []
    for n, entry in enumerate(entries, start=1):
        try:
            network = ipaddress.ip_network(entry, strict=False) if "/" in entry else None
            trusted.append(str(network) if network else str(ipaddress.ip_address(entry)))
        except ValueError:
            raise ConfigError(
                f"HUB_TRUSTED_PROXIES entry {n} is not an IP address or network (like 10.0.0.5 or 10.0.0.0/8); "
                "'*' (alone) trusts every peer"
            ) from None
    return tuple(trusted)


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be 1 or 0")


S = TypeVar("S", bound=msgspec.Struct)


def from_env(cls: type[S], env: Mapping[str, str], **given: Any) -> S:
    """``cls`` with each field annotated with an :class:`Env` read from ``env`` (its default when
    unset); ``given`` fields are taken as they are."""
    defaults = {f.name: f.default for f in msgspec.structs.fields(cls)}
    values = dict(given)
    for name, hint in get_type_hints(cls, include_extras=True).items():
        found = [m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Env)]
        if name in given or not found:
            continue
        kind = get_args(hint)[0] if get_origin(hint) is Annotated else hint
        read = found[0]
        if kind is bool:
            values[name] = _flag(env, read.name, defaults[name])
        else:
            values[name] = env_number(env, read.name, defaults[name], kind, kind(read.minimum))
    return cls(**values)


def load_notify_settings(env: Mapping[str, str], hub_env: str) -> NotifySettings:
    schedule = env.get("HUB_NOTIFY_RETRY_SCHEDULE", "").strip()
    read = from_env(
        NotifySettings, env, allow_private_urls=_flag(env, "HUB_NOTIFY_ALLOW_PRIVATE_URLS", hub_env == "dev")
    )
    per_tenant = env_number(env, "HUB_NOTIFY_PER_TENANT", max(1, read.concurrency // 4), int, 1)
    if per_tenant > read.concurrency:
        raise ConfigError("HUB_NOTIFY_PER_TENANT must be at most HUB_NOTIFY_CONCURRENCY")
    if schedule:
        read = msgspec.structs.replace(read, retry_schedule=parse_retry_schedule(schedule))
    return msgspec.structs.replace(read, per_tenant=per_tenant)


#: A platform token shorter than this is guessable, or a placeholder someone forgot.
MIN_PLATFORM_TOKEN_CHARS = 32


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _prod_refusals(env: Mapping[str, str], platform_token: str) -> list[str]:
    """What production refuses to start with. Each names the variable, never its value."""
    refusals = []
    if len(platform_token) < MIN_PLATFORM_TOKEN_CHARS:
        refusals.append(f"HUB_PLATFORM_TOKEN must be at least {MIN_PLATFORM_TOKEN_CHARS} characters when HUB_ENV=prod")
    public_url = env.get("HUB_PUBLIC_URL", "").strip()
    parts = urlsplit(public_url) if public_url else None
    if parts is None or not parts.hostname:
        refusals.append("HUB_PUBLIC_URL must be set when HUB_ENV=prod (tenants' webhook URLs are built from it)")
    elif parts.scheme != "https" and not (parts.scheme == "http" and _is_loopback(parts.hostname)):
        refusals.append("HUB_PUBLIC_URL must be an https:// URL when HUB_ENV=prod (http:// only for a loopback host)")
    api_base = env.get("HUB_STRIPE_API_BASE", "").strip()
    if api_base and not _is_loopback(urlsplit(api_base).hostname):
        # Every tenant's secret key is sent there: only Stripe itself, or an emulator on this machine.
        refusals.append("HUB_STRIPE_API_BASE may only point at a loopback host (an emulator) when HUB_ENV=prod")
    for name, base in provider_api_bases(env):
        if not _is_loopback(urlsplit(base).hostname):
            # Every tenant's keys for that provider are sent there, as for Stripe.
            variable = f"HUB_{name.upper()}_API_BASE"
            refusals.append(f"{variable} may only point at a loopback host (an emulator) when HUB_ENV=prod")
    return refusals


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    hub_env = env.get("HUB_ENV", "dev").strip().lower() or "dev"
    if hub_env not in {"dev", "prod"}:
        raise ConfigError("HUB_ENV must be 'dev' or 'prod'")
    home = Path(env.get("HUB_HOME", "").strip() or DEFAULT_HOME)

    if hub_env == "prod":
        missing = [n for n in ("HUB_VAULT_KEYS", "HUB_PLATFORM_TOKEN") if not env.get(n, "").strip()]
        if missing:
            raise ConfigError(
                f"{' and '.join(missing)} must be set when HUB_ENV=prod (dev generates them; production never does)"
            )

    def required(name: str, dev_file: str, make: Callable[[], str]) -> str:
        value = env.get(name, "").strip()
        return value or _dev_secret(home, dev_file, name, make)

    vault_raw = required("HUB_VAULT_KEYS", "vault_keys", generate_vault_key_entry)
    platform_token = required("HUB_PLATFORM_TOKEN", "platform_token", lambda: "hub_pt_" + secrets.token_urlsafe(32))
    if hub_env == "prod" and (refusals := _prod_refusals(env, platform_token)):
        raise ConfigError("; ".join(refusals))
    db_url = env.get("HUB_DATABASE_URL", "").strip()
    if not db_url:
        _make_home(home)
        db_url = f"sqlite+aiosqlite:///{home / 'hub.db'}"
    db_url = normalise_database_url(db_url)

    applier_flag = env.get("HUB_APPLIER", "").strip() or "1"
    if applier_flag not in {"0", "1"}:
        raise ConfigError("HUB_APPLIER must be 1 (apply webhook events in this worker) or 0 (ingest only)")

    log_level = env.get("HUB_LOG_LEVEL", "").strip().upper() or "INFO"
    if log_level not in _LOG_LEVELS:
        raise ConfigError(f"HUB_LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}")
    log_format = env.get("HUB_LOG_FORMAT", "").strip().lower() or ("json" if hub_env == "prod" else "text")
    if log_format not in _LOG_FORMATS:
        raise ConfigError(f"HUB_LOG_FORMAT must be one of {', '.join(_LOG_FORMATS)}")
    api_base = env.get("HUB_STRIPE_API_BASE", "").strip() or None
    emulator = env.get("HUB_STRIPE_EMULATOR", "").strip().lower() or None
    if emulator is not None and emulator not in EMULATORS:
        raise ConfigError(f"HUB_STRIPE_EMULATOR must be unset or one of {', '.join(EMULATORS)}")
    if emulator is not None and api_base is None:
        raise ConfigError("HUB_STRIPE_EMULATOR needs HUB_STRIPE_API_BASE, the emulator's address")

    cache = from_env(CacheSettings, env)
    if cache.tenant_context_ttl_seconds > 1.0:
        # The promise is that a credentials change or a suspension is seen everywhere within a second.
        raise ConfigError("HUB_TENANT_CONTEXT_TTL_SECONDS must be at most 1")

    return Settings(
        server=ServerSettings(
            env=hub_env,
            public_url=(env.get("HUB_PUBLIC_URL", "").strip() or "http://127.0.0.1:8000").rstrip("/"),
            log_level=log_level,
            log_format=log_format,
            home=str(home),
            trusted_proxies=parse_trusted_proxies(env.get("HUB_TRUSTED_PROXIES", "")),
        ),
        database=from_env(DatabaseSettings, env, url=db_url),
        vault=VaultSettings(keys=parse_vault_keys(vault_raw)),
        auth=AuthSettings(platform_token=platform_token),
        stripe=from_env(StripeSettings, env, api_base=api_base, emulator=emulator),
        limits=from_env(LimitSettings, env, redis_url=env.get("HUB_REDIS_URL", "").strip() or None),
        cache=cache,
        applier=from_env(ApplierSettings, env, enabled=applier_flag == "1"),
        notify=load_notify_settings(env, hub_env),
        retention=from_env(RetentionSettings, env),
        holds=from_env(HoldSettings, env),
        providers=ProviderSettings(api_bases=provider_api_bases(env)),
    )
