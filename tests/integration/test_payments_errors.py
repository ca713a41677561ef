"""Provider errors mapped in one place: declines, 3-D Secure, Stripe's 4xx, 5xx, 429, timeouts, revoked keys.

Where the emulator cannot play Stripe, the hub's HTTP transport answers with Stripe-shaped bodies.
"""

from __future__ import annotations

import httpx
import pytest

from tests.support.payments import (
    Recorder,
    create_payment,
    emulator_card,
    emulator_get,
    recorded_hub,
    stripe_error,
    stripe_tenant,
)


async def test_a_declined_card_is_402_with_the_decline_code_and_the_payment_is_kept_failed(hub, emulator):
    tenant, sk = await stripe_tenant(hub)
    # Emulator: pm_card_chargeCustomerFail is declined with 402; its error names the charge.
    r = await create_payment(hub, tenant, payment_method="pm_card_chargeCustomerFail", confirm=True)
    assert r.status_code == 402, r.text
    problem = r.json()
    assert (problem["code"], problem["decline_code"]) == ("card_declined", "card_declined")
    payment = (await hub.request("GET", f"/v1/payments/{problem['payment_id']}", headers=tenant.storefront)).json()
    assert payment["status"] == "failed" and payment["decline_code"] == "card_declined"
    assert payment["provider_payment_id"] and payment["client_secret"]  # the customer may retry another card
    pi = emulator_get(emulator, sk, f"/v1/payment_intents/{payment['provider_payment_id']}")
    assert pi["metadata"]["hub_payment_id"] == payment["id"]


async def test_a_declined_payment_can_be_canceled(hub):
    tenant, _ = await stripe_tenant(hub)
    r = await create_payment(hub, tenant, payment_method="pm_card_chargeCustomerFail", confirm=True)
    r = await hub.request("POST", f"/v1/payments/{r.json()['payment_id']}/cancel", headers=tenant.storefront)
    assert r.status_code == 200 and r.json()["status"] == "canceled"


async def test_a_three_d_secure_card_requires_action(hub, emulator):
    tenant, sk = await stripe_tenant(hub)
    card = emulator_card(emulator, sk, "4000002500003155")
    r = await create_payment(hub, tenant, payment_method=card, confirm=True)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "requires_action" and r.json()["client_secret"]


def _answering(emulator_url: str, method: str, path_suffix: str, response) -> Recorder:
    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.method == method and request.url.path.endswith(path_suffix):
            return response(request) if callable(response) else response
        return None

    return Recorder(emulator_url, answer=answer)


async def test_a_real_stripe_decline_names_the_payment_intent_and_its_decline_code(database_url, emulator, tmp_path):
    intent = {
        "id": "pi_declined123",
        "object": "payment_intent",
        "amount": 2000,
        "currency": "usd",
        "status": "requires_payment_method",
        "capture_method": "automatic",
        "amount_received": 0,
        "amount_capturable": 0,
        "client_secret": "pi_declined123_secret_abc",
        "latest_charge": "ch_1",
        "metadata": {},
        "last_payment_error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"},
    }
    body = stripe_error(
        402,
        "card_error",
        "Your card has insufficient funds.",
        code="card_declined",
        decline_code="insufficient_funds",
        charge="ch_1",
        payment_intent=intent,
    )
    recorder = _answering(emulator.url, "POST", "/v1/payment_intents", body)
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, _ = await stripe_tenant(hub)
        r = await create_payment(hub, tenant, payment_method="pm_card_visa", confirm=True)
        assert r.status_code == 402 and r.json()["decline_code"] == "insufficient_funds", r.text
        payment = (await hub.request("GET", f"/v1/payments/{r.json()['payment_id']}", headers=tenant.storefront)).json()
        assert (payment["status"], payment["provider_payment_id"], payment["decline_code"]) == (
            "failed",
            "pi_declined123",
            "insufficient_funds",
        )


