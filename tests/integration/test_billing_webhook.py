"""The platform billing webhook: only the platform's secret verifies; each event applies once and in order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from hub.billing.settings import BillingPlan
from hub.db.billing import BillingEvent, BillingSubscription
from tests.support import stripe_events as se
from tests.support.billing import (
    PLATFORM_SECRET_KEY,
    PLATFORM_WEBHOOK_SECRET,
    TENANT_WEBHOOK_SECRET,
    billing_settings,
    create_emulator_plan,
    event_body,
    signature_header,
    signed,
)
from tests.support.hub import PLATFORM, HubClient, build_client, make_settings

WEBHOOK = "/v1/platform/billing/webhook"


@pytest.fixture(scope="module")
def plans(emulator) -> tuple[BillingPlan, ...]:
    """The platform's one plan, made once at the emulator for this module (tests only subscribe to it)."""
    return (
        BillingPlan(
            id="starter",
            name="Starter",
            price=create_emulator_plan(emulator.url),
            amount=2900,
            currency="usd",
            interval="month",
        ),
    )


@pytest.fixture
async def billing_hub(database_url, shared_home, emulator, plans) -> AsyncIterator[HubClient]:
    """The hub with platform billing, on an app built once for its settings (plans included)."""
    settings = make_settings(database_url, str(shared_home), HUB_STRIPE_API_BASE=emulator.url)
    async with build_client(settings, shared=True, billing=billing_settings(emulator.url, plans)) as client:
        yield HubClient(client, settings)


@pytest.fixture
async def db(database_url):
    engine = create_async_engine(database_url)

    async def scalar(stmt):
        async with engine.connect() as conn:
            return (await conn.execute(stmt)).scalar()

    yield scalar
    await engine.dispose()


async def subscribed(hub: HubClient, emulator) -> tuple[str, dict]:
    """A tenant subscribed through the hub, and its Subscription as the emulator holds it."""
    tenant = await hub.create_tenant()
    r = await hub.request(
        "POST",
        f"/v1/tenants/{tenant.id}/subscription",
        headers=PLATFORM,
        json={"plan": "starter", "payment_method": "pm_card_visa"},
    )
    assert r.status_code == 201, r.text
    sub = httpx.get(
        f"{emulator.url}/v1/subscriptions/{r.json()['stripe_subscription_id']}",
        auth=(PLATFORM_SECRET_KEY, ""),
        timeout=10,
    ).json()
    return tenant.id, sub


def invoice_for(sub: dict, *, amount_paid: int) -> dict:
    return {
        "id": "in_test",
        "object": "invoice",
        "customer": sub["customer"],
        "amount_paid": amount_paid,
        "parent": {"type": "subscription_details", "subscription_details": {"subscription": sub["id"]}},
    }


async def deliver(hub: HubClient, event_type: str, obj: dict, **kw) -> httpx.Response:
    body, headers = signed(event_type, obj, **kw)
    return await hub.request("POST", WEBHOOK, content=body, headers=headers)


async def status_of(hub: HubClient, tenant_id: str) -> str:
    r = await hub.request("GET", f"/v1/tenants/{tenant_id}/subscription", headers=PLATFORM)
    assert r.status_code == 200, r.text
    return r.json()["status"]


async def test_events_keep_the_tenant_billing_status(billing_hub, emulator):
    tenant_id, sub = await subscribed(billing_hub, emulator)
    t = int(time.time())
    r = await deliver(billing_hub, "customer.subscription.updated", {**sub, "status": "past_due"}, created=t + 10)
    assert r.status_code == 200 and r.json() == {"received": True}
    assert await status_of(billing_hub, tenant_id) == "past_due"
    r = await deliver(billing_hub, "invoice.payment_succeeded", invoice_for(sub, amount_paid=2900), created=t + 20)
    assert r.status_code == 200
    assert await status_of(billing_hub, tenant_id) == "active"
    r = await deliver(billing_hub, "invoice.payment_failed", invoice_for(sub, amount_paid=0), created=t + 30)
    assert await status_of(billing_hub, tenant_id) == "past_due"
    r = await deliver(billing_hub, "customer.subscription.deleted", {**sub, "status": "canceled"}, created=t + 40)
    assert r.status_code == 200
    assert await status_of(billing_hub, tenant_id) == "canceled"


async def test_a_trialing_subscription_is_reported_as_trialing(billing_hub, emulator):
    tenant_id, sub = await subscribed(billing_hub, emulator)
    t = int(time.time())
    await deliver(billing_hub, "customer.subscription.updated", {**sub, "status": "trialing"}, created=t + 5)
    assert await status_of(billing_hub, tenant_id) == "trialing"
    # The zero invoice Stripe pays when a trial starts says nothing about payment.
    await deliver(billing_hub, "invoice.payment_succeeded", invoice_for(sub, amount_paid=0), created=t + 6)
    assert await status_of(billing_hub, tenant_id) == "trialing"


