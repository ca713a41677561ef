"""One refund accounting rule for the API, the webhook applier and sync.

``amount_refunded`` is money returned to the customer: the sum of succeeded refunds. Money held
by refunds still pending is not returned yet, but it cannot be refunded a second time.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.support import stripe_events as ev
from tests.support.payments import Recorder, create_payment, recorded_hub, stripe_tenant

WHSEC = "whsec_tenantsecret00001"


def pending_refunds(request: httpx.Request) -> httpx.Response | None:
    """Stripe answers a bank-transfer-like refund as ``pending`` (the emulator always says succeeded)."""
    if request.method == "POST" and request.url.path == "/v1/refunds":
        form = dict(httpx.QueryParams(request.content.decode()))
        return httpx.Response(
            200, json=ev.refund(form["payment_intent"], "re_pending0001", int(form["amount"]), "pending")
        )
    return None


async def _wait_refund_status(hub, tenant, payment_id: str, status: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        listed = (await hub.request("GET", f"/v1/payments/{payment_id}/refunds", headers=tenant.admin)).json()
        if [x["status"] for x in listed["data"]] == [status]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"refund never became {status}")


async def test_a_pending_refund_that_fails_leaves_the_payment_consistent_through_sync(database_url, emulator, tmp_path):
    recorder = Recorder(emulator.url, answer=pending_refunds)
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, _ = await stripe_tenant(hub)
        r = await create_payment(hub, tenant, amount=2000, payment_method="pm_card_visa", confirm=True)
        payment = r.json()
        pid, pi = payment["id"], payment["provider_payment_id"]

        r = await hub.request("POST", f"/v1/payments/{pid}/refunds", json={"amount": 500}, headers=tenant.admin)
        assert r.status_code == 201 and r.json()["status"] == "pending", r.text
        after = (await hub.request("GET", f"/v1/payments/{pid}", headers=tenant.storefront)).json()
        # Nothing has reached the customer yet.
        assert (after["status"], after["amount_refunded"]) == ("succeeded", 0)
        # ... but the pending 500 is held: at most 1500 more may be asked back.
        r = await hub.request("POST", f"/v1/payments/{pid}/refunds", json={"amount": 1501}, headers=tenant.admin)
        assert r.status_code == 422 and r.json()["code"] == "amount_too_large"

        body = ev.encode(ev.event("refund.failed", ev.refund(pi, "re_pending0001", 500, "failed")))
        assert (await ev.deliver(hub.http, tenant.id, body, WHSEC)).status_code == 200
        await _wait_refund_status(hub, tenant, pid, "failed")
        after = (await hub.request("GET", f"/v1/payments/{pid}", headers=tenant.storefront)).json()
        assert (after["status"], after["amount_refunded"]) == ("succeeded", 0)

        synced = (await hub.request("POST", f"/v1/payments/{pid}/sync", headers=tenant.storefront)).json()
        assert (synced["status"], synced["amount_refunded"]) == ("succeeded", 0)
        # The failed refund holds nothing: the whole amount may be refunded again.
        recorder.answer = None
        r = await hub.request("POST", f"/v1/payments/{pid}/refunds", json={}, headers=tenant.admin)
        assert r.status_code == 201 and r.json()["amount"] == 2000, r.text


async def test_a_pending_refund_that_succeeds_counts_once(database_url, emulator, tmp_path):
    recorder = Recorder(emulator.url, answer=pending_refunds)
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, _ = await stripe_tenant(hub)
        payment = (await create_payment(hub, tenant, amount=2000, payment_method="pm_card_visa", confirm=True)).json()
        pid, pi = payment["id"], payment["provider_payment_id"]
        r = await hub.request("POST", f"/v1/payments/{pid}/refunds", json={"amount": 500}, headers=tenant.admin)
        assert r.status_code == 201, r.text
        for _ in range(2):  # a repeated delivery changes nothing
            body = ev.encode(ev.event("refund.updated", ev.refund(pi, "re_pending0001", 500, "succeeded")))
            assert (await ev.deliver(hub.http, tenant.id, body, WHSEC)).status_code == 200
        await _wait_refund_status(hub, tenant, pid, "succeeded")
        after = (await hub.request("GET", f"/v1/payments/{pid}", headers=tenant.storefront)).json()
        assert (after["status"], after["amount_refunded"]) == ("partially_refunded", 500)
