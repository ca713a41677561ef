"""A tenant's Stripe Customer, made by a subscription request that Stripe then refused, is kept."""

from __future__ import annotations

import json

import httpx

from hub.billing.settings import BillingPlan
from tests.support.billing import billing_settings
from tests.support.hub import PLATFORM, build_client, make_settings

PLAN = BillingPlan(id="starter", name="Starter", price="price_starter", amount=2900, currency="usd", interval="month")


async def test_a_refused_subscription_keeps_the_customer_it_made(database_url, hub_home):
    calls: list[str] = []

    def stripe(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/v1/customers":
            return httpx.Response(200, json={"id": "cus_kept", "object": "customer"})
        return httpx.Response(
            400, json={"error": {"type": "invalid_request_error", "message": "No such plan", "param": "items"}}
        )

    settings = make_settings(database_url, str(hub_home))
    billing = billing_settings("https://api.stripe.test", (PLAN,))
    async with build_client(settings, billing=billing, billing_transport=httpx.MockTransport(stripe)) as client:
        tenant = (await client.post("/v1/tenants", json={"name": "Acme"}, headers=PLATFORM)).json()
        path = f"/v1/tenants/{tenant['id']}/subscription"
        first = await client.post(path, json={"plan": "starter"}, headers=PLATFORM)
        assert first.status_code >= 400 and first.status_code < 500, first.text
        second = await client.post(path, json={"plan": "starter"}, headers=PLATFORM)
        assert second.status_code == first.status_code, second.text
        assert (await client.get(path, headers=PLATFORM)).status_code == 404
    # The second request found the customer's row: Stripe was asked for one customer only.
    assert calls == ["/v1/customers", "/v1/subscriptions", "/v1/subscriptions"], json.dumps(calls)
