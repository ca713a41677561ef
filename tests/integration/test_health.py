"""Liveness, readiness and the OpenAPI document (API.md, Health)."""

from __future__ import annotations


async def test_health_is_200_ok_without_auth(hub):
    r = await hub.request("GET", "/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_ready_is_200_with_database_migrations_and_vault_checks(hub):
    tenant = await hub.create_tenant()
    await hub.register_stripe(tenant)  # a data key exists, so the vault check unwraps something real
    r = await hub.request("GET", "/health/ready")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok", "vault": "ok"}}


async def test_openapi_document_lists_every_foundation_path(hub):
    r = await hub.request("GET", "/schema/openapi.json")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    expected = {
        "/health": {"get"},
        "/health/ready": {"get"},
        "/v1/tenants": {"get", "post"},
        "/v1/tenants/{tenant_id}": {"get"},
        "/v1/tenants/{tenant_id}/suspend": {"post"},
        "/v1/tenants/{tenant_id}/activate": {"post"},
        "/v1/api-keys": {"get", "post"},
        "/v1/api-keys/{key_id}": {"delete"},
        "/v1/providers/{provider}/credentials": {"get", "put", "delete"},
        "/v1/providers/{provider}/health-check": {"post"},
        "/v1/providers/{provider}/webhook/repair": {"post"},
    }
    for path, methods in expected.items():
        assert path in paths, (path, sorted(paths))
        assert methods <= set(paths[path]), (path, sorted(paths[path]))
    put = paths["/v1/providers/{provider}/credentials"]["put"]
    assert "requestBody" in put


async def test_openapi_document_names_no_secret(hub):
    text = (await hub.request("GET", "/schema/openapi.json")).text
    assert hub.settings.auth.platform_token not in text
