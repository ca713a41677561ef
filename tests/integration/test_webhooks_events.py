"""Item 4: GET /v1/events lists the tenant's distinct events, newest first, with deliveries and outcome."""

from __future__ import annotations

import pytest

from tests.support import stripe_events as se
from tests.support.inbox import wait_applied

SECRET = "whsec_tenantAsecret0001"


@pytest.fixture
async def tenant(hub):
    t = await hub.create_tenant("A")
    assert (await hub.register_stripe(t, webhook_secret=SECRET)).status_code == 200
    return t


async def deliver(hub, tenant, evt, secret=SECRET, times=1):
    for _ in range(times):
        r = await se.deliver(hub.http, tenant.id, se.encode(evt), secret)
        assert r.status_code == 200, r.text
    await wait_applied(hub.settings.database.url, tenant.id)


def customer_event():
    return se.event("customer.created", {"id": "cus_1", "object": "customer", "metadata": {}})


async def test_events_are_listed_newest_first_once_each_with_their_delivery_count(hub, tenant):
    events = [customer_event() for _ in range(3)]
    for n, evt in enumerate(events):
        await deliver(hub, tenant, evt, times=n + 1)
    r = await hub.request("GET", "/v1/events", headers=tenant.admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [e["provider_event_id"] for e in body["data"]] == [e["id"] for e in reversed(events)]
    assert [e["deliveries"] for e in body["data"]] == [3, 2, 1]
    first = body["data"][0]
    assert set(first) >= {"id", "provider_event_id", "type", "received_at", "deliveries", "payment_id", "outcome"}
    assert first["type"] == "customer.created" and first["outcome"] == "ignored" and body["has_more"] is False


async def test_events_page_with_limit_and_starting_after(hub, tenant):
    events = [customer_event() for _ in range(5)]
    for evt in events:
        await deliver(hub, tenant, evt)
    seen, cursor = [], None
    while True:
        url = "/v1/events?limit=2" + (f"&starting_after={cursor}" if cursor else "")
        body = (await hub.request("GET", url, headers=tenant.admin)).json()
        seen += [e["provider_event_id"] for e in body["data"]]
        if not body["has_more"]:
            break
        cursor = body["data"][-1]["id"]
    assert seen == [e["id"] for e in reversed(events)]


async def test_a_tenant_sees_only_its_own_events(hub, tenant):
    other = await hub.create_tenant("B")
    assert (await hub.register_stripe(other, webhook_secret="whsec_tenantBsecret0002")).status_code == 200
    await deliver(hub, tenant, customer_event())
    assert (await hub.request("GET", "/v1/events", headers=other.admin)).json()["data"] == []


@pytest.mark.parametrize("who, status", [("storefront", 403), ("nobody", 401)])
async def test_the_event_list_needs_a_tenant_admin_key(hub, tenant, who, status):
    headers = tenant.storefront if who == "storefront" else {}
    r = await hub.request("GET", "/v1/events", headers=headers)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc"])
async def test_a_bad_limit_is_a_validation_error(hub, tenant, query):
    r = await hub.request("GET", f"/v1/events?{query}", headers=tenant.admin)
    assert r.status_code in (400, 422) and r.json()["code"] == "validation_error", r.text
