"""A request whose worker died holds its payment (the in-flight marker) and its Idempotency-Key for
the lease the Stripe deadline bounds (deadline x 2 calls + 10 s), not for minutes; meanwhile the
answer is busy with a Retry-After that counts down what is left of the lease (at most 5 s)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.idempotency import key_left_running, key_state, marker_left
from tests.support.payments import Recorder, create_payment, recorded_hub, stripe_error, stripe_tenant
from tests.support.problem import assert_problem

#: HUB_STRIPE_DEADLINE_SECONDS for these tests: a lease of 2 x 1 s + 10 s = 12 s.
DEADLINE = "1"


@pytest.fixture
async def short(database_url, emulator, tmp_path):
    recorder = Recorder(emulator.url)
    async with recorded_hub(
        database_url, str(tmp_path), emulator.url, recorder, HUB_STRIPE_DEADLINE_SECONDS=DEADLINE
    ) as hub:
        tenant, _ = await stripe_tenant(hub)
        yield hub, recorder, tenant


async def _authorized(hub, tenant) -> dict:
    r = await create_payment(hub, tenant, capture_method="manual", payment_method="pm_card_visa", confirm=True)
    assert r.status_code == 201 and r.json()["status"] == "requires_capture", r.text
    return r.json()


async def _paid(hub, tenant) -> dict:
    r = await create_payment(hub, tenant, payment_method="pm_card_visa", confirm=True)
    assert r.status_code == 201 and r.json()["status"] == "succeeded", r.text
    return r.json()


async def test_a_capture_whose_worker_died_is_taken_over_once_the_lease_ends(short):
    hub, recorder, tenant = short
    payment = await _authorized(hub, tenant)
    path = f"/v1/payments/{payment['id']}/capture"
    capture_at_stripe = f"/v1/payment_intents/{payment['provider_payment_id']}/capture"

    # Its worker died 2 s into the capture: 10 s of the 12 s lease are left.
    await marker_left(hub, payment["id"], "capture", age=timedelta(seconds=2))
    r = await hub.request("POST", path, json={}, headers=tenant.storefront)
    assert_problem(r, 409, "invalid_state")
    assert r.headers["retry-after"] == "5"  # what is left, bounded
    # 9 s in: about 3 s are left, and the answer says so.
    await marker_left(hub, payment["id"], "capture", age=timedelta(seconds=9))
    r = await hub.request("POST", path, json={}, headers=tenant.storefront)
    assert_problem(r, 409, "invalid_state")
    assert 1 <= int(r.headers["retry-after"]) <= 3
    assert recorder.calls("POST", capture_at_stripe) == 0

    # 13 s in, far short of minutes: the lease is over and the next request takes over.
    await marker_left(hub, payment["id"], "capture", age=timedelta(seconds=13))
    r = await hub.request("POST", path, json={}, headers=tenant.storefront)
    assert r.status_code == 200 and r.json()["status"] == "succeeded", r.text
    assert recorder.calls("POST", capture_at_stripe) == 1


async def test_the_lease_follows_the_stripe_deadline(hub):
    # The default deadline (25 s) makes a 60 s lease: a marker 13 s old still holds the payment.
    tenant, _ = await stripe_tenant(hub)
    payment = await _authorized(hub, tenant)
    await marker_left(hub, payment["id"], "cancel", age=timedelta(seconds=13))
    r = await hub.request("POST", f"/v1/payments/{payment['id']}/cancel", headers=tenant.storefront)
    assert_problem(r, 409, "invalid_state")
    assert r.headers["retry-after"] == "5"


async def test_a_keyed_refund_whose_worker_died_is_resumed_once_the_lease_ends(short):
    hub, recorder, tenant = short
    payment = await _paid(hub, tenant)
    path = f"/v1/payments/{payment['id']}/refunds"
    headers = {**tenant.admin, "Idempotency-Key": "refund-1"}
    # The first attempt writes its pending refund, then Stripe's answer never comes (Stripe did not act).
    recorder.answer = lambda request: (
        stripe_error(500, "api_error", "Something went wrong.") if request.url.path == "/v1/refunds" else None
    )
    r = await hub.request("POST", path, json={"amount": 700}, headers=headers)
    assert_problem(r, 503, "provider_unavailable")
    recorder.answer = None
    # ...and its worker died holding the key and the payment, 2 s into a 12 s lease.
    await key_left_running(hub, tenant.id, "payments.refunds", "refund-1", lease_left=timedelta(seconds=10))
    await marker_left(hub, payment["id"], "refund", age=timedelta(seconds=2))

    r = await hub.request("POST", path, json={"amount": 700}, headers=headers)
    assert_problem(r, 409, "idempotency_in_progress", param="Idempotency-Key")
    assert r.headers["retry-after"] == "5"
    await key_left_running(hub, tenant.id, "payments.refunds", "refund-1", lease_left=timedelta(seconds=2))
    r = await hub.request("POST", path, json={"amount": 700}, headers=headers)
    assert_problem(r, 409, "idempotency_in_progress", param="Idempotency-Key")
    assert 1 <= int(r.headers["retry-after"]) <= 2
    assert recorder.calls("POST", "/v1/refunds") == 1

    # Past the lease (13 s after the worker started): the retry takes the key and the payment over
    # and asks Stripe again under the same Stripe idempotency key, for the same refund.
    await key_left_running(hub, tenant.id, "payments.refunds", "refund-1", lease_left=-timedelta(seconds=1))
    await marker_left(hub, payment["id"], "refund", age=timedelta(seconds=13))
    r = await hub.request("POST", path, json={"amount": 700}, headers=headers)
    assert r.status_code == 201 and "idempotent-replayed" not in r.headers, r.text
    keys = recorder.idempotency_keys("POST", "/v1/refunds")
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]
    listed = (await hub.request("GET", path, headers=tenant.admin)).json()["data"]
    assert [(x["id"], x["amount"]) for x in listed] == [(r.json()["id"], 700)]
    assert await key_state(hub, tenant.id, "payments.refunds", "refund-1") == "done"
