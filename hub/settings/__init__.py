"""Configuration: one msgspec Struct per concern, read from ``HUB_*`` once.

In ``dev`` a missing vault key or platform token is generated once and kept under
``HUB_HOME`` (``./.hub/`` by default, mode 0600); in ``prod`` a missing one stops start-up
naming the variable.

- ``sections``: what each setting means (one Struct per concern, each variable declared once).
- ``parsing``: how a variable is read (URLs, vault keys, numbers, schedules, proxies).
- ``load``: the whole configuration, read once (dev secrets kept, prod refusals).
"""

from __future__ import annotations

from hub.settings.load import (
    MIN_PLATFORM_TOKEN_CHARS,
    load_settings,
)
from hub.settings.parsing import (
    EMULATORS,
    env_number,
    from_env,
    generate_vault_key_entry,
    load_notify_settings,
    normalise_database_url,
    parse_retry_schedule,
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
    Env,
    HoldSettings,
    LimitSettings,
    MasterKey,
    NotifySettings,
    ProviderSettings,
    RetentionSettings,
    ServerSettings,
    Settings,
    StripeSettings,
    VaultSettings,
)

__all__ = [
    "DEFAULT_HOME",
    "EMULATORS",
    "MIN_PLATFORM_TOKEN_CHARS",
    "ApplierSettings",
    "AuthSettings",
    "CacheSettings",
    "ConfigError",
    "DatabaseSettings",
    "Env",
    "HoldSettings",
    "LimitSettings",
    "MasterKey",
    "NotifySettings",
    "ProviderSettings",
    "RetentionSettings",
    "ServerSettings",
    "Settings",
    "StripeSettings",
    "VaultSettings",
    "env_number",
    "from_env",
    "generate_vault_key_entry",
    "load_notify_settings",
    "load_settings",
    "normalise_database_url",
    "parse_retry_schedule",
    "parse_trusted_proxies",
    "parse_vault_keys",
    "provider_api_bases",
]
