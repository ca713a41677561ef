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


def emulator_objects(emulator: Emulator, secret_key: str, path: str, **metadata: str) -> list[dict[str, Any]]:
    """Every object of a list endpoint at the emulator whose metadata holds ``metadata``."""
    r = httpx.get(f"{emulator.url}{path}", params={"limit": 100}, auth=(secret_key, ""), timeout=10)
    r.raise_for_status()
    return [o for o in r.json()["data"] if all((o.get("metadata") or {}).get(k) == v for k, v in metadata.items())]


def emulator_status(emulator: Emulator, secret_key: str, path: str) -> int:
    return httpx.get(f"{emulator.url}{path}", auth=(secret_key, ""), timeout=10).status_code