@pytest.mark.parametrize(
    "response,status,code",
    [
        (stripe_error(500, "api_error", "Something went wrong."), 503, "provider_unavailable"),
        (stripe_error(503, "api_error", "Service unavailable."), 503, "provider_unavailable"),
        (stripe_error(429, "invalid_request_error", "Too many requests", code="rate_limit"), 429, "rate_limited"),
        (
            stripe_error(401, "invalid_request_error", "Invalid API Key provided: sk_test_****1234"),
            422,
            "invalid_credentials",
        ),
    ],
)
async def test_stripe_failures_on_capture_map_to_clear_errors_and_leave_the_payment_capturable(
    database_url, emulator, tmp_path, response, status, code
):
    failures = {"left": 1}

    def once(request):
        if failures["left"]:
            failures["left"] -= 1
            return response
        return None

    recorder = _answering(emulator.url, "POST", "/capture", once)
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, _ = await stripe_tenant(hub)
        payment = (
            await create_payment(hub, tenant, capture_method="manual", payment_method="pm_card_visa", confirm=True)
        ).json()
        r = await hub.request("POST", f"/v1/payments/{payment['id']}/capture", headers=tenant.storefront)
        assert r.status_code == status and r.json()["code"] == code, r.text
        assert "sk_test_" not in r.text
        again = await hub.request("POST", f"/v1/payments/{payment['id']}/capture", headers=tenant.storefront)
        assert again.status_code == 200 and again.json()["status"] == "succeeded", again.text


@pytest.mark.parametrize("exc", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
async def test_stripe_unreachable_or_timing_out_is_503_and_the_payment_stays_repairable(
    database_url, emulator, tmp_path, exc
):
    def boom(request):
        raise exc

    recorder = _answering(emulator.url, "POST", "/v1/payment_intents", boom)
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, _ = await stripe_tenant(hub)
        r = await create_payment(hub, tenant, idempotency_key="unreachable")
        assert r.status_code == 503 and r.json()["code"] == "provider_unavailable", r.text
        assert r.json()["payment_id"]


async def test_a_stripe_4xx_names_its_code_and_param(database_url, emulator, tmp_path):
    body = stripe_error(
        400, "invalid_request_error", "No such customer: 'cus_x'", code="resource_missing", param="customer"
    )
    recorder = _answering(emulator.url, "POST", "/v1/payment_intents", body)
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, _ = await stripe_tenant(hub)
        r = await create_payment(hub, tenant)
        assert r.status_code == 400, r.text
        assert (r.json()["code"], r.json()["param"], r.json()["provider_code"]) == (
            "provider_error",
            "customer",
            "resource_missing",
        )


async def test_a_stripe_unexpected_state_is_invalid_state(database_url, emulator, tmp_path):
    body = stripe_error(
        400,
        "invalid_request_error",
        "This PaymentIntent could not be captured.",
        code="payment_intent_unexpected_state",
    )
    recorder = _answering(emulator.url, "POST", "/capture", body)
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, _ = await stripe_tenant(hub)
        payment = (
            await create_payment(hub, tenant, capture_method="manual", payment_method="pm_card_visa", confirm=True)
        ).json()
        r = await hub.request("POST", f"/v1/payments/{payment['id']}/capture", headers=tenant.storefront)
        assert r.status_code == 409 and r.json()["code"] == "invalid_state"


async def test_a_revoked_key_on_create_is_invalid_credentials_and_stores_nothing(database_url, emulator, tmp_path):
    body = stripe_error(
        401, "invalid_request_error", "Expired API Key provided: sk_test_****0001", code="api_key_expired"
    )
    recorder = _answering(emulator.url, "POST", "/v1/payment_intents", body)
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, _ = await stripe_tenant(hub)
        r = await create_payment(hub, tenant)
        assert r.json()["code"] == "invalid_credentials", r.text
        assert "sk_test_" not in r.text
        assert (await hub.request("GET", "/v1/payments", headers=tenant.storefront)).json()["data"] == []
