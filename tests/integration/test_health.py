"""Liveness, readiness and the OpenAPI document (docs/api.md, Health)."""

from __future__ import annotations

import base64

from providers.base.secrets import mask_secrets


async def test_health_is_200_ok_without_auth(hub):
    r = await hub.request("GET", "/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_ready_is_200_with_database_migrations_and_vault_checks(hub):
    tenant = await hub.create_tenant()
    registered = await hub.register_stripe(tenant)  # a data key exists, so the vault check unwraps something real
    assert registered.status_code == 200, registered.text
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
    # Secrets of every kind exist in this process before the document is first built...
    tenant = await hub.create_tenant()
    secret_key, webhook_secret = "sk_test_openapicanary000001", "whsec_openapicanary000001"
    registered = await hub.register_stripe(tenant, secret_key=secret_key, webhook_secret=webhook_secret)
    assert registered.status_code == 200, registered.text
    assert (await hub.request("GET", "/v1/providers/stripe/credentials", headers=tenant.admin)).status_code == 200
    text = (await hub.request("GET", "/schema/openapi.json")).text
    needles = [
        hub.settings.auth.platform_token,
        tenant.admin_key,
        tenant.storefront_key,
        secret_key,
        webhook_secret,
        *(base64.urlsafe_b64encode(k.key).decode().rstrip("=") for k in hub.settings.vault.keys),
    ]
    assert [n for n in needles if n in text] == []
    # ...and no example or default in it is shaped like a key, a signing secret or a hub token.
    assert mask_secrets(text) == text, [w for w in text.split('"') if mask_secrets(w) != w][:5]
