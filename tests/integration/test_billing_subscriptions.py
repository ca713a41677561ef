"""Platform billing: plans and tenant subscriptions on the platform's own Stripe account (the emulator)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.billing.settings import BillingPlan, BillingSettings
from tests.support.billing import PLATFORM_SECRET_KEY, billing_settings, create_emulator_plan
from tests.support.emulator import Emulator
from tests.support.hub import PLATFORM, HubClient, build_client, make_settings


@pytest.fixture(scope="module")
def plans(emulator: Emulator) -> tuple[BillingPlan, ...]:
    """The platform's plans, made once at the emulator for this module (tests only subscribe to them)."""
    return (
        BillingPlan(
            id="starter",
            name="Starter",
            price=create_emulator_plan(emulator.url, amount=2900),
            amount=2900,
            currency="usd",
            interval="month",
        ),
        BillingPlan(
            id="growth",
            name="Growth",
            price=create_emulator_plan(emulator.url, amount=9900),
            amount=9900,
            currency="usd",
            interval="month",
        ),
    )


async def _hub(
    database_url: str, home: Path, emulator: Emulator, billing: BillingSettings, **kw
) -> AsyncIterator[HubClient]:
    settings = make_settings(database_url, str(home), HUB_STRIPE_API_BASE=emulator.url)
    async with build_client(settings, billing=billing, **kw) as client:
        yield HubClient(client, settings)


@pytest.fixture
async def billing_hub(database_url, shared_home, emulator, plans) -> AsyncIterator[HubClient]:
    """On an app built once for its settings and billing settings (see ``build_client``)."""
    async for h in _hub(database_url, shared_home, emulator, billing_settings(emulator.url, plans), shared=True):
        yield h


def at_emulator(emulator: Emulator, path: str) -> dict:
    r = httpx.get(f"{emulator.url}{path}", auth=(PLATFORM_SECRET_KEY, ""), timeout=10)
    r.raise_for_status()
    return r.json()


def sub_path(tenant_id: str) -> str:
    return f"/v1/tenants/{tenant_id}/subscription"


async def test_plans_list_the_configured_plans_to_the_platform_only(billing_hub, plans):
    r = await billing_hub.request("GET", "/v1/platform/billing/plans", headers=PLATFORM)
    assert r.status_code == 200, r.text
    assert [(p["id"], p["stripe_price_id"], p["amount"]) for p in r.json()["data"]] == [
        ("starter", plans[0].price, 2900),
        ("growth", plans[1].price, 9900),
    ]
    tenant = await billing_hub.create_tenant()
    assert (await billing_hub.request("GET", "/v1/platform/billing/plans")).status_code == 401
    r = await billing_hub.request("GET", "/v1/platform/billing/plans", headers=tenant.admin)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


