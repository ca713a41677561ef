"""Saved payment methods: SetupIntents, the customer's saved cards, and off-session charges with them."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.support.inbox import delivered
from tests.support.payments import Recorder, create_payment, emulator_get, recorded_hub, stripe_tenant
from tests.support.problem import assert_problem
from tests.support.recurring import new_customer, post
from tests.support.stripe_mock import balance_ok


@pytest.fixture
async def tenant_hub(database_url, emulator, shared_home):
    recorder = Recorder(emulator.url)
    async with recorded_hub(database_url, str(shared_home), emulator.url, recorder, shared=True) as hub:
        owner, owner_sk = await stripe_tenant(hub, "Hotel")
        other, _ = await stripe_tenant(hub, "Other")
        yield hub, recorder, owner, owner_sk, other


def _save_card(emulator, sk: str, setup_intent: str, customer: str, pm: str = "pm_card_visa") -> str:
    """What Stripe.js and Stripe do when the customer enters a card: confirm, and the card is saved."""
    with httpx.Client(base_url=emulator.url, auth=(sk, ""), timeout=10) as c:
        si = c.post(f"/v1/setup_intents/{setup_intent}/confirm", data={"payment_method": pm}).raise_for_status().json()
        # Real Stripe attaches the confirmed card to the SetupIntent's customer; the emulator does not.
        c.post(f"/v1/payment_methods/{si['payment_method']}/attach", data={"customer": customer}).raise_for_status()
        return si["payment_method"]


async def test_a_card_saved_through_a_setup_intent_is_listed_and_charged_off_session(tenant_hub, emulator):
    hub, recorder, hotel, sk, _ = tenant_hub
    guest = await new_customer(hub, hotel)
    r = await post(hub, hotel, "/v1/setup-intents", {"customer_id": guest["id"]})
    assert r.status_code == 201, r.text
    si = r.json()
    assert si["status"] == "requires_payment_method" and si["customer_id"] == guest["id"]
    assert si["client_secret"].startswith(si["provider_setup_intent_id"]) and si["publishable_key"].startswith(
        "pk_test_"
    )
    at_stripe = emulator_get(emulator, sk, f"/v1/setup_intents/{si['provider_setup_intent_id']}")
    assert at_stripe["customer"] == guest["provider_customer_id"] and at_stripe["usage"] == "off_session"
    assert at_stripe["metadata"] == {"hub_tenant_id": hotel.id, "hub_setup_intent_id": si["id"]}

    pm = _save_card(emulator, sk, si["provider_setup_intent_id"], guest["provider_customer_id"])
    methods = await hub.request("GET", f"/v1/customers/{guest['id']}/payment-methods", headers=hotel.storefront)
    assert methods.status_code == 200, methods.text
    assert methods.json() == {
        "data": [
            {"id": pm, "type": "card", "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030}}
        ]
    }

    # The no-show: charged later, the guest absent.
    r = await create_payment(
        hub, hotel, amount=15000, customer_id=guest["id"], payment_method=pm, confirm=True, off_session=True
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "succeeded" and r.json()["amount_received"] == 15000
    sent = [b for m, p, b in recorder.requests if m == "POST" and p == "/v1/payment_intents"][-1]
    assert b"off_session=true" in sent and b"confirm=true" in sent


async def test_setup_intent_create_replays_with_the_same_key_and_conflicts_with_another_body(tenant_hub):
    hub, recorder, hotel, _, _ = tenant_hub
    ana, bo = await new_customer(hub, hotel), await new_customer(hub, hotel, email="bo@example.com")
    first = await post(hub, hotel, "/v1/setup-intents", {"customer_id": ana["id"]}, key="si-1")
    again = await post(hub, hotel, "/v1/setup-intents", {"customer_id": ana["id"]}, key="si-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert recorder.calls("POST", "/v1/setup_intents") == 1
    assert_problem(
        await post(hub, hotel, "/v1/setup-intents", {"customer_id": bo["id"]}, key="si-1"), 409, "idempotency_conflict"
    )
    assert recorder.calls("POST", "/v1/setup_intents") == 1


@pytest.mark.parametrize(
    "body,param",
    [
        ({"off_session": True, "payment_method": "pm_card_visa", "confirm": True}, "off_session"),
        ({"off_session": True, "customer_id": "cust_x", "payment_method": "pm_card_visa"}, "off_session"),
        ({"off_session": "yes", "payment_method": "pm_card_visa", "confirm": True}, "off_session"),
    ],
)
async def test_an_incomplete_off_session_charge_is_refused_before_stripe(tenant_hub, body, param):
    hub, recorder, hotel, _, _ = tenant_hub
    r = await create_payment(hub, hotel, **body)
    assert_problem(r, 422, "validation_error", param=param)
    assert recorder.calls("POST", "/v1/payment_intents") == 0


async def test_setup_intent_for_an_unknown_customer_is_404_and_a_bad_body_422(tenant_hub):
    hub, recorder, hotel, _, _ = tenant_hub
    assert_problem(await post(hub, hotel, "/v1/setup-intents", {"customer_id": "cust_nope"}), 404, "not_found")
    assert_problem(await post(hub, hotel, "/v1/setup-intents", {}), 422, "validation_error", param="customer_id")
    assert recorder.calls("POST", "/v1/setup_intents") == 0


# -- what the emulator cannot play: Stripe's authentication_required decline -------------------


def _pi(status: str, **extra) -> dict:
    return {
        "id": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        "object": "payment_intent",
        "amount": 15000,
        "amount_capturable": 0,
        "amount_received": 0,
        "capture_method": "automatic",
        "client_secret": "pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8HVhfZluoGH",
        "confirmation_method": "automatic",
        "created": int(time.time()),
        "currency": "usd",
        "customer": "cus_NffrFeUfNV2Hib",
        "latest_charge": "ch_3MtwBwLkdIwHu7ix28a3tqPa",
        "livemode": False,
        "metadata": {},
        "payment_method": "pm_1MtwBwLkdIwHu7ixCard3ds",
        "status": status,
        **extra,
    }


def _needs_authentication(request: httpx.Request) -> httpx.Response:
    """Stripe's answer to an off-session charge whose bank wants 3-D Secure (API reference, Errors)."""
    path = request.url.path
    if path == "/v1/balance":
        return balance_ok(request)
    if path == "/v1/customers":
        return httpx.Response(
            200,
            json={
                "id": "cus_NffrFeUfNV2Hib",
                "object": "customer",
                "email": "ana@example.com",
                "name": "Ana",
                "metadata": {},
            },
        )
    if path == "/v1/payment_intents":
        error = {
            "code": "authentication_required",
            "decline_code": "authentication_required",
            "message": "Your card was declined. This transaction requires authentication.",
            "type": "card_error",
            "payment_intent": _pi(
                "requires_payment_method",
                last_payment_error={
                    "code": "authentication_required",
                    "decline_code": "authentication_required",
                    "type": "card_error",
                },
            ),
        }
        return httpx.Response(402, json={"error": error}, headers={"request-id": "req_auth"})
    return httpx.Response(404, json={"error": {"type": "invalid_request_error", "message": f"no {path}"}})


