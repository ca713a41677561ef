"""Refunds (admin only): full, partial, several partials up to the captured amount."""

from __future__ import annotations

import httpx

from tests.support.inbox import wait_applied
from tests.support.payments import Recorder, create_payment, lose_answers, recorded_hub, stripe_tenant


async def paid(hub, tenant, amount=2000):
    r = await create_payment(hub, tenant, amount=amount, payment_method="pm_card_visa", confirm=True)
    assert r.status_code == 201 and r.json()["status"] == "succeeded", r.text
    return r.json()


async def refund(hub, tenant, payment_id, **body):
    return await hub.request("POST", f"/v1/payments/{payment_id}/refunds", json=body, headers=tenant.admin)


async def test_a_full_refund_refunds_the_payment(hub):
    tenant, _ = await stripe_tenant(hub)
    payment = await paid(hub, tenant)
    r = await refund(hub, tenant, payment["id"], reason="requested_by_customer")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"].startswith("ref_") and body["payment_id"] == payment["id"]
    assert body["provider_refund_id"].startswith("re_") and body["provider_refund_id"] != body["id"]
    assert (body["amount"], body["status"], body["reason"]) == (2000, "succeeded", "requested_by_customer")
    after = (await hub.request("GET", f"/v1/payments/{payment['id']}", headers=tenant.storefront)).json()
    assert (after["status"], after["amount_refunded"]) == ("refunded", 2000)


async def test_several_partial_refunds_up_to_the_amount(hub):
    tenant, _ = await stripe_tenant(hub)
    payment = await paid(hub, tenant)
    assert (await refund(hub, tenant, payment["id"], amount=500)).status_code == 201
    after = (await hub.request("GET", f"/v1/payments/{payment['id']}", headers=tenant.storefront)).json()
    assert (after["status"], after["amount_refunded"]) == ("partially_refunded", 500)
    assert (await refund(hub, tenant, payment["id"], amount=700)).status_code == 201
    r = await refund(hub, tenant, payment["id"], amount=801)
    assert r.status_code == 422 and (r.json()["code"], r.json()["param"]) == ("amount_too_large", "amount")
    r = await refund(hub, tenant, payment["id"])  # the rest
    assert r.status_code == 201 and r.json()["amount"] == 800
    after = (await hub.request("GET", f"/v1/payments/{payment['id']}", headers=tenant.storefront)).json()
    assert (after["status"], after["amount_refunded"]) == ("refunded", 2000)
    r = await refund(hub, tenant, payment["id"], amount=1)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    listed = (await hub.request("GET", f"/v1/payments/{payment['id']}/refunds", headers=tenant.admin)).json()
    assert [x["amount"] for x in listed["data"]] == [800, 700, 500]


async def test_a_partially_captured_payment_refunds_only_what_was_captured(hub):
    tenant, _ = await stripe_tenant(hub)
    r = await create_payment(hub, tenant, capture_method="manual", payment_method="pm_card_visa", confirm=True)
    payment = r.json()
    await hub.request("POST", f"/v1/payments/{payment['id']}/capture", json={"amount": 1500}, headers=tenant.storefront)
    r = await refund(hub, tenant, payment["id"], amount=1501)
    assert r.status_code == 422 and r.json()["code"] == "amount_too_large"
    r = await refund(hub, tenant, payment["id"])
    assert r.status_code == 201 and r.json()["amount"] == 1500
    after = (await hub.request("POST", f"/v1/payments/{payment['id']}/sync", headers=tenant.storefront)).json()
    assert (after["status"], after["amount_received"], after["amount_refunded"]) == ("refunded", 1500, 1500)


async def test_refund_of_an_uncaptured_payment_is_invalid_state(hub):
    tenant, _ = await stripe_tenant(hub)
    r = await create_payment(hub, tenant, capture_method="manual", payment_method="pm_card_visa", confirm=True)
    r = await refund(hub, tenant, r.json()["id"])
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"


async def test_bad_refund_bodies_are_refused(hub):
    tenant, _ = await stripe_tenant(hub)
    payment = await paid(hub, tenant)
    r = await refund(hub, tenant, payment["id"], amount=0)
    assert r.status_code == 422 and r.json()["code"] == "amount_too_small"
    r = await refund(hub, tenant, payment["id"], reason="because")
    assert r.status_code == 422 and r.json()["param"] == "reason"
    listed = (await hub.request("GET", f"/v1/payments/{payment['id']}/refunds", headers=tenant.admin)).json()
    assert listed["data"] == []


