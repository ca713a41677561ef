"""Idempotency-Key on every POST that creates something or moves money (not only payment creation).

The same key with the same body replays the first response with ``Idempotent-Replayed: true``
and nothing new happens at Stripe; another body is 409 ``idempotency_conflict``; a request still
running is 409 ``idempotency_in_progress`` with a short ``Retry-After``. Keys are scoped to the
tenant and the route.
"""

from __future__ import annotations

import httpx

from tests.integration.test_payments_sync import CHECKOUT_BODY, checkout_stripe
from tests.support.payments import Recorder, create_payment, lose_answers, recorded_hub, stripe_tenant


async def _paid(hub, tenant, **extra):
    r = await create_payment(hub, tenant, amount=2000, payment_method="pm_card_visa", confirm=True, **extra)
    assert r.status_code == 201, r.text
    return r.json()


def _with_key(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def test_the_same_key_twice_on_a_refund_makes_one_refund(database_url, emulator, tmp_path):
    recorder = Recorder(emulator.url)
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, _ = await stripe_tenant(hub)
        payment = await _paid(hub, tenant)
        path = f"/v1/payments/{payment['id']}/refunds"
        first = await hub.request("POST", path, json={"amount": 500}, headers=_with_key(tenant.admin, "rf-1"))
        again = await hub.request("POST", path, json={"amount": 500}, headers=_with_key(tenant.admin, "rf-1"))
        assert first.status_code == again.status_code == 201, again.text
        assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
        assert "idempotent-replayed" not in first.headers
        assert recorder.calls("POST", "/v1/refunds") == 1
        listed = (await hub.request("GET", path, headers=tenant.admin)).json()["data"]
        assert [x["amount"] for x in listed] == [500]
        other = await hub.request("POST", path, json={"amount": 600}, headers=_with_key(tenant.admin, "rf-1"))
        assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
        assert recorder.calls("POST", "/v1/refunds") == 1


async def test_the_same_key_twice_on_customers_makes_one_customer(database_url, emulator, tmp_path):
    recorder = Recorder(emulator.url)
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, _ = await stripe_tenant(hub)
        body = {"email": "ada@example.com", "name": "Ada"}
        headers = _with_key(tenant.storefront, "cu-1")
        first = await hub.request("POST", "/v1/customers", json=body, headers=headers)
        again = await hub.request("POST", "/v1/customers", json=body, headers=headers)
        assert first.status_code == again.status_code == 201, first.text
        assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
        assert recorder.calls("POST", "/v1/customers") == 1
        other = await hub.request("POST", "/v1/customers", json={"name": "Bob"}, headers=headers)
        assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
        # Without a key, each request is a new customer.
        for _ in range(2):
            assert (await hub.request("POST", "/v1/customers", json=body, headers=tenant.storefront)).status_code == 201
        assert recorder.calls("POST", "/v1/customers") == 3


async def test_keys_are_scoped_to_the_tenant_and_the_route(database_url, emulator, tmp_path):
    recorder = Recorder(emulator.url)
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        a, _ = await stripe_tenant(hub, "A")
        b, _ = await stripe_tenant(hub, "B")
        body = {"name": "Same"}
        ra = await hub.request("POST", "/v1/customers", json=body, headers=_with_key(a.storefront, "k"))
        rb = await hub.request("POST", "/v1/customers", json=body, headers=_with_key(b.storefront, "k"))
        assert ra.status_code == rb.status_code == 201 and ra.json()["id"] != rb.json()["id"]
        assert "idempotent-replayed" not in rb.headers
        payment = await _paid(hub, a)
        # The same key on another route of the same tenant is another request.
        r = await hub.request("POST", f"/v1/payments/{payment['id']}/refunds", json={}, headers=_with_key(a.admin, "k"))
        assert r.status_code == 201 and "idempotent-replayed" not in r.headers, r.text
        assert recorder.calls("POST", "/v1/customers") == 2 and recorder.calls("POST", "/v1/refunds") == 1


async def test_capture_and_cancel_replay_with_the_same_key(hub):
    tenant, _ = await stripe_tenant(hub)
    r = await create_payment(hub, tenant, capture_method="manual", payment_method="pm_card_visa", confirm=True)
    pid = r.json()["id"]
    headers = _with_key(tenant.storefront, "cap-1")
    first = await hub.request("POST", f"/v1/payments/{pid}/capture", json={"amount": 1500}, headers=headers)
    again = await hub.request("POST", f"/v1/payments/{pid}/capture", json={"amount": 1500}, headers=headers)
    assert first.status_code == again.status_code == 200, first.text
    assert again.headers.get("idempotent-replayed") == "true" and again.json() == first.json()
    r = await create_payment(hub, tenant, capture_method="manual", payment_method="pm_card_visa", confirm=True)
    other = r.json()["id"]
    headers = _with_key(tenant.storefront, "can-1")
    first = await hub.request("POST", f"/v1/payments/{other}/cancel", headers=headers)
    again = await hub.request("POST", f"/v1/payments/{other}/cancel", headers=headers)
    assert first.status_code == again.status_code == 200 and first.json()["status"] == "canceled"
    assert again.headers.get("idempotent-replayed") == "true"
    # The same key on another payment's cancel is another request body: a conflict, never a replay.
    third = await hub.request("POST", f"/v1/payments/{pid}/cancel", headers=headers)
    assert third.status_code == 409 and third.json()["code"] == "idempotency_conflict"


async def test_a_key_still_running_is_in_progress_with_a_short_retry_after(database_url, emulator, tmp_path):
    # While the first request is at Stripe, the same request reaches another worker (a second
    # app instance on the same database).
    box: dict = {}
    recorder = Recorder(emulator.url)
    original = recorder._handle

    async def meanwhile(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v1/refunds" and "second" not in box:
            box["second"] = await box["two"].request("POST", box["path"], json={"amount": 100}, headers=box["headers"])
        return await original(request)

    recorder.transport = httpx.MockTransport(meanwhile)
    async with (
        recorded_hub(database_url, str(tmp_path / "a"), emulator.url, recorder) as one,
        recorded_hub(database_url, str(tmp_path / "b"), emulator.url, Recorder(emulator.url)) as two,
    ):
        tenant, _ = await stripe_tenant(one)
        payment = await _paid(one, tenant)
        box.update(two=two, path=f"/v1/payments/{payment['id']}/refunds", headers=_with_key(tenant.admin, "slow-1"))
        first = await one.request("POST", box["path"], json={"amount": 100}, headers=box["headers"])
        assert first.status_code == 201, first.text
        second = box["second"]
        assert second.status_code == 409 and second.json()["code"] == "idempotency_in_progress", second.text
        assert 1 <= int(second.headers["retry-after"]) <= 5
        assert recorder.calls("POST", "/v1/refunds") == 1
        again = await two.request("POST", box["path"], json={"amount": 100}, headers=box["headers"])
        assert again.status_code == 201 and again.json() == first.json()


async def test_a_refund_retried_after_a_lost_answer_resumes_the_same_refund(database_url, emulator, tmp_path):
    recorder = Recorder(emulator.url)
    lose_answers(recorder, "POST", "/v1/refunds")
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, _ = await stripe_tenant(hub)
        payment = await _paid(hub, tenant)
        path = f"/v1/payments/{payment['id']}/refunds"
        headers = _with_key(tenant.admin, "lost-1")
        r = await hub.request("POST", path, json={"amount": 300}, headers=headers)
        assert r.status_code == 503 and r.json()["code"] == "provider_unavailable"
        r = await hub.request("POST", path, json={"amount": 300}, headers=headers)
        assert r.status_code == 201, r.text
        # Asked again under the same Stripe idempotency key (Stripe answers it with the first refund).
        keys = recorder.idempotency_keys("POST", "/v1/refunds")
        assert len(keys) == 2 and keys[0] == keys[1] and keys[0]
        listed = (await hub.request("GET", path, headers=tenant.admin)).json()["data"]
        assert [(x["id"], x["amount"]) for x in listed] == [(r.json()["id"], 300)]


async def test_a_checkout_session_with_the_same_key_is_created_once(database_url, emulator, tmp_path):
    state: dict = {}
    recorder = Recorder(emulator.url, answer=checkout_stripe(state))
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, _ = await stripe_tenant(hub)
        headers = _with_key(tenant.storefront, "cs-1")
        first = await hub.request("POST", "/v1/checkout/sessions", json=CHECKOUT_BODY, headers=headers)
        again = await hub.request("POST", "/v1/checkout/sessions", json=CHECKOUT_BODY, headers=headers)
        assert first.status_code == again.status_code == 201, first.text
        assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
        assert recorder.calls("POST", "/v1/checkout/sessions") == 1


async def test_keys_are_kept_their_retention_window_then_pruned(database_url, emulator, tmp_path):
    """Kept past the 24 hours a replay is promised, for HUB_RETENTION_IDEMPOTENCY_DAYS (7 by default)."""
    from datetime import timedelta

    from sqlalchemy import select, update

    from hub.db.base import utcnow
    from hub.db.engine import make_engine, make_sessionmaker
    from hub.db.idempotency import IdempotencyRecord
    from hub.retention.rules import prune
    from hub.settings import RetentionSettings

    recorder = Recorder(emulator.url)
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, _ = await stripe_tenant(hub)
        paid = await create_payment(hub, tenant, payment_method="pm_card_visa", confirm=True)
        assert paid.status_code == 201, paid.text
        for key in ("old", "new"):
            r = await hub.request(
                "POST",
                f"/v1/payments/{paid.json()['id']}/refunds",
                json={"amount": 100},
                headers=_with_key(tenant.admin, key),
            )
            assert r.status_code == 201, r.text
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            for key, age in (("old", timedelta(days=7, hours=1)), ("new", timedelta(days=6, hours=23))):
                await session.execute(
                    update(IdempotencyRecord).where(IdempotencyRecord.key == key).values(created_at=utcnow() - age)
                )
            await session.commit()
        pruned = await prune(engine, RetentionSettings())
        assert pruned["idempotency_records"] == 1
        async with make_sessionmaker(engine)() as session:
            left = (await session.execute(select(IdempotencyRecord.key))).scalars().all()
        assert left == ["new"]
    finally:
        await engine.dispose()


async def test_a_replayed_payment_creation_says_so(hub):
    tenant, _ = await stripe_tenant(hub)
    first = await create_payment(hub, tenant, idempotency_key="pay-1")
    again = await create_payment(hub, tenant, idempotency_key="pay-1")
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
    assert again.content == first.content


async def test_a_request_the_hub_refuses_leaves_its_key_to_the_same_request(database_url, tmp_path):
    # A refusal by the hub itself (here a void of an invoice already void) is no answer to keep:
    # the same request with the key runs again, and is refused again, at once and on every database.
    from tests.support.recurring import new_customer, post
    from tests.support.stripe_mock import StripeMock, hub_over
    from tests.support.stripe_recurring import StripeRecurring

    fake = StripeRecurring()
    async with hub_over(StripeMock(fake.handle), database_url, str(tmp_path)) as hub:
        tenant, _ = await stripe_tenant(hub)
        guest = await new_customer(hub, tenant)
        body = {"customer_id": guest["id"], "currency": "usd", "items": [{"description": "Room", "amount": 1000}]}
        invoice = (await post(hub, tenant, "/v1/invoices", {**body, "send": True})).json()
        path = f"/v1/invoices/{invoice['id']}/void"
        assert (await post(hub, tenant, path, None, scope="admin")).status_code == 200
        for _ in range(2):
            r = await post(hub, tenant, path, None, key="void-again", scope="admin")
            assert r.status_code == 409 and r.json()["code"] == "invalid_state", r.text
            assert "idempotent-replayed" not in r.headers
