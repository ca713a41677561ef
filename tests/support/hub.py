"""Building the hub for a test: settings from an explicit environment, an ASGI test client, helpers."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import httpx
from litestar.testing import AsyncTestClient

from hub.app import create_app
from hub.billing.settings import BillingSettings
from hub.settings import Settings, load_settings
from tests.support.canaries.http import observed
from tests.support.canaries.ledger import LEDGER

PLATFORM_TOKEN = "hub_pt_test-platform-token-0123456789abcdef"
# Distinctive bytes, so a leak of the key (as base64url, hex or raw) cannot be mistaken for filler.
VAULT_KEYS = "ktest1:" + base64.urlsafe_b64encode(b"canary master key of the testrun").decode().rstrip("=")


def make_settings(database_url: str, home: str, **extra: str) -> Settings:
    """Settings from an explicit environment; the hub logs at DEBUG unless told otherwise (every line is scanned)."""
    env = {
        "HUB_ENV": "dev",
        "HUB_HOME": home,
        "HUB_DATABASE_URL": database_url,
        "HUB_VAULT_KEYS": VAULT_KEYS,
        "HUB_PLATFORM_TOKEN": PLATFORM_TOKEN,
        "HUB_PUBLIC_URL": "http://hub.test",
        "HUB_STRIPE_MAX_NETWORK_RETRIES": "0",
        "HUB_STRIPE_TIMEOUT_SECONDS": "10",
        "HUB_LOG_LEVEL": "DEBUG",
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


def harvest_settings(settings: Settings, billing: BillingSettings | None = None) -> None:
    """The secrets a hub is built with are canaries: its vault keys, platform token and billing secrets."""
    for key in settings.vault.keys:
        text = base64.urlsafe_b64encode(key.key).decode().rstrip("=")
        LEDGER.harvest(text, f"vault key {key.key_id} of a hub's settings", raw=key.key)
    LEDGER.harvest(settings.auth.platform_token, "the platform token of a hub's settings")
    if billing is not None:
        LEDGER.harvest(billing.secret_key, "the billing secret key of a hub")
        LEDGER.harvest(billing.webhook_secret, "the billing webhook secret of a hub")


def from_address(app: Any, address: str) -> Any:
    """``app`` as a client at ``address`` reaches it (the test client always says "testclient")."""

    async def wrapped(scope, receive, send):
        if scope["type"] == "http":
            scope = {**scope, "client": (address, 50000)}
        await app(scope, receive, send)

    return wrapped


class _Relay(httpx.AsyncBaseTransport):
    """The Stripe transport of an app shared across tests: each request goes to the transport of the
    one client open on that app (each test passes its own recorder or mock)."""

    def __init__(self) -> None:
        self.target: httpx.AsyncBaseTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.target is None:
            raise RuntimeError("a request to Stripe from a shared app with no client open on it")
        return await self.target.handle_async_request(request)

    async def aclose(self) -> None:
        if self.target is not None:
            await self.target.aclose()


class _SharedClient(AsyncTestClient):
    """A client of a shared app: the app is its own until it closes (its lifespan installs the
    hub's services on the app), and so is the app's relay, if it has one."""

    app_key: Any
    relay: _Relay | None = None

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await super().__aexit__(*exc)
        finally:
            _BUSY.discard(self.app_key)
            if self.relay is not None:
                self.relay.target = None


#: One app per settings (and billing settings) for the run (``build_client(..., shared=True)``); a second, built with a
#: relay, for the clients given their own Stripe transport (``provider_options={"http_transport": …}``).
_APPS: dict[Any, Any] = {}
_RELAYED: dict[Settings, tuple[Any, _Relay]] = {}
#: The shared apps a client is open on now.
_BUSY: set[Any] = set()


def build_client(
    settings: Settings, *, address: str | None = None, shared: bool = False, **app_kwargs: Any
) -> AsyncTestClient:
    """The hub as an ASGI client whose every request is harvested and every response scanned for canaries.

    ``address``: the client address the hub sees (the peer of the connection); "testclient" otherwise.
    ``shared``: the app built once for these settings and used again by every test that asks for the
    same settings. Building the app (Litestar reads every handler's signature) is most of what a
    short test costs; everything the hub keeps (engine, caches, limits, applier, dispatcher) is
    made by its lifespan, which starts and stops with each client, so no test sees another's state.
    A shared app may also take the test's own Stripe transport (``provider_options`` with only
    ``http_transport``): it is reached through a relay while this client is open. A second client
    open at once on the same settings gets an app of its own (each lifespan installs its services
    on its app).
    """
    harvest_settings(settings, app_kwargs.get("billing"))
    transport = _relayable(app_kwargs) if shared else None
    app: Any = None
    relay: _Relay | None = None
    key: Any = None
    if shared and set(app_kwargs) <= {"billing"}:  # billing settings are frozen: part of the key
        key = (settings, app_kwargs.get("billing")) if app_kwargs else settings
        if key not in _APPS:
            _APPS[key] = create_app(settings, **app_kwargs)
        app = _APPS[key]
    elif transport is not None:
        key = (settings, "relayed")
        if settings not in _RELAYED:
            made = _Relay()
            _RELAYED[settings] = (create_app(settings, provider_options={"http_transport": made}), made)
        app, relay = _RELAYED[settings]
    if app is not None and key not in _BUSY:
        _BUSY.add(key)
        client = _SharedClient(app if address is None else from_address(app, address), raise_server_exceptions=False)
        client.app_key = key
        if relay is not None:
            relay.target = transport
            client.relay = relay
        return observed(client)
    app = create_app(settings, **app_kwargs)  # not shared, or its shared app is in use
    return observed(
        AsyncTestClient(app if address is None else from_address(app, address), raise_server_exceptions=False)
    )


def _relayable(app_kwargs: dict[str, Any]) -> httpx.AsyncBaseTransport | None:
    """The transport of ``provider_options={"http_transport": t}`` when that is all ``app_kwargs`` holds."""
    options = app_kwargs.get("provider_options")
    if set(app_kwargs) != {"provider_options"} or not isinstance(options, dict) or set(options) != {"http_transport"}:
        return None
    transport = options["http_transport"]
    return transport if isinstance(transport, httpx.AsyncBaseTransport) else None
