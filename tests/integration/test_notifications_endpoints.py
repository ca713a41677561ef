"""Tenant admins manage their notification endpoints; the secret is shown once and kept sealed;
another tenant's endpoints and deliveries do not exist for them."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.hub import PLATFORM
from tests.support.notifications import add_endpoint, eventually, notify_hub, receiver, settled
from tests.support.problem import assert_problem
from tests.support.process import HubProcess
from tests.support.rawdb import found, raw_contents

BASE = "/v1/notification-endpoints"


@pytest.fixture
async def nhub(database_url, emulator, shared_home):
    async with notify_hub(database_url, str(shared_home), emulator.url) as client:
        yield client


async def test_create_shows_the_secret_once_and_reads_never_show_it(nhub, database_url):
    tenant = await nhub.create_tenant()
    created = await add_endpoint(nhub, tenant, "http://127.0.0.1:9/hooks")
    assert created["secret"].startswith("whsec_")
    assert (created["enabled_events"], created["status"]) == (["*"], "enabled")
    shown = (await nhub.request("GET", f"{BASE}/{created['id']}", headers=tenant.admin)).json()
    listed = (await nhub.request("GET", BASE, headers=tenant.admin)).json()
    assert "secret" not in shown and shown["url"] == "http://127.0.0.1:9/hooks"
    assert [e["id"] for e in listed["data"]] == [created["id"]] and "secret" not in listed["data"][0]
    assert not found(raw_contents(database_url), created["secret"])  # sealed by the vault at rest


async def test_bad_input_is_refused_with_a_problem_and_creates_nothing(nhub):
    tenant = await nhub.create_tenant()
    for body, param in [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "http://user:pw@example.com/x"}, "url"),
        ({"url": "https://example.com/x", "enabled_events": ["payment.exploded"]}, "enabled_events"),
        ({"url": "https://example.com/x", "enabled_events": []}, "enabled_events"),
        ({"url": "https://example.com/x", "description": "shop\u0000"}, "description"),
        ({"url": "https://example.com/\u0000x"}, "url"),
    ]:
        r = await nhub.request("POST", BASE, json=body, headers=tenant.admin)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert (r.json()["code"], r.json()["param"]) == ("validation_error", param)
    assert (await nhub.request("GET", BASE, headers=tenant.admin)).json()["data"] == []


async def test_storefront_keys_may_not_manage_endpoints(nhub):
    tenant = await nhub.create_tenant()
    r = await nhub.request("POST", BASE, json={"url": "https://example.com/x"}, headers=tenant.storefront)
    assert r.status_code == 403


async def test_idempotency_key_replays_the_creation_and_refuses_another_body(nhub, database_url):
    tenant = await nhub.create_tenant()
    headers = {**tenant.admin, "Idempotency-Key": "ep-1"}
    first = await nhub.request("POST", BASE, json={"url": "https://example.com/x"}, headers=headers)
    again = await nhub.request("POST", BASE, json={"url": "https://example.com/x"}, headers=headers)
    other = await nhub.request("POST", BASE, json={"url": "https://example.com/y"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_conflict")
    assert len((await nhub.request("GET", BASE, headers=tenant.admin)).json()["data"]) == 1
    # The answer kept for replays holds the secret, sealed like the endpoint's own copy.
    assert not found(raw_contents(database_url), first.json()["secret"])


async def test_delete_removes_the_endpoint(nhub):
    tenant = await nhub.create_tenant()
    created = await add_endpoint(nhub, tenant, "https://example.com/x")
    assert (await nhub.request("DELETE", f"{BASE}/{created['id']}", headers=tenant.admin)).status_code == 204
    assert (await nhub.request("GET", f"{BASE}/{created['id']}", headers=tenant.admin)).status_code == 404


async def test_another_tenants_endpoints_and_deliveries_are_not_found(nhub):
    tenant_a = await nhub.create_tenant("A")
    tenant_b = await nhub.create_tenant("B")
    async with receiver() as app:
        endpoint = await add_endpoint(nhub, tenant_a, app.url)
        r = await nhub.request("POST", f"{BASE}/{endpoint['id']}/test", headers=tenant_a.admin)
        assert r.status_code == 202
        delivery_id = r.json()["delivery_id"]
        await eventually(lambda: app.messages)
        eid = endpoint["id"]
        for method, path in [
            ("GET", f"{BASE}/{eid}"),
            ("DELETE", f"{BASE}/{eid}"),
            ("POST", f"{BASE}/{eid}/rotate-secret"),
            ("POST", f"{BASE}/{eid}/test"),
            ("GET", f"{BASE}/{eid}/deliveries"),
            ("POST", f"{BASE}/{eid}/deliveries/{delivery_id}/retry"),
        ]:
            r = await nhub.request(method, path, headers=tenant_b.admin)
            assert (r.status_code, r.json()["code"]) == (404, "not_found"), (method, path)
        assert (await nhub.request("GET", BASE, headers=tenant_b.admin)).json()["data"] == []
        # B's own endpoint cannot reach A's delivery either.
        own = await add_endpoint(nhub, tenant_b, app.url)
        r = await nhub.request("POST", f"{BASE}/{own['id']}/deliveries/{delivery_id}/retry", headers=tenant_b.admin)
        assert r.status_code == 404
        assert len(app.messages) == 1
        await eventually(settled(nhub, tenant_a, eid, 1))


async def test_deliveries_are_listed_newest_first_in_pages(nhub):
    tenant = await nhub.create_tenant()
    async with receiver() as app:
        endpoint = await add_endpoint(nhub, tenant, app.url)
        sent = []
        for _ in range(3):
            r = await nhub.request("POST", f"{BASE}/{endpoint['id']}/test", headers=tenant.admin)
            sent.append(r.json()["delivery_id"])
        await eventually(settled(nhub, tenant, endpoint["id"], 3))
        page = f"{BASE}/{endpoint['id']}/deliveries?limit=2"
        first = (await nhub.request("GET", page, headers=tenant.admin)).json()
        assert [d["id"] for d in first["data"]] == sent[::-1][:2] and first["has_more"] is True
        r = await nhub.request("GET", f"{page}&starting_after={first['data'][-1]['id']}", headers=tenant.admin)
        assert [d["id"] for d in r.json()["data"]] == sent[:1] and r.json()["has_more"] is False
        one = first["data"][0]
        assert (one["type"], one["attempts"], one["last_status_code"]) == ("ping", 1, 200)
        assert one["delivered_at"] is not None and one["next_attempt_at"] is None


async def test_forty_creations_at_once_make_exactly_twenty_endpoints(database_url, tmp_path):
    # Real HTTP to `hub serve` with two workers: the in-process client runs one request at a time.
    # The cap is decided under the tenant row's lock, so concurrent creations cannot all count 19.
    proc = HubProcess(database_url, tmp_path / "home", workers=2)
    try:
        async with proc.client(timeout=60) as http:
            r = await http.post("/v1/tenants", json={"name": "Many"}, headers=PLATFORM)
            assert r.status_code == 201, r.text
            admin = {"Authorization": f"Bearer {r.json()['api_keys']['admin']}"}
            answers = await asyncio.gather(
                *(http.post(BASE, json={"url": f"http://127.0.0.1:9/hooks/{i}"}, headers=admin) for i in range(40))
            )
            listed = (await http.get(f"{BASE}?limit=100", headers=admin)).json()["data"]
    finally:
        proc.stop()
    created = [r for r in answers if r.status_code == 201]
    refused = [r for r in answers if r.status_code != 201]
    print(f"\n40 concurrent creations: {len(created)} created, {len(listed)} listed, {len(refused)} refused")
    for r in refused:
        assert_problem(r, 409, "too_many_endpoints")
    assert (len(created), len(listed)) == (20, 20)
    assert {e["id"] for e in listed} == {r.json()["id"] for r in created}
