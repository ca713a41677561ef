"""End to end: the hub as a real process, the emulator delivering real signed webhooks to two tenants.

A payment created through the hub for tenant A and confirmed directly at the emulator (as
Stripe.js would) becomes `succeeded` from the webhook alone. The emulator sends every event to
every registered endpoint, each signed with that endpoint's secret: tenant B's
endpoint verifies the same event with B's secret, stores it as ignored, and nothing of A or B
changes because of it.

Needs POST /v1/payments (the payments work): written against docs/api.md.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.hub import PLATFORM
from tests.support.inbox import wait_applied
from tests.support.process import HubProcess

pytestmark = pytest.mark.e2e

SECRET_A = "whsec_e2eTenantAsecret01"
SECRET_B = "whsec_e2eTenantBsecret02"
SECRET_KEY = "sk_test_tenantkey00000001"


@pytest.fixture
def hub_process(database_url, emulator, tmp_path) -> Iterator[HubProcess]:
    proc = HubProcess(database_url, tmp_path / "home", HUB_STRIPE_API_BASE=emulator.url)
    yield proc
    proc.stop()


async def new_tenant(http: httpx.AsyncClient, name: str, secret: str) -> dict:
    r = await http.post("/v1/tenants", json={"name": name}, headers=PLATFORM)
    assert r.status_code == 201, r.text
    body = r.json()
    tenant = {
        "id": body["id"],
        "webhook_url": body["webhook_url"],
        "admin": {"Authorization": f"Bearer {body['api_keys']['admin']}"},
        "storefront": {"Authorization": f"Bearer {body['api_keys']['storefront']}"},
    }
    r = await http.put(
        "/v1/providers/stripe/credentials",
        headers=tenant["admin"],
        json={"publishable_key": "pk_test_tenantkey00000001", "secret_key": SECRET_KEY, "webhook_secret": secret},
    )
    assert r.status_code == 200, r.text
    return tenant


async def create_payment(http: httpx.AsyncClient, tenant: dict) -> dict:
    r = await http.post(
        "/v1/payments",
        headers=tenant["storefront"],
        json={"amount": 2000, "currency": "usd", "capture_method": "automatic", "payment_method": "pm_card_visa"},
    )
    assert r.status_code == 201, r.text
    return r.json()


async def events(http: httpx.AsyncClient, tenant: dict) -> dict[str, dict]:
    r = await http.get("/v1/events?limit=100", headers=tenant["admin"])
    assert r.status_code == 200, r.text
    return {e["provider_event_id"]: e for e in r.json()["data"]}


async def test_webhook_alone_moves_tenant_a_payment_and_tenant_b_stores_the_same_event_as_ignored(
    hub_process, emulator, database_url
):
    async with hub_process.client(timeout=30) as http:
        a = await new_tenant(http, "A", SECRET_A)
        b = await new_tenant(http, "B", SECRET_B)
        assert a["webhook_url"].startswith(hub_process.url)
        emulator.register_webhook(f"hub-a-{a['id']}", a["webhook_url"], SECRET_A)
        emulator.register_webhook(f"hub-b-{b['id']}", b["webhook_url"], SECRET_B)
        try:
            pay_a = await create_payment(http, a)
            pay_b = await create_payment(http, b)
            assert pay_a["status"] != "succeeded"
            b_before = (await http.get(f"/v1/payments/{pay_b['id']}", headers=b["storefront"])).json()

            # Confirmed at "Stripe" directly, as the storefront's Stripe.js would: the hub is not told.
            r = httpx.post(
                f"{emulator.url}/v1/payment_intents/{pay_a['provider_payment_id']}/confirm",
                auth=(SECRET_KEY, ""),
                timeout=10,
            )
            assert r.status_code == 200, r.text

            deadline = time.monotonic() + 20
            while True:
                got = (await http.get(f"/v1/payments/{pay_a['id']}", headers=a["storefront"])).json()
                seen_b = [e for e in (await events(http, b)).values() if e["type"] == "payment_intent.succeeded"]
                if (got["status"] == "succeeded" and seen_b) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.25)
            assert got["status"] == "succeeded", hub_process.log()
            assert got["amount_received"] == 2000
            await wait_applied(database_url)  # B's copy may be stored and not yet applied

            [applied] = [e for e in (await events(http, a)).values() if e["type"] == "payment_intent.succeeded"]
            assert (applied["outcome"], applied["payment_id"], applied["deliveries"]) == ("applied", pay_a["id"], 1)
            [ignored] = seen_b
            assert ignored["provider_event_id"] == applied["provider_event_id"]
            assert (ignored["outcome"], ignored["payment_id"]) == ("ignored", None)
            b_after = (await http.get(f"/v1/payments/{pay_b['id']}", headers=b["storefront"])).json()
            assert b_after == b_before
            # A's payment is not visible to B, and B's key cannot reach it.
            assert (await http.get(f"/v1/payments/{pay_a['id']}", headers=b["storefront"])).status_code == 404
        finally:
            # The emulator keeps endpoints for its whole life: point them at nothing listening.
            for name in (f"hub-a-{a['id']}", f"hub-b-{b['id']}"):
                emulator.register_webhook(name, "http://127.0.0.1:9/gone", "whsec_gone000000000000000")
