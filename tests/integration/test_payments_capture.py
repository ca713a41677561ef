"""Capture (full, partial) and cancel; concurrent operations on one payment reach Stripe once."""

from __future__ import annotations

import asyncio

from tests.support.payments import Recorder, create_payment, emulator_get, recorded_hub, stripe_tenant


async def authorized(hub, tenant, amount=2000):
    r = await create_payment(
        hub, tenant, amount=amount, capture_method="manual", payment_method="pm_card_visa", confirm=True
    )
    assert r.status_code == 201 and r.json()["status"] == "requires_capture", r.text
    return r.json()


async def test_full_capture_succeeds_and_records_the_money(hub, emulator):
    tenant, sk = await stripe_tenant(hub)
    payment = await authorized(hub, tenant)
    r = await hub.request("POST", f"/v1/payments/{payment['id']}/capture", headers=tenant.storefront)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "succeeded"
    assert (body["amount_received"], body["amount_capturable"]) == (2000, 0)
    assert emulator_get(emulator, sk, f"/v1/payment_intents/{payment['provider_payment_id']}")["status"] == "succeeded"


async def test_partial_capture_records_what_was_captured_and_releases_the_rest(hub):
    # Stripe's partial capture: the remainder is released, not refunded.
    tenant, _ = await stripe_tenant(hub)
    payment = await authorized(hub, tenant)
    r = await hub.request(
        "POST", f"/v1/payments/{payment['id']}/capture", json={"amount": 1500}, headers=tenant.storefront
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["amount_received"], body["amount_capturable"], body["amount_refunded"]) == (
        "succeeded",
        1500,
        0,
        0,
    )
    r = await hub.request("POST", f"/v1/payments/{payment['id']}/sync", headers=tenant.storefront)
    assert r.status_code == 200 and r.json()["amount_received"] == 1500 and r.json()["status"] == "succeeded"


async def test_capture_above_the_authorized_amount_is_refused_before_stripe(hub):
    tenant, _ = await stripe_tenant(hub)
    payment = await authorized(hub, tenant)
    r = await hub.request(
        "POST", f"/v1/payments/{payment['id']}/capture", json={"amount": 2001}, headers=tenant.storefront
    )
    assert r.status_code == 422 and (r.json()["code"], r.json()["param"]) == ("amount_too_large", "amount")
    r = await hub.request(
        "POST", f"/v1/payments/{payment['id']}/capture", json={"amount": 0}, headers=tenant.storefront
    )
    assert r.status_code == 422 and r.json()["code"] == "amount_too_small"


async def test_capture_of_a_non_capturable_payment_is_invalid_state(hub):
    tenant, _ = await stripe_tenant(hub)
    unconfirmed = (await create_payment(hub, tenant, capture_method="manual")).json()
    r = await hub.request("POST", f"/v1/payments/{unconfirmed['id']}/capture", headers=tenant.storefront)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    paid = (await create_payment(hub, tenant, payment_method="pm_card_visa", confirm=True)).json()
    r = await hub.request("POST", f"/v1/payments/{paid['id']}/capture", headers=tenant.storefront)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"


async def test_a_second_capture_is_invalid_state(hub):
    tenant, _ = await stripe_tenant(hub)
    payment = await authorized(hub, tenant)
    assert (
        await hub.request("POST", f"/v1/payments/{payment['id']}/capture", headers=tenant.storefront)
    ).status_code == 200
    r = await hub.request("POST", f"/v1/payments/{payment['id']}/capture", headers=tenant.storefront)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"


async def test_cancel_releases_an_authorization(hub, emulator):
    tenant, sk = await stripe_tenant(hub)
    payment = await authorized(hub, tenant)
    r = await hub.request("POST", f"/v1/payments/{payment['id']}/cancel", headers=tenant.storefront)
    assert r.status_code == 200 and r.json()["status"] == "canceled" and r.json()["amount_capturable"] == 0
    assert emulator_get(emulator, sk, f"/v1/payment_intents/{payment['provider_payment_id']}")["status"] == "canceled"
    r = await hub.request("POST", f"/v1/payments/{payment['id']}/cancel", headers=tenant.storefront)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    r = await hub.request("POST", f"/v1/payments/{payment['id']}/capture", headers=tenant.storefront)
    assert r.status_code == 409


async def test_cancel_of_a_succeeded_payment_is_invalid_state(hub):
    tenant, _ = await stripe_tenant(hub)
    paid = (await create_payment(hub, tenant, payment_method="pm_card_visa", confirm=True)).json()
    r = await hub.request("POST", f"/v1/payments/{paid['id']}/cancel", headers=tenant.storefront)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"


async def _race(database_url, emulator, tmp_path, first: str, second: str):
    recorder = Recorder(emulator.url, delay=0.3)
    async with (
        recorded_hub(database_url, str(tmp_path / "a"), emulator.url, recorder) as one,
        recorded_hub(database_url, str(tmp_path / "b"), emulator.url, recorder) as two,
    ):
        tenant, sk = await stripe_tenant(one)
        payment = await authorized(one, tenant)
        before = len(recorder.requests)
        r1, r2 = await asyncio.gather(
            one.request("POST", f"/v1/payments/{payment['id']}/{first}", headers=tenant.storefront),
            two.request("POST", f"/v1/payments/{payment['id']}/{second}", headers=tenant.storefront),
        )
        operations = [(m, p) for m, p, _ in recorder.requests[before:] if m == "POST"]
        final = (await one.request("GET", f"/v1/payments/{payment['id']}", headers=tenant.storefront)).json()
        stripe_status = emulator_get(emulator, sk, f"/v1/payment_intents/{payment['provider_payment_id']}")["status"]
        return r1, r2, operations, final, stripe_status


async def test_two_concurrent_captures_reach_stripe_once_and_the_other_is_a_conflict(database_url, emulator, tmp_path):
    r1, r2, operations, final, stripe_status = await _race(database_url, emulator, tmp_path, "capture", "capture")
    assert sorted([r1.status_code, r2.status_code]) == [200, 409], (r1.text, r2.text)
    loser = r1 if r1.status_code == 409 else r2
    assert loser.json()["code"] == "invalid_state"
    assert len(operations) == 1 and operations[0][1].endswith("/capture")
    assert final["status"] == "succeeded" and stripe_status == "succeeded" and final["amount_received"] == 2000


async def test_capture_racing_cancel_reaches_stripe_once_and_the_other_is_a_conflict(database_url, emulator, tmp_path):
    r1, r2, operations, final, stripe_status = await _race(database_url, emulator, tmp_path, "capture", "cancel")
    assert sorted([r1.status_code, r2.status_code]) == [200, 409], (r1.text, r2.text)
    assert len(operations) == 1
    winner = "capture" if r1.status_code == 200 else "cancel"
    assert operations[0][1].endswith(f"/{winner}")
    expected = "succeeded" if winner == "capture" else "canceled"
    assert final["status"] == expected and stripe_status == expected
