"""Catalogue: products and prices (one-off and recurring) in the tenant's own Stripe account."""

from __future__ import annotations

import pytest

from tests.support.payments import Recorder, emulator_get, recorded_hub, stripe_tenant
from tests.support.problem import assert_problem
from tests.support.recurring import post
from tests.support.stripe_mock import StripeMock, hub_over
from tests.support.stripe_recurring import StripeRecurring


@pytest.fixture
async def two_tenants(database_url, emulator, shared_home):
    recorder = Recorder(emulator.url)
    async with recorded_hub(database_url, str(shared_home), emulator.url, recorder, shared=True) as hub:
        owner, owner_sk = await stripe_tenant(hub, "Gym")
        other, _ = await stripe_tenant(hub, "Other")
        yield hub, recorder, owner, owner_sk, other


@pytest.fixture
async def stripe_hub(database_url, shared_home):
    """The hub over a Stripe that has Prices (the emulator has only Plans)."""
    fake = StripeRecurring()
    async with hub_over(StripeMock(fake.handle), database_url, str(shared_home), shared=True) as hub:
        tenant, _ = await stripe_tenant(hub, "Gym")
        yield hub, fake, tenant


async def test_a_product_and_a_monthly_price_are_made_in_the_tenants_account(two_tenants, emulator):
    hub, _, gym, sk, _ = two_tenants
    r = await post(
        hub, gym, "/v1/products", {"name": "Membership", "description": "All clubs", "metadata": {"sku": "m1"}}
    )
    assert r.status_code == 201, r.text
    product = r.json()
    assert product["name"] == "Membership" and product["active"] is True
    at_stripe = emulator_get(emulator, sk, f"/v1/products/{product['provider_product_id']}")
    assert at_stripe["metadata"] == {"sku": "m1", "hub_tenant_id": gym.id, "hub_product_id": product["id"]}

    r = await post(
        hub,
        gym,
        "/v1/prices",
        {"product_id": product["id"], "currency": "USD", "unit_amount": 4900, "recurring": {"interval": "month"}},
    )
    assert r.status_code == 201, r.text
    price = r.json()
    assert price["product_id"] == product["id"] and price["currency"] == "usd" and price["unit_amount"] == 4900
    assert price["recurring"] == {"interval": "month", "interval_count": 1} and price["active"] is True
    plan = emulator_get(emulator, sk, f"/v1/plans/{price['provider_price_id']}")
    assert (plan["amount"], plan["interval"], plan["product"]) == (4900, "month", product["provider_product_id"])

    assert [p["id"] for p in (await hub.request("GET", "/v1/products", headers=gym.storefront)).json()["data"]] == [
        product["id"]
    ]
    listed = (await hub.request("GET", f"/v1/prices?product_id={product['id']}", headers=gym.storefront)).json()
    assert listed == {"data": [price], "has_more": False}


async def test_one_off_and_recurring_prices_are_stripe_prices(stripe_hub):
    hub, fake, gym = stripe_hub
    product = (await post(hub, gym, "/v1/products", {"name": "Day pass"})).json()
    one_off = await post(hub, gym, "/v1/prices", {"product_id": product["id"], "currency": "eur", "unit_amount": 1500})
    assert one_off.status_code == 201, one_off.text
    assert one_off.json()["recurring"] is None
    yearly = await post(
        hub,
        gym,
        "/v1/prices",
        {
            "product_id": product["id"],
            "currency": "eur",
            "unit_amount": 40000,
            "recurring": {"interval": "year", "interval_count": 1},
        },
    )
    assert yearly.status_code == 201, yearly.text
    sent = fake.sent("POST", "/v1/prices")
    assert sent[0]["unit_amount"] == "1500" and "recurring[interval]" not in sent[0]
    assert sent[0]["product"] == product["provider_product_id"] and sent[0]["metadata[hub_tenant_id]"] == gym.id
    assert sent[1]["recurring[interval]"] == "year" and sent[1]["recurring[interval_count]"] == "1"
    assert sent[1]["metadata[hub_price_id]"] == yearly.json()["id"]
    # Every write carries a Stripe idempotency key, so the SDK's own retries never duplicate.
    assert all(r.headers.get("idempotency-key") for r in fake.requests if r.method == "POST")