async def test_an_off_session_decline_that_needs_the_customer_is_402_authentication_required_and_kept(
    stripe_mock, mocked
):
    hub = mocked
    stripe_mock.handler = _needs_authentication
    tenant, _ = await stripe_tenant(hub)
    guest = await new_customer(hub, tenant)
    r = await create_payment(
        hub,
        tenant,
        amount=15000,
        customer_id=guest["id"],
        payment_method="pm_1MtwBwLkdIwHu7ixCard3ds",
        confirm=True,
        off_session=True,
    )
    body = assert_problem(r, 402, "authentication_required")
    assert body["decline_code"] == "authentication_required"
    sent = json.loads(json.dumps(dict(httpx.QueryParams(stripe_mock.requests[-1].content.decode()))))
    assert sent["off_session"] == "true" and sent["customer"] == "cus_NffrFeUfNV2Hib"
    kept = (await hub.request("GET", f"/v1/payments/{body['payment_id']}", headers=tenant.storefront)).json()
    assert kept["status"] == "failed" and kept["provider_payment_id"] == "pi_3MtwBwLkdIwHu7ix28a3tqPa"
    assert kept["last_error_code"] == "authentication_required"


async def test_setup_intent_succeeded_marks_the_setup_done_once_whatever_comes_later(tenant_hub):
    from sqlalchemy import select

    from hub.db.recurring import SetupIntent
    from tests.support import stripe_events as se
    from tests.support.problem import db_rows

    hub, _, hotel, _, other = tenant_hub
    guest = await new_customer(hub, hotel)
    si = (await post(hub, hotel, "/v1/setup-intents", {"customer_id": guest["id"]})).json()
    obj = {
        "id": si["provider_setup_intent_id"],
        "object": "setup_intent",
        "status": "succeeded",
        "payment_method": "pm_1Saved",
        "customer": guest["provider_customer_id"],
        "metadata": {"hub_tenant_id": hotel.id, "hub_setup_intent_id": si["id"]},
    }
    done = se.event("setup_intent.succeeded", obj)
    secret = "whsec_tenantsecret00001"
    for evt in (done, done):
        assert (await delivered(hub, hotel.id, se.encode(evt), secret)).status_code == 200
    # The same object delivered to another tenant's endpoint is not that tenant's to apply.
    assert (
        await delivered(hub, other.id, se.encode(se.event("setup_intent.succeeded", obj)), secret)
    ).status_code == 200
    (row,) = await db_rows(hub, select(SetupIntent).where(SetupIntent.id == si["id"]))
    assert (row.status, row.payment_method) == ("succeeded", "pm_1Saved")
    events = (await hub.request("GET", "/v1/events", headers=hotel.admin)).json()["data"]
    assert [(e["outcome"], e["deliveries"]) for e in events] == [("applied", 2)]
    assert [e["outcome"] for e in (await hub.request("GET", "/v1/events", headers=other.admin)).json()["data"]] == [
        "ignored"
    ]
