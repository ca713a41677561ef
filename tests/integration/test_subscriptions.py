"""Subscriptions: create with a card or a trial, read, list, cancel now or at period end, and the
events that keep their status true in any order."""

from __future__ import annotations

import time

import pytest

from tests.support import stripe_events as se
from tests.support.inbox import delivered
from tests.support.payments import Recorder, emulator_get, recorded_hub, stripe_tenant
from tests.support.problem import assert_problem
from tests.support.recurring import monthly_price, new_customer, post
from tests.support.stripe_mock import StripeMock, hub_over
from tests.support.stripe_recurring import StripeRecurring

WEBHOOK_SECRET = "whsec_tenantsecret00001"  # what stripe_tenant registers


@pytest.fixture
async def gym(database_url, emulator, shared_home):
    recorder = Recorder(emulator.url)
    async with recorded_hub(database_url, str(shared_home), emulator.url, recorder, shared=True) as hub:
        owner, sk = await stripe_tenant(hub, "Gym")
        other, _ = await stripe_tenant(hub, "Other")
        product = (await post(hub, owner, "/v1/products", {"name": "Membership"})).json()
        price = (
            await post(
                hub,
                owner,
                "/v1/prices",
                {
                    "product_id": product["id"],
                    "currency": "usd",
                    "unit_amount": 4900,
                    "recurring": {"interval": "month"},
                },
            )
        ).json()
        member = await new_customer(hub, owner)
        yield hub, recorder, owner, sk, other, price, member


async def subscribe(hub, tenant, price, member, key=None, **body):
    return await post(
        hub,
        tenant,
        "/v1/subscriptions",
        {"customer_id": member["id"], "items": [{"price_id": price["id"]}], **body},
        key=key,
    )


async def test_a_subscription_paid_by_card_is_active_and_canceled_at_period_end_then_now(gym, emulator):
    hub, _, owner, sk, _, price, member = gym
    r = await subscribe(hub, owner, price, member, payment_method="pm_card_visa", metadata={"plan": "gold"})
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["status"] == "active" and sub["customer_id"] == member["id"]
    assert sub["items"] == [{"price_id": price["id"], "quantity": 1}] and sub["cancel_at_period_end"] is False
    assert sub["current_period_end"] is not None and sub["latest_invoice_id"] is not None
    at_stripe = emulator_get(emulator, sk, f"/v1/subscriptions/{sub['provider_subscription_id']}")
    assert at_stripe["metadata"] == {"plan": "gold", "hub_tenant_id": owner.id, "hub_subscription_id": sub["id"]}
    assert at_stripe["customer"] == member["provider_customer_id"]

    assert (await hub.request("GET", f"/v1/subscriptions/{sub['id']}", headers=owner.storefront)).json() == sub
    listed = (
        await hub.request(
            "GET", f"/v1/subscriptions?customer_id={member['id']}&status=active", headers=owner.storefront
        )
    ).json()
    assert [s["id"] for s in listed["data"]] == [sub["id"]]

    r = await post(hub, owner, f"/v1/subscriptions/{sub['id']}/cancel", {"at_period_end": True}, scope="admin")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active" and r.json()["cancel_at_period_end"] is True
    assert emulator_get(emulator, sk, f"/v1/subscriptions/{sub['provider_subscription_id']}")["cancel_at_period_end"]

    r = await post(hub, owner, f"/v1/subscriptions/{sub['id']}/cancel", None, scope="admin")
    assert r.status_code == 200, r.text and r.json()["status"] == "canceled"
    assert r.json()["status"] == "canceled"
    assert emulator_get(emulator, sk, f"/v1/subscriptions/{sub['provider_subscription_id']}")["status"] == "canceled"
    again = await post(hub, owner, f"/v1/subscriptions/{sub['id']}/cancel", None, scope="admin")
    assert_problem(again, 409, "invalid_state")


