"""Each provider plugin gets its own API base, read from HUB_<NAME>_API_BASE, and prod refuses a remote one."""

from __future__ import annotations

import pytest

from hub.settings import ConfigError, load_settings
from providers.base.provider import ProviderOptions
from providers.base.registry import _for_plugin

BASE = {"HUB_ENV": "dev", "HUB_VAULT_KEYS": "k1:" + "A" * 43, "HUB_PLATFORM_TOKEN": "t" * 40}


def test_each_plugin_gets_its_own_api_base_never_another_gateways():
    settings = load_settings({**BASE, "HUB_WOMPI_API_BASE": "http://127.0.0.1:9999/v1/"})
    assert settings.providers.api_bases == (("wompi", "http://127.0.0.1:9999/v1"),)
    options = ProviderOptions(
        api_base="http://127.0.0.1:1/stripe",
        api_bases={"stripe": "http://127.0.0.1:1/stripe", "wompi": "http://127.0.0.1:2"},
    )
    assert _for_plugin("wompi", {"options": options})["options"].api_base == "http://127.0.0.1:2"
    assert _for_plugin("stripe", {"options": options})["options"].api_base == "http://127.0.0.1:1/stripe"
    assert _for_plugin("other", {"options": options})["options"].api_base is None


def test_prod_refuses_a_provider_api_base_that_is_not_loopback_without_echoing_it():
    env = {
        **BASE,
        "HUB_ENV": "prod",
        "HUB_PUBLIC_URL": "https://hub.example",
        "HUB_WOMPI_API_BASE": "https://evil.example/v1",
    }
    with pytest.raises(ConfigError, match="HUB_WOMPI_API_BASE") as caught:
        load_settings(env)
    assert "evil.example" not in str(caught.value)
    assert load_settings({**env, "HUB_WOMPI_API_BASE": "http://127.0.0.1:8080/v1"}).providers.api_bases
