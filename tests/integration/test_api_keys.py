"""Tenant API keys: shown once, stored only as a SHA-256 digest, revocable, tenant-scoped."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from hub.db.tenants import ApiKey, AuditEntry
from tests.support.problem import assert_problem, db_rows


async def test_created_key_is_shown_once_and_only_its_sha256_digest_is_stored(hub):
    tenant = await hub.create_tenant()
    r = await hub.request("POST", "/v1/api-keys", json={"scope": "storefront"}, headers=tenant.admin)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["id"].startswith("key_") and created["scope"] == "storefront"
    token = created["key"]
    assert len(token) >= 40

    [row] = await db_rows(hub, select(ApiKey).where(ApiKey.id == created["id"]))
    assert row.digest == hashlib.sha256(token.encode()).hexdigest()
    assert row.tenant_id == tenant.id and row.scope == "storefront" and row.revoked_at is None
    for column in ApiKey.__table__.columns:
        value = getattr(row, column.key)
        assert not (isinstance(value, str) and token in value), column.key
    assert len(row.prefix) < len(token) // 3

    r = await hub.request("GET", "/v1/api-keys", headers=tenant.admin)
    assert r.status_code == 200
    assert token not in r.text and row.digest not in r.text
    listed = {k["id"]: k for k in r.json()["data"]}
    assert set(listed[created["id"]]) >= {"id", "scope", "prefix", "created_at"}
    assert "key" not in listed[created["id"]] and "digest" not in listed[created["id"]]


async def test_tenant_creation_stores_digests_of_its_two_keys_not_the_keys(hub):
    tenant = await hub.create_tenant()
    rows = await db_rows(hub, select(ApiKey).where(ApiKey.tenant_id == tenant.id))
    assert {(k.scope, k.digest) for k in rows} == {
        ("admin", hashlib.sha256(tenant.admin_key.encode()).hexdigest()),
        ("storefront", hashlib.sha256(tenant.storefront_key.encode()).hexdigest()),
    }


async def test_new_keys_work_with_their_scope(hub):
    tenant = await hub.create_tenant()
    admin = (await hub.request("POST", "/v1/api-keys", json={"scope": "admin"}, headers=tenant.admin)).json()
    store = (await hub.request("POST", "/v1/api-keys", json={"scope": "storefront"}, headers=tenant.admin)).json()
    assert admin["key"] != store["key"]
    r = await hub.request("GET", "/v1/api-keys", headers={"Authorization": f"Bearer {admin['key']}"})
    assert r.status_code == 200 and len(r.json()["data"]) == 4
    r = await hub.request("GET", "/v1/api-keys", headers={"Authorization": f"Bearer {store['key']}"})
    assert_problem(r, 403, "forbidden")


async def test_scope_must_be_admin_or_storefront(hub):
    tenant = await hub.create_tenant()
    for body in ({"scope": "root"}, {"scope": None}, {}, {"scope": "admin", "tenant_id": "ten_x"}, {"scope": 1}):
        r = await hub.request("POST", "/v1/api-keys", json=body, headers=tenant.admin)
        assert_problem(r, 422, "validation_error")
    assert len(await db_rows(hub, select(ApiKey).where(ApiKey.tenant_id == tenant.id))) == 2


async def test_scope_error_names_the_param(hub):
    tenant = await hub.create_tenant()
    r = await hub.request("POST", "/v1/api-keys", json={"scope": "root"}, headers=tenant.admin)
    assert_problem(r, 422, "validation_error", param="scope")
    r = await hub.request("POST", "/v1/api-keys", json={}, headers=tenant.admin)
    assert_problem(r, 422, "validation_error", param="scope")


async def test_revoked_key_stays_listed_with_revoked_at_and_revoking_twice_is_204(hub):
    tenant = await hub.create_tenant()
    created = (await hub.request("POST", "/v1/api-keys", json={"scope": "storefront"}, headers=tenant.admin)).json()
    for _ in range(2):
        r = await hub.request("DELETE", f"/v1/api-keys/{created['id']}", headers=tenant.admin)
        assert r.status_code == 204 and r.content == b""
    listed = {k["id"]: k for k in (await hub.request("GET", "/v1/api-keys", headers=tenant.admin)).json()["data"]}
    assert listed[created["id"]]["revoked_at"] is not None
    assert_problem(
        await hub.request("GET", "/v1/api-keys", headers={"Authorization": f"Bearer {created['key']}"}),
        401,
        "unauthorized",
    )


async def test_another_tenants_key_is_404_never_403_and_stays_live(hub):
    a = await hub.create_tenant("A")
    b = await hub.create_tenant("B")
    b_keys = (await hub.request("GET", "/v1/api-keys", headers=b.admin)).json()["data"]
    b_store = next(k for k in b_keys if k["scope"] == "storefront")
    r = await hub.request("DELETE", f"/v1/api-keys/{b_store['id']}", headers=a.admin)
    body = assert_problem(r, 404, "not_found")
    assert b_store["id"] not in body["detail"]
    # Same answer as for an id that does not exist at all: nothing confirms it exists.
    r2 = await hub.request("DELETE", "/v1/api-keys/key_doesnotexist", headers=a.admin)
    assert r2.json() == r.json()
    [row] = await db_rows(hub, select(ApiKey).where(ApiKey.id == b_store["id"]))
    assert row.revoked_at is None
    listed = (await hub.request("GET", "/v1/api-keys", headers=a.admin)).json()["data"]
    assert b_store["id"] not in {k["id"] for k in listed}


async def test_key_changes_are_audited_without_the_key(hub):
    tenant = await hub.create_tenant()
    created = (await hub.request("POST", "/v1/api-keys", json={"scope": "admin"}, headers=tenant.admin)).json()
    await hub.request("DELETE", f"/v1/api-keys/{created['id']}", headers=tenant.admin)
    rows = await db_rows(
        hub,
        select(AuditEntry)
        .where(AuditEntry.tenant_id == tenant.id, AuditEntry.action.like("api_key.%"))
        .order_by(AuditEntry.id),
    )
    assert [(e.action, e.target) for e in rows] == [
        ("api_key.created", created["id"]),
        ("api_key.revoked", created["id"]),
    ]
    assert all(e.actor.startswith("api_key:key_") for e in rows)
    assert all(created["key"] not in repr(e.details) for e in rows)
