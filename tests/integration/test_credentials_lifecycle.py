"""Credential lifecycle: replacement and the webhook secret roll-over, delete, health-check, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.db.base import utcnow
from tests.support.credentials import PK, SK, URL, WH, audit_rows, context, creds, stored
from tests.support.problem import assert_problem
from tests.support.stripe_mock import refuses_key, unreachable

# -- replacement and the webhook secret roll-over ---------------------------------------------


async def test_replacing_the_webhook_secret_keeps_the_previous_one_for_24_hours(hub):
    tenant = await hub.create_tenant()
    await hub.request("PUT", URL, json=creds(), headers=tenant.admin)
    new_wh = "whsec_RolledWebhookSec02"
    before = utcnow()
    r = await hub.request(
        "PUT", URL, json=creds(secret_key="sk_test_51AcmeRolledKey0000002", webhook_secret=new_wh), headers=tenant.admin
    )
    assert r.status_code == 200, r.text
    assert r.json()["secret_key_hint"] == "sk_test_…0002"
    [row] = await stored(hub, tenant.id)
    assert row.version == 2
    assert row.previous_webhook_secret_ct is not None and WH.encode() not in row.previous_webhook_secret_ct
    expires = row.previous_webhook_secret_expires_at
    assert expires is not None
    assert before + timedelta(hours=24) <= expires <= utcnow() + timedelta(hours=24)
    ctx = await context(hub, tenant.id)
    assert ctx.credentials_version == 2
    assert ctx.credentials.secret_key == "sk_test_51AcmeRolledKey0000002"
    assert ctx.credentials.webhook_secrets == (new_wh, WH)


async def test_replacing_without_a_webhook_secret_keeps_the_current_one(hub):
    tenant = await hub.create_tenant()
    await hub.request("PUT", URL, json=creds(), headers=tenant.admin)
    r = await hub.request(
        "PUT", URL, json={"publishable_key": PK, "secret_key": "sk_test_51AcmeRolledKey0000002"}, headers=tenant.admin
    )
    assert r.status_code == 200 and r.json()["webhook_secret_set"] is True
    [row] = await stored(hub, tenant.id)
    assert row.previous_webhook_secret_ct is None
    assert (await context(hub, tenant.id)).credentials.webhook_secrets == (WH,)


async def test_sending_the_same_webhook_secret_again_starts_no_roll_over(hub):
    tenant = await hub.create_tenant()
    await hub.request("PUT", URL, json=creds(), headers=tenant.admin)
    await hub.request("PUT", URL, json=creds(), headers=tenant.admin)
    [row] = await stored(hub, tenant.id)
    assert row.version == 2 and row.previous_webhook_secret_ct is None


# -- delete, health-check ---------------------------------------------------------------------


async def test_delete_is_204_then_get_and_health_check_are_404_credentials_missing(hub):
    tenant = await hub.create_tenant()
    await hub.request("PUT", URL, json=creds(), headers=tenant.admin)
    r = await hub.request("DELETE", URL, headers=tenant.admin)
    assert r.status_code == 204 and r.content == b""
    assert_problem(await hub.request("GET", URL, headers=tenant.admin), 404, "credentials_missing")
    assert_problem(
        await hub.request("POST", "/v1/providers/stripe/health-check", headers=tenant.admin), 404, "credentials_missing"
    )
    assert_problem(await hub.request("DELETE", URL, headers=tenant.admin), 404, "credentials_missing")
    assert await stored(hub, tenant.id) == []


async def test_registering_again_after_delete_uses_the_new_key(mocked, stripe_mock):
    tenant = await mocked.create_tenant()
    await mocked.request("PUT", URL, json=creds(), headers=tenant.admin)
    await mocked.request("DELETE", URL, headers=tenant.admin)
    other = "sk_test_51AcmeSecondLifeKey00003"
    assert (await mocked.request("PUT", URL, json=creds(secret_key=other), headers=tenant.admin)).status_code == 200
    r = await mocked.request("POST", "/v1/providers/stripe/health-check", headers=tenant.admin)
    assert r.json()["error"] is None
    # Registration checks the key (balance); the health-check too, then lists the webhook endpoints.
    assert stripe_mock.keys_used() == [SK, other, other, other]


async def test_health_check_at_the_emulator_accepts_the_key_and_cannot_see_the_webhook(hub):
    tenant = await hub.create_tenant()
    await hub.request("PUT", URL, json=creds(), headers=tenant.admin)
    r = await hub.request("POST", "/v1/providers/stripe/health-check", headers=tenant.admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == "test" and body["error"] is None
    assert isinstance(body["latency_ms"], int) and body["latency_ms"] >= 0
    # The emulator has no webhook_endpoints API: the endpoint cannot be confirmed, so not ok.
    assert body["webhook"]["endpoint"] == "unknown" and body["ok"] is False
    assert body["webhook"]["secret_set"] is True


@pytest.mark.parametrize(
    ("handler", "code"), [(refuses_key, "invalid_credentials"), (unreachable, "provider_unavailable")]
)
async def test_health_check_reports_ok_false_with_the_error_code(mocked, stripe_mock, handler, code):
    tenant = await mocked.create_tenant()
    assert (await mocked.request("PUT", URL, json=creds(), headers=tenant.admin)).status_code == 200
    stripe_mock.handler = handler  # the key is revoked at Stripe / Stripe goes away after registration
    r = await mocked.request("POST", "/v1/providers/stripe/health-check", headers=tenant.admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is False and body["error"] == code and body["mode"] == "test"
    assert SK not in r.text


async def test_each_tenant_is_checked_with_its_own_key(mocked, stripe_mock):
    a = await mocked.create_tenant("A")
    b = await mocked.create_tenant("B")
    key_a, key_b = "sk_test_51TenantAKey000000000A", "sk_test_51TenantBKey000000000B"
    await mocked.request("PUT", URL, json=creds(secret_key=key_a), headers=a.admin)
    await mocked.request("PUT", URL, json=creds(secret_key=key_b), headers=b.admin)
    stripe_mock.requests.clear()
    for tenant in (a, b, a, b):
        await mocked.request("POST", "/v1/providers/stripe/health-check", headers=tenant.admin)
    # Each check: the balance, then the webhook endpoints, both with the tenant's own key.
    assert stripe_mock.keys_used() == [key_a, key_a, key_b, key_b, key_a, key_a, key_b, key_b]


async def test_unknown_provider_is_404_not_found(hub):
    tenant = await hub.create_tenant()
    r = await hub.request("PUT", "/v1/providers/paypal/credentials", json=creds(), headers=tenant.admin)
    assert_problem(r, 404, "not_found")
    assert_problem(await hub.request("GET", "/v1/providers/paypal/credentials", headers=tenant.admin), 404, "not_found")


async def test_one_tenants_credentials_are_invisible_to_another(hub):
    a = await hub.create_tenant("A")
    b = await hub.create_tenant("B")
    await hub.request("PUT", URL, json=creds(), headers=a.admin)
    assert_problem(await hub.request("GET", URL, headers=b.admin), 404, "credentials_missing")
    assert_problem(await hub.request("DELETE", URL, headers=b.admin), 404, "credentials_missing")
    assert len(await stored(hub, a.id)) == 1


# -- audit ------------------------------------------------------------------------------------


async def test_every_change_is_audited_with_who_what_when_and_never_a_value(hub):
    tenant = await hub.create_tenant()
    keys = (await hub.request("GET", "/v1/api-keys", headers=tenant.admin)).json()["data"]
    admin_key_id = next(k["id"] for k in keys if k["scope"] == "admin")
    start = utcnow()
    await hub.request("PUT", URL, json=creds(), headers=tenant.admin)
    rolled = creds(secret_key="sk_test_51AcmeRolledKey0000002", webhook_secret="whsec_RolledWebhookSec02")
    await hub.request("PUT", URL, json=rolled, headers=tenant.admin)
    await hub.request("DELETE", URL, headers=tenant.admin)
    rows = await audit_rows(hub, tenant.id)
    assert [e.action for e in rows] == ["credentials.created", "credentials.replaced", "credentials.deleted"]
    for entry in rows:
        assert entry.actor == f"api_key:{admin_key_id}"
        assert entry.target == "stripe"
        assert start - timedelta(seconds=1) <= entry.created_at <= utcnow()
        text = repr((entry.actor, entry.action, entry.target, entry.details))
        for secret in (SK, WH, rolled["secret_key"], rolled["webhook_secret"]):
            assert secret not in text and secret[8:] not in text
    assert set(rows[0].details["fields"]) == {"publishable_key", "secret_key", "webhook_secret"}