async def test_a_one_off_price_is_422_not_supported_against_the_emulator_which_has_no_prices(two_tenants):
    hub, _, gym, _, _ = two_tenants
    product = (await post(hub, gym, "/v1/products", {"name": "Day pass"})).json()
    r = await post(hub, gym, "/v1/prices", {"product_id": product["id"], "currency": "usd", "unit_amount": 1500})
    assert_problem(r, 422, "not_supported")
    assert (await hub.request("GET", "/v1/prices", headers=gym.admin)).json()["data"] == []


async def test_another_tenants_product_cannot_be_priced_and_lists_are_per_tenant(two_tenants):
    hub, recorder, gym, _, other = two_tenants
    product = (await post(hub, gym, "/v1/products", {"name": "Membership"})).json()
    before = len(recorder.requests)
    r = await post(
        hub,
        other,
        "/v1/prices",
        {"product_id": product["id"], "currency": "usd", "unit_amount": 100, "recurring": {"interval": "month"}},
    )
    assert_problem(r, 404, "not_found", param="product_id")
    assert len(recorder.requests) == before
    assert (await hub.request("GET", "/v1/products", headers=other.admin)).json()["data"] == []
    assert (await hub.request("GET", "/v1/prices", headers=other.admin)).json()["data"] == []


async def test_the_same_key_replays_a_product_and_a_price_and_another_body_conflicts(two_tenants):
    hub, recorder, gym, _, _ = two_tenants
    first = await post(hub, gym, "/v1/products", {"name": "Membership"}, key="p-1")
    again = await post(hub, gym, "/v1/products", {"name": "Membership"}, key="p-1")
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert recorder.calls("POST", "/v1/products") == 1
    assert_problem(await post(hub, gym, "/v1/products", {"name": "Other"}, key="p-1"), 409, "idempotency_conflict")

    body = {"product_id": first.json()["id"], "currency": "usd", "unit_amount": 900, "recurring": {"interval": "week"}}
    price = await post(hub, gym, "/v1/prices", body, key="pr-1")
    replay = await post(hub, gym, "/v1/prices", body, key="pr-1")
    assert replay.json() == price.json() and replay.headers["idempotent-replayed"] == "true"
    assert recorder.calls("POST", "/v1/plans") == 1
    conflict = await post(hub, gym, "/v1/prices", {**body, "unit_amount": 901}, key="pr-1")
    assert_problem(conflict, 409, "idempotency_conflict")
    assert recorder.calls("POST", "/v1/plans") == 1


@pytest.mark.parametrize(
    "body,code,param",
    [
        ({"currency": "usd", "unit_amount": "900"}, "validation_error", "unit_amount"),
        ({"currency": "usd", "unit_amount": -1}, "amount_too_small", "unit_amount"),
        ({"currency": "usd", "unit_amount": 100_000_000}, "amount_too_large", "unit_amount"),
        ({"currency": "xyz", "unit_amount": 900}, "unsupported_currency", "currency"),
        (
            {"currency": "usd", "unit_amount": 900, "recurring": {"interval": "hour"}},
            "validation_error",
            "recurring.interval",
        ),
        (
            {"currency": "usd", "unit_amount": 900, "recurring": {"interval": "day", "interval_count": 0}},
            "validation_error",
            "recurring.interval_count",
        ),
    ],
)
async def test_a_bad_price_is_refused_before_stripe(two_tenants, body, code, param):
    hub, recorder, gym, _, _ = two_tenants
    product = (await post(hub, gym, "/v1/products", {"name": "Membership"})).json()
    before = len(recorder.requests)
    r = await post(hub, gym, "/v1/prices", {"product_id": product["id"], **body})
    assert_problem(r, 422, code, param=param)
    assert len(recorder.requests) == before


async def test_a_bad_product_is_refused_and_keys_are_needed(two_tenants):
    hub, recorder, gym, _, _ = two_tenants
    assert_problem(await post(hub, gym, "/v1/products", {"name": ""}), 422, "validation_error", param="name")
    assert_problem(
        await post(hub, gym, "/v1/products", {"name": "x", "metadata": {"hub_x": "1"}}), 422, "validation_error"
    )
    assert_problem(await hub.request("POST", "/v1/products", json={"name": "x"}), 401, "unauthorized")
    assert recorder.calls("POST", "/v1/products") == 0
