"""Tenant-admin credential routes (API.md, "Tenant admin: credentials").

The emulator plays a Stripe that accepts any ``sk_`` key; a mock transport plays the Stripe
that refuses a key or cannot be reached (the emulator cannot), under the real SDK.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.credentials.loader import load_context
from hub.db.base import utcnow
from hub.db.tenants import AuditEntry
from hub.db.vault import ProviderCredential
from hub.vault.store import tenant_secrets
from tests.support.emulator import free_port
from tests.support.problem import assert_problem, db_rows, db_session
from tests.support.stripe_mock import StripeMock, hub_over, refuses_key, stripe_error, times_out, unreachable

PK = "pk_test_51AcmePublishable0001"
SK = "sk_test_51AcmeSecretKeyValue9876"
WH = "whsec_AcmeWebhookSecret0001"
URL = "/v1/providers/stripe/credentials"


def creds(**over):
    return {"publishable_key": PK, "secret_key": SK, "webhook_secret": WH, **over}


@pytest.fixture
def stripe_mock() -> StripeMock:
    return StripeMock()


@pytest.fixture
async def mocked(stripe_mock, database_url, hub_home):
    async with hub_over(stripe_mock, database_url, str(hub_home)) as client:
        yield client


async def stored(hub, tenant_id: str) -> list[ProviderCredential]:
    return await db_rows(hub, select(ProviderCredential).where(ProviderCredential.tenant_id == tenant_id))


async def audit_rows(hub, tenant_id: str) -> list[AuditEntry]:
    return await db_rows(hub, select(AuditEntry).where(AuditEntry.tenant_id == tenant_id,
                                                       AuditEntry.action.like("credentials.%"))
                         .order_by(AuditEntry.created_at, AuditEntry.id))


async def context(hub, tenant_id: str):
    services = hub.http.app.state.services
    async with db_session(hub) as session:
        return await load_context(session, services.vault, services.providers.get("stripe"), tenant_id)


# -- registration against the emulator ---------------------------------------------------------

async def test_put_checks_the_key_at_stripe_and_answers_only_the_masked_view(hub):
    tenant = await hub.create_tenant()
    r = await hub.request("PUT", URL, json=creds(), headers=tenant.admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["provider"] == "stripe" and body["mode"] == "test"
    assert body["publishable_key"] == PK
    assert body["secret_key_hint"] == "sk_test_…9876"
    assert body["webhook_secret_set"] is True
    assert body["webhook_url"] == f"http://hub.test/v1/webhooks/stripe/{tenant.id}"
    assert body["verified_at"] and body["updated_at"]
    assert SK not in r.text and WH not in r.text and "secret_key" not in body and "webhook_secret" not in body

    r = await hub.request("GET", URL, headers=tenant.admin)
    assert r.status_code == 200, r.text
    assert r.json() == body
    assert SK not in r.text and WH not in r.text


async def test_stored_secrets_are_ciphertexts_that_decrypt_to_what_was_sent(hub):
    tenant = await hub.create_tenant()
    assert (await hub.request("PUT", URL, json=creds(), headers=tenant.admin)).status_code == 200
    [row] = await stored(hub, tenant.id)
    assert row.version == 1 and row.mode == "test" and row.secret_key_hint == "sk_test_…9876"
    for blob in (row.secret_key_ct, row.webhook_secret_ct):
        assert SK.encode() not in blob and WH.encode() not in blob and b"Acme" not in blob
    ctx = await context(hub, tenant.id)
    assert ctx.credentials.secret_key == SK and ctx.credentials.webhook_secrets == (WH,)


async def test_surrounding_whitespace_is_not_stored(hub):
    tenant = await hub.create_tenant()
    body = creds(publishable_key=f" {PK}\n", secret_key=f"\t{SK} ", webhook_secret=f"{WH}\n")
    r = await hub.request("PUT", URL, json=body, headers=tenant.admin)
    assert r.status_code == 200, r.text
    assert r.json()["publishable_key"] == PK
    [row] = await stored(hub, tenant.id)
    assert row.publishable_key == PK
    # Read the ciphertexts themselves: the loader normalises on the way out and would hide it.
    async with db_session(hub) as session:
        secrets = await tenant_secrets(session, hub.http.app.state.services.vault, tenant.id, create=False)
    assert secrets.open("stripe", "secret_key", row.secret_key_ct).reveal() == SK
    assert secrets.open("stripe", "webhook_secret", row.webhook_secret_ct).reveal() == WH


async def test_without_a_webhook_secret_a_failed_endpoint_creation_stores_nothing(hub):
    # Leaving webhook_secret out makes the hub create the endpoint on the tenant's account
    # (tests/integration/test_webhooks_endpoint.py); the emulator has no webhook_endpoints API,
    # so here that step fails: the key is not stored half-registered.
    tenant = await hub.create_tenant()
    r = await hub.request("PUT", URL, json={"publishable_key": PK, "secret_key": SK}, headers=tenant.admin)
    assert 400 <= r.status_code < 500 and r.headers["content-type"].startswith("application/problem+json"), r.text
    assert await stored(hub, tenant.id) == []


# -- format and mode: no call to Stripe, nothing stored -----------------------------------------

@pytest.mark.parametrize(("field", "value"), [
    ("publishable_key", "sk_test_51AcmePublishable0001"),
    ("publishable_key", "pk_prod_51AcmePublishable0001"),
    ("publishable_key", "pk_test_"),
    ("secret_key", "pk_test_51AcmeSecretKeyValue9876"),
    ("secret_key", "whsec_AcmeWebhookSecret0001"),
    ("secret_key", "sk_test_short"),
    ("secret_key", "sk_test_has spaces inside 0001"),
    ("webhook_secret", "sk_test_51AcmeSecretKeyValue9876"),
    ("webhook_secret", "whsec_"),
    ("webhook_secret", "wh_AcmeWebhookSigningSecret0001"),
])
async def test_wrong_format_is_422_validation_error_naming_the_field(mocked, stripe_mock, field, value):
    tenant = await mocked.create_tenant()
    r = await mocked.request("PUT", URL, json=creds(**{field: value}), headers=tenant.admin)
    body = assert_problem(r, 422, "validation_error", param=field)
    assert value not in body["detail"] or len(value) < 10
    assert stripe_mock.requests == []
    assert await stored(mocked, tenant.id) == []


@pytest.mark.parametrize(("pk", "sk"), [
    ("pk_live_51AcmePublishable0001", SK),
    (PK, "sk_live_51AcmeSkVal9876"),
    (PK, "rk_live_51AcmeRkVal9876"),
])
async def test_test_and_live_keys_mixed_is_422_mode_mismatch(mocked, stripe_mock, pk, sk):
    tenant = await mocked.create_tenant()
    r = await mocked.request("PUT", URL, json=creds(publishable_key=pk, secret_key=sk), headers=tenant.admin)
    assert_problem(r, 422, "mode_mismatch")
    assert stripe_mock.requests == []
    assert await stored(mocked, tenant.id) == []


@pytest.mark.parametrize(("pk", "sk", "mode", "hint"), [
    ("pk_live_51AcmePublishable0001", "sk_live_51AcmeSkVal9876", "live", "sk_live_…9876"),
    ("pk_live_51AcmePublishable0001", "rk_live_51AcmeRkVal9876", "live", "rk_live_…9876"),
    (PK, "rk_test_51AcmeSecretKeyValue9876", "test", "rk_test_…9876"),
])
async def test_live_and_restricted_keys_are_accepted(mocked, stripe_mock, pk, sk, mode, hint):
    tenant = await mocked.create_tenant()
    r = await mocked.request("PUT", URL, json=creds(publishable_key=pk, secret_key=sk), headers=tenant.admin)
    assert r.status_code == 200, r.text
    assert r.json()["mode"] == mode and r.json()["secret_key_hint"] == hint
    [request] = stripe_mock.requests
    assert request.url.path == "/v1/balance" and stripe_mock.keys_used() == [sk]


# -- Stripe refuses or cannot be reached ------------------------------------------------------

async def test_key_refused_by_stripe_is_422_invalid_credentials_and_nothing_stored(mocked, stripe_mock):
    stripe_mock.handler = refuses_key
    tenant = await mocked.create_tenant()
    r = await mocked.request("PUT", URL, json=creds(), headers=tenant.admin)
    body = assert_problem(r, 422, "invalid_credentials")
    assert SK not in r.text and SK[8:] not in body["detail"]
    assert stripe_mock.keys_used() == [SK]
    assert await stored(mocked, tenant.id) == []
    assert await audit_rows(mocked, tenant.id) == []
    assert_problem(await mocked.request("GET", URL, headers=tenant.admin), 404, "credentials_missing")


async def test_key_without_permission_is_422_invalid_credentials(mocked, stripe_mock):
    stripe_mock.handler = stripe_error(403, "invalid_request_error",
                                       "The provided key does not have the required permissions for this endpoint")
    tenant = await mocked.create_tenant()
    r = await mocked.request("PUT", URL, json=creds(secret_key="rk_test_51AcmeSecretKeyValue9876"),
                             headers=tenant.admin)
    assert_problem(r, 422, "invalid_credentials")
    assert await stored(mocked, tenant.id) == []


@pytest.mark.parametrize("handler", [unreachable, times_out,
                                     stripe_error(500, "api_error", "Something went wrong on Stripe's end."),
                                     stripe_error(503, "api_error", "Service unavailable")],
                         ids=["connect-error", "timeout", "500", "503"])
async def test_stripe_unreachable_is_503_provider_unavailable_and_nothing_stored(mocked, stripe_mock, handler):
    stripe_mock.handler = handler
    tenant = await mocked.create_tenant()
    r = await mocked.request("PUT", URL, json=creds(), headers=tenant.admin)
    assert_problem(r, 503, "provider_unavailable")
    assert len(stripe_mock.requests) == 1  # the tests' settings allow no retries
    assert await stored(mocked, tenant.id) == []
    assert await audit_rows(mocked, tenant.id) == []


async def test_stripe_on_a_closed_port_is_503_provider_unavailable(database_url, hub_home):
    from tests.support.hub import build_client, make_settings, HubClient

    settings = make_settings(database_url, str(hub_home), HUB_STRIPE_API_BASE=f"http://127.0.0.1:{free_port()}")
    async with build_client(settings) as client:
        hub = HubClient(client, settings)
        tenant = await hub.create_tenant()
        r = await hub.request("PUT", URL, json=creds(), headers=tenant.admin)
        assert_problem(r, 503, "provider_unavailable")
        assert await stored(hub, tenant.id) == []


async def test_refused_or_failed_replacement_keeps_the_stored_credentials(mocked, stripe_mock):
    tenant = await mocked.create_tenant()
    first = await mocked.request("PUT", URL, json=creds(), headers=tenant.admin)
    assert first.status_code == 200
    new = creds(secret_key="sk_test_51OtherSecretKeyValue1111", webhook_secret="whsec_OtherWebhookSecret00001")
    for handler, status in ((refuses_key, 422), (unreachable, 503)):
        stripe_mock.handler = handler
        assert (await mocked.request("PUT", URL, json=new, headers=tenant.admin)).status_code == status
    [row] = await stored(mocked, tenant.id)
    assert row.version == 1 and row.previous_webhook_secret_ct is None
    ctx = await context(mocked, tenant.id)
    assert ctx.credentials.secret_key == SK and ctx.credentials.webhook_secrets == (WH,)
    assert (await mocked.request("GET", URL, headers=tenant.admin)).json() == first.json()


# -- bad bodies: 400 / 422, never 500, nothing stored -----------------------------------------

@pytest.mark.parametrize("raw", [b"{not json", b"{", b'{"publishable_key": "pk_test_x",}', b"\xff\xfe", b""])
async def test_malformed_json_is_400(mocked, stripe_mock, raw):
    tenant = await mocked.create_tenant()
    r = await mocked.request("PUT", URL, content=raw, headers={**tenant.admin, "content-type": "application/json"})
    assert_problem(r, 400, "validation_error")
    assert stripe_mock.requests == [] and await stored(mocked, tenant.id) == []


@pytest.mark.parametrize(("body", "param"), [
    ({"publishable_key": 1, "secret_key": SK}, "publishable_key"),
    ({"publishable_key": PK, "secret_key": ["sk_test_x"]}, "secret_key"),
    ({"publishable_key": PK, "secret_key": SK, "webhook_secret": 5}, "webhook_secret"),
    ({"secret_key": SK}, "publishable_key"),
    ({"publishable_key": PK}, "secret_key"),
    ({"publishable_key": PK, "secret_key": SK, "account": "acct_1"}, "account"),
    ({"publishable_key": "", "secret_key": SK}, "publishable_key"),
    ({"publishable_key": PK, "secret_key": "sk_test_" + "a" * 600}, "secret_key"),
])
async def test_wrong_types_missing_or_unknown_fields_are_422_naming_the_field(mocked, stripe_mock, body, param):
    tenant = await mocked.create_tenant()
    r = await mocked.request("PUT", URL, json=body, headers=tenant.admin)
    assert_problem(r, 422, "validation_error", param=param)
    assert stripe_mock.requests == [] and await stored(mocked, tenant.id) == []


@pytest.mark.parametrize("raw", [b"[]", b'["pk"]', b'"pk_test_x"', b"12", b"null"])
async def test_a_body_that_is_json_but_not_an_object_is_422(mocked, raw):
    tenant = await mocked.create_tenant()
    r = await mocked.request("PUT", URL, content=raw, headers={**tenant.admin, "content-type": "application/json"})
    body = assert_problem(r, 422, "validation_error")
    assert "param" not in body


# -- replacement and the webhook secret roll-over ---------------------------------------------

async def test_replacing_the_webhook_secret_keeps_the_previous_one_for_24_hours(hub):
    tenant = await hub.create_tenant()
    await hub.request("PUT", URL, json=creds(), headers=tenant.admin)
    new_wh = "whsec_RolledWebhookSec02"
    before = utcnow()
    r = await hub.request("PUT", URL, json=creds(secret_key="sk_test_51AcmeRolledKey0000002", webhook_secret=new_wh),
                          headers=tenant.admin)
    assert r.status_code == 200, r.text
    assert r.json()["secret_key_hint"] == "sk_test_…0002"
    [row] = await stored(hub, tenant.id)
    assert row.version == 2
    assert row.previous_webhook_secret_ct is not None and WH.encode() not in row.previous_webhook_secret_ct
    expires = row.previous_webhook_secret_expires_at
    assert before + timedelta(hours=24) <= expires <= utcnow() + timedelta(hours=24)
    ctx = await context(hub, tenant.id)
    assert ctx.credentials_version == 2
    assert ctx.credentials.secret_key == "sk_test_51AcmeRolledKey0000002"
    assert ctx.credentials.webhook_secrets == (new_wh, WH)


async def test_replacing_without_a_webhook_secret_keeps_the_current_one(hub):
    tenant = await hub.create_tenant()
    await hub.request("PUT", URL, json=creds(), headers=tenant.admin)
    r = await hub.request("PUT", URL, json={"publishable_key": PK, "secret_key": "sk_test_51AcmeRolledKey0000002"},
                          headers=tenant.admin)
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
    assert_problem(await hub.request("POST", "/v1/providers/stripe/health-check", headers=tenant.admin),
                   404, "credentials_missing")
    assert_problem(await hub.request("DELETE", URL, headers=tenant.admin), 404, "credentials_missing")
    assert await stored(hub, tenant.id) == []


async def test_registering_again_after_delete_uses_the_new_key(mocked, stripe_mock):
    tenant = await mocked.create_tenant()
    await mocked.request("PUT", URL, json=creds(), headers=tenant.admin)
    await mocked.request("DELETE", URL, headers=tenant.admin)
    other = "sk_test_51AcmeSecondLifeKey00003"
    assert (await mocked.request("PUT", URL, json=creds(secret_key=other), headers=tenant.admin)).status_code == 200
    r = await mocked.request("POST", "/v1/providers/stripe/health-check", headers=tenant.admin)
    assert r.json()["ok"] is True
    assert stripe_mock.keys_used() == [SK, other, other]


async def test_health_check_is_ok_against_the_emulator(hub):
    tenant = await hub.create_tenant()
    await hub.request("PUT", URL, json=creds(), headers=tenant.admin)
    r = await hub.request("POST", "/v1/providers/stripe/health-check", headers=tenant.admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is True and body["mode"] == "test" and body["error"] is None
    assert isinstance(body["latency_ms"], int) and body["latency_ms"] >= 0


@pytest.mark.parametrize(("handler", "code"), [(refuses_key, "invalid_credentials"),
                                               (unreachable, "provider_unavailable")])
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
    assert stripe_mock.keys_used() == [key_a, key_b, key_a, key_b]


async def test_unknown_provider_is_404_not_found(hub):
    tenant = await hub.create_tenant()
    r = await hub.request("PUT", "/v1/providers/paypal/credentials", json=creds(), headers=tenant.admin)
    assert_problem(r, 404, "not_found")
    assert_problem(await hub.request("GET", "/v1/providers/paypal/credentials", headers=tenant.admin),
                   404, "not_found")


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
