"""Tenant isolation on every payment route: another tenant's object is 404 and nothing happens at Stripe."""

from __future__ import annotations

import pytest

from tests.support.hub import PLATFORM
from tests.support.payments import Recorder, create_payment, emulator_get, recorded_hub, stripe_tenant

ROUTES = [
    ("GET", "/v1/payments/{id}", None),
    ("POST", "/v1/payments/{id}/capture", {}),
    ("POST", "/v1/payments/{id}/cancel", None),
    ("POST", "/v1/payments/{id}/sync", None),
    ("POST", "/v1/payments/{id}/refunds", {"amount": 100}),
    ("GET", "/v1/payments/{id}/refunds", None),
]


@pytest.fixture
async def two_tenants(database_url, emulator, shared_home):
    recorder = Recorder(emulator.url)
    async with recorded_hub(database_url, str(shared_home), emulator.url, recorder, shared=True) as hub:
        owner, owner_sk = await stripe_tenant(hub, "Owner")
        other, _ = await stripe_tenant(hub, "Other")
        yield hub, recorder, owner, owner_sk, other


@pytest.mark.parametrize("method,path,body", ROUTES)
async def test_another_tenants_key_gets_404_and_nothing_reaches_stripe(two_tenants, emulator, method, path, body):
    hub, recorder, owner, owner_sk, other = two_tenants
    # Refunds need an admin key at all (403 for any storefront key, whoever owns the payment).
    scopes = ("admin",) if path.endswith("/refunds") and method == "POST" else ("storefront", "admin")
    for scope in scopes:
        payment = (
            await create_payment(hub, owner, capture_method="manual", payment_method="pm_card_visa", confirm=True)
        ).json()
        before = len(recorder.requests)
        kwargs = {"json": body} if body is not None else {}
        r = await hub.request(method, path.format(id=payment["id"]), headers=getattr(other, scope), **kwargs)
        assert r.status_code == 404 and r.json()["code"] == "not_found", (scope, r.text)
        assert payment["id"] not in r.text
        assert len(recorder.requests) == before
        pi = emulator_get(emulator, owner_sk, f"/v1/payment_intents/{payment['provider_payment_id']}")
        assert pi["status"] == "requires_capture"


async def test_the_list_shows_only_the_tenants_own_payments(two_tenants):
    hub, _, owner, _, other = two_tenants
    mine = (await create_payment(hub, owner)).json()
    theirs = (await create_payment(hub, other)).json()
    listed = (await hub.request("GET", "/v1/payments", headers=owner.storefront)).json()["data"]
    assert [p["id"] for p in listed] == [mine["id"]]
    # A cursor taken from another tenant's list reveals nothing either.
    r = await hub.request("GET", f"/v1/payments?starting_after={theirs['id']}z", headers=owner.storefront)
    assert [p["id"] for p in r.json()["data"]] == [mine["id"]]


async def test_another_tenants_customer_cannot_be_used_or_read(two_tenants):
    hub, recorder, owner, _, other = two_tenants
    customer = (await hub.request("POST", "/v1/customers", json={"name": "Ana"}, headers=owner.storefront)).json()
    r = await hub.request("GET", f"/v1/customers/{customer['id']}", headers=other.storefront)
    assert r.status_code == 404
    before = len(recorder.requests)
    r = await create_payment(hub, other, customer_id=customer["id"])
    assert r.status_code == 404 and r.json()["param"] == "customer_id"
    assert len(recorder.requests) == before


async def test_a_storefront_key_may_not_refund(two_tenants):
    hub, recorder, owner, _, _ = two_tenants
    payment = (await create_payment(hub, owner, payment_method="pm_card_visa", confirm=True)).json()
    before = len(recorder.requests)
    r = await hub.request("POST", f"/v1/payments/{payment['id']}/refunds", json={}, headers=owner.storefront)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert len(recorder.requests) == before


@pytest.mark.parametrize(
    "method,path,body",
    [
        *ROUTES,
        ("POST", "/v1/payments", {"amount": 2000, "currency": "usd"}),
        ("GET", "/v1/payments", None),
        ("POST", "/v1/customers", {"name": "Ana"}),
    ],
)
async def test_a_suspended_tenant_gets_403_tenant_suspended(two_tenants, method, path, body):
    hub, recorder, owner, _, _ = two_tenants
    payment = (await create_payment(hub, owner, payment_method="pm_card_visa", confirm=True)).json()
    assert (await hub.request("POST", f"/v1/tenants/{owner.id}/suspend", headers=PLATFORM)).status_code == 200
    before = len(recorder.requests)
    kwargs = {"json": body} if body is not None else {}
    r = await hub.request(method, path.format(id=payment["id"]), headers=owner.admin, **kwargs)
    assert r.status_code == 403 and r.json()["code"] == "tenant_suspended", r.text
    assert len(recorder.requests) == before


async def test_requests_without_a_valid_key_are_401(two_tenants):
    hub, _, _owner, _, _ = two_tenants
    r = await hub.request("POST", "/v1/payments", json={"amount": 2000, "currency": "usd"})
    assert r.status_code == 401
    r = await hub.request("GET", "/v1/payments", headers={"Authorization": "Bearer hub_st_nope"})
    assert r.status_code == 401
