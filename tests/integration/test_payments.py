"""Creating, reading and listing payments through each tenant's own Stripe account (the emulator)."""

from __future__ import annotations

from tests.support.payments import create_payment, emulator_get, emulator_intents, stripe_tenant


async def test_automatic_payment_is_created_at_stripe_with_the_hub_ids_and_what_stripe_js_needs(hub, emulator):
    tenant, sk = await stripe_tenant(hub)
    r = await create_payment(
        hub, tenant, amount=2500, currency="USD", metadata={"order": "A-1"}, description="Order A-1"
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"].startswith("pay_") and body["provider"] == "stripe"
    assert body["status"] == "requires_payment_method"
    assert (body["amount"], body["currency"], body["capture_method"]) == (2500, "usd", "automatic")
    assert body["client_secret"].startswith(body["provider_payment_id"])
    assert body["publishable_key"].startswith("pk_test_")
    assert body["metadata"] == {"order": "A-1"} and body["description"] == "Order A-1"
    assert (body["amount_capturable"], body["amount_received"], body["amount_refunded"]) == (0, 0, 0)
    pi = emulator_get(emulator, sk, f"/v1/payment_intents/{body['provider_payment_id']}")
    assert pi["metadata"]["hub_tenant_id"] == tenant.id
    assert pi["metadata"]["hub_payment_id"] == body["id"]
    assert pi["metadata"]["order"] == "A-1" and pi["amount"] == 2500


async def test_manual_capture_payment_confirmed_with_a_card_waits_for_capture(hub):
    tenant, _ = await stripe_tenant(hub)
    r = await create_payment(hub, tenant, capture_method="manual", payment_method="pm_card_visa", confirm=True)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "requires_capture" and body["capture_method"] == "manual"
    assert body["amount_capturable"] == 2000 and body["amount_received"] == 0


async def test_automatic_payment_confirmed_with_a_card_succeeds_and_records_the_money(hub):
    tenant, _ = await stripe_tenant(hub)
    r = await create_payment(hub, tenant, payment_method="pm_card_visa", confirm=True)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "succeeded" and r.json()["amount_received"] == 2000


async def test_payment_for_a_hub_customer_is_made_for_that_stripe_customer(hub, emulator):
    tenant, sk = await stripe_tenant(hub)
    r = await hub.request(
        "POST", "/v1/customers", json={"email": "ana@example.com", "name": "Ana"}, headers=tenant.storefront
    )
    assert r.status_code == 201, r.text
    customer = r.json()
    assert customer["provider_customer_id"].startswith("cus_") and customer["email"] == "ana@example.com"
    stripe_customer = emulator_get(emulator, sk, f"/v1/customers/{customer['provider_customer_id']}")
    assert stripe_customer["metadata"]["hub_tenant_id"] == tenant.id
    assert stripe_customer["metadata"]["hub_customer_id"] == customer["id"]
    r = await create_payment(hub, tenant, customer_id=customer["id"])
    assert r.status_code == 201, r.text
    assert r.json()["customer_id"] == customer["id"]
    pi = emulator_get(emulator, sk, f"/v1/payment_intents/{r.json()['provider_payment_id']}")
    assert pi["customer"] == customer["provider_customer_id"]


async def test_unknown_customer_is_not_found_and_nothing_is_created(hub, emulator):
    tenant, sk = await stripe_tenant(hub)
    r = await create_payment(hub, tenant, customer_id="cust_nope", metadata={"probe": "unknown-customer"})
    assert r.status_code == 404 and r.json()["param"] == "customer_id"
    assert emulator_intents(emulator, sk, hub_tenant_id=tenant.id) == []


async def test_confirm_without_a_payment_method_is_refused_before_stripe(hub, emulator):
    tenant, sk = await stripe_tenant(hub)
    r = await create_payment(hub, tenant, confirm=True)
    assert r.status_code == 422 and r.json()["param"] == "payment_method"
    assert emulator_intents(emulator, sk, hub_tenant_id=tenant.id) == []


async def test_reserved_and_oversized_metadata_is_refused_with_its_param(hub):
    tenant, _ = await stripe_tenant(hub)
    r = await create_payment(hub, tenant, metadata={"hub_payment_id": "pay_forged"})
    assert r.status_code == 422 and r.json()["param"] == "metadata.hub_payment_id"
    r = await create_payment(hub, tenant, metadata={"k" * 41: "v"})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    r = await create_payment(hub, tenant, metadata={"note": "x" * 501})
    assert r.status_code == 422 and r.json()["param"] == "metadata.note"
    r = await hub.request("GET", "/v1/payments", headers=tenant.storefront)
    assert r.json()["data"] == []


async def test_a_payment_is_read_back_by_id(hub):
    tenant, _ = await stripe_tenant(hub)
    created = (await create_payment(hub, tenant, capture_method="manual")).json()
    r = await hub.request("GET", f"/v1/payments/{created['id']}", headers=tenant.storefront)
    assert r.status_code == 200
    assert r.json() == created


async def test_list_is_newest_first_with_a_cursor_and_a_status_filter(hub):
    tenant, _ = await stripe_tenant(hub)
    ids = []
    for n in range(5):
        body = {"payment_method": "pm_card_visa", "confirm": True} if n % 2 else {}
        r = await create_payment(hub, tenant, amount=1000 + n, **body)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    newest_first = list(reversed(ids))
    r = await hub.request("GET", "/v1/payments?limit=2", headers=tenant.storefront)
    page = r.json()
    assert [p["id"] for p in page["data"]] == newest_first[:2] and page["has_more"] is True
    r = await hub.request("GET", f"/v1/payments?limit=2&starting_after={newest_first[1]}", headers=tenant.storefront)
    assert [p["id"] for p in r.json()["data"]] == newest_first[2:4]
    r = await hub.request("GET", f"/v1/payments?limit=10&starting_after={newest_first[3]}", headers=tenant.storefront)
    assert [p["id"] for p in r.json()["data"]] == newest_first[4:] and r.json()["has_more"] is False
    r = await hub.request("GET", "/v1/payments?status=succeeded", headers=tenant.storefront)
    assert [p["id"] for p in r.json()["data"]] == [ids[3], ids[1]]
    r = await hub.request("GET", "/v1/payments?status=bogus", headers=tenant.storefront)
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    r = await hub.request("GET", "/v1/payments?limit=0", headers=tenant.storefront)
    assert r.status_code == 422


async def test_a_tenant_without_credentials_is_told_so(hub):
    tenant = await hub.create_tenant()
    r = await create_payment(hub, tenant)
    assert r.status_code == 404 and r.json()["code"] == "credentials_missing"
