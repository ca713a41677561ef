"""Payment changes reach the tenant's own endpoint as signed Standard Webhooks messages, whatever
moved the payment (an API call, a Stripe event), recorded in the change's own transaction."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from hub.db.engine import make_engine, make_sessionmaker
from hub.db.notifications import NotificationMessage
from hub.db.payments import Payment
from hub.payments.notify import payment_changed
from tests.support import stripe_events as se
from tests.support.notifications import add_endpoint, deliveries, eventually, notify_hub, receiver
from tests.support.payment_rows import count_rows, hub_payment
from tests.support.payments import create_payment, stripe_tenant

WEBHOOK_SECRET = "whsec_tenantAsecret0001"


@pytest.fixture
async def nhub(database_url, emulator, shared_home):
    async with notify_hub(database_url, str(shared_home), emulator.url) as client:
        yield client


async def test_create_capture_and_refund_through_the_api_each_send_a_verified_message(nhub):
    tenant, _ = await stripe_tenant(nhub)
    async with receiver() as app:
        endpoint = await add_endpoint(nhub, tenant, app.url)
        r = await create_payment(nhub, tenant, capture_method="manual", payment_method="pm_card_visa", confirm=True)
        assert r.status_code == 201, r.text
        payment_id = r.json()["id"]
        await eventually(lambda: app.of_type("payment.requires_capture"))
        r = await nhub.request("POST", f"/v1/payments/{payment_id}/capture", headers=tenant.storefront)
        assert r.status_code == 200, r.text
        await eventually(lambda: app.of_type("payment.succeeded"))
        r = await nhub.request("POST", f"/v1/payments/{payment_id}/refunds", json={"amount": 500}, headers=tenant.admin)
        assert r.status_code == 201, r.text
        await eventually(lambda: app.of_type("payment.partially_refunded"))

        shown = (await nhub.request("GET", f"/v1/payments/{payment_id}", headers=tenant.storefront)).json()
        for type_, status in [
            ("payment.requires_capture", "requires_capture"),
            ("payment.succeeded", "succeeded"),
            ("payment.partially_refunded", "partially_refunded"),
        ]:
            [message] = app.of_type(type_)
            body = message.verify(endpoint["secret"])  # raises unless the signature and timestamp hold
            assert message.method == "POST" and message.path == "/hooks"
            assert body["type"] == type_
            assert body["data"]["id"] == payment_id and body["data"]["status"] == status
            assert set(body["data"]) == set(shown)  # the Payment exactly as the API shows it
        final = app.of_type("payment.partially_refunded")[0].json()["data"]
        assert final == shown
        ids = [m.headers["webhook-id"] for m in app.messages]
        assert len(set(ids)) == len(ids) == 3


async def test_cancel_and_sync_through_the_api_announce_the_moves_they_make(nhub, emulator):
    tenant, secret_key = await stripe_tenant(nhub)
    async with receiver() as app:
        endpoint = await add_endpoint(nhub, tenant, app.url, ["payment.canceled", "payment.succeeded"])
        first = await create_payment(nhub, tenant, capture_method="manual", payment_method="pm_card_visa", confirm=True)
        r = await nhub.request("POST", f"/v1/payments/{first.json()['id']}/cancel", headers=tenant.storefront)
        assert r.status_code == 200, r.text
        [canceled] = await eventually(lambda: app.of_type("payment.canceled"))
        assert canceled.verify(endpoint["secret"])["data"]["id"] == first.json()["id"]
        # Captured at Stripe directly (its dashboard, say): a sync brings the news, and announces it.
        second = await create_payment(
            nhub, tenant, capture_method="manual", payment_method="pm_card_visa", confirm=True
        )
        pi = second.json()["provider_payment_id"]
        httpx.post(
            f"{emulator.url}/v1/payment_intents/{pi}/capture", auth=(secret_key, ""), timeout=10
        ).raise_for_status()
        r = await nhub.request("POST", f"/v1/payments/{second.json()['id']}/sync", headers=tenant.storefront)
        assert (r.status_code, r.json()["status"]) == (200, "succeeded")
        [succeeded] = await eventually(lambda: app.of_type("payment.succeeded"))
        assert succeeded.verify(endpoint["secret"])["data"]["id"] == second.json()["id"]
        assert len(app.messages) == 2  # requires_capture was not subscribed


async def test_a_stripe_event_applied_through_the_webhook_route_sends_payment_succeeded(nhub, database_url, emulator):
    tenant = await nhub.create_tenant("A")
    assert (await nhub.register_stripe(tenant, webhook_secret=WEBHOOK_SECRET)).status_code == 200
    async with receiver() as app:
        endpoint = await add_endpoint(nhub, tenant, app.url, ["payment.succeeded"])
        payment_id, pi_id = await hub_payment(database_url, emulator.url, tenant.id)
        meta = {"hub_tenant_id": tenant.id, "hub_payment_id": payment_id}
        evt = se.event(
            "payment_intent.succeeded", se.payment_intent(pi_id, "succeeded", amount_received=2000, metadata=meta)
        )
        for _ in range(2):  # a duplicate delivery changes nothing, so announces nothing
            r = await se.deliver(nhub.http, tenant.id, se.encode(evt), WEBHOOK_SECRET)
            assert r.status_code == 200, r.text
        [message] = await eventually(lambda: app.of_type("payment.succeeded"))
        body = message.verify(endpoint["secret"])
        assert body["data"]["id"] == payment_id and body["data"]["amount_received"] == 2000
        assert await count_rows(database_url, "notification_messages") == 1


async def test_only_subscribed_types_are_recorded_and_a_tenant_without_endpoints_records_nothing(nhub, database_url):
    tenant, _ = await stripe_tenant(nhub)
    r = await create_payment(nhub, tenant, capture_method="manual", payment_method="pm_card_visa", confirm=True)
    assert r.status_code == 201
    assert await count_rows(database_url, "notification_messages") == 0
    async with receiver() as app:
        await add_endpoint(nhub, tenant, app.url, ["payment.refunded"])
        r = await nhub.request("POST", f"/v1/payments/{r.json()['id']}/capture", headers=tenant.storefront)
        assert r.status_code == 200
    assert await count_rows(database_url, "notification_messages") == 0


async def test_a_tenant_never_receives_another_tenants_messages(nhub):
    tenant_a, _ = await stripe_tenant(nhub, "A")
    tenant_b, _ = await stripe_tenant(nhub, "B")
    async with receiver() as app_a, receiver() as app_b:
        await add_endpoint(nhub, tenant_a, app_a.url)
        endpoint_b = await add_endpoint(nhub, tenant_b, app_b.url)
        r = await create_payment(nhub, tenant_a, capture_method="manual", payment_method="pm_card_visa", confirm=True)
        assert r.status_code == 201
        await eventually(lambda: app_a.of_type("payment.requires_capture"))
        r = await nhub.request("POST", f"/v1/notification-endpoints/{endpoint_b['id']}/test", headers=tenant_b.admin)
        assert r.status_code == 202
        [ping] = await eventually(lambda: app_b.messages)
        assert ping.verify(endpoint_b["secret"])["type"] == "ping"
        r = await create_payment(nhub, tenant_b, capture_method="manual", payment_method="pm_card_visa", confirm=True)
        await eventually(lambda: app_b.of_type("payment.requires_capture"))
        assert [m.json()["data"]["id"] for m in app_b.of_type("payment.requires_capture")] == [r.json()["id"]]
        assert len(app_a.messages) == 1 and len(app_b.messages) == 2


async def test_a_rolled_back_payment_change_records_and_sends_nothing(nhub, database_url, emulator):
    tenant = await nhub.create_tenant("A")
    async with receiver() as app:
        endpoint = await add_endpoint(nhub, tenant, app.url)
        payment_id, _ = await hub_payment(database_url, emulator.url, tenant.id)
        engine = make_engine(database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                payment = await session.get(Payment, payment_id)
                assert payment is not None
                previous, payment.status = payment.status, "succeeded"
                await payment_changed(session, payment, previous)
                await session.flush()
                assert await session.scalar(select(func.count()).select_from(NotificationMessage)) == 1
                await session.rollback()  # the change fails after the message was added: neither stays
        finally:
            await engine.dispose()
        r = await nhub.request("POST", f"/v1/notification-endpoints/{endpoint['id']}/test", headers=tenant.admin)
        assert r.status_code == 202
        await eventually(lambda: app.of_type("ping"))
        assert [m.json()["type"] for m in app.messages] == ["ping"]
        assert await count_rows(database_url, "notification_messages") == 1
        assert len(await deliveries(nhub, tenant, endpoint["id"])) == 1
