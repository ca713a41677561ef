"""Building the hub for a test: settings from an explicit environment, an ASGI test client, helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from litestar.testing import AsyncTestClient

from hub.app import create_app
from hub.settings import Settings, load_settings

PLATFORM_TOKEN = "hub_pt_test-platform-token-0123456789abcdef"
VAULT_KEYS = "ktest1:" + "A" * 43  # 32 zero-ish bytes, base64url


def make_settings(database_url: str, home: str, **extra: str) -> Settings:
    env = {
        "HUB_ENV": "dev",
        "HUB_HOME": home,
        "HUB_DATABASE_URL": database_url,
        "HUB_VAULT_KEYS": VAULT_KEYS,
        "HUB_PLATFORM_TOKEN": PLATFORM_TOKEN,
        "HUB_PUBLIC_URL": "http://hub.test",
        "HUB_STRIPE_MAX_NETWORK_RETRIES": "0",
        "HUB_STRIPE_TIMEOUT_SECONDS": "10",
    }
    env.update(extra)
    if "HUB_STRIPE_API_BASE" in extra and "HUB_STRIPE_EMULATOR" not in extra:
        env["HUB_STRIPE_EMULATOR"] = "localstripe"  # every test API base is the emulator or a closed port
    return load_settings(env)


@dataclass
class TenantHandle:
    id: str
    admin_key: str
    storefront_key: str
    webhook_url: str

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    @property
    def storefront(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.storefront_key}"}


PLATFORM = {"Authorization": f"Bearer {PLATFORM_TOKEN}"}


class HubClient:
    """An ASGI client for one hub app, with the steps most tests start from."""

    def __init__(self, client: AsyncTestClient, settings: Settings) -> None:
        self.http = client
        self.settings = settings

    async def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return await self.http.request(method, path, **kw)

    async def create_tenant(self, name: str = "Acme") -> TenantHandle:
        r = await self.http.post("/v1/tenants", json={"name": name}, headers=PLATFORM)
        assert r.status_code == 201, r.text
        body = r.json()
        return TenantHandle(
            id=body["id"],
            admin_key=body["api_keys"]["admin"],
            storefront_key=body["api_keys"]["storefront"],
            webhook_url=body["webhook_url"],
        )

    async def register_stripe(
        self,
        tenant: TenantHandle,
        *,
        secret_key: str = "sk_test_tenantkey00000001",
        publishable_key: str = "pk_test_tenantkey00000001",
        webhook_secret: str | None = "whsec_tenantsecret00001",
    ) -> httpx.Response:
        body = {"publishable_key": publishable_key, "secret_key": secret_key}
        if webhook_secret is not None:
            body["webhook_secret"] = webhook_secret
        return await self.http.put("/v1/providers/stripe/credentials", json=body, headers=tenant.admin)


def build_client(settings: Settings, **app_kwargs: Any) -> AsyncTestClient:
    return AsyncTestClient(create_app(settings, **app_kwargs), raise_server_exceptions=False)
