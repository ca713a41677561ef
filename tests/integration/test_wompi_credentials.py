"""Wompi credentials through the provider-neutral routes: checked at the stand-in over HTTP before
anything is stored, all four sealed, shown masked, and a tenant's own events URL."""

from __future__ import annotations

from sqlalchemy import select

from hub.db.vault import ProviderCredential
from tests.support.hub import HubClient, build_client, make_settings
from tests.support.problem import assert_problem, db_rows
from tests.support.wompi import wompi_tenant

URL = "/v1/providers/wompi/credentials"


async def _stored(hub, tenant_id):
    return await db_rows(hub, select(ProviderCredential).where(ProviderCredential.tenant_id == tenant_id))


async def test_four_credentials_are_checked_sealed_and_shown_masked(wompi_hub, wompi):
    tenant, merchant = await wompi_tenant(wompi_hub, wompi)
    r = await wompi_hub.request("GET", URL, headers=tenant.admin)
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["provider"] == "wompi" and view["mode"] == "test" and view["public_key"] == merchant.public_key
    assert view["private_key_hint"] == f"prv_test_…{merchant.private_key[-4:]}"
    assert view["events_secret_set"] is True and view["integrity_secret_set"] is True
    assert view["webhook_url"] == f"http://hub.test/v1/webhooks/wompi/{tenant.id}"
    assert view["verified_at"] and view["updated_at"]
    text = r.text
    for secret in (merchant.private_key, merchant.events_secret, merchant.integrity_secret):
        assert secret not in text
    (row,) = await _stored(wompi_hub, tenant.id)
    for blob in (row.secret_key_ct, row.webhook_secret_ct, row.sealed_secrets_ct):
        assert blob is not None
        for secret in (merchant.private_key, merchant.events_secret, merchant.integrity_secret):
            assert secret.encode() not in blob
    # Both keys were checked at Wompi: the merchant read (public key) and an authenticated read.
    assert wompi.requests["GET /v1/merchants/{id}"] >= 1 and wompi.requests["GET /v1/transactions"] >= 1
    r = await wompi_hub.request("POST", "/v1/providers/wompi/health-check", headers=tenant.admin)
    assert r.status_code == 200, r.text
    assert (r.json()["ok"], r.json()["mode"], r.json()["error"]) == (True, "test", None)
    (advice,) = r.json()["webhook"]["advice"]
    assert advice["condition"] == "endpoint_not_supported" and view["webhook_url"] in advice["message"]
    r = await wompi_hub.request("DELETE", URL, headers=tenant.admin)
    assert r.status_code == 204
    assert_problem(await wompi_hub.request("GET", URL, headers=tenant.admin), 404, "credentials_missing")


async def test_refused_credentials_name_their_field_and_store_nothing(wompi_hub, wompi):
    tenant = await wompi_hub.create_tenant("Tienda")
    merchant = wompi.add_merchant()
    other = wompi.add_merchant()
    wompi.revoke(other)
    cases = [
        ({**merchant.credentials, "private_key": other.private_key}, 422, "invalid_credentials", "private_key"),
        ({**merchant.credentials, "public_key": other.public_key}, 422, "invalid_credentials", "public_key"),
        ({**merchant.credentials, "events_secret": "prod_events_" + "a" * 20}, 422, "mode_mismatch", "events_secret"),
        ({**merchant.credentials, "private_key": "sk_test_abcdefgh12345"}, 422, "validation_error", "private_key"),
        (
            {k: v for k, v in merchant.credentials.items() if k != "integrity_secret"},
            422,
            "validation_error",
            "integrity_secret",
        ),
        ({**merchant.credentials, "secret_key": "sk_test_abcdefgh12345"}, 422, "validation_error", "secret_key"),
    ]
    for body, status, code, param in cases:
        r = await wompi_hub.request("PUT", URL, json=body, headers=tenant.admin)
        assert_problem(r, status, code, param=param)
        for secret in (merchant.private_key, merchant.events_secret, merchant.integrity_secret, other.private_key):
            assert secret not in r.text
    assert await _stored(wompi_hub, tenant.id) == []


async def test_wompi_unreachable_is_503_and_stores_nothing(database_url, shared_home, wompi, emulator):
    settings = make_settings(
        database_url, str(shared_home), HUB_STRIPE_API_BASE=emulator.url, HUB_WOMPI_API_BASE="http://127.0.0.1:9/v1"
    )
    async with build_client(settings) as client:
        hub = HubClient(client, settings)
        tenant = await hub.create_tenant("Tienda")
        merchant = wompi.add_merchant()
        r = await hub.request("PUT", URL, json=merchant.credentials, headers=tenant.admin)
        assert_problem(r, 503, "provider_unavailable")
        assert await _stored(hub, tenant.id) == []
