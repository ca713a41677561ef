"""Sync re-reads from Stripe and applies it; checkout sessions (no emulator support: Stripe-shaped mocks)."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx

from tests.support.payments import Recorder, create_payment, emulator_card, recorded_hub, stripe_error, stripe_tenant


def emulator_post(emulator, sk, path, **data):
    r = httpx.post(f"{emulator.url}{path}", auth=(sk, ""), data=data, timeout=10)
    r.raise_for_status()
    return r.json()


async def test_sync_applies_a_confirmation_made_by_the_customer_at_stripe(hub, emulator):
    tenant, sk = await stripe_tenant(hub)
    payment = (await create_payment(hub, tenant, payment_method="pm_card_visa")).json()
    assert payment["status"] == "requires_confirmation"
    emulator_post(emulator, sk, f"/v1/payment_intents/{payment['provider_payment_id']}/confirm")  # as Stripe.js would
    r = await hub.request("POST", f"/v1/payments/{payment['id']}/sync", headers=tenant.storefront)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["amount_received"]) == ("succeeded", 2000)


async def test_a_three_d_secure_payment_authenticated_by_the_customer_becomes_capturable(hub, emulator):
    tenant, sk = await stripe_tenant(hub)
    card = emulator_card(emulator, sk, "4000002500003155")
    payment = (await create_payment(hub, tenant, capture_method="manual", payment_method=card, confirm=True)).json()
    assert payment["status"] == "requires_action"
    emulator_post(
        emulator,
        sk,
        f"/v1/payment_intents/{payment['provider_payment_id']}/_authenticate",
        client_secret=payment["client_secret"],
        success="true",
    )
    # Capture re-reads a payment whose status may lag before refusing it.
    r = await hub.request("POST", f"/v1/payments/{payment['id']}/capture", headers=tenant.storefront)
    assert r.status_code == 200 and r.json()["status"] == "succeeded", r.text


async def test_sync_never_moves_a_status_backwards(database_url, emulator, tmp_path):
    stale = {"on": False}

    def answer(request):
        if stale["on"] and request.method == "GET" and "/v1/payment_intents/" in request.url.path:
            pid = request.url.path.rsplit("/", 1)[1]
            return httpx.Response(
                200,
                json={
                    "id": pid,
                    "object": "payment_intent",
                    "amount": 2000,
                    "currency": "usd",
                    "status": "processing",
                    "capture_method": "automatic",
                    "amount_received": 0,
                    "amount_capturable": 0,
                    "metadata": {},
                },
            )
        return None

    async with recorded_hub(database_url, str(tmp_path), emulator.url, Recorder(emulator.url, answer=answer)) as hub:
        tenant, _ = await stripe_tenant(hub)
        paid = (await create_payment(hub, tenant, payment_method="pm_card_visa", confirm=True)).json()
        stale["on"] = True
        r = await hub.request("POST", f"/v1/payments/{paid['id']}/sync", headers=tenant.storefront)
        assert r.status_code == 200 and r.json()["status"] == "succeeded"


async def test_sync_finds_a_payment_whose_creation_answer_was_lost(database_url, emulator, tmp_path):
    # The creation times out; Stripe had created it. Sync finds it by its hub_payment_id metadata
    # (Stripe's search API; the emulator has none, so it is answered here in Stripe's shape).
    state: dict = {"fail": True}

    def answer(request):
        if request.method == "POST" and request.url.path == "/v1/payment_intents" and state["fail"]:
            state["fail"] = False
            raise httpx.ReadTimeout("lost")
        if request.url.path == "/v1/payment_intents/search":
            query = parse_qs(request.url.query.decode())["query"][0]
            state["query"] = query
            return httpx.Response(
                200,
                json={
                    "object": "search_result",
                    "has_more": False,
                    "data": [
                        {
                            "id": "pi_found1",
                            "object": "payment_intent",
                            "amount": 2000,
                            "currency": "usd",
                            "status": "succeeded",
                            "capture_method": "automatic",
                            "amount_received": 2000,
                            "amount_capturable": 0,
                            "client_secret": "pi_found1_secret_x",
                            "metadata": {"hub_payment_id": query.split("'")[3]},
                        }
                    ],
                },
            )
        if request.url.path == "/v1/refunds":
            return httpx.Response(200, json={"object": "list", "data": [], "has_more": False})
        return None

    async with recorded_hub(database_url, str(tmp_path), emulator.url, Recorder(emulator.url, answer=answer)) as hub:
        tenant, _ = await stripe_tenant(hub)
        r = await create_payment(hub, tenant)
        assert r.status_code == 503
        payment_id = r.json()["payment_id"]
        r = await hub.request("POST", f"/v1/payments/{payment_id}/sync", headers=tenant.storefront)
        assert r.status_code == 200, r.text
        assert (r.json()["provider_payment_id"], r.json()["status"]) == ("pi_found1", "succeeded")
        assert state["query"] == f"metadata['hub_payment_id']:'{payment_id}'"


CHECKOUT_BODY = {
    "currency": "eur",
    "success_url": "https://shop.example/ok",
    "cancel_url": "https://shop.example/no",
    "line_items": [
        {"name": "Mug", "unit_amount": 1000, "quantity": 2},
        {"name": "Tea", "unit_amount": 1500, "quantity": 1},
    ],
}


def checkout_stripe(state: dict):
    """Stripe's Checkout Session and PaymentIntent answers (API reference shapes)."""

    def answer(request: httpx.Request) -> httpx.Response | None:
        path = request.url.path
        if request.method == "POST" and path == "/v1/checkout/sessions":
            state["create"] = parse_qs(request.content.decode())
            state["idempotency_key"] = request.headers.get("idempotency-key")
            return httpx.Response(
                200,
                json={
                    "id": "cs_test_a1",
                    "object": "checkout.session",
                    "mode": "payment",
                    "status": "open",
                    "payment_intent": None,
                    "url": "https://checkout.stripe.com/c/pay/cs_test_a1",
                },
            )
        if request.method == "GET" and path == "/v1/checkout/sessions/cs_test_a1":
            return httpx.Response(
                200,
                json={
                    "id": "cs_test_a1",
                    "object": "checkout.session",
                    "status": "complete",
                    "payment_intent": "pi_from_checkout",
                    "url": None,
                },
            )
        if request.method == "GET" and path == "/v1/payment_intents/pi_from_checkout":
            return httpx.Response(
                200,
                json={
                    "id": "pi_from_checkout",
                    "object": "payment_intent",
                    "amount": 3500,
                    "currency": "eur",
                    "status": "succeeded",
                    "capture_method": "automatic_async",
                    "amount_received": 3500,
                    "amount_capturable": 0,
                    "latest_charge": "ch_1",
                    "metadata": state.get("pi_metadata", {}),
                },
            )
        if request.method == "GET" and path == "/v1/refunds":
            return httpx.Response(200, json={"object": "list", "data": [], "has_more": False})
        return None

    return answer


