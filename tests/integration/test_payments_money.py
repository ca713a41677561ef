"""Money is checked before Stripe is called: nothing is sent and nothing is stored."""

from __future__ import annotations

import pytest

from tests.support.payments import Recorder, create_payment, recorded_hub, stripe_tenant


@pytest.fixture
async def recorded(database_url, emulator, shared_home):
    """The hub, with every request it makes to Stripe recorded on its way to the emulator."""
    recorder = Recorder(emulator.url)
    async with recorded_hub(database_url, str(shared_home), emulator.url, recorder, shared=True) as hub:
        yield hub, recorder


@pytest.mark.parametrize(
    "body,code,param",
    [
        ({"amount": 49, "currency": "usd"}, "amount_too_small", "amount"),
        ({"amount": 0, "currency": "usd"}, "amount_too_small", "amount"),
        ({"amount": 100_000_000, "currency": "usd"}, "amount_too_large", "amount"),
        ({"amount": 49, "currency": "jpy"}, "amount_too_small", "amount"),
        ({"amount": 1005, "currency": "kwd"}, "validation_error", "amount"),
        ({"amount": 150, "currency": "isk"}, "validation_error", "amount"),
        ({"amount": 199_999, "currency": "cop"}, "amount_too_small", "amount"),
        ({"amount": 2000, "currency": "xyz"}, "unsupported_currency", "currency"),
        ({"amount": 20.5, "currency": "usd"}, "validation_error", "amount"),
        # JSON types are not guessed: a string, a float or a boolean is not an amount.
        ({"amount": "2000", "currency": "usd"}, "validation_error", "amount"),
        ({"amount": 2000.0, "currency": "usd"}, "validation_error", "amount"),
        ({"amount": True, "currency": "usd"}, "validation_error", "amount"),
        ({"amount": 2000, "currency": "usd", "confirm": "false"}, "validation_error", "confirm"),
    ],
)
async def test_bad_money_is_refused_before_stripe_and_nothing_is_stored(recorded, body, code, param):
    hub, recorder = recorded
    tenant, _ = await stripe_tenant(hub)
    before = len(recorder.requests)
    r = await hub.request("POST", "/v1/payments", json=body, headers=tenant.storefront)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert (r.json()["code"], r.json()["param"]) == (code, param)
    assert len(recorder.requests) == before
    assert (await hub.request("GET", "/v1/payments", headers=tenant.storefront)).json()["data"] == []


async def test_a_zero_decimal_amount_is_sent_as_is(recorded):
    hub, recorder = recorded
    tenant, _ = await stripe_tenant(hub)
    r = await create_payment(hub, tenant, amount=500, currency="JPY")
    assert r.status_code == 201, r.text
    assert r.json()["currency"] == "jpy" and r.json()["amount"] == 500
    sent = [body for method, path, body in recorder.requests if method == "POST" and path == "/v1/payment_intents"]
    assert b"amount=500" in sent[-1] and b"currency=jpy" in sent[-1]


async def test_a_capture_or_refund_amount_given_as_a_string_is_refused(recorded):
    hub, recorder = recorded
    tenant, _ = await stripe_tenant(hub)
    for path in ("/v1/payments/pay_x/capture", "/v1/payments/pay_x/refunds"):
        before = len(recorder.requests)
        r = await hub.request("POST", path, json={"amount": "500"}, headers=tenant.admin)
        assert r.status_code == 422 and (r.json()["code"], r.json()["param"]) == ("validation_error", "amount"), r.text
        assert len(recorder.requests) == before
