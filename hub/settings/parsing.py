"""How the variables are read: database URLs, vault keys, numbers, schedules, proxies, and a
section from the environment (``from_env``)."""

from __future__ import annotations

import base64
import ipaddress
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_args, get_origin, get_type_hints

import msgspec

from hub.settings.sections import (
    ConfigError,
    Env,
    MasterKey,
    NotifySettings,
)

log = logging.getLogger("hub.settings")

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