async def test_a_trial_starts_trialing_without_a_card(database_url, tmp_path):
    # The emulator never reports "trialing" (it leaves a trial "incomplete"): Stripe's answer is played here.
    fake = StripeRecurring()
    async with hub_over(StripeMock(fake.handle), database_url, str(tmp_path)) as hub:
        tenant, _ = await stripe_tenant(hub, "Gym")
        price = await monthly_price(hub, tenant)
        member = await new_customer(hub, tenant)
        r = await subscribe(hub, tenant, price, member, trial_days=14)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "trialing"
        (sent,) = fake.sent("POST", "/v1/subscriptions")
        assert sent["trial_period_days"] == "14"
        assert not [q for q in fake.requests if q.url.path.endswith("/attach")]


async def test_create_and_cancel_replay_with_the_same_key_and_conflict_with_another_body(gym):
    hub, recorder, owner, _, _, price, member = gym
    first = await subscribe(hub, owner, price, member, key="s-1", trial_days=7)
    again = await subscribe(hub, owner, price, member, key="s-1", trial_days=7)
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert recorder.calls("POST", "/v1/subscriptions") == 1
    assert_problem(await subscribe(hub, owner, price, member, key="s-1", trial_days=8), 409, "idempotency_conflict")
    assert recorder.calls("POST", "/v1/subscriptions") == 1

    path = f"/v1/subscriptions/{first.json()['id']}/cancel"
    c1 = await post(hub, owner, path, {"at_period_end": True}, key="c-1", scope="admin")
    c2 = await post(hub, owner, path, {"at_period_end": True}, key="c-1", scope="admin")
    assert c1.status_code == c2.status_code == 200 and c2.json() == c1.json()
    assert c2.headers["idempotent-replayed"] == "true"
    assert_problem(
        await post(hub, owner, path, {"at_period_end": False}, key="c-1", scope="admin"), 409, "idempotency_conflict"
    )
    assert c1.json()["status"] == first.json()["status"] and c1.json()["cancel_at_period_end"] is True


async def test_another_tenants_subscription_customer_and_price_are_404_and_nothing_reaches_stripe(gym):
    hub, recorder, owner, _, other, price, member = gym
    sub = (await subscribe(hub, owner, price, member, trial_days=7)).json()
    before = len(recorder.requests)
    assert_problem(
        await hub.request("GET", f"/v1/subscriptions/{sub['id']}", headers=other.storefront), 404, "not_found"
    )
    assert_problem(
        await post(hub, other, f"/v1/subscriptions/{sub['id']}/cancel", None, scope="admin"), 404, "not_found"
    )
    assert (await hub.request("GET", "/v1/subscriptions", headers=other.admin)).json()["data"] == []
    # Another tenant's customer, or another tenant's price, cannot be subscribed.
    assert_problem(await subscribe(hub, other, price, member, trial_days=7), 404, "not_found")
    theirs = await new_customer(hub, other)
    before = len(recorder.requests)
    assert_problem(await subscribe(hub, other, price, theirs, trial_days=7), 404, "not_found", param="items.0.price_id")
    assert len(recorder.requests) == before
    got = (await hub.request("GET", f"/v1/subscriptions/{sub['id']}", headers=owner.admin)).json()
    assert got == sub


@pytest.mark.parametrize(
    "body,param",
    [
        ({"items": []}, "items"),
        ({"items": [{"price_id": "{price}", "quantity": 0}]}, "items.0.quantity"),
        ({"trial_days": 0}, "trial_days"),
        ({"trial_days": "7"}, "trial_days"),
        ({"metadata": {"hub_subscription_id": "x"}}, "metadata.hub_subscription_id"),
    ],
)
async def test_a_bad_subscription_is_refused_before_stripe(gym, body, param):
    hub, recorder, owner, _, _, price, member = gym
    if "items" in body:
        body = {"items": [{k: (price["id"] if v == "{price}" else v) for k, v in i.items()} for i in body["items"]]}
    before = len(recorder.requests)
    r = await post(
        hub, owner, "/v1/subscriptions", {"customer_id": member["id"], "items": [{"price_id": price["id"]}], **body}
    )
    assert_problem(r, 422, "validation_error", param=param)
    assert len(recorder.requests) == before


