"""Real data for a schema-driven fuzz run against a ``hub serve`` process.

A run over empty tables learns little: every id is unknown, so every route answers 404 or 401
before its real work. This builds, through the hub's API, a tenant with Stripe credentials at the
emulator, keys of each scope, payments in three states (open, held for capture, paid and partly
refunded), customers, a saved-card setup, a product, a monthly price, subscriptions, notification
endpoints and a delivery, a connected account (a marketplace seller: the hub must reach Stripe
through the Stripe proxy, whose stand-in plays Connect), and names their ids so that path
parameters and body fields can be drawn from them. Invoices and payment links cannot be made at
the emulator (their routes answer 503 or 422 there); their routes are fuzzed with unknown ids only.

Operations that would spoil the rest of the run (revoking the key in use, suspending the tenant,
replacing or deleting its credentials) are given objects of their own, or undone after a
success by :meth:`World.restore`.
"""

from __future__ import annotations

import json
import secrets
import socket
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
import requests.adapters

from tests.support.billing import create_emulator_plan
from tests.support.hub import PLATFORM, PLATFORM_TOKEN
from tests.support.wompi_standin import WompiStandin

WEBHOOK_SECRET = "whsec_fuzzTenantSecret0001"
IDEMPOTENCY_KEY = "Idempotency-Key"
#: The scopes a run is made with; each calls from its own loopback address (see ``caller_session``).
SCOPES = ("platform", "admin", "storefront", "anonymous")
#: How many objects of each kind the world makes. ``spare_*`` ones are for destroying operations.
KINDS = {
    "tenant": 2,
    "payment": 3,
    "customer": 2,
    "price": 1,
    "subscription": 1,
    "endpoint": 1,
    "delivery": 1,
    "account": 1,
    "provider": 2,
    "spare_key": 2,
    "spare_customer": 1,
    "spare_payment": 1,
    "spare_subscription": 1,
    "spare_endpoint": 1,
}


def placeholders(kind: str) -> list[str]:
    """Stand-ins for ids that exist only once the hub runs; :meth:`World.resolve` swaps them in."""
    # Unreserved URL characters only: path parameters reach the case already percent-encoded.
    return [f"world.{kind}.{i}" for i in range(KINDS[kind])]


def billing_plans(emulator_url: str) -> str:
    """``HUB_BILLING_PLANS`` for two plans that exist at the emulator (the platform's own account)."""
    plans = [
        {"id": plan, "name": plan.title(), "price": create_emulator_plan(emulator_url, amount=amount)}
        | {"amount": amount, "currency": "usd", "interval": "month"}
        for plan, amount in (("starter", 2900), ("growth", 9900))
    ]
    return json.dumps(plans)


