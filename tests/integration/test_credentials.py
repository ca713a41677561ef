"""Tenant-admin credential routes (docs/api.md, "Tenant admin: credentials").

The emulator plays a Stripe that accepts any ``sk_`` key; a mock transport plays the Stripe
that refuses a key or cannot be reached (the emulator cannot), under the real SDK.
"""

from __future__ import annotations

import pytest

from hub.vault.store import find_tenant_secrets
from tests.support.credentials import PK, SK, URL, WH, audit_rows, context, creds, stored
from tests.support.emulator import free_port
from tests.support.problem import assert_problem, db_session
from tests.support.stripe_mock import refuses_key, stripe_error, times_out, unreachable

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
    assert row.webhook_secret_ct is not None
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
        secrets = await find_tenant_secrets(session, hub.http.app.state.services.vault, tenant.id)
    assert secrets is not None and row.webhook_secret_ct is not None
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


@pytest.mark.parametrize(
    ("field", "value"),
    [
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
    ],
)
async def test_wrong_format_is_422_validation_error_naming_the_field(mocked, stripe_mock, field, value):
    tenant = await mocked.create_tenant()
    r = await mocked.request("PUT", URL, json=creds(**{field: value}), headers=tenant.admin)
    body = assert_problem(r, 422, "validation_error", param=field)
    assert value not in body["detail"] or len(value) < 10
    assert stripe_mock.requests == []
    assert await stored(mocked, tenant.id) == []


@pytest.mark.parametrize(
    ("pk", "sk"),
    [
        ("pk_live_51AcmePublishable0001", SK),
        (PK, "sk_live_51AcmeSkVal9876"),
        (PK, "rk_live_51AcmeRkVal9876"),
    ],
)
async def test_test_and_live_keys_mixed_is_422_mode_mismatch(mocked, stripe_mock, pk, sk):
    tenant = await mocked.create_tenant()
    r = await mocked.request("PUT", URL, json=creds(publishable_key=pk, secret_key=sk), headers=tenant.admin)
    assert_problem(r, 422, "mode_mismatch")
    assert stripe_mock.requests == []
    assert await stored(mocked, tenant.id) == []


@pytest.mark.parametrize(
    ("pk", "sk", "mode", "hint"),
    [
        ("pk_live_51AcmePublishable0001", "sk_live_51AcmeSkVal9876", "live", "sk_live_…9876"),
        ("pk_live_51AcmePublishable0001", "rk_live_51AcmeRkVal9876", "live", "rk_live_…9876"),
        (PK, "rk_test_51AcmeSecretKeyValue9876", "test", "rk_test_…9876"),
    ],
)
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
    stripe_mock.handler = stripe_error(
        403, "invalid_request_error", "The provided key does not have the required permissions for this endpoint"
    )
    tenant = await mocked.create_tenant()
    r = await mocked.request(
        "PUT", URL, json=creds(secret_key="rk_test_51AcmeSecretKeyValue9876"), headers=tenant.admin
    )
    assert_problem(r, 422, "invalid_credentials")
    assert await stored(mocked, tenant.id) == []


@pytest.mark.parametrize(
    "handler",
    [
        unreachable,
        times_out,
        stripe_error(500, "api_error", "Something went wrong on Stripe's end."),
        stripe_error(503, "api_error", "Service unavailable"),
    ],
    ids=["connect-error", "timeout", "500", "503"],
)
async def test_stripe_unreachable_is_503_provider_unavailable_and_nothing_stored(mocked, stripe_mock, handler):
    stripe_mock.handler = handler
    tenant = await mocked.create_tenant()
    r = await mocked.request("PUT", URL, json=creds(), headers=tenant.admin)
    assert_problem(r, 503, "provider_unavailable")
    assert len(stripe_mock.requests) == 1  # the tests' settings allow no retries
    assert await stored(mocked, tenant.id) == []
    assert await audit_rows(mocked, tenant.id) == []


async def test_stripe_on_a_closed_port_is_503_provider_unavailable(database_url, hub_home):
    from tests.support.hub import HubClient, build_client, make_settings

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
    assert_problem(r, 400, "invalid_json")
    assert stripe_mock.requests == [] and await stored(mocked, tenant.id) == []


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"publishable_key": 1, "secret_key": SK}, "publishable_key"),
        ({"publishable_key": PK, "secret_key": ["sk_test_x"]}, "secret_key"),
        ({"publishable_key": PK, "secret_key": SK, "webhook_secret": 5}, "webhook_secret"),
        ({"secret_key": SK}, "publishable_key"),
        ({"publishable_key": PK}, "secret_key"),
        ({"publishable_key": PK, "secret_key": SK, "account": "acct_1"}, "account"),
        ({"publishable_key": "", "secret_key": SK}, "publishable_key"),
        ({"publishable_key": PK, "secret_key": "sk_test_" + "a" * 600}, "secret_key"),
    ],
)
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
