"""Authentication and scopes: 401 for a token that is not a live one, 403 for the wrong scope.

docs/api.md: missing/unknown/revoked token 401; valid token, wrong scope 403; a suspended tenant's
keys 403 ``tenant_suspended``.
"""

from __future__ import annotations

import pytest

from tests.support.hub import PLATFORM, PLATFORM_TOKEN
from tests.support.problem import assert_problem

PLATFORM_ROUTES = [
    ("GET", "/v1/tenants"),
    ("POST", "/v1/tenants"),
    ("GET", "/v1/tenants/ten_x"),
    ("POST", "/v1/tenants/ten_x/suspend"),
    ("POST", "/v1/tenants/ten_x/activate"),
    ("GET", "/v1/platform/billing/plans"),
    ("GET", "/v1/tenants/ten_x/subscription"),
    ("POST", "/v1/tenants/ten_x/subscription"),
]
ADMIN_ROUTES = [
    ("GET", "/v1/api-keys"),
    ("POST", "/v1/api-keys"),
    ("DELETE", "/v1/api-keys/key_x"),
    ("PUT", "/v1/providers/stripe/credentials"),
    ("GET", "/v1/providers/stripe/credentials"),
    ("DELETE", "/v1/providers/stripe/credentials"),
    ("POST", "/v1/providers/stripe/health-check"),
    ("POST", "/v1/providers/stripe/webhook/repair"),
    ("GET", "/v1/events"),
]
BODIES = {
    "POST /v1/tenants": {"name": "x"},
    "POST /v1/api-keys": {"scope": "admin"},
    "POST /v1/tenants/ten_x/subscription": {"plan": "starter"},
    "PUT /v1/providers/stripe/credentials": {
        "publishable_key": "pk_test_abcdefgh12",
        "secret_key": "sk_test_abcdefgh12",
    },
}


def _body(method: str, path: str) -> dict | None:
    return BODIES.get(f"{method} {path}")


BAD_AUTHORIZATION = [
    None,  # missing
    "",
    "Bearer",
    "Bearer ",
    "Basic dXNlcjpwYXNz",
    f"Token {PLATFORM_TOKEN}",
    "Bearer hub_ad_unknown-key-000000000000000000000000000",
    f"Bearer {PLATFORM_TOKEN}x",
    f"Bearer {PLATFORM_TOKEN[:-1]}",
    "Bearer " + "a" * 600,
]


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATION)
async def test_missing_malformed_or_unknown_token_is_401_on_every_protected_route(hub, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in PLATFORM_ROUTES + ADMIN_ROUTES:
        r = await hub.request(method, path, json=_body(method, path), headers=headers)
        body = assert_problem(r, 401, "unauthorized")
        assert r.headers.get("www-authenticate") == "Bearer", (method, path)
        if authorization and len(authorization) > 7:
            assert authorization[7:] not in r.text
        assert body["detail"]


async def test_bearer_scheme_is_case_insensitive(hub):
    r = await hub.request("GET", "/v1/tenants", headers={"Authorization": f"bearer {PLATFORM_TOKEN}"})
    assert r.status_code == 200, r.text


async def test_tenant_keys_on_platform_routes_are_403(hub):
    tenant = await hub.create_tenant()
    for headers in (tenant.admin, tenant.storefront):
        for method, path in PLATFORM_ROUTES:
            r = await hub.request(method, path, json=_body(method, path), headers=headers)
            assert_problem(r, 403, "forbidden")


async def test_platform_token_on_tenant_routes_is_403(hub):
    await hub.create_tenant()
    for method, path in ADMIN_ROUTES:
        r = await hub.request(method, path, json=_body(method, path), headers=PLATFORM)
        assert_problem(r, 403, "forbidden")


async def test_storefront_key_on_admin_routes_is_403_and_changes_nothing(hub):
    tenant = await hub.create_tenant()
    for method, path in ADMIN_ROUTES:
        r = await hub.request(method, path, json=_body(method, path), headers=tenant.storefront)
        assert_problem(r, 403, "forbidden")
    r = await hub.request("GET", "/v1/api-keys", headers=tenant.admin)
    assert len(r.json()["data"]) == 2
    r = await hub.request("GET", "/v1/providers/stripe/credentials", headers=tenant.admin)
    assert_problem(r, 404, "credentials_missing")


async def test_auth_is_checked_before_the_body_is_read(hub):
    # An unauthenticated or wrongly-scoped caller learns nothing about what a valid body looks like.
    tenant = await hub.create_tenant()
    body = b"{not json"
    json_type = {"content-type": "application/json"}
    for method, path in (
        ("PUT", "/v1/providers/stripe/credentials"),
        ("POST", "/v1/api-keys"),
        ("POST", "/v1/payments/pay_x/refunds"),
    ):
        r = await hub.request(method, path, content=body, headers=json_type)
        assert_problem(r, 401, "unauthorized")
        r = await hub.request(method, path, content=body, headers={**json_type, **tenant.storefront})
        assert_problem(r, 403, "forbidden")
    for path in ("/v1/payments", "/v1/customers", "/v1/checkout/sessions", "/v1/payments/pay_x/capture"):
        r = await hub.request("POST", path, content=b"{", headers={"content-type": "application/json"})
        assert_problem(r, 401, "unauthorized")
    for path in ("/v1/tenants", f"/v1/tenants/{tenant.id}/subscription"):
        r = await hub.request("POST", path, content=b"{", headers={"content-type": "application/json"})
        assert_problem(r, 401, "unauthorized")
        r = await hub.request("POST", path, content=b"{", headers={"content-type": "application/json", **tenant.admin})
        assert_problem(r, 403, "forbidden")


async def test_suspended_tenant_storefront_and_admin_keys_are_403_tenant_suspended(hub):
    tenant = await hub.create_tenant()
    await hub.request("POST", f"/v1/tenants/{tenant.id}/suspend", headers=PLATFORM)
    for headers in (tenant.admin, tenant.storefront):
        r = await hub.request("GET", "/v1/api-keys", headers=headers)
        body = assert_problem(r, 403, "tenant_suspended")
        assert "suspended" in body["detail"]


async def test_revoked_key_is_401_at_once(hub):
    tenant = await hub.create_tenant()
    r = await hub.request("POST", "/v1/api-keys", json={"scope": "storefront"}, headers=tenant.admin)
    created = r.json()
    extra = {"Authorization": f"Bearer {created['key']}"}
    assert (await hub.request("GET", "/v1/providers/stripe/credentials", headers=extra)).status_code == 403
    r = await hub.request("DELETE", f"/v1/api-keys/{created['id']}", headers=tenant.admin)
    assert r.status_code == 204, r.text
    r = await hub.request("GET", "/v1/providers/stripe/credentials", headers=extra)
    assert_problem(r, 401, "unauthorized")


async def test_an_admin_key_that_revokes_itself_is_401_on_its_next_call(hub):
    tenant = await hub.create_tenant()
    # Another admin key first: the last one may not be revoked.
    assert (await hub.request("POST", "/v1/api-keys", json={"scope": "admin"}, headers=tenant.admin)).status_code == 201
    keys = (await hub.request("GET", "/v1/api-keys", headers=tenant.admin)).json()["data"]
    keys = [k for k in keys if k["id"] != keys[0]["id"]]  # the original, not the one just made
    admin_id = next(k["id"] for k in keys if k["scope"] == "admin")
    assert (await hub.request("DELETE", f"/v1/api-keys/{admin_id}", headers=tenant.admin)).status_code == 204
    assert_problem(await hub.request("GET", "/v1/api-keys", headers=tenant.admin), 401, "unauthorized")