@dataclass
class World:
    """What the run may name: ids by kind, the keys of each scope, and how to undo a spoiling call."""

    base_url: str
    admin_key: str
    storefront_key: str
    credentials: dict[str, str]
    ids: dict[str, list[str]] = field(default_factory=dict)
    #: The tenant's Wompi credentials (a merchant at the stand-in), by the same rule as Stripe's.
    wompi_credentials: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        assert {k: len(v) for k, v in self.ids.items()} == KINDS, self.ids
        self._requests = 0
        self._real = {
            p: real for kind, ids in self.ids.items() for p, real in zip(placeholders(kind), ids, strict=True)
        }

    def resolve(self, case: Any) -> None:
        """Put the real ids in place of the placeholders a generated request drew.

        A valid Idempotency-Key also gets a suffix of its own: generated keys are mostly "0" or
        alike, and the same key with another body is only ever 409 ``idempotency_conflict``, so
        without it few generated bodies would reach the work behind the key. Replays are tested
        on their own (tests/integration/test_idempotency_routes.py).
        """
        case.path_parameters = self._swap(case.path_parameters)
        case.query = self._swap(case.query)
        case.body = self._swap(case.body)
        key = (case.headers or {}).get(IDEMPOTENCY_KEY)
        if isinstance(key, str) and key.isprintable() and 0 < len(key) <= 200:
            self._requests += 1
            case.headers[IDEMPOTENCY_KEY] = f"{key}-{self._requests}"

    def _swap(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._real.get(value, value)
        if isinstance(value, dict):
            return {k: self._swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._swap(v) for v in value]
        return value

    def token(self, scope: str) -> str | None:
        return {"platform": PLATFORM_TOKEN, "admin": self.admin_key, "storefront": self.storefront_key}.get(scope)

    def restore(self, method: str, path_template: str, status: int) -> None:
        """Undo a successful call that would turn the rest of the run into 403s or 404s."""
        credentials = path_template.startswith("/v1/providers/{provider}/credentials") and method in {"PUT", "DELETE"}
        suspended = path_template == "/v1/tenants/{tenant_id}/suspend"
        if status >= 300 or not (credentials or suspended):
            return
        admin = {"Authorization": f"Bearer {self.admin_key}"}
        with httpx.Client(base_url=self.base_url, timeout=30) as http:
            if credentials:
                r = http.put("/v1/providers/stripe/credentials", json=self.credentials, headers=admin)
                assert r.status_code == 200, r.text
                r = http.put("/v1/providers/wompi/credentials", json=self.wompi_credentials, headers=admin)
                assert r.status_code == 200, r.text
            for tenant_id in self.ids["tenant"] if suspended else ():
                http.post(f"/v1/tenants/{tenant_id}/activate", headers=PLATFORM).raise_for_status()


def _created(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code in (200, 201, 202), r.text
    return r.json()


def build_world(base_url: str, wompi: WompiStandin) -> World:
    """Make the data through the hub's own API, as a tenant would (Wompi's merchant at the stand-in)."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        tenant = _created(http.post("/v1/tenants", json={"name": "Fuzzed shop"}, headers=PLATFORM))
        other = _created(http.post("/v1/tenants", json={"name": "Another shop"}, headers=PLATFORM))
        token = secrets.token_hex(8)
        credentials = {
            "publishable_key": f"pk_test_{token}",
            "secret_key": f"sk_test_{token}",
            "webhook_secret": WEBHOOK_SECRET,
        }
        admin = {"Authorization": f"Bearer {tenant['api_keys']['admin']}"}
        store = {"Authorization": f"Bearer {tenant['api_keys']['storefront']}"}
        _created(http.put("/v1/providers/stripe/credentials", json=credentials, headers=admin))
        wompi_credentials = wompi.add_merchant().credentials
        _created(http.put("/v1/providers/wompi/credentials", json=wompi_credentials, headers=admin))

        def post(path: str, body: dict[str, Any], headers: dict[str, str] = store) -> dict[str, Any]:
            return _created(http.post(path, json=body, headers=headers))

        spare_keys = [post("/v1/api-keys", {"scope": "storefront"}, admin)["id"] for _ in range(2)]
        customers = [post("/v1/customers", {"email": f"c{i}@example.com", "name": f"C{i}"})["id"] for i in range(3)]
        open_payment = post("/v1/payments", {"amount": 2000, "currency": "usd"})
        held = [
            post(
                "/v1/payments",
                {"amount": 3000, "currency": "usd", "capture_method": "manual"}
                | {"payment_method": "pm_card_visa", "confirm": True},
            )
            for _ in range(2)
        ]
        paid = post(
            "/v1/payments", {"amount": 5000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
        )
        post(f"/v1/payments/{paid['id']}/refunds", {"amount": 100}, admin)
        post("/v1/setup-intents", {"customer_id": customers[0]})
        product = post("/v1/products", {"name": "Cake"})
        monthly = post(
            "/v1/prices",
            {"product_id": product["id"], "currency": "usd", "unit_amount": 1900, "recurring": {"interval": "month"}},
        )
        subscriptions = [
            post("/v1/subscriptions", {"customer_id": c, "items": [{"price_id": monthly["id"]}], "trial_days": 7})["id"]
            for c in customers[:2]
        ]
        endpoints = [
            post("/v1/notification-endpoints", {"url": f"http://127.0.0.1:9/hook{i}"}, admin)["id"] for i in range(2)
        ]
        account = post("/v1/connected-accounts", {"email": "seller@example.com"}, admin)
        _created(http.post(f"/v1/notification-endpoints/{endpoints[0]}/test", headers=admin))
        deliveries = _created(http.get(f"/v1/notification-endpoints/{endpoints[0]}/deliveries", headers=admin))
    return World(
        base_url=base_url,
        admin_key=tenant["api_keys"]["admin"],
        storefront_key=tenant["api_keys"]["storefront"],
        credentials=credentials,
        wompi_credentials=wompi_credentials,
        ids={
            "tenant": [tenant["id"], other["id"]],
            "payment": [open_payment["id"], held[0]["id"], paid["id"]],
            "customer": customers[:2],
            "price": [monthly["id"]],
            "subscription": subscriptions[:1],
            "endpoint": endpoints[:1],
            "delivery": [d["id"] for d in deliveries["data"]],
            "account": [account["id"]],
            "provider": ["stripe", "wompi"],
            "spare_key": spare_keys,
            "spare_customer": customers[2:],
            "spare_payment": [held[1]["id"]],
            "spare_subscription": subscriptions[1:],
            "spare_endpoint": endpoints[1:],
        },
    )


class _SourceAddressAdapter(requests.adapters.HTTPAdapter):
    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def caller_session(scope: str, token: str | None) -> requests.Session:
    """A session calling from a loopback address of the scope's own (127.0.0.2, .3...).

    The hub counts failed authentications per client address; the anonymous run's 401s must not
    put the other scopes' runs behind a 429, as they would not for separate clients.
    """
    address = f"127.0.0.{SCOPES.index(scope) + 2}"
    with socket.socket() as probe:  # every 127/8 address is loopback on Linux; fail clearly elsewhere
        probe.bind((address, 0))
    session = requests.Session()
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    adapter = _SourceAddressAdapter(address)
    session.mount("http://", adapter)
    return session