async def test_subscribing_creates_customer_and_subscription_on_the_platform_account(billing_hub, emulator, plans):
    tenant = await billing_hub.create_tenant("Acme")
    r = await billing_hub.request(
        "POST", sub_path(tenant.id), json={"plan": "starter", "payment_method": "pm_card_visa"}, headers=PLATFORM
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["tenant_id"] == tenant.id and body["plan"] == "starter" and body["status"] == "active"
    assert body["current_period_end"] is not None
    stripe_sub = at_emulator(emulator, f"/v1/subscriptions/{body['stripe_subscription_id']}")
    assert stripe_sub["status"] == "active" and stripe_sub["customer"] == body["stripe_customer_id"]
    assert stripe_sub["plan"]["id"] == plans[0].price
    assert stripe_sub["metadata"] == {"hub_tenant_id": tenant.id, "hub_plan": "starter"}
    customer = at_emulator(emulator, f"/v1/customers/{body['stripe_customer_id']}")
    assert customer["metadata"] == {"hub_tenant_id": tenant.id} and customer["name"] == "Acme"
    assert customer["invoice_settings"]["default_payment_method"].startswith("pm_")

    r = await billing_hub.request("GET", sub_path(tenant.id), headers=PLATFORM)
    assert r.status_code == 200 and r.json() == body


async def test_subscribing_again_to_the_same_plan_returns_the_live_subscription(billing_hub, emulator):
    tenant = await billing_hub.create_tenant()
    first = await billing_hub.request(
        "POST", sub_path(tenant.id), json={"plan": "starter", "payment_method": "pm_card_visa"}, headers=PLATFORM
    )
    assert first.status_code == 201, first.text
    again = await billing_hub.request("POST", sub_path(tenant.id), json={"plan": "starter"}, headers=PLATFORM)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    customer = first.json()["stripe_customer_id"]
    subs = at_emulator(emulator, f"/v1/subscriptions?customer={customer}&status=all")["data"]
    assert [s["id"] for s in subs] == [first.json()["stripe_subscription_id"]]


async def test_another_plan_while_one_is_live_is_a_conflict(billing_hub):
    tenant = await billing_hub.create_tenant()
    r = await billing_hub.request(
        "POST", sub_path(tenant.id), json={"plan": "starter", "payment_method": "pm_card_visa"}, headers=PLATFORM
    )
    assert r.status_code == 201, r.text
    r = await billing_hub.request("POST", sub_path(tenant.id), json={"plan": "growth"}, headers=PLATFORM)
    assert r.status_code == 409 and r.json()["code"] == "subscription_exists" and r.json()["param"] == "plan"
    r = await billing_hub.request("GET", sub_path(tenant.id), headers=PLATFORM)
    assert r.json()["plan"] == "starter"


async def test_unknown_tenant_is_404_and_unknown_plan_is_422_naming_plan(billing_hub):
    r = await billing_hub.request("POST", sub_path("ten_nope"), json={"plan": "starter"}, headers=PLATFORM)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = await billing_hub.request("GET", sub_path("ten_nope"), headers=PLATFORM)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    tenant = await billing_hub.create_tenant()
    r = await billing_hub.request("POST", sub_path(tenant.id), json={"plan": "platinum"}, headers=PLATFORM)
    assert r.status_code == 422 and r.json()["code"] == "validation_error" and r.json()["param"] == "plan"
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await billing_hub.request(
        "POST", sub_path(tenant.id), json={"plan": "starter", "payment_method": "card"}, headers=PLATFORM
    )
    assert r.status_code == 422 and r.json()["param"] == "payment_method"
    r = await billing_hub.request("GET", sub_path(tenant.id), headers=PLATFORM)
    assert r.status_code == 404 and r.json()["code"] == "subscription_missing"


async def test_subscription_routes_need_the_platform_token(billing_hub):
    tenant = await billing_hub.create_tenant()
    r = await billing_hub.request("POST", sub_path(tenant.id), json={"plan": "starter"}, headers=tenant.admin)
    assert r.status_code == 403
    r = await billing_hub.request("GET", sub_path(tenant.id), headers=tenant.admin)
    assert r.status_code == 403
    assert (await billing_hub.request("GET", sub_path(tenant.id))).status_code == 401


async def test_a_declined_card_is_402_and_no_subscription_is_recorded(billing_hub):
    tenant = await billing_hub.create_tenant()
    r = await billing_hub.request(
        "POST",
        sub_path(tenant.id),
        headers=PLATFORM,
        json={"plan": "starter", "payment_method": "pm_card_visa_chargeDeclined"},
    )
    assert r.status_code == 402 and r.json()["code"] == "card_declined", r.text
    r = await billing_hub.request("GET", sub_path(tenant.id), headers=PLATFORM)
    assert r.status_code == 404 and r.json()["code"] == "subscription_missing"


async def test_the_tenant_customer_is_reused_after_a_failed_attempt(billing_hub, emulator):
    tenant = await billing_hub.create_tenant()
    r = await billing_hub.request(
        "POST",
        sub_path(tenant.id),
        headers=PLATFORM,
        json={"plan": "starter", "payment_method": "pm_card_visa_chargeDeclined"},
    )
    assert r.status_code == 402
    r = await billing_hub.request(
        "POST", sub_path(tenant.id), headers=PLATFORM, json={"plan": "starter", "payment_method": "pm_card_visa"}
    )
    assert r.status_code == 201, r.text
    # Every page: the emulator lists oldest first and keeps one store for the whole run.
    customers, page = [], at_emulator(emulator, "/v1/customers?limit=100")
    customers += page["data"]
    while page["has_more"]:
        page = at_emulator(emulator, f"/v1/customers?limit=100&starting_after={page['data'][-1]['id']}")
        customers += page["data"]
    assert [c["id"] for c in customers if c["metadata"].get("hub_tenant_id") == tenant.id] == [
        r.json()["stripe_customer_id"]
    ]


async def test_a_card_failing_at_charge_leaves_the_subscription_incomplete(billing_hub):
    tenant = await billing_hub.create_tenant()
    r = await billing_hub.request(
        "POST",
        sub_path(tenant.id),
        headers=PLATFORM,
        json={"plan": "starter", "payment_method": "pm_card_chargeCustomerFail"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "incomplete"


async def test_with_billing_unset_billing_answers_503_and_the_tenant_side_works(database_url, hub_home, emulator):
    async for h in _hub(database_url, hub_home, emulator, BillingSettings()):
        tenant = await h.create_tenant()
        r = await h.register_stripe(tenant)
        assert r.status_code == 200, r.text
        calls: list[tuple[str, str, dict[str, Any]]] = [
            ("GET", "/v1/platform/billing/plans", {}),
            ("POST", sub_path(tenant.id), {"json": {"plan": "starter"}}),
            ("GET", sub_path(tenant.id), {}),
            ("POST", "/v1/platform/billing/webhook", {"content": b"{}", "headers": {"Stripe-Signature": "t=1,v1=00"}}),
        ]
        for method, path, kw in calls:
            headers = {**PLATFORM, **kw.pop("headers", {})}
            r = await h.request(method, path, headers=headers, **kw)
            assert r.status_code == 503, (path, r.text)
            assert r.json()["code"] == "billing_disabled"
            assert r.headers["content-type"].startswith("application/problem+json")


async def test_stripe_unreachable_is_503_and_records_nothing(database_url, hub_home, emulator, plans):
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async for h in _hub(
        database_url,
        hub_home,
        emulator,
        billing_settings("https://api.stripe.test", plans),
        billing_transport=httpx.MockTransport(unreachable),
    ):
        tenant = await h.create_tenant()
        r = await h.request("POST", sub_path(tenant.id), json={"plan": "starter"}, headers=PLATFORM)
        assert r.status_code == 503 and r.json()["code"] == "provider_unavailable", r.text
        r = await h.request("GET", sub_path(tenant.id), headers=PLATFORM)
        assert r.status_code == 404


async def test_a_refused_platform_key_is_503_without_the_key_in_the_answer(database_url, hub_home, emulator, plans):
    def refused(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            json={
                "error": {
                    "type": "invalid_request_error",
                    "message": f"Invalid API Key provided: {PLATFORM_SECRET_KEY}",
                }
            },
        )

    async for h in _hub(
        database_url,
        hub_home,
        emulator,
        billing_settings("https://api.stripe.test", plans),
        billing_transport=httpx.MockTransport(refused),
    ):
        tenant = await h.create_tenant()
        r = await h.request("POST", sub_path(tenant.id), json={"plan": "starter"}, headers=PLATFORM)
        assert r.status_code == 503 and r.json()["code"] == "billing_misconfigured"
        assert PLATFORM_SECRET_KEY not in r.text and "sk_test_" not in r.text


async def test_the_subscription_request_carries_the_plan_price_trial_and_idempotency_keys(
    database_url, hub_home, emulator
):
    """What the emulator cannot show: the exact request to Stripe, and Stripe's current response shape."""
    seen: list[httpx.Request] = []
    period_end = 1_900_000_000

    def stripe_api(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/v1/customers":
            return httpx.Response(200, json={"id": "cus_mock1", "object": "customer", "metadata": {}})
        if request.url.path == "/v1/subscriptions":
            return httpx.Response(
                200,
                json={
                    "id": "sub_mock1",
                    "object": "subscription",
                    "customer": "cus_mock1",
                    "status": "trialing",
                    "created": 1_700_000_000,
                    "cancel_at_period_end": False,
                    "items": {
                        "object": "list",
                        "data": [
                            {
                                "id": "si_1",
                                "object": "subscription_item",
                                "price": {"id": "price_trial", "object": "price"},
                                "current_period_end": period_end,
                            }
                        ],
                    },
                },
            )
        return httpx.Response(404, json={"error": {"type": "invalid_request_error", "message": "No such route"}})

    plans = (
        BillingPlan(
            id="pro", name="Pro", price="price_trial", amount=4900, currency="usd", interval="month", trial_days=14
        ),
    )
    async for h in _hub(
        database_url,
        hub_home,
        emulator,
        billing_settings("https://api.stripe.test", plans),
        billing_transport=httpx.MockTransport(stripe_api),
    ):
        tenant = await h.create_tenant("Trial Co")
        r = await h.request("POST", sub_path(tenant.id), json={"plan": "pro"}, headers=PLATFORM)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "trialing" and r.json()["plan"] == "pro"
        assert r.json()["current_period_end"].startswith("2030-03-17")

    customer_req, sub_req = seen
    for req in seen:
        assert req.headers["authorization"] == f"Bearer {PLATFORM_SECRET_KEY}"
        assert req.url.host == "api.stripe.test"
    assert customer_req.headers["idempotency-key"] == f"hub-billing-customer-{tenant.id}"
    assert sub_req.headers["idempotency-key"] == f"hub-billing-subscription-{tenant.id}-0-pro"
    form = dict(httpx.QueryParams(sub_req.content.decode()))
    assert form == {
        "customer": "cus_mock1",
        "items[0][plan]": "price_trial",
        "trial_period_days": "14",
        "metadata[hub_tenant_id]": tenant.id,
        "metadata[hub_plan]": "pro",
    }


async def test_without_explicit_billing_settings_the_app_reads_them_from_the_environment(
    database_url, hub_home, emulator, monkeypatch
):
    monkeypatch.setenv("HUB_BILLING_STRIPE_SECRET_KEY", PLATFORM_SECRET_KEY)
    monkeypatch.setenv(
        "HUB_BILLING_PLANS",
        '[{"id": "solo", "name": "Solo", "price": "price_solo", '
        '"amount": 900, "currency": "eur", "interval": "month"}]',
    )
    settings = make_settings(database_url, str(hub_home), HUB_STRIPE_API_BASE=emulator.url)
    async with build_client(settings) as client:
        r = await client.get("/v1/platform/billing/plans", headers=PLATFORM)
    assert r.status_code == 200, r.text
    assert [(p["id"], p["stripe_price_id"], p["currency"]) for p in r.json()["data"]] == [("solo", "price_solo", "eur")]
