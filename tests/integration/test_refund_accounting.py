"""One refund accounting rule for the API, the webhook applier and sync.

``amount_refunded`` is money returned to the customer: the sum of succeeded refunds. Money held
by refunds still pending is not returned yet, but it cannot be refunded a second time.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.support import stripe_events as ev
from tests.support.inbox import delivered
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


async def _payment(hub, tenant, pid: str) -> tuple[str, int]:
    after = (await hub.request("GET", f"/v1/payments/{pid}", headers=tenant.storefront)).json()
    return after["status"], after["amount_refunded"]


async def test_a_refund_made_through_the_api_that_fails_by_webhook_lowers_the_amount(hub):
    # The review's case: the refund succeeded at once (the emulator's answer), Stripe then reports
    # it failed (a bank refusing it). The applier alone must bring the payment back, no sync needed.
    tenant, _ = await stripe_tenant(hub)
    payment = (await create_payment(hub, tenant, amount=2000, payment_method="pm_card_visa", confirm=True)).json()
    pid, pi = payment["id"], payment["provider_payment_id"]
    r = await hub.request("POST", f"/v1/payments/{pid}/refunds", json={"amount": 500}, headers=tenant.admin)
    assert r.status_code == 201 and r.json()["status"] == "succeeded", r.text
    refund_id = r.json()["provider_refund_id"]
    assert await _payment(hub, tenant, pid) == ("partially_refunded", 500)

    now = int(time.time())
    # What Stripe sends around it: the charge's cumulative figure as of the refund, then the failure.
    refunded = ev.event("charge.refunded", ev.charge(pi, amount_refunded=500), created=now - 5)
    failed = ev.event("refund.failed", ev.refund(pi, refund_id, 500, "failed"), created=now)
    for evt in (refunded, failed, refunded):  # the stale figure, repeated after the failure, changes nothing
        assert (await delivered(hub, tenant.id, ev.encode(evt), WHSEC)).status_code == 200
    assert await _payment(hub, tenant, pid) == ("succeeded", 0)
    listed = (await hub.request("GET", "/v1/events?limit=10", headers=tenant.admin)).json()["data"]
    assert {e["outcome"] for e in listed} == {"applied"}

    # A sync (the emulator still calls the refund succeeded: a failed refund never moves back) agrees.
    synced = (await hub.request("POST", f"/v1/payments/{pid}/sync", headers=tenant.storefront)).json()
    assert (synced["status"], synced["amount_refunded"]) == ("succeeded", 0)


async def test_a_succeeded_refund_that_fails_lowers_the_amount_through_webhooks_alone(hub):
    tenant, _ = await stripe_tenant(hub)
    payment = (await create_payment(hub, tenant, amount=2000, payment_method="pm_card_visa", confirm=True)).json()
    pid, pi = payment["id"], payment["provider_payment_id"]
    now = int(time.time())
    created = ev.event("refund.created", ev.refund(pi, "re_dashboard0001", 2000, "succeeded"), created=now - 2)
    assert (await delivered(hub, tenant.id, ev.encode(created), WHSEC)).status_code == 200
    assert await _payment(hub, tenant, pid) == ("refunded", 2000)
    failed = ev.event("refund.updated", ev.refund(pi, "re_dashboard0001", 2000, "failed"), created=now)
    for evt in (failed, created):  # the earlier "succeeded", delivered late, cannot undo the failure
        assert (await delivered(hub, tenant.id, ev.encode(evt), WHSEC)).status_code == 200
    assert await _payment(hub, tenant, pid) == ("succeeded", 0)
    listed = (await hub.request("GET", f"/v1/payments/{pid}/refunds", headers=tenant.admin)).json()["data"]
    assert [(x["amount"], x["status"]) for x in listed] == [(2000, "failed")]


async def test_a_refund_the_hub_has_no_row_for_counts_by_the_newest_cumulative_figure(hub):
    # A refund made in the Stripe Dashboard, known only from the charge's cumulative amount_refunded.
    tenant, _ = await stripe_tenant(hub)
    payment = (await create_payment(hub, tenant, amount=2000, payment_method="pm_card_visa", confirm=True)).json()
    pid, pi = payment["id"], payment["provider_payment_id"]
    now = int(time.time())
    newer = ev.event("charge.refunded", ev.charge(pi, amount_refunded=700), created=now)
    older = ev.event("charge.refunded", ev.charge(pi, amount_refunded=300), created=now - 10)
    for evt in (newer, older):
        assert (await delivered(hub, tenant.id, ev.encode(evt), WHSEC)).status_code == 200
    assert await _payment(hub, tenant, pid) == ("partially_refunded", 700)
    # It holds the money: only the rest may be refunded through the hub.
    r = await hub.request("POST", f"/v1/payments/{pid}/refunds", json={"amount": 1301}, headers=tenant.admin)
    assert r.status_code == 422 and r.json()["code"] == "amount_too_large", r.text
    # A sync keeps it (the figure stands for refunds no row accounts for).
    synced = (await hub.request("POST", f"/v1/payments/{pid}/sync", headers=tenant.storefront)).json()
    assert (synced["status"], synced["amount_refunded"]) == ("partially_refunded", 700)
