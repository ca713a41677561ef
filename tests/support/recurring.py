"""Steps shared by the customer, catalogue, subscription and saved-card tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.emulator import Emulator
from tests.support.hub import HubClient, TenantHandle


async def post(
    hub: HubClient,
    tenant: TenantHandle,
    path: str,
    body: Any = None,
    *,
    key: str | None = None,
    scope: str = "storefront",
) -> httpx.Response:
    headers = dict(getattr(tenant, scope))
    if key is not None:
        headers["Idempotency-Key"] = key
    return await hub.request("POST", path, json=body, headers=headers)


async def new_customer(hub: HubClient, tenant: TenantHandle, **body: Any) -> dict[str, Any]:
    r = await post(hub, tenant, "/v1/customers", {"email": "ana@example.com", "name": "Ana", **body})
    assert r.status_code == 201, r.text
    return r.json()


async def monthly_price(hub: HubClient, tenant: TenantHandle, product: dict[str, Any] | None = None) -> dict[str, Any]:
    """A price of 49.00 USD a month (of a new product "Membership" unless ``product`` is given)."""
    if product is None:
        product = (await post(hub, tenant, "/v1/products", {"name": "Membership"})).json()
    r = await post(
        hub,
        tenant,
        "/v1/prices",
        {"product_id": product["id"], "currency": "usd", "unit_amount": 4900, "recurring": {"interval": "month"}},
    )
    assert r.status_code == 201, r.text
    return r.json()


def emulator_objects(emulator: Emulator, secret_key: str, path: str, **metadata: str) -> list[dict[str, Any]]:
    """Every object of a list endpoint at the emulator whose metadata holds ``metadata``.

    Every page: the emulator keeps one store for the whole run (both databases' halves), so
    after a hundred objects the one a test made is no longer on the first page.
    """
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    with httpx.Client(base_url=emulator.url, auth=(secret_key, ""), timeout=10) as client:
        while True:
            r = client.get(path, params=params)
            r.raise_for_status()
            page = r.json()
            data = page["data"]
            found += [o for o in data if all((o.get("metadata") or {}).get(k) == v for k, v in metadata.items())]
            if not page.get("has_more") or not data:
                return found
            params["starting_after"] = data[-1]["id"]


def emulator_status(emulator: Emulator, secret_key: str, path: str) -> int:
    return httpx.get(f"{emulator.url}{path}", auth=(secret_key, ""), timeout=10).status_code
