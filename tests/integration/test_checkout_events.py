"""checkout.session.completed links the hub's checkout payment to the PaymentIntent Stripe made."""

from __future__ import annotations

from tests.integration.test_payments_sync import checkout_stripe
from tests.support import stripe_events as se
from tests.support.inbox import delivered
from tests.support.payments import Recorder, recorded_hub, stripe_tenant

SECRET = "whsec_tenantsecret00001"


async def test_a_completed_checkout_session_names_the_payment_and_its_events_then_apply(
    database_url, emulator, tmp_path
):
    state: dict = {}
    recorder = Recorder(emulator.url, answer=checkout_stripe(state))
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, _ = await stripe_tenant(hub)
        body = {
            "currency": "eur",
            "success_url": "https://shop.example/ok",
            "cancel_url": "https://shop.example/no",
            "line_items": [{"name": "Mug", "unit_amount": 3500, "quantity": 1}],
        }
        session = (await hub.request("POST", "/v1/checkout/sessions", json=body, headers=tenant.storefront)).json()
        meta = {"hub_tenant_id": tenant.id, "hub_payment_id": session["payment_id"]}
        completed = se.event(
            "checkout.session.completed",
            {
                "id": "cs_test_a1",
                "object": "checkout.session",
                "status": "complete",
                "payment_status": "paid",
                "payment_intent": "pi_from_checkout",
                "metadata": meta,
            },
        )
        assert (await delivered(hub, tenant.id, se.encode(completed), SECRET)).status_code == 200
        payment = (await hub.request("GET", f"/v1/payments/{session['payment_id']}", headers=tenant.storefront)).json()
        assert payment["provider_payment_id"] == "pi_from_checkout"
        # Stamped for another tenant: changes nothing.
        forged = se.event(
            "checkout.session.completed",
            {"id": "cs_x", "payment_intent": "pi_other", "metadata": {**meta, "hub_tenant_id": "ten_other"}},
        )
        assert (await delivered(hub, tenant.id, se.encode(forged), SECRET)).status_code == 200
        succeeded = se.event(
            "payment_intent.succeeded",
            {
                "id": "pi_from_checkout",
                "object": "payment_intent",
                "amount": 3500,
                "currency": "eur",
                "status": "succeeded",
                "capture_method": "automatic_async",
                "amount_received": 3500,
                "amount_capturable": 0,
                "metadata": {},
            },
        )
        assert (await delivered(hub, tenant.id, se.encode(succeeded), SECRET)).status_code == 200
        payment = (await hub.request("GET", f"/v1/payments/{session['payment_id']}", headers=tenant.storefront)).json()
        assert (payment["status"], payment["provider_payment_id"], payment["amount_received"]) == (
            "succeeded",
            "pi_from_checkout",
            3500,
        )
        outcomes = {
            e["provider_event_id"]: e["outcome"]
            for e in (await hub.request("GET", "/v1/events", headers=tenant.admin)).json()["data"]
        }
        assert outcomes == {completed["id"]: "applied", forged["id"]: "ignored", succeeded["id"]: "applied"}
