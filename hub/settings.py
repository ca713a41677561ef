"""Configuration: one msgspec Struct per concern, read from ``HUB_*`` once.

In ``dev`` a missing vault key or platform token is generated once and kept under
``./.hub/`` (mode 0600); in ``prod`` a missing one stops start-up naming the variable.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

import msgspec

log = logging.getLogger("hub.settings")

DEFAULT_HOME = Path(".hub")


class ConfigError(Exception):
    """The configuration cannot start the hub; the message names the variable."""


class MasterKey(msgspec.Struct, frozen=True):
    key_id: str
    key: bytes = msgspec.field()

    def __repr__(self) -> str:  # never show key bytes
        return f"MasterKey(key_id={self.key_id!r}, key=***)"

    __str__ = __repr__


class DatabaseSettings(msgspec.Struct, frozen=True):
    url: str


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
    timeout_seconds: float = 20.0
    max_network_retries: int = 2
    client_cache_size: int = 1024


class ServerSettings(msgspec.Struct, frozen=True):
    env: str = "dev"
    public_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    home: str = str(DEFAULT_HOME)


class Settings(msgspec.Struct, frozen=True):
    server: ServerSettings
    database: DatabaseSettings
    vault: VaultSettings
    auth: AuthSettings
    stripe: StripeSettings


def parse_vault_keys(raw: str) -> tuple[MasterKey, ...]:
    """Parse ``KEY_ID:BASE64URL_32_BYTES[,...]``; never echoes key material in errors."""
    keys: list[MasterKey] = []
    seen: set[str] = set()
    for n, entry in enumerate(p.strip() for p in raw.split(",")):
        if not entry:
            continue
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id or not key_id.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(f"HUB_VAULT_KEYS entry {n + 1} must look like KEY_ID:BASE64URL_32_BYTES")
        try:
            key = base64.urlsafe_b64decode(encoded.strip() + "=" * (-len(encoded.strip()) % 4))
        except (ValueError, TypeError):
            raise ConfigError(f"HUB_VAULT_KEYS entry {key_id!r} is not base64url") from None
        if len(key) != 32:
            raise ConfigError(f"HUB_VAULT_KEYS entry {key_id!r} must decode to 32 bytes")
        if key_id in seen:
            raise ConfigError(f"HUB_VAULT_KEYS names key id {key_id!r} twice")
        seen.add(key_id)
        keys.append(MasterKey(key_id=key_id, key=key))
    if not keys:
        raise ConfigError("HUB_VAULT_KEYS holds no key")
    return tuple(keys)


def generate_vault_key_entry() -> str:
    """A new ``KEY_ID:KEY`` entry for ``HUB_VAULT_KEYS``."""
    key_id = "k" + secrets.token_hex(4)
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return f"{key_id}:{key}"


def _dev_secret(home: Path, name: str, make) -> str:
    """Read ``home/name`` or create it once (mode 0600), warning that it was generated."""
    path = home / name
    if path.exists():
        return path.read_text().strip()
    home.mkdir(parents=True, exist_ok=True)
    value = make()
    # O_EXCL: two workers starting together must not both write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    log.warning("generated a development %s and kept it in %s (HUB_ENV=dev only)", name, path)
    return value


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    hub_env = env.get("HUB_ENV", "dev").strip().lower() or "dev"
    if hub_env not in {"dev", "prod"}:
        raise ConfigError("HUB_ENV must be 'dev' or 'prod'")
    home = Path(env.get("HUB_HOME", str(DEFAULT_HOME)))

    def required(name: str, dev_file: str, make) -> str:
        value = env.get(name, "").strip()
        if value:
            return value
        if hub_env == "prod":
            raise ConfigError(f"{name} is required when HUB_ENV=prod")
        return _dev_secret(home, dev_file, make)

    vault_raw = required("HUB_VAULT_KEYS", "vault_keys", generate_vault_key_entry)
    platform_token = required("HUB_PLATFORM_TOKEN", "platform_token", lambda: "hub_pt_" + secrets.token_urlsafe(32))
    db_url = env.get("HUB_DATABASE_URL", "").strip()
    if not db_url:
        home.mkdir(parents=True, exist_ok=True)
        db_url = f"sqlite+aiosqlite:///{home / 'hub.db'}"

    def number(name: str, default, cast):
        raw = env.get(name, "").strip()
        if not raw:
            return default
        try:
            return cast(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number") from None

    return Settings(
        server=ServerSettings(
            env=hub_env,
            public_url=env.get("HUB_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
            log_level=env.get("HUB_LOG_LEVEL", "INFO").upper(),
            home=str(home),
        ),
        database=DatabaseSettings(url=db_url),
        vault=VaultSettings(keys=parse_vault_keys(vault_raw)),
        auth=AuthSettings(platform_token=platform_token),
        stripe=StripeSettings(
            api_base=env.get("HUB_STRIPE_API_BASE") or None,
            timeout_seconds=number("HUB_STRIPE_TIMEOUT_SECONDS", 20.0, float),
            max_network_retries=number("HUB_STRIPE_MAX_NETWORK_RETRIES", 2, int),
        ),
    )
