"""Item 5: registering credentials without webhook_secret makes the hub keep the endpoint on the
tenant's own Stripe account: created once, then reused or repaired, never duplicated.

The emulator has no webhook_endpoints API, so the real SDK talks to a Stripe-shaped fake
through an httpx.MockTransport (tests/support/stripe_fake.py)."""

from __future__ import annotations

from tests.support import stripe_events as se
from tests.support.stripe_fake import PUBLIC_URL


async def register(hub, tenant, secret=None):
    return await hub.register_stripe(tenant, webhook_secret=secret)


async def verifies(hub, tenant, secret: str) -> bool:
    body = se.encode(se.event("customer.created", {"id": "cus_1", "object": "customer"}))
    r = await se.deliver(hub.http, tenant.id, body, secret)
    assert r.status_code in (200, 400), r.text
    return r.status_code == 200


async def test_registration_without_a_secret_creates_the_endpoint_and_stores_its_secret(hub_on_fake, fake):
    hub = hub_on_fake
    tenant = await hub.create_tenant()
    r = await register(hub, tenant)
    assert r.status_code == 200, r.text
    url = f"{PUBLIC_URL}/v1/webhooks/stripe/{tenant.id}"
    [endpoint] = fake.at(url)
    assert r.json()["webhook_secret_set"] is True and r.json()["webhook_url"] == url
    assert r.json()["webhook_endpoint_id"] == endpoint["id"]
    assert {
        "payment_intent.succeeded",
        "charge.refunded",
        "refund.updated",
        "charge.dispute.created",
        "payment_intent.amount_capturable_updated",
    } <= set(endpoint["enabled_events"])
    assert endpoint["metadata"] == {"hub_tenant_id": tenant.id}
    assert fake.secrets[endpoint["id"]] not in r.text
    assert await verifies(hub, tenant, fake.secrets[endpoint["id"]])


async def test_a_retry_reuses_the_endpoint_instead_of_duplicating_it(hub_on_fake, fake):
    hub = hub_on_fake
    tenant = await hub.create_tenant()
    assert (await register(hub, tenant)).status_code == 200
    [endpoint] = fake.endpoints.values()
    for _ in range(2):
        r = await register(hub, tenant)
        assert r.status_code == 200, r.text
        assert r.json()["webhook_endpoint_id"] == endpoint["id"]
    assert list(fake.endpoints) == [endpoint["id"]]
    assert not [c for c in fake.calls if c[0] == "DELETE"]
    assert await verifies(hub, tenant, fake.secrets[endpoint["id"]])


async def test_a_disabled_or_narrowed_endpoint_is_repaired_in_place(hub_on_fake, fake):
    hub = hub_on_fake
    tenant = await hub.create_tenant()
    assert (await register(hub, tenant)).status_code == 200
    [endpoint] = fake.endpoints.values()
    endpoint["status"], endpoint["enabled_events"] = "disabled", ["payment_intent.succeeded"]
    assert (await register(hub, tenant)).status_code == 200
    assert list(fake.endpoints) == [endpoint["id"]]
    assert endpoint["status"] == "enabled" and "charge.refunded" in endpoint["enabled_events"]
    assert await verifies(hub, tenant, fake.secrets[endpoint["id"]])


async def test_an_orphan_endpoint_whose_secret_the_hub_never_stored_is_replaced(hub_on_fake, fake):
    hub = hub_on_fake
    tenant = await hub.create_tenant()
    # A first attempt created it at Stripe, then failed before the hub stored its secret.
    orphan = fake.add_endpoint(f"{PUBLIC_URL}/v1/webhooks/stripe/{tenant.id}")
    fake.add_endpoint("https://elsewhere.example.com/hook")  # the tenant's own, untouched
    r = await register(hub, tenant)
    assert r.status_code == 200, r.text
    [endpoint] = fake.at(f"{PUBLIC_URL}/v1/webhooks/stripe/{tenant.id}")
    assert endpoint["id"] != orphan and orphan not in fake.endpoints and len(fake.endpoints) == 2
    assert await verifies(hub, tenant, fake.secrets[endpoint["id"]])


async def test_an_endpoint_deleted_at_stripe_is_recreated_and_the_old_secret_rolls_over(hub_on_fake, fake):
    hub = hub_on_fake
    tenant = await hub.create_tenant()
    assert (await register(hub, tenant)).status_code == 200
    [old] = fake.endpoints.values()
    old_secret = fake.secrets[old["id"]]
    del fake.endpoints[old["id"]]
    r = await register(hub, tenant)
    assert r.status_code == 200, r.text
    [new] = fake.endpoints.values()
    assert r.json()["webhook_endpoint_id"] == new["id"] != old["id"]
    assert await verifies(hub, tenant, fake.secrets[new["id"]])
    assert await verifies(hub, tenant, old_secret)  # deliveries already in flight, for 24 h


async def test_a_hand_made_endpoint_with_a_given_secret_is_kept_when_the_secret_is_left_out(hub_on_fake, fake):
    hub = hub_on_fake
    tenant = await hub.create_tenant()
    mine = fake.add_endpoint(f"{PUBLIC_URL}/v1/webhooks/stripe/{tenant.id}", events=["*"])
    assert (await register(hub, tenant, fake.secrets[mine])).status_code == 200
    assert not [c for c in fake.calls if c[1].startswith("/v1/webhook_endpoints")]
    r = await register(hub, tenant)  # e.g. rolling the secret key only
    assert r.status_code == 200, r.text
    assert list(fake.endpoints) == [mine] and fake.endpoints[mine]["enabled_events"] == ["*"]
    assert await verifies(hub, tenant, fake.secrets[mine])


async def test_a_key_that_may_not_manage_endpoints_stores_nothing_and_says_why(hub_on_fake, fake):
    hub = hub_on_fake
    fake.forbid_endpoints = True
    tenant = await hub.create_tenant()
    r = await register(hub, tenant)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_credentials" and r.json()["param"] == "webhook_secret"
    assert (await hub.request("GET", "/v1/providers/stripe/credentials", headers=tenant.admin)).status_code == 404
