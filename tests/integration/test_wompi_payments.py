"""Wompi payments through the hub's neutral routes, over real HTTP against the Wompi stand-in: each
method, signed events applied by the applier, redirects, voids, and what Wompi cannot do."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import select

from hub.db.notifications import NotificationMessage
from tests.support.notifications import add_endpoint
from tests.support.payments import create_payment, stripe_tenant
from tests.support.problem import assert_problem, db_rows
from tests.support.wompi import AMOUNT, deliver, method, pay, payment, settle, wompi_tenant
from tests.support.wompi_standin import DECLINED_CARD, DECLINED_NEQUI


async def _events(hub, tenant):
    r = await hub.request("GET", "/v1/events", headers=tenant.admin)
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def test_a_card_payment_is_approved_by_a_signed_event_stored_once(wompi_hub, wompi):
    tenant, merchant = await wompi_tenant(wompi_hub, wompi)
    await add_endpoint(wompi_hub, tenant, "http://127.0.0.1:9/orders", ["payment.succeeded"])
    r = await pay(wompi_hub, tenant, method("card", wompi, merchant))
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["provider"], created["status"], created["payment_method_type"]) == ("wompi", "processing", "card")
    assert created["publishable_key"] == merchant.public_key and created["next_action"] is None
    tx = wompi.transaction(created["provider_payment_id"])
    assert tx["reference"] == created["id"] and tx["amount_in_cents"] == AMOUNT and tx["currency"] == "COP"

    delivery = await settle(wompi_hub, tenant, wompi, merchant, tx["id"])
    paid = await payment(wompi_hub, tenant, created["id"])
    assert (paid["status"], paid["amount_received"]) == ("succeeded", AMOUNT)
    # Announced to the tenant's own application, as a Stripe payment's move is.
    (message,) = await db_rows(
        wompi_hub, select(NotificationMessage).where(NotificationMessage.payment_id == created["id"])
    )
    assert message.type == "payment.succeeded" and json.loads(message.body)["data"]["provider"] == "wompi"
    # Wompi retries a delivery it thinks failed: stored once, counted twice, applied once.
    assert (await deliver(wompi_hub, tenant, wompi.resend(delivery))).status_code == 200
    (event,) = await _events(wompi_hub, tenant)
    assert (event["provider"], event["type"], event["outcome"], event["payment_id"], event["deliveries"]) == (
        "wompi",
        "transaction.updated",
        "applied",
        created["id"],
        2,
    )
    # A late PENDING (an older event, correctly signed) never moves the payment back.
    late = wompi.event_for(merchant, {**tx, "status": "PENDING"}, timestamp=int(time.time()) - 60)
    r = await deliver(wompi_hub, tenant, wompi.send(None, late))
    assert r.status_code == 200, r.text
    assert (await payment(wompi_hub, tenant, created["id"]))["status"] == "succeeded"


async def test_card_and_nequi_declines_end_failed(wompi_hub, wompi):
    tenant, merchant = await wompi_tenant(wompi_hub, wompi)
    for pm in (
        method("card", wompi, merchant, number=DECLINED_CARD),
        method("nequi", wompi, merchant, phone_number=DECLINED_NEQUI),
    ):
        r = await pay(wompi_hub, tenant, pm)
        assert r.status_code == 201, r.text
        await settle(wompi_hub, tenant, wompi, merchant, r.json()["provider_payment_id"])
        failed = await payment(wompi_hub, tenant, r.json()["id"])
        assert failed["status"] == "failed" and failed["last_error_code"], failed


async def test_a_pse_payment_sends_the_buyer_to_the_bank_then_succeeds(wompi_hub, wompi):
    tenant, merchant = await wompi_tenant(wompi_hub, wompi)
    banks = await wompi_hub.request("GET", "/v1/providers/wompi/pse-banks", headers=tenant.storefront)
    assert banks.status_code == 200 and {"code": "1", "name": "Banco que aprueba"} in banks.json()["data"]
    r = await pay(wompi_hub, tenant, method("pse", wompi, merchant), redirect_url="https://tienda.example/gracias")
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["status"] == "processing" and created["payment_method_type"] == "pse"
    assert created["next_action"]["type"] == "redirect_to_url"
    assert created["next_action"]["url"].startswith(("https://", "http://"))
    assert (await payment(wompi_hub, tenant, created["id"]))["next_action"] == created["next_action"]
    await settle(wompi_hub, tenant, wompi, merchant, created["provider_payment_id"])
    done = await payment(wompi_hub, tenant, created["id"])
    assert done["status"] == "succeeded" and done["next_action"] is None


async def test_forged_foreign_or_tampered_events_are_400_and_change_nothing(wompi_hub, wompi):
    tenant, merchant = await wompi_tenant(wompi_hub, wompi)
    other, other_merchant = await wompi_tenant(wompi_hub, wompi, "Otra tienda")
    r = await pay(wompi_hub, tenant, method("card", wompi, merchant))
    created = r.json()
    tx = wompi.transaction(created["provider_payment_id"])
    approved = {**tx, "status": "APPROVED"}
    genuine = wompi.send(None, wompi.event_for(merchant, approved))
    refused = [
        wompi.send(None, wompi.event_for(merchant, approved, secret=other_merchant.events_secret)),
        wompi.forge(merchant, approved, url=None),
        wompi.tamper(genuine, "data.transaction.amount_in_cents", 100, send=False),
    ]
    for delivery in refused:
        assert_problem(await deliver(wompi_hub, tenant, delivery), 400, "signature_invalid")
    # Another tenant's URL with this tenant's genuine event: verified with that tenant's secret.
    assert_problem(await deliver(wompi_hub, other, genuine), 400, "signature_invalid")
    assert await _events(wompi_hub, tenant) == [] and await _events(wompi_hub, other) == []
    assert (await payment(wompi_hub, tenant, created["id"]))["status"] == "processing"


async def test_a_refund_voids_the_whole_card_payment_once_and_what_wompi_cannot_do_sends_nothing(wompi_hub, wompi):
    tenant, merchant = await wompi_tenant(wompi_hub, wompi)
    r = await pay(wompi_hub, tenant, method("card", wompi, merchant))
    created = r.json()
    await settle(wompi_hub, tenant, wompi, merchant, created["provider_payment_id"])
    url = f"/v1/payments/{created['id']}/refunds"
    sent = sum(wompi.requests.values())
    partial = await wompi_hub.request("POST", url, json={"amount": 1000}, headers=tenant.admin)
    assert_problem(partial, 422, "not_supported", param="amount")
    manual = await pay(wompi_hub, tenant, method("card", wompi, merchant), capture_method="manual")
    assert_problem(manual, 422, "not_supported", param="capture_method")
    assert sum(wompi.requests.values()) == sent + 2  # the acceptance read of the refused payment, its card token

    headers = {**tenant.admin, "Idempotency-Key": "void-1"}
    first = await wompi_hub.request("POST", url, json={}, headers=headers)
    assert first.status_code == 201, first.text
    assert (first.json()["amount"], first.json()["status"]) == (AMOUNT, "succeeded")
    again = await wompi_hub.request("POST", url, json={}, headers=headers)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert wompi.voids[created["provider_payment_id"]] == 1
    refunded = await payment(wompi_hub, tenant, created["id"])
    assert (refunded["status"], refunded["amount_refunded"]) == ("refunded", AMOUNT)
    # Wompi's VOIDED event, applied after the API's answer, changes nothing more.
    (void_event,) = wompi.events_of(merchant)[-1:]
    assert (await deliver(wompi_hub, tenant, void_event)).status_code == 200
    assert (await payment(wompi_hub, tenant, created["id"]))["amount_refunded"] == AMOUNT

    nequi = (await pay(wompi_hub, tenant, method("nequi", wompi, merchant))).json()
    await settle(wompi_hub, tenant, wompi, merchant, nequi["provider_payment_id"])
    voids = sum(wompi.voids.values())
    r = await wompi_hub.request("POST", f"/v1/payments/{nequi['id']}/refunds", json={}, headers=tenant.admin)
    assert_problem(r, 422, "not_supported", param="payment_method.type")
    assert sum(wompi.voids.values()) == voids


async def test_one_idempotency_key_makes_one_wompi_transaction(wompi_hub, wompi):
    tenant, merchant = await wompi_tenant(wompi_hub, wompi)
    terms = (await wompi_hub.request("GET", "/v1/providers/wompi/acceptance", headers=tenant.storefront)).json()
    assert terms["permalink"].startswith("https://") and terms["personal_data_token"]
    pm = method("nequi", wompi, merchant)
    first = await pay(wompi_hub, tenant, pm, idempotency_key="order-7", acceptance_token=terms["acceptance_token"])
    again = await pay(wompi_hub, tenant, pm, idempotency_key="order-7", acceptance_token=terms["acceptance_token"])
    assert first.status_code == 201 and again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert wompi.created[first.json()["id"]] == 1 and len(wompi.by_reference(first.json()["id"])) == 1
    # Wompi's own minimum (1,500 COP), not Stripe's (2,000 COP), holds for a Wompi payment.
    r = await pay(wompi_hub, tenant, pm, amount=150_000, acceptance_token=terms["acceptance_token"])
    assert r.status_code == 201 and r.json()["amount"] == 150_000, r.text


async def test_what_a_wompi_payment_needs_is_422_before_anything_is_sent(wompi_hub, wompi):
    tenant, merchant = await wompi_tenant(wompi_hub, wompi)
    pm = method("nequi", wompi, merchant)
    sent = sum(wompi.requests.values())
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"customer_email": None}, "validation_error", "customer_email"),
        ({"acceptance_token": None}, "validation_error", "acceptance_token"),
        ({"payment_method": {"type": "bitcoin"}}, "not_supported", "payment_method.type"),
        ({"payment_method": {"type": "nequi"}}, "validation_error", "payment_method.phone_number"),
        ({"payment_method": "pm_card_visa"}, "validation_error", "payment_method"),
        ({"currency": "usd", "amount": 2000}, "not_supported", "currency"),
        ({"amount": 1000}, "amount_too_small", "amount"),
        # No connected accounts at Wompi: a destination charge is refused before the account is looked up.
        ({"transfer_to": "acct_hub_unknown"}, "not_supported", "transfer_to"),
        ({"transfer_to": "acct_hub_unknown", "application_fee_amount": 100}, "not_supported", "transfer_to"),
    ]
    for change, code, param in cases:
        body: dict[str, Any] = {"acceptance_token": "tok-accepted", "payment_method": pm, **change}
        payment_method = body.pop("payment_method")
        if body.get("acceptance_token") is None:
            body.pop("acceptance_token")
            body["acceptance_token"] = None
        r = await pay(wompi_hub, tenant, payment_method, **body)
        assert_problem(r, 422, code, param=param)
    assert sum(wompi.requests.values()) == sent
    listed = (await wompi_hub.request("GET", "/v1/payments", headers=tenant.storefront)).json()["data"]
    assert listed == []


async def test_a_tenant_with_both_providers_pays_by_stripe_by_default(wompi_hub, wompi):
    tenant, _ = await stripe_tenant(wompi_hub)
    merchant = wompi.add_merchant()
    r = await wompi_hub.request(
        "PUT", "/v1/providers/wompi/credentials", json=merchant.credentials, headers=tenant.admin
    )
    assert r.status_code == 200, r.text
    r = await create_payment(wompi_hub, tenant)
    assert r.status_code == 201 and r.json()["provider"] == "stripe", r.text
    r = await pay(wompi_hub, tenant, method("nequi", wompi, merchant))
    assert r.status_code == 201 and r.json()["provider"] == "wompi", r.text
    listed = (await wompi_hub.request("GET", "/v1/payments", headers=tenant.storefront)).json()["data"]
    assert sorted(p["provider"] for p in listed) == ["stripe", "wompi"]


async def test_sync_reads_the_transaction_from_wompi(wompi_hub, wompi):
    tenant, merchant = await wompi_tenant(wompi_hub, wompi)
    created = (await pay(wompi_hub, tenant, method("pse", wompi, merchant))).json()
    wompi.settle(created["provider_payment_id"])  # its event never reaches the hub
    r = await wompi_hub.request("POST", f"/v1/payments/{created['id']}/sync", headers=tenant.storefront)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["amount_received"], r.json()["next_action"]) == ("succeeded", AMOUNT, None)
