"""Payment links: a shareable Stripe URL for catalogue prices; listed, deactivated.

The emulator has no Payment Links: Stripe is played over a mock transport with Stripe-shaped bodies.
"""

from __future__ import annotations

import pytest

from tests.support.payments import stripe_tenant
from tests.support.problem import assert_problem
from tests.support.recurring import post
from tests.support.stripe_mock import StripeMock, hub_over
from tests.support.stripe_recurring import StripeRecurring


@pytest.fixture
async def shop(database_url, shared_home):
    fake = StripeRecurring()
    async with hub_over(StripeMock(fake.handle), database_url, str(shared_home), shared=True) as hub:
        owner, _ = await stripe_tenant(hub, "Bakery")
        other, _ = await stripe_tenant(hub, "Other")
        product = (await post(hub, owner, "/v1/products", {"name": "Cake"})).json()
        price = (
            await post(hub, owner, "/v1/prices", {"product_id": product["id"], "currency": "eur", "unit_amount": 2500})
        ).json()
        yield hub, fake, owner, other, price


def stripe_calls(fake) -> int:
    return sum(1 for r in fake.requests if r.url.path != "/v1/balance")


async def test_a_link_is_made_from_prices_listed_and_deactivated(shop):
    hub, fake, owner, _, price = shop
    r = await post(hub, owner, "/v1/payment-links", {"line_items": [{"price_id": price["id"], "quantity": 2}]})
    assert r.status_code == 201, r.text
    link = r.json()
    assert link["url"].startswith("https://buy.stripe.com/") and link["active"] is True
    assert link["line_items"] == [{"price_id": price["id"], "quantity": 2}]
    (sent,) = fake.sent("POST", "/v1/payment_links")
    assert sent["line_items[0][price]"] == price["provider_price_id"] and sent["line_items[0][quantity]"] == "2"
    assert sent["metadata[hub_tenant_id]"] == owner.id and sent["metadata[hub_payment_link_id]"] == link["id"]
    assert (await hub.request("GET", "/v1/payment-links", headers=owner.storefront)).json() == {
        "data": [link],
        "has_more": False,
    }
    r = await post(hub, owner, f"/v1/payment-links/{link['id']}/deactivate", None, scope="admin")
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False
    assert fake.sent("POST", f"/v1/payment_links/{link['provider_payment_link_id']}") == [{"active": "false"}]
    active = (await hub.request("GET", "/v1/payment-links?active=true", headers=owner.storefront)).json()
    assert active["data"] == []


async def test_the_same_key_replays_a_link_and_another_body_conflicts(shop):
    hub, fake, owner, _, price = shop
    body = {"line_items": [{"price_id": price["id"], "quantity": 1}]}
    first = await post(hub, owner, "/v1/payment-links", body, key="l-1")
    again = await post(hub, owner, "/v1/payment-links", body, key="l-1")
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true" and len(fake.sent("POST", "/v1/payment_links")) == 1
    other_body = {"line_items": [{"price_id": price["id"], "quantity": 3}]}
    assert_problem(await post(hub, owner, "/v1/payment-links", other_body, key="l-1"), 409, "idempotency_conflict")
    assert len(fake.sent("POST", "/v1/payment_links")) == 1


async def test_another_tenants_price_and_link_are_404_and_nothing_reaches_stripe(shop):
    hub, fake, owner, other, price = shop
    link = (await post(hub, owner, "/v1/payment-links", {"line_items": [{"price_id": price["id"]}]})).json()
    before = stripe_calls(fake)
    r = await post(hub, other, "/v1/payment-links", {"line_items": [{"price_id": price["id"]}]})
    assert_problem(r, 404, "not_found", param="line_items.0.price_id")
    r = await post(hub, other, f"/v1/payment-links/{link['id']}/deactivate", None, scope="admin")
    assert_problem(r, 404, "not_found")
    assert (await hub.request("GET", "/v1/payment-links", headers=other.admin)).json()["data"] == []
    assert stripe_calls(fake) == before
    assert (await hub.request("GET", "/v1/payment-links", headers=owner.admin)).json()["data"][0]["active"] is True


@pytest.mark.parametrize(
    "body,param",
    [
        ({"line_items": []}, "line_items"),
        ({"line_items": [{"price_id": "{price}", "quantity": 0}]}, "line_items.0.quantity"),
        ({"line_items": [{"price_id": "{price}", "quantity": "2"}]}, "line_items.0.quantity"),
        ({}, "line_items"),
    ],
)
async def test_a_bad_link_is_refused_before_stripe(shop, body, param):
    hub, fake, owner, _, price = shop
    if body.get("line_items"):
        body = {"line_items": [{**i, "price_id": price["id"]} for i in body["line_items"]]}
    before = stripe_calls(fake)
    assert_problem(await post(hub, owner, "/v1/payment-links", body), 422, "validation_error", param=param)
    assert stripe_calls(fake) == before


async def test_storefront_keys_create_and_list_but_cannot_deactivate(shop):
    hub, fake, owner, _, price = shop
    link = (await post(hub, owner, "/v1/payment-links", {"line_items": [{"price_id": price["id"]}]})).json()
    before = stripe_calls(fake)
    assert_problem(await post(hub, owner, f"/v1/payment-links/{link['id']}/deactivate", None), 403, "forbidden")
    assert stripe_calls(fake) == before
    assert_problem(await hub.request("GET", "/v1/payment-links"), 401, "unauthorized")