async def test_a_one_off_price_cannot_be_subscribed_and_storefront_keys_cannot_cancel(gym):
    hub, recorder, owner, _, _, price, member = gym
    sub = (await subscribe(hub, owner, price, member, trial_days=7)).json()
    before = len(recorder.requests)
    assert_problem(await post(hub, owner, f"/v1/subscriptions/{sub['id']}/cancel", None), 403, "forbidden")
    assert len(recorder.requests) == before


# -- events --------------------------------------------------------------------------------


def _sub_object(sub: dict, tenant_id: str, status: str, *, cancel_at_period_end: bool = False) -> dict:
    return {
        "id": sub["provider_subscription_id"],
        "object": "subscription",
        "status": status,
        "cancel_at_period_end": cancel_at_period_end,
        "created": int(time.time()) - 60,
        "current_period_end": int(time.time()) + 30 * 86400,
        "customer": "cus_x",
        "latest_invoice": "in_1",
        "metadata": {"hub_tenant_id": tenant_id, "hub_subscription_id": sub["id"]},
    }


async def _send(hub, tenant, evt):
    r = await delivered(hub, tenant.id, se.encode(evt), WEBHOOK_SECRET)
    assert r.status_code == 200, r.text


async def _status(hub, tenant, sub) -> str:
    return (await hub.request("GET", f"/v1/subscriptions/{sub['id']}", headers=tenant.admin)).json()["status"]


async def test_subscription_events_move_its_status_and_a_late_incomplete_never_overwrites_active(gym):
    hub, _, owner, _, _, price, member = gym
    sub = (await subscribe(hub, owner, price, member, trial_days=7)).json()
    now = int(time.time()) + 5  # after the API's answer
    active = se.event("customer.subscription.updated", _sub_object(sub, owner.id, "active"), created=now)
    await _send(hub, owner, active)
    assert await _status(hub, owner, sub) == "active"
    # Late and repeated news changes nothing.
    await _send(
        hub,
        owner,
        se.event("customer.subscription.created", _sub_object(sub, owner.id, "incomplete"), created=now + 10),
    )
    await _send(
        hub, owner, se.event("customer.subscription.updated", _sub_object(sub, owner.id, "trialing"), created=now - 1)
    )
    await _send(hub, owner, active)
    assert await _status(hub, owner, sub) == "active"
    # Newer news moves it, back and forth as Stripe's own statuses do.
    await _send(
        hub, owner, se.event("customer.subscription.updated", _sub_object(sub, owner.id, "past_due"), created=now + 20)
    )
    assert await _status(hub, owner, sub) == "past_due"
    await _send(
        hub, owner, se.event("customer.subscription.updated", _sub_object(sub, owner.id, "active"), created=now + 30)
    )
    assert await _status(hub, owner, sub) == "active"
    # Ended is final, even learnt late; nothing after it revives the subscription.
    await _send(
        hub, owner, se.event("customer.subscription.deleted", _sub_object(sub, owner.id, "canceled"), created=now + 25)
    )
    await _send(
        hub, owner, se.event("customer.subscription.updated", _sub_object(sub, owner.id, "active"), created=now + 40)
    )
    assert await _status(hub, owner, sub) == "canceled"
    events = (await hub.request("GET", "/v1/events?limit=100", headers=owner.admin)).json()["data"]
    assert {e["outcome"] for e in events} == {"applied"}


async def test_a_subscription_event_stamped_for_another_tenant_changes_nothing(gym):
    hub, _, owner, _, other, price, member = gym
    sub = (await subscribe(hub, owner, price, member, trial_days=7)).json()
    later = int(time.time()) + 5
    # Delivered to the owner's endpoint, but stamped for another tenant: not the owner's to apply.
    await _send(
        hub, owner, se.event("customer.subscription.deleted", _sub_object(sub, other.id, "canceled"), created=later)
    )
    # Delivered to the other tenant (whose account cannot hold the owner's subscription row).
    await _send(
        hub, other, se.event("customer.subscription.deleted", _sub_object(sub, other.id, "canceled"), created=later)
    )
    assert await _status(hub, owner, sub) == sub["status"]
    outcomes = [e["outcome"] for e in (await hub.request("GET", "/v1/events", headers=other.admin)).json()["data"]]
    assert outcomes == ["ignored"]


