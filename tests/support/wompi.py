"""Helpers for the Wompi tests: a hub whose Wompi calls go to the stand-in over loopback HTTP, a tenant
with Wompi credentials, payments of each method, and events handed to the hub as Wompi sends them."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.hub import HubClient, TenantHandle
from tests.support.inbox import wait_applied
from tests.support.wompi_standin import APPROVED_BANK, APPROVED_NEQUI, Delivery, Merchant, WompiStandin

EMAIL = "comprador@example.co"
AMOUNT = 2_500_000  # 25,000 COP in cents


async def wompi_tenant(hub: HubClient, wompi: WompiStandin, name: str = "Tienda") -> tuple[TenantHandle, Merchant]:
    tenant = await hub.create_tenant(name)
    merchant = wompi.add_merchant()
    r = await hub.request("PUT", "/v1/providers/wompi/credentials", json=merchant.credentials, headers=tenant.admin)
    assert r.status_code == 200, r.text
    return tenant, merchant


def method(kind: str, wompi: WompiStandin, merchant: Merchant, **fields: Any) -> dict[str, Any]:
    if kind == "card":
        return {"type": "card", "token": wompi.card_token(merchant, fields.pop("number", "4242424242424242")), **fields}
    if kind == "nequi":
        return {"type": "nequi", "phone_number": fields.pop("phone_number", APPROVED_NEQUI), **fields}
    if kind == "pse":
        return {
            "type": "pse",
            "user_type": 0,
            "user_legal_id_type": "CC",
            "user_legal_id": "1099888777",
            "financial_institution_code": fields.pop("bank", APPROVED_BANK),
            "payment_description": "Pedido 42",
            **fields,
        }
    return {"type": kind, **fields}


async def pay(
    hub: HubClient,
    tenant: TenantHandle,
    payment_method: dict[str, Any] | str | None,
    *,
    idempotency_key: str | None = None,
    **body: Any,
) -> httpx.Response:
    headers = dict(tenant.storefront)
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    if "acceptance_token" not in body:
        terms = await hub.request("GET", "/v1/providers/wompi/acceptance", headers=tenant.storefront)
        assert terms.status_code == 200, terms.text
        body["acceptance_token"] = terms.json()["acceptance_token"]
    payload = {
        "provider": "wompi",
        "amount": AMOUNT,
        "currency": "cop",
        "customer_email": EMAIL,
        "payment_method": payment_method,
        **body,
    }
    return await hub.request(
        "POST", "/v1/payments", json={k: v for k, v in payload.items() if v is not None}, headers=headers
    )


async def deliver(hub: HubClient, tenant: TenantHandle, delivery: Delivery, *, apply: bool = True) -> httpx.Response:
    """Hand ``delivery`` to the hub exactly as Wompi sends it (body and headers), then wait for the applier."""
    r = await hub.request("POST", f"/v1/webhooks/wompi/{tenant.id}", content=delivery.content, headers=delivery.headers)
    if apply and r.status_code == 200:
        await wait_applied(hub.settings.database.url, tenant.id)
    return r


async def settle(
    hub: HubClient,
    tenant: TenantHandle,
    wompi: WompiStandin,
    merchant: Merchant,
    transaction_id: str,
    status: str | None = None,
) -> Delivery:
    """Wompi settles the transaction and sends its event; the hub receives and applies it."""
    before = len(wompi.events_of(merchant))
    wompi.settle(transaction_id, status)
    delivery = wompi.wait_events(merchant, before + 1)[before]
    r = await deliver(hub, tenant, delivery)
    assert r.status_code == 200, r.text
    return delivery


async def payment(hub: HubClient, tenant: TenantHandle, payment_id: str) -> dict[str, Any]:
    r = await hub.request("GET", f"/v1/payments/{payment_id}", headers=tenant.storefront)
    assert r.status_code == 200, r.text
    return r.json()
