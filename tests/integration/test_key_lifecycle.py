"""Key lifecycle: the last admin key cannot be revoked, the platform can recover a tenant, and a
leaked previous webhook secret can be cut off before its 24-hour roll-over ends."""

from __future__ import annotations

from tests.support import stripe_events as se
from tests.support.hub import PLATFORM
from tests.support.problem import assert_problem


async def _admin_keys(hub, tenant) -> list[dict]:
    keys = (await hub.request("GET", "/v1/api-keys", headers=tenant.admin)).json()["data"]
    return [k for k in keys if k["scope"] == "admin" and k["revoked_at"] is None]


async def test_the_last_active_admin_key_cannot_be_revoked(hub):
    tenant = await hub.create_tenant()
    (only,) = await _admin_keys(hub, tenant)
    r = await hub.request("DELETE", f"/v1/api-keys/{only['id']}", headers=tenant.admin)
    assert_problem(r, 409, "last_admin_key")
    assert (await hub.request("GET", "/v1/api-keys", headers=tenant.admin)).status_code == 200
    # With a second admin key, either may go; then the other is the last.
    second = (await hub.request("POST", "/v1/api-keys", json={"scope": "admin"}, headers=tenant.admin)).json()
    assert (await hub.request("DELETE", f"/v1/api-keys/{only['id']}", headers=tenant.admin)).status_code == 204
    other = {"Authorization": f"Bearer {second['key']}"}
    r = await hub.request("DELETE", f"/v1/api-keys/{second['id']}", headers=other)
    assert_problem(r, 409, "last_admin_key")
    # Storefront keys are never "last".
    keys = (await hub.request("GET", "/v1/api-keys", headers=other)).json()["data"]
    storefront = next(k for k in keys if k["scope"] == "storefront")
    assert (await hub.request("DELETE", f"/v1/api-keys/{storefront['id']}", headers=other)).status_code == 204


async def test_the_platform_issues_a_recovery_key(hub):
    tenant = await hub.create_tenant()
    r = await hub.request("POST", f"/v1/tenants/{tenant.id}/api-keys", json={"scope": "admin"}, headers=PLATFORM)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["scope"] == "admin" and body["id"] and body["key"]
    recovered = {"Authorization": f"Bearer {body['key']}"}
    assert (await hub.request("GET", "/v1/api-keys", headers=recovered)).status_code == 200
    # Platform only; unknown tenants are 404; a bad scope is 422.
    r = await hub.request("POST", f"/v1/tenants/{tenant.id}/api-keys", json={"scope": "admin"}, headers=tenant.admin)
    assert r.status_code == 403
    r = await hub.request("POST", "/v1/tenants/ten_nope/api-keys", json={"scope": "admin"}, headers=PLATFORM)
    assert_problem(r, 404, "not_found")
    r = await hub.request("POST", f"/v1/tenants/{tenant.id}/api-keys", json={"scope": "root"}, headers=PLATFORM)
    assert r.status_code == 422


async def test_ending_the_rollover_stops_the_previous_webhook_secret_at_once(hub):
    old, new = "whsec_oldsecret00000001", "whsec_newsecret00000002"
    tenant = await hub.create_tenant()
    assert (await hub.register_stripe(tenant, webhook_secret=old)).status_code == 200
    assert (await hub.register_stripe(tenant, webhook_secret=new)).status_code == 200

    def body() -> bytes:
        return se.encode(se.event("customer.created", {"id": "cus_x", "object": "customer", "metadata": {}}))

    assert (await se.deliver(hub.http, tenant.id, body(), old)).status_code == 200  # roll-over window
    r = await hub.request("DELETE", "/v1/providers/stripe/credentials/previous-webhook-secret", headers=tenant.admin)
    assert r.status_code == 204, r.text
    r = await se.deliver(hub.http, tenant.id, body(), old)
    assert_problem(r, 400, "signature_invalid")
    assert (await se.deliver(hub.http, tenant.id, body(), new)).status_code == 200
    # Again: nothing left to end, still 204. Storefront keys may not.
    r = await hub.request("DELETE", "/v1/providers/stripe/credentials/previous-webhook-secret", headers=tenant.admin)
    assert r.status_code == 204
    r = await hub.request(
        "DELETE", "/v1/providers/stripe/credentials/previous-webhook-secret", headers=tenant.storefront
    )
    assert r.status_code == 403