async def test_late_events_never_resurrect_a_canceled_subscription(billing_hub, emulator):
    tenant_id, sub = await subscribed(billing_hub, emulator)
    t = int(time.time())
    await deliver(billing_hub, "customer.subscription.deleted", {**sub, "status": "canceled"}, created=t + 30)
    # Older events delivered late, and even one stamped later, cannot bring it back.
    await deliver(billing_hub, "customer.subscription.updated", {**sub, "status": "active"}, created=t + 10)
    await deliver(billing_hub, "invoice.payment_succeeded", invoice_for(sub, amount_paid=2900), created=t + 20)
    await deliver(billing_hub, "customer.subscription.updated", {**sub, "status": "active"}, created=t + 60)
    assert await status_of(billing_hub, tenant_id) == "canceled"


async def test_an_older_event_does_not_override_a_newer_status(billing_hub, emulator):
    tenant_id, sub = await subscribed(billing_hub, emulator)
    t = int(time.time())
    await deliver(billing_hub, "customer.subscription.updated", {**sub, "status": "past_due"}, created=t + 20)
    await deliver(billing_hub, "customer.subscription.updated", {**sub, "status": "active"}, created=t + 10)
    assert await status_of(billing_hub, tenant_id) == "past_due"


async def test_a_duplicate_event_is_stored_once_and_counted(billing_hub, emulator, db):
    tenant_id, sub = await subscribed(billing_hub, emulator)
    t = int(time.time())
    body = event_body(
        "customer.subscription.updated", {**sub, "status": "past_due"}, event_id="evt_dup_1", created=t + 10
    )
    headers = {"Stripe-Signature": signature_header(body, PLATFORM_WEBHOOK_SECRET)}
    results = await asyncio.gather(
        *[billing_hub.request("POST", WEBHOOK, content=body, headers=headers) for _ in range(5)]
    )
    assert [r.status_code for r in results] == [200] * 5
    assert await db(select(func.count()).select_from(BillingEvent)) == 1
    assert await db(select(BillingEvent.deliveries).where(BillingEvent.stripe_event_id == "evt_dup_1")) == 5
    assert await db(select(BillingEvent.outcome).where(BillingEvent.stripe_event_id == "evt_dup_1")) == "applied"
    assert await status_of(billing_hub, tenant_id) == "past_due"


async def test_an_event_signed_with_a_tenant_webhook_secret_is_refused(billing_hub, emulator, db):
    tenant = await billing_hub.create_tenant()
    assert (await billing_hub.register_stripe(tenant, webhook_secret=TENANT_WEBHOOK_SECRET)).status_code == 200
    tenant_id, sub = await subscribed(billing_hub, emulator)
    r = await deliver(
        billing_hub, "customer.subscription.deleted", {**sub, "status": "canceled"}, secret=TENANT_WEBHOOK_SECRET
    )
    assert r.status_code == 400 and r.json()["code"] == "signature_invalid"
    assert r.headers["content-type"].startswith("application/problem+json")
    assert TENANT_WEBHOOK_SECRET not in r.text and PLATFORM_WEBHOOK_SECRET not in r.text
    assert await db(select(func.count()).select_from(BillingEvent)) == 0
    assert await status_of(billing_hub, tenant_id) == "active"


