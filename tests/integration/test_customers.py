"""Customers: list, read, update, delete; isolation, idempotent create, validation and scopes."""

from __future__ import annotations

import pytest

from tests.support.payments import Recorder, emulator_get, recorded_hub, stripe_tenant
from tests.support.problem import assert_problem
from tests.support.recurring import emulator_objects, emulator_status, new_customer, post


@pytest.fixture
async def two_tenants(database_url, emulator, shared_home):
    recorder = Recorder(emulator.url)
    async with recorded_hub(database_url, str(shared_home), emulator.url, recorder, shared=True) as hub:
        owner, owner_sk = await stripe_tenant(hub, "Owner")
        other, _ = await stripe_tenant(hub, "Other")
        yield hub, recorder, owner, owner_sk, other


async def test_a_customer_is_listed_read_updated_and_deleted_at_stripe_too(hub, emulator):
    tenant, sk = await stripe_tenant(hub)
    ana = await new_customer(hub, tenant, metadata={"crm": "7"})
    bo = await new_customer(hub, tenant, email="bo@example.com", name="Bo")

    listed = (await hub.request("GET", "/v1/customers", headers=tenant.storefront)).json()
    assert [c["id"] for c in listed["data"]] == [bo["id"], ana["id"]] and listed["has_more"] is False
    page = (await hub.request("GET", "/v1/customers?limit=1", headers=tenant.storefront)).json()
    assert [c["id"] for c in page["data"]] == [bo["id"]] and page["has_more"] is True
    after = (
        await hub.request("GET", f"/v1/customers?limit=1&starting_after={bo['id']}", headers=tenant.storefront)
    ).json()
    assert [c["id"] for c in after["data"]] == [ana["id"]]
    by_email = (await hub.request("GET", "/v1/customers?email=bo@example.com", headers=tenant.storefront)).json()
    assert [c["id"] for c in by_email["data"]] == [bo["id"]]
    assert (await hub.request("GET", f"/v1/customers/{ana['id']}", headers=tenant.storefront)).json() == ana

    r = await hub.request(
        "PATCH",
        f"/v1/customers/{ana['id']}",
        json={"name": "Ana Maria", "metadata": {"tier": "gold"}},
        headers=tenant.admin,
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Ana Maria" and r.json()["email"] == "ana@example.com"
    assert r.json()["metadata"] == {"tier": "gold"}
    at_stripe = emulator_get(emulator, sk, f"/v1/customers/{ana['provider_customer_id']}")
    assert at_stripe["name"] == "Ana Maria"
    assert at_stripe["metadata"]["tier"] == "gold" and at_stripe["metadata"]["crm"] == ""
    # The hub's own keys stay on the Stripe object whatever the client sends.
    assert at_stripe["metadata"]["hub_customer_id"] == ana["id"]

    r = await hub.request("DELETE", f"/v1/customers/{ana['id']}", headers=tenant.admin)
    assert r.status_code == 204, r.text
    assert emulator_status(emulator, sk, f"/v1/customers/{ana['provider_customer_id']}") == 404
    assert_problem(await hub.request("GET", f"/v1/customers/{ana['id']}", headers=tenant.storefront), 404, "not_found")
    listed = (await hub.request("GET", "/v1/customers", headers=tenant.storefront)).json()
    assert [c["id"] for c in listed["data"]] == [bo["id"]]


@pytest.mark.parametrize(
    "method,path,body,scope",
    [
        ("GET", "/v1/customers/{id}", None, "storefront"),
        ("PATCH", "/v1/customers/{id}", {"name": "Mallory"}, "admin"),
        ("DELETE", "/v1/customers/{id}", None, "admin"),
        ("GET", "/v1/customers/{id}/payment-methods", None, "storefront"),
        ("POST", "/v1/setup-intents", {"customer_id": "{id}"}, "storefront"),
    ],
)
async def test_another_tenants_customer_is_404_and_nothing_reaches_stripe(
    two_tenants, emulator, method, path, body, scope
):
    hub, recorder, owner, owner_sk, other = two_tenants
    ana = await new_customer(hub, owner)
    before = len(recorder.requests)
    if body is not None:
        body = {k: v.format(id=ana["id"]) for k, v in body.items()}
    r = await hub.request(method, path.format(id=ana["id"]), json=body, headers=getattr(other, scope))
    assert_problem(r, 404, "not_found")
    assert len(recorder.requests) == before
    assert emulator_get(emulator, owner_sk, f"/v1/customers/{ana['provider_customer_id']}")["name"] == "Ana"
    listed = (await hub.request("GET", "/v1/customers", headers=other.admin)).json()
    assert listed["data"] == []


async def test_the_same_key_and_body_replays_the_customer_and_another_body_conflicts(two_tenants, emulator):
    hub, recorder, owner, owner_sk, _ = two_tenants
    first = await post(hub, owner, "/v1/customers", {"email": "ana@example.com"}, key="cust-1")
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = await post(hub, owner, "/v1/customers", {"email": "ana@example.com"}, key="cust-1")
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert recorder.calls("POST", "/v1/customers") == 1
    assert len(emulator_objects(emulator, owner_sk, "/v1/customers", hub_customer_id=first.json()["id"])) == 1
    other_body = await post(hub, owner, "/v1/customers", {"email": "bo@example.com"}, key="cust-1")
    assert_problem(other_body, 409, "idempotency_conflict", param="Idempotency-Key")
    assert recorder.calls("POST", "/v1/customers") == 1


async def test_a_key_is_scoped_to_its_tenant(two_tenants):
    hub, _, owner, _, other = two_tenants
    mine = await post(hub, owner, "/v1/customers", {"email": "ana@example.com"}, key="shared")
    theirs = await post(hub, other, "/v1/customers", {"email": "ana@example.com"}, key="shared")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


@pytest.mark.parametrize(
    "body,param",
    [
        ({"email": "not an email"}, "email"),
        ({"metadata": {"hub_customer_id": "x"}}, "metadata.hub_customer_id"),
        ({"name": ""}, "name"),
        ({"unknown": 1}, "unknown"),
    ],
)
async def test_a_bad_update_is_refused_before_stripe_and_changes_nothing(two_tenants, body, param):
    hub, recorder, owner, _, _ = two_tenants
    ana = await new_customer(hub, owner)
    before = len(recorder.requests)
    r = await hub.request("PATCH", f"/v1/customers/{ana['id']}", json=body, headers=owner.admin)
    assert_problem(r, 422, "validation_error", param=param)
    assert len(recorder.requests) == before
    assert (await hub.request("GET", f"/v1/customers/{ana['id']}", headers=owner.admin)).json() == ana


async def test_a_bad_idempotency_key_is_refused(two_tenants):
    hub, recorder, owner, _, _ = two_tenants
    r = await post(hub, owner, "/v1/customers", {"email": "ana@example.com"}, key="x" * 256)
    assert_problem(r, 422, "validation_error", param="Idempotency-Key")
    assert recorder.calls("POST", "/v1/customers") == 0


async def test_storefront_keys_create_and_read_but_only_admin_keys_change_or_delete(two_tenants):
    hub, recorder, owner, _, _ = two_tenants
    ana = await new_customer(hub, owner)
    before = len(recorder.requests)
    r = await hub.request("PATCH", f"/v1/customers/{ana['id']}", json={"name": "X"}, headers=owner.storefront)
    assert_problem(r, 403, "forbidden")
    assert_problem(
        await hub.request("DELETE", f"/v1/customers/{ana['id']}", headers=owner.storefront), 403, "forbidden"
    )
    assert len(recorder.requests) == before
    assert (await hub.request("GET", "/v1/customers", headers=owner.storefront)).status_code == 200
    assert_problem(await hub.request("GET", "/v1/customers"), 401, "unauthorized")


async def test_a_key_still_running_is_409_in_progress_and_one_whose_worker_died_is_taken_over(two_tenants, emulator):
    from datetime import timedelta

    from sqlalchemy import select

    from hub.db.payments import Customer
    from tests.support.idempotency import key_left_running
    from tests.support.payments import stripe_error
    from tests.support.problem import db_rows

    hub, recorder, owner, owner_sk, _ = two_tenants
    body = {"email": "ana@example.com"}
    # The first request writes its row and claim, then never hears from Stripe (which did not act);
    # its worker dies before it can reopen the key.
    recorder.answer = lambda request: stripe_error(500, "api_error", "Something went wrong.")
    first = await post(hub, owner, "/v1/customers", body, key="running")
    assert_problem(first, 503, "provider_unavailable")
    recorder.answer = None
    (pending,) = await db_rows(hub, select(Customer).where(Customer.tenant_id == owner.id))
    assert pending.provider_customer_id is None  # written before Stripe was called
    await key_left_running(hub, owner.id, "customers.create", "running", lease_left=timedelta(seconds=30))

    r = await post(hub, owner, "/v1/customers", body, key="running")
    assert_problem(r, 409, "idempotency_in_progress", param="Idempotency-Key")
    assert 1 <= int(r.headers["retry-after"]) <= 5
    assert recorder.calls("POST", "/v1/customers") == 1

    await key_left_running(hub, owner.id, "customers.create", "running", lease_left=-timedelta(seconds=1))
    r = await post(hub, owner, "/v1/customers", body, key="running")
    assert r.status_code == 201 and "idempotent-replayed" not in r.headers, r.text
    # The retry finishes the first request's work: its row, and its Stripe idempotency key.
    assert r.json()["id"] == pending.id
    keys = recorder.idempotency_keys("POST", "/v1/customers")
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]
    assert len(emulator_objects(emulator, owner_sk, "/v1/customers", hub_customer_id=pending.id)) == 1
    again = await post(hub, owner, "/v1/customers", body, key="running")
    assert again.content == r.content and again.headers["idempotent-replayed"] == "true"
