"""Platform-operator tenant routes, as docs/api.md says (platform token only)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from hub.db.tenants import AuditEntry, Tenant
from tests.support.hub import PLATFORM
from tests.support.problem import assert_problem, db_rows


async def test_create_tenant_returns_201_with_both_keys_once_and_a_webhook_url(hub):
    r = await hub.request("POST", "/v1/tenants", json={"name": "  Acme Shoes  "}, headers=PLATFORM)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"].startswith("ten_")
    assert body["name"] == "Acme Shoes"
    assert body["status"] == "active"
    datetime.fromisoformat(body["created_at"])
    assert body["webhook_url"] == f"http://hub.test/v1/webhooks/stripe/{body['id']}"
    keys = body["api_keys"]
    assert set(keys) == {"admin", "storefront"}
    assert keys["admin"] != keys["storefront"] and len(keys["admin"]) >= 40


async def test_get_and_list_tenants_never_show_keys(hub):
    a = await hub.create_tenant("A")
    b = await hub.create_tenant("B")
    r = await hub.request("GET", f"/v1/tenants/{a.id}", headers=PLATFORM)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == a.id and "api_keys" not in r.json()
    assert a.admin_key not in r.text and a.storefront_key not in r.text
    r = await hub.request("GET", "/v1/tenants", headers=PLATFORM)
    assert r.status_code == 200, r.text
    listed = r.json()
    assert [t["id"] for t in listed["data"]] == [b.id, a.id]  # newest first
    assert listed["has_more"] is False
    for key in (a.admin_key, a.storefront_key, b.admin_key, b.storefront_key):
        assert key not in r.text


async def test_tenant_list_pages_with_limit_and_starting_after(hub):
    ids = [(await hub.create_tenant(f"T{i}")).id for i in range(3)]
    r = await hub.request("GET", "/v1/tenants", params={"limit": 2}, headers=PLATFORM)
    page = r.json()
    assert [t["id"] for t in page["data"]] == [ids[2], ids[1]] and page["has_more"] is True
    r = await hub.request("GET", "/v1/tenants", params={"limit": 2, "starting_after": ids[1]}, headers=PLATFORM)
    page = r.json()
    assert [t["id"] for t in page["data"]] == [ids[0]] and page["has_more"] is False


async def test_tenant_list_limit_out_of_range_is_422_naming_limit(hub):
    for bad in ("0", "101", "abc"):
        r = await hub.request("GET", "/v1/tenants", params={"limit": bad}, headers=PLATFORM)
        assert assert_problem(r, 422, "validation_error")["param"] == "limit"


async def test_unknown_tenant_is_404_on_get_suspend_and_activate(hub):
    for method, path in (
        ("GET", "/v1/tenants/ten_nope"),
        ("POST", "/v1/tenants/ten_nope/suspend"),
        ("POST", "/v1/tenants/ten_nope/activate"),
    ):
        assert_problem(await hub.request(method, path, headers=PLATFORM), 404, "not_found")


async def test_tenant_name_must_be_a_non_blank_string(hub):
    for body in ({"name": ""}, {"name": "   "}, {"name": 7}, {}, {"name": "x", "plan": "gold"}, {"name": "x" * 201}):
        r = await hub.request("POST", "/v1/tenants", json=body, headers=PLATFORM)
        assert_problem(r, 422, "validation_error")
    assert await db_rows(hub, select(Tenant)) == []


async def test_suspended_tenant_keys_get_403_tenant_suspended_until_activated(hub):
    tenant = await hub.create_tenant()
    r = await hub.request("POST", f"/v1/tenants/{tenant.id}/suspend", headers=PLATFORM)
    assert r.status_code == 200 and r.json()["status"] == "suspended", r.text
    for headers, path in ((tenant.admin, "/v1/api-keys"), (tenant.admin, "/v1/providers/stripe/credentials")):
        assert_problem(await hub.request("GET", path, headers=headers), 403, "tenant_suspended")
    r = await hub.request("POST", "/v1/api-keys", json={"scope": "admin"}, headers=tenant.admin)
    assert_problem(r, 403, "tenant_suspended")
    r = await hub.request("GET", f"/v1/tenants/{tenant.id}", headers=PLATFORM)
    assert r.json()["status"] == "suspended"

    r = await hub.request("POST", f"/v1/tenants/{tenant.id}/activate", headers=PLATFORM)
    assert r.status_code == 200 and r.json()["status"] == "active", r.text
    r = await hub.request("GET", "/v1/api-keys", headers=tenant.admin)
    assert r.status_code == 200, r.text


async def test_suspending_one_tenant_leaves_the_others_working(hub):
    a = await hub.create_tenant("A")
    b = await hub.create_tenant("B")
    await hub.request("POST", f"/v1/tenants/{a.id}/suspend", headers=PLATFORM)
    assert (await hub.request("GET", "/v1/api-keys", headers=b.admin)).status_code == 200


async def test_tenant_lifecycle_is_audited(hub):
    tenant = await hub.create_tenant()
    await hub.request("POST", f"/v1/tenants/{tenant.id}/suspend", headers=PLATFORM)
    await hub.request("POST", f"/v1/tenants/{tenant.id}/suspend", headers=PLATFORM)  # no change, no row
    await hub.request("POST", f"/v1/tenants/{tenant.id}/activate", headers=PLATFORM)
    rows = await db_rows(hub, select(AuditEntry).where(AuditEntry.tenant_id == tenant.id).order_by(AuditEntry.id))
    assert [(e.actor, e.action) for e in rows] == [
        ("platform", "tenant.created"),
        ("platform", "tenant.suspended"),
        ("platform", "tenant.activated"),
    ]
