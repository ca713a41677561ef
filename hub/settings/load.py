"""The whole configuration, read once: dev secrets generated and kept, prod refusals."""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from hub.settings.parsing import (
    _LOG_FORMATS,
    _LOG_LEVELS,
    EMULATORS,
    _dev_secret,
    _make_home,
    from_env,
    generate_vault_key_entry,
    load_notify_settings,
    normalise_database_url,
    parse_trusted_proxies,
    parse_vault_keys,
    provider_api_bases,
)
from hub.settings.sections import (
    DEFAULT_HOME,
    ApplierSettings,
    AuthSettings,
    CacheSettings,
    ConfigError,
    DatabaseSettings,
    HoldSettings,
    LimitSettings,
    ProviderSettings,
    RetentionSettings,
    ServerSettings,
    Settings,
    StripeSettings,
    VaultSettings,
)

log = logging.getLogger("hub.settings")

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