# -- Stripe's price-based form, which the emulator does not speak ------------------------------


async def test_at_stripe_a_subscription_names_prices_and_the_card_becomes_the_customers_default(database_url, tmp_path):
    fake = StripeRecurring()
    async with hub_over(StripeMock(fake.handle), database_url, str(tmp_path)) as hub:
        tenant, _ = await stripe_tenant(hub, "Gym")
        product = (await post(hub, tenant, "/v1/products", {"name": "Membership"})).json()
        price = (
            await post(
                hub,
                tenant,
                "/v1/prices",
                {
                    "product_id": product["id"],
                    "currency": "usd",
                    "unit_amount": 4900,
                    "recurring": {"interval": "month"},
                },
            )
        ).json()
        member = await new_customer(hub, tenant)
        r = await subscribe(
            hub, tenant, price, member, payment_method="pm_1NCardVisa", items=[{"price_id": price["id"], "quantity": 2}]
        )
        assert r.status_code == 201, r.text
        sub = r.json()
        assert sub["status"] == "active" and sub["items"] == [{"price_id": price["id"], "quantity": 2}]
        assert sub["current_period_end"] is not None  # read from the item, where Stripe now keeps it
        (sent,) = fake.sent("POST", "/v1/subscriptions")
        assert sent["items[0][price]"] == price["provider_price_id"] and sent["items[0][quantity]"] == "2"
        assert sent["metadata[hub_subscription_id]"] == sub["id"]
        (attached,) = fake.sent("POST", "/v1/payment_methods/pm_1NCardVisa/attach")
        assert attached["customer"] == member["provider_customer_id"]
        default = fake.sent("POST", f"/v1/customers/{member['provider_customer_id']}")
        assert default[-1]["invoice_settings[default_payment_method]"] == "pm_1NCardVisa"


async def test_sync_re_reads_a_subscription_the_hub_missed_news_of(gym, emulator):
    import httpx

    hub, _, owner, sk, other, price, member = gym
    sub = (await subscribe(hub, owner, price, member, payment_method="pm_card_visa")).json()
    assert sub["status"] == "active"
    # Canceled at Stripe directly (the dashboard, say), and the event never reached the hub.
    httpx.delete(f"{emulator.url}/v1/subscriptions/{sub['provider_subscription_id']}", auth=(sk, ""), timeout=10)
    assert_problem(await post(hub, other, f"/v1/subscriptions/{sub['id']}/sync", None), 404, "not_found")
    r = await post(hub, owner, f"/v1/subscriptions/{sub['id']}/sync", None)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "canceled"


async def test_a_subscription_moving_status_is_announced_to_the_tenants_endpoints(gym):
    hub, _, owner, _, _, price, member = gym
    endpoint = await hub.request(
        "POST",
        "/v1/notification-endpoints",
        json={"url": "http://127.0.0.1:9/hooks", "enabled_events": ["subscription.active", "subscription.past_due"]},
        headers=owner.admin,
    )
    assert endpoint.status_code == 201, endpoint.text
    sub = (await subscribe(hub, owner, price, member, trial_days=7)).json()
    now = int(time.time()) + 5
    for status, at in (("active", now), ("active", now + 1), ("past_due", now + 2), ("trialing", now - 5)):
        await _send(
            hub, owner, se.event("customer.subscription.updated", _sub_object(sub, owner.id, status), created=at)
        )
    deliveries = (
        await hub.request("GET", f"/v1/notification-endpoints/{endpoint.json()['id']}/deliveries", headers=owner.admin)
    ).json()["data"]
    # Each move once (a repeat and a late, older status are not news); nothing else subscribed to.
    assert sorted(d["type"] for d in deliveries) == ["subscription.active", "subscription.past_due"]