async def test_checkout_session_is_created_with_the_hub_ids_and_its_payment_is_synced(database_url, emulator, tmp_path):
    state: dict = {}
    recorder = Recorder(emulator.url, answer=checkout_stripe(state))
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, _ = await stripe_tenant(hub)
        r = await hub.request("POST", "/v1/checkout/sessions", json=CHECKOUT_BODY, headers=tenant.storefront)
        assert r.status_code == 201, r.text
        session = r.json()
        assert session["provider_session_id"] == "cs_test_a1"
        assert session["url"] == "https://checkout.stripe.com/c/pay/cs_test_a1" and session["payment_id"]
        sent = state["create"]
        assert sent["metadata[hub_tenant_id]"] == [tenant.id]
        assert sent["metadata[hub_payment_id]"] == [session["payment_id"]]
        assert sent["payment_intent_data[metadata][hub_payment_id]"] == [session["payment_id"]]
        assert sent["line_items[0][price_data][unit_amount]"] == ["1000"] and sent["line_items[0][quantity]"] == ["2"]
        assert sent["mode"] == ["payment"] and state["idempotency_key"]
        payment = (await hub.request("GET", f"/v1/payments/{session['payment_id']}", headers=tenant.storefront)).json()
        assert (payment["amount"], payment["currency"], payment["status"]) == (3500, "eur", "requires_payment_method")
        r = await hub.request("POST", f"/v1/payments/{session['payment_id']}/sync", headers=tenant.storefront)
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["provider_payment_id"], r.json()["amount_received"]) == (
            "succeeded",
            "pi_from_checkout",
            3500,
        )


