"""Sync is the repair tool: it converges a payment to the provider's current object, terminal
status included, and says what it changed; a late webhook event still never moves one back."""

from __future__ import annotations

import logging

import httpx

from tests.support import stripe_events as se
from tests.support.inbox import wait_applied
from tests.support.payments import create_payment, emulator_get, stripe_tenant
from tests.support.rawdb import execute

WEBHOOK_SECRET = "whsec_tenantsecret00001"  # what stripe_tenant registers


async def _authorized(hub, tenant) -> dict:
    r = await create_payment(hub, tenant, capture_method="manual", payment_method="pm_card_visa", confirm=True)
    assert r.status_code == 201 and r.json()["status"] == "requires_capture", r.text
    return r.json()


async def _force(database_url: str, payment_id: str, **values) -> None:
    """Write the hub's row below the hub, as a bug or a hand edit would have left it."""
    sets = ", ".join(f"{k} = :{k}" for k in values)
    await execute(database_url, f"UPDATE payments SET {sets} WHERE id = :id", id=payment_id, **values)


async def test_sync_moves_a_wrongly_canceled_payment_back_to_requires_capture_and_says_so(
    hub, emulator, database_url, caplog
):
    caplog.set_level(logging.INFO, logger="hub.payments")
    tenant, sk = await stripe_tenant(hub)
    payment = await _authorized(hub, tenant)
    await _force(database_url, payment["id"], status="canceled", amount_capturable=0)
    pi = emulator_get(emulator, sk, f"/v1/payment_intents/{payment['provider_payment_id']}")
    assert pi["status"] == "requires_capture"

    r = await hub.request("POST", f"/v1/payments/{payment['id']}/sync", headers=tenant.storefront)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["amount_capturable"]) == ("requires_capture", 2000)
    assert {"field": "status", "from": "canceled", "to": "requires_capture"} in body["changes"]
    assert {"field": "amount_capturable", "from": 0, "to": 2000} in body["changes"]
    lines = [r.getMessage() for r in caplog.records if payment["id"] in r.getMessage()]
    assert any("canceled" in line and "requires_capture" in line for line in lines), lines
    # Nothing left to repair: a second sync changes nothing and says so.
    r = await hub.request("POST", f"/v1/payments/{payment['id']}/sync", headers=tenant.storefront)
    assert r.status_code == 200 and r.json()["changes"] == [] and r.json()["status"] == "requires_capture"

    r = await hub.request("POST", f"/v1/payments/{payment['id']}/capture", headers=tenant.storefront)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["amount_received"]) == ("succeeded", 2000)


async def test_a_late_event_never_moves_a_canceled_payment_back_only_a_sync_does(hub, emulator, database_url):
    tenant, sk = await stripe_tenant(hub)
    payment = await _authorized(hub, tenant)
    await _force(database_url, payment["id"], status="canceled", amount_capturable=0)
    pi = emulator_get(emulator, sk, f"/v1/payment_intents/{payment['provider_payment_id']}")
    late = se.event("payment_intent.amount_capturable_updated", pi)
    r = await se.deliver(hub.http, tenant.id, se.encode(late), WEBHOOK_SECRET)
    assert r.status_code == 200, r.text
    await wait_applied(database_url, tenant.id)
    r = await hub.request("GET", f"/v1/payments/{payment['id']}", headers=tenant.storefront)
    assert r.json()["status"] == "canceled"
    r = await hub.request("POST", f"/v1/payments/{payment['id']}/sync", headers=tenant.storefront)
    assert r.status_code == 200 and r.json()["status"] == "requires_capture", r.text


async def test_sync_takes_back_a_refunded_payment_the_provider_never_captured(hub, emulator, database_url):
    # The hub holds it as received and refunded; the provider has it authorized only: no money moved.
    tenant, _ = await stripe_tenant(hub)
    payment = await _authorized(hub, tenant)
    await _force(
        database_url, payment["id"], status="refunded", amount_capturable=0, amount_received=2000, amount_refunded=2000
    )
    r = await hub.request("POST", f"/v1/payments/{payment['id']}/sync", headers=tenant.storefront)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["amount_received"], body["amount_refunded"], body["amount_capturable"]) == (
        "requires_capture",
        0,
        0,
        2000,
    )
    assert {"field": "amount_received", "from": 2000, "to": 0} in body["changes"]
    assert {"field": "status", "from": "refunded", "to": "requires_capture"} in body["changes"]
    r = await hub.request("POST", f"/v1/payments/{payment['id']}/refunds", json={"amount": 100}, headers=tenant.admin)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state", r.text


async def test_sync_moves_a_wrongly_canceled_payment_the_provider_captured_to_succeeded(hub, emulator, database_url):
    tenant, sk = await stripe_tenant(hub)
    payment = await _authorized(hub, tenant)
    await _force(database_url, payment["id"], status="canceled", amount_capturable=0)
    pi_id = payment["provider_payment_id"]
    httpx.post(f"{emulator.url}/v1/payment_intents/{pi_id}/capture", auth=(sk, "")).raise_for_status()
    r = await hub.request("POST", f"/v1/payments/{payment['id']}/sync", headers=tenant.storefront)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["amount_received"]) == ("succeeded", 2000)
    assert {"field": "status", "from": "canceled", "to": "succeeded"} in r.json()["changes"]


async def test_an_ordinary_sync_lists_the_forward_moves_it_made(hub, emulator):
    tenant, sk = await stripe_tenant(hub)
    payment = await _authorized(hub, tenant)
    pi_id = payment["provider_payment_id"]
    httpx.post(f"{emulator.url}/v1/payment_intents/{pi_id}/capture", auth=(sk, "")).raise_for_status()
    r = await hub.request("POST", f"/v1/payments/{payment['id']}/sync", headers=tenant.storefront)
    assert r.status_code == 200, r.text
    changes = {c["field"]: (c["from"], c["to"]) for c in r.json()["changes"]}
    assert changes == {
        "status": ("requires_capture", "succeeded"),
        "amount_received": (0, 2000),
        "amount_capturable": (2000, 0),
    }


async def test_the_openapi_document_declares_the_changes_of_a_sync(hub):
    doc = (await hub.request("GET", "/schema/openapi.json")).json()
    answer = doc["paths"]["/v1/payments/{payment_id}/sync"]["post"]["responses"]["200"]
    name = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    changes = doc["components"]["schemas"][name]["properties"]["changes"]
    item = doc["components"]["schemas"][changes["items"]["$ref"].rsplit("/", 1)[1]]
    assert set(item["required"]) == {"field", "from", "to"}