async def test_the_refund_carries_the_hub_ids_and_reason_to_stripe(database_url, emulator, tmp_path):
    recorder = Recorder(emulator.url)
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, _ = await stripe_tenant(hub)
        payment = await paid(hub, tenant)
        r = await refund(hub, tenant, payment["id"], amount=300, reason="duplicate")
        assert r.status_code == 201
    body = [b for m, p, b in recorder.requests if m == "POST" and p == "/v1/refunds"][-1].decode()
    assert f"metadata[hub_tenant_id]={tenant.id}" in body and f"metadata[hub_payment_id]={payment['id']}" in body
    assert f"metadata[hub_refund_id]={r.json()['id']}" in body and "amount=300" in body
    assert "duplicate" in body
    assert all(recorder.idempotency_keys("POST", "/v1/refunds"))


async def test_a_refund_whose_answer_was_lost_holds_the_money_until_sync_finds_it(database_url, emulator, tmp_path):
    # The refund reaches Stripe but its answer does not reach the hub (a 500 after the fact):
    # the pending refund keeps the money from being refunded twice, and sync finds it by metadata.
    recorder = Recorder(emulator.url)
    lose_answers(recorder, "POST", "/v1/refunds")
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, _ = await stripe_tenant(hub)
        payment = await paid(hub, tenant)
        r = await refund(hub, tenant, payment["id"], amount=2000)
        assert r.status_code == 503 and r.json()["code"] == "provider_unavailable"
        r = await refund(hub, tenant, payment["id"], amount=1)
        assert r.status_code == 409 and r.json()["code"] == "invalid_state"
        synced = (await hub.request("POST", f"/v1/payments/{payment['id']}/sync", headers=tenant.storefront)).json()
        assert (synced["status"], synced["amount_refunded"]) == ("refunded", 2000)
        listed = (await hub.request("GET", f"/v1/payments/{payment['id']}/refunds", headers=tenant.admin)).json()
        assert [(x["status"], x["provider_refund_id"] is not None) for x in listed["data"]] == [("succeeded", True)]


async def test_a_refund_webhook_arriving_before_the_api_answer_leaves_one_refund(database_url, emulator, tmp_path):
    # Stripe may deliver refund.created before the hub has written the API's answer: the refund
    # is still recorded once and counted once.
    from tests.support import stripe_events as ev

    hub_box: dict = {}
    recorder = Recorder(emulator.url)
    original = recorder._handle

    async def webhook_first(request: httpx.Request) -> httpx.Response:
        response = await original(request)
        if request.method == "POST" and request.url.path == "/v1/refunds":
            obj = response.json()
            body = ev.encode(
                ev.event("refund.created", ev.refund(obj["payment_intent"] or hub_box["pi"], obj["id"], obj["amount"]))
            )
            # Delivered to another worker, as Stripe's webhooks would be.
            delivered = await ev.deliver(
                hub_box["receiver"].http, hub_box["tenant"].id, body, "whsec_tenantsecret00001"
            )
            assert delivered.status_code == 200, delivered.text
        return response

    recorder.transport = httpx.MockTransport(webhook_first)
    # The delivery above blocks this hub's event loop until the receiver answers (the test client
    # is synchronous underneath): an applier of this hub caught mid-transaction there would hold
    # SQLite's write lock against the receiver. The receiver applies what it stores.
    async with (
        recorded_hub(database_url, str(tmp_path / "a"), emulator.url, recorder, HUB_APPLIER="0") as hub,
        recorded_hub(database_url, str(tmp_path / "b"), emulator.url, Recorder(emulator.url)) as receiver,
    ):
        tenant, _ = await stripe_tenant(hub)
        payment = await paid(hub, tenant)
        hub_box.update(receiver=receiver, tenant=tenant, pi=payment["provider_payment_id"])
        r = await refund(hub, tenant, payment["id"], reason="duplicate")
        assert r.status_code == 201, r.text
        await wait_applied(database_url, tenant.id)
        listed = (await hub.request("GET", f"/v1/payments/{payment['id']}/refunds", headers=tenant.admin)).json()
        assert [(x["amount"], x["status"]) for x in listed["data"]] == [(2000, "succeeded")]
        assert listed["data"][0]["id"] == r.json()["id"]
        after = (await hub.request("GET", f"/v1/payments/{payment['id']}", headers=tenant.storefront)).json()
        assert (after["status"], after["amount_refunded"]) == ("refunded", 2000)
