"""Only ``HUB_STRIPE_EMULATOR=localstripe`` changes what the Stripe plugin sends, never the API base.

Behind a Stripe-compatible base that is not localstripe (Stripe's own stripe-mock, an egress
proxy on loopback, a recorder), the hub speaks real Stripe: Prices, price-based subscriptions and
payment links. The stand-in here records what reaches that base and answers in Stripe's shapes.
"""

from __future__ import annotations

from tests.support.payments import Recorder, emulator_get, recorded_hub, stripe_tenant
from tests.support.recurring import monthly_price, new_customer, post
from tests.support.stripe_mock import StripeMock, hub_over
from tests.support.stripe_recurring import StripeRecurring

#: A Stripe-compatible base on loopback (stripe-mock's default port); the stand-in answers for it.
STAND_IN = "http://127.0.0.1:12111"


async def test_behind_a_stripe_compatible_base_prices_subscriptions_and_links_are_stripes(database_url, tmp_path):
    fake = StripeRecurring()
    mock = StripeMock(fake.handle)
    async with hub_over(mock, database_url, str(tmp_path), HUB_STRIPE_API_BASE=STAND_IN, HUB_STRIPE_EMULATOR="") as hub:
        assert (hub.settings.stripe.api_base, hub.settings.stripe.emulator) == (STAND_IN, None)
        tenant, _ = await stripe_tenant(hub, "Gym")
        product = (await post(hub, tenant, "/v1/products", {"name": "Membership"})).json()
        one_off = await post(
            hub, tenant, "/v1/prices", {"product_id": product["id"], "currency": "usd", "unit_amount": 900}
        )
        assert one_off.status_code == 201, one_off.text
        monthly = await monthly_price(hub, tenant, product)
        assert fake.sent("POST", "/v1/plans") == []
        sent = fake.sent("POST", "/v1/prices")
        assert [(p["unit_amount"], p.get("recurring[interval]")) for p in sent] == [("900", None), ("4900", "month")]
        assert all("amount" not in p and "interval" not in p for p in sent)

        member = await new_customer(hub, tenant)
        r = await post(
            hub,
            tenant,
            "/v1/subscriptions",
            {"customer_id": member["id"], "items": [{"price_id": monthly["id"], "quantity": 1}]},
        )
        assert r.status_code == 201, r.text
        (subscription,) = fake.sent("POST", "/v1/subscriptions")
        assert subscription["items[0][price]"] == monthly["provider_price_id"]
        assert "items[0][plan]" not in subscription

        r = await post(hub, tenant, "/v1/payment-links", {"line_items": [{"price_id": one_off.json()["id"]}]})
        assert r.status_code == 201, r.text
        (link,) = fake.sent("POST", "/v1/payment_links")
        assert link["line_items[0][price]"] == one_off.json()["provider_price_id"]
        # Everything went to the configured base, nowhere else.
        assert {(r.url.scheme, r.url.host, r.url.port) for r in fake.requests} == {("http", "127.0.0.1", 12111)}


async def test_with_localstripe_named_a_recurring_price_is_still_made_as_an_emulator_plan(
    database_url, emulator, tmp_path
):
    recorder = Recorder(emulator.url)
    async with recorded_hub(
        database_url, str(tmp_path), emulator.url, recorder, HUB_STRIPE_EMULATOR="localstripe"
    ) as hub:
        tenant, sk = await stripe_tenant(hub, "Gym")
        price = await monthly_price(hub, tenant)
        assert recorder.calls("POST", "/v1/plans") == 1 and recorder.calls("POST", "/v1/prices") == 0
        plan = emulator_get(emulator, sk, f"/v1/plans/{price['provider_price_id']}")
        assert (plan["amount"], plan["interval"]) == (4900, "month")