async def test_checkout_session_money_and_urls_are_checked_before_stripe(database_url, emulator, tmp_path):
    state: dict = {}
    recorder = Recorder(emulator.url, answer=checkout_stripe(state))
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, _ = await stripe_tenant(hub)
        base = {"currency": "usd", "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/no"}
        r = await hub.request(
            "POST",
            "/v1/checkout/sessions",
            headers=tenant.storefront,
            json={**base, "line_items": [{"name": "Gum", "unit_amount": 10, "quantity": 1}]},
        )
        assert r.status_code == 422 and (r.json()["code"], r.json()["param"]) == ("amount_too_small", "line_items")
        r = await hub.request(
            "POST",
            "/v1/checkout/sessions",
            headers=tenant.storefront,
            json={**base, "currency": "zzz", "line_items": [{"name": "Gum", "unit_amount": 100, "quantity": 1}]},
        )
        assert r.status_code == 422 and r.json()["code"] == "unsupported_currency"
        r = await hub.request(
            "POST",
            "/v1/checkout/sessions",
            headers=tenant.storefront,
            json={
                **base,
                "success_url": "javascript:alert(1)",
                "line_items": [{"name": "Gum", "unit_amount": 100, "quantity": 1}],
            },
        )
        assert r.status_code == 422 and r.json()["param"] == "success_url"
        assert "create" not in state


async def test_a_stripe_error_on_checkout_is_mapped(database_url, emulator, tmp_path):
    def answer(request):
        if request.url.path == "/v1/checkout/sessions":
            return stripe_error(
                400, "invalid_request_error", "Not a valid URL", code="url_invalid", param="success_url"
            )
        return None

    async with recorded_hub(database_url, str(tmp_path), emulator.url, Recorder(emulator.url, answer=answer)) as hub:
        tenant, _ = await stripe_tenant(hub)
        r = await hub.request(
            "POST",
            "/v1/checkout/sessions",
            headers=tenant.storefront,
            json={
                "currency": "usd",
                "success_url": "https://x.example/",
                "cancel_url": "https://x.example/",
                "line_items": [{"name": "Gum", "unit_amount": 100, "quantity": 1}],
            },
        )
        assert r.status_code == 400 and r.json()["param"] == "success_url", r.text
        assert (await hub.request("GET", "/v1/payments", headers=tenant.storefront)).json()["data"] == []


async def test_customers_are_created_in_the_tenants_account_and_read_back(hub):
    tenant, _ = await stripe_tenant(hub)
    r = await hub.request(
        "POST", "/v1/customers", json={"email": "bo@example.com", "metadata": {"crm": "7"}}, headers=tenant.storefront
    )
    assert r.status_code == 201, r.text
    customer = r.json()
    r = await hub.request("GET", f"/v1/customers/{customer['id']}", headers=tenant.storefront)
    assert r.status_code == 200 and r.json() == customer and customer["metadata"] == {"crm": "7"}
    r = await hub.request("POST", "/v1/customers", json={"email": "not-an-email"}, headers=tenant.storefront)
    assert r.status_code == 422 and r.json()["param"] == "email"