@pytest.mark.parametrize(
    "case", ["bad_signature", "missing_header", "expired", "not_json", "not_an_object", "not_an_event", "no_object"]
)
async def test_unverifiable_bodies_are_400_signature_invalid_and_write_nothing(billing_hub, emulator, db, case):
    tenant_id, sub = await subscribed(billing_hub, emulator)
    body = event_body("customer.subscription.deleted", {**sub, "status": "canceled"})
    headers = {"Stripe-Signature": signature_header(body, PLATFORM_WEBHOOK_SECRET)}
    if case == "bad_signature":
        headers = {"Stripe-Signature": signature_header(body, "whsec_someoneelse0000000000")}
    elif case == "missing_header":
        headers = {}
    elif case == "expired":
        headers = {
            "Stripe-Signature": signature_header(body, PLATFORM_WEBHOOK_SECRET, timestamp=int(time.time()) - 301)
        }
    else:
        body = {
            "not_json": b"event?",
            "not_an_object": b"[1, 2]",
            "not_an_event": b'{"hello": "world"}',
            "no_object": b'{"id": "evt_1", "type": "customer.subscription.deleted", "created": 1, "data": {}}',
        }[case]
        headers = {"Stripe-Signature": signature_header(body, PLATFORM_WEBHOOK_SECRET)}
    r = await billing_hub.request("POST", WEBHOOK, content=body, headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "signature_invalid"
    assert await db(select(func.count()).select_from(BillingEvent)) == 0
    assert await status_of(billing_hub, tenant_id) == "active"


async def test_any_one_matching_signature_verifies(billing_hub, emulator):
    tenant_id, sub = await subscribed(billing_hub, emulator)
    body = event_body("customer.subscription.updated", {**sub, "status": "past_due"}, created=int(time.time()) + 5)
    header = signature_header(body, "whsec_oldsecret00000000000000", PLATFORM_WEBHOOK_SECRET)
    r = await billing_hub.request("POST", WEBHOOK, content=body, headers={"Stripe-Signature": header})
    assert r.status_code == 200, r.text
    assert await status_of(billing_hub, tenant_id) == "past_due"


async def test_an_event_about_a_customer_the_hub_did_not_create_is_ignored(billing_hub, db):
    obj = {"id": "sub_foreign", "object": "subscription", "customer": "cus_foreign", "status": "active"}
    r = await deliver(billing_hub, "customer.subscription.created", obj, event_id="evt_foreign")
    assert r.status_code == 200
    assert await db(select(BillingEvent.outcome).where(BillingEvent.stripe_event_id == "evt_foreign")) == "ignored"
    assert await db(select(func.count()).select_from(BillingSubscription)) == 0


async def test_a_subscription_made_at_stripe_for_a_known_customer_is_adopted(billing_hub, emulator):
    tenant_id, sub = await subscribed(billing_hub, emulator)
    # A second subscription for the same customer made at Stripe (e.g. in the dashboard): the
    # hub learns it from the event alone and it becomes the tenant's current subscription.
    other = {**sub, "id": "sub_fromdashboard0001", "status": "trialing"}
    r = await deliver(billing_hub, "customer.subscription.created", other)
    assert r.status_code == 200
    r = await billing_hub.request("GET", f"/v1/tenants/{tenant_id}/subscription", headers=PLATFORM)
    assert r.json()["stripe_subscription_id"] == "sub_fromdashboard0001"
    assert r.json()["status"] == "trialing" and r.json()["plan"] == "starter"


async def test_a_body_over_one_mebibyte_is_413(billing_hub):
    body = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    r = await billing_hub.request(
        "POST", WEBHOOK, content=body, headers={"Stripe-Signature": signature_header(body, PLATFORM_WEBHOOK_SECRET)}
    )
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"


async def test_without_a_webhook_secret_the_webhook_answers_503(database_url, hub_home, emulator):
    settings = make_settings(database_url, str(hub_home), HUB_STRIPE_API_BASE=emulator.url)
    billing = billing_settings(emulator.url, (), webhook_secret=None)
    async with build_client(settings, billing=billing) as client:
        body, headers = signed("customer.subscription.updated", {"id": "sub_x"})
        r = await client.post(WEBHOOK, content=body, headers=headers)
        assert r.status_code == 503 and r.json()["code"] == "billing_disabled"


async def test_after_cancellation_the_tenant_can_subscribe_again_as_the_same_customer(billing_hub, emulator):
    tenant_id, sub = await subscribed(billing_hub, emulator)
    await deliver(
        billing_hub, "customer.subscription.deleted", {**sub, "status": "canceled"}, created=int(time.time()) + 5
    )
    r = await billing_hub.request(
        "POST", f"/v1/tenants/{tenant_id}/subscription", json={"plan": "starter"}, headers=PLATFORM
    )
    assert r.status_code == 201, r.text
    assert r.json()["stripe_subscription_id"] != sub["id"] and r.json()["stripe_customer_id"] == sub["customer"]
    assert r.json()["status"] == "active"
    # A late event about the old subscription does not touch the new one.
    await deliver(billing_hub, "invoice.payment_failed", invoice_for(sub, amount_paid=0), created=int(time.time()) + 9)
    assert await status_of(billing_hub, tenant_id) == "active"


def _problem(r: httpx.Response, code: str) -> None:
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code


@pytest.mark.parametrize("depth", [100, 5000])
async def test_a_signed_body_nested_absurdly_deep_is_400_invalid_json_and_stores_nothing(billing_hub, db, depth):
    body = se.nested_event_body(depth, type_="customer.subscription.updated")
    headers = {"Stripe-Signature": signature_header(body, PLATFORM_WEBHOOK_SECRET), "Content-Type": "application/json"}
    r = await billing_hub.request("POST", WEBHOOK, content=body, headers=headers)
    _problem(r, "invalid_json")
    assert "nested" in r.json()["detail"]
    assert await db(select(func.count()).select_from(BillingEvent)) == 0


@pytest.mark.parametrize("case", ["decoy first", "decoy after a blank", "decoy with a second equals sign", "future"])
async def test_a_future_timestamp_is_refused_whatever_decoy_sits_beside_it(billing_hub, db, case):
    body = event_body("customer.subscription.updated", {"id": "sub_x", "object": "subscription", "customer": "cus_x"})
    now = int(time.time())
    headers = {**se.decoy_headers(body, PLATFORM_WEBHOOK_SECRET, now)}
    headers["future"] = signature_header(body, PLATFORM_WEBHOOK_SECRET, timestamp=now + se.YEAR)
    r = await billing_hub.request(
        "POST", WEBHOOK, content=body, headers={"Stripe-Signature": headers[case], "Content-Type": "application/json"}
    )
    _problem(r, "signature_invalid")
    assert await db(select(func.count()).select_from(BillingEvent)) == 0
