"""The tenant console over HTTP: sign-in rules, sessions, CSRF, page headers, nothing secret rendered."""

from __future__ import annotations

import re

import httpx

from tests.support.credentials import PK, SK, WH
from tests.support.hub import PLATFORM, HubClient, TenantHandle

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


async def _csrf(hub: HubClient, path: str = "/console/login") -> str:
    r = await hub.request("GET", path)
    assert r.status_code == 200, r.text
    match = CSRF_FIELD.search(r.text)
    assert match, "every console form carries the CSRF token"
    return match.group(1)


async def _sign_in(hub: HubClient, key: str) -> httpx.Response:
    token = await _csrf(hub)
    return await hub.request(
        "POST", "/console/login", data={"api_key": key, "_csrf_token": token}, follow_redirects=False
    )


async def _get(hub: HubClient, path: str) -> httpx.Response:
    return await hub.request("GET", path, follow_redirects=False)


async def _signed_in(hub: HubClient) -> TenantHandle:
    tenant = await hub.create_tenant()
    r = await _sign_in(hub, tenant.admin_key)
    assert r.status_code in (302, 303), r.text
    assert r.headers["location"] == "/console/payments"
    return tenant


async def test_pages_send_the_security_headers(hub):
    r = await hub.request("GET", "/console/login")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"
    assert 'label for="api_key">API key<' in r.text and ">Sign in</button>" in r.text


async def test_an_admin_key_signs_in_and_the_cookie_is_a_session_id_not_the_key(hub):
    tenant = await hub.create_tenant()
    r = await _sign_in(hub, tenant.admin_key)
    assert r.status_code in (302, 303), r.text
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("hub_console="))
    assert tenant.admin_key not in cookie
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Path=/console" in cookie
    page = await hub.request("GET", "/console/payments")
    assert page.status_code == 200 and "Sign out" in page.text


async def test_storefront_revoked_unknown_keys_and_suspended_tenants_cannot_sign_in(hub):
    tenant = await hub.create_tenant()
    r = await _sign_in(hub, tenant.storefront_key)
    assert r.status_code == 401 and "storefront key" in r.text
    r = await _sign_in(hub, "hub_ad_not-a-real-key")
    assert r.status_code == 401 and "not known" in r.text
    created = await hub.request("POST", "/v1/api-keys", json={"scope": "admin"}, headers=tenant.admin)
    second = created.json()
    assert (await hub.request("DELETE", f"/v1/api-keys/{second['id']}", headers=tenant.admin)).status_code == 204
    r = await _sign_in(hub, second["key"])
    assert r.status_code == 401 and "revoked" in r.text
    assert (await hub.request("POST", f"/v1/tenants/{tenant.id}/suspend", headers=PLATFORM)).status_code == 200
    r = await _sign_in(hub, tenant.admin_key)
    assert r.status_code == 401 and "suspended" in r.text


async def test_without_a_session_pages_send_the_browser_to_sign_in(hub):
    r = await _get(hub, "/console/payments")
    assert r.status_code in (302, 303) and r.headers["location"] == "/console/login"
    hub.http.cookies.set("hub_console", "forged-session-id", path="/console")
    r = await _get(hub, "/console/stripe")
    assert r.status_code in (302, 303) and r.headers["location"] == "/console/login"


async def test_a_form_post_without_the_csrf_token_is_refused_and_changes_nothing(hub):
    tenant = await _signed_in(hub)
    before = (await hub.request("GET", "/v1/api-keys", headers=tenant.admin)).json()["data"]
    r = await hub.request("POST", "/console/api-keys", data={"scope": "admin"})
    assert r.status_code == 403
    r = await hub.request("POST", "/console/api-keys", data={"scope": "admin", "_csrf_token": "forged"})
    assert r.status_code == 403
    after = (await hub.request("GET", "/v1/api-keys", headers=tenant.admin)).json()["data"]
    assert after == before


async def test_revoking_the_key_ends_its_sessions(hub):
    tenant = await _signed_in(hub)
    assert (await hub.request("GET", "/console/events")).status_code == 200
    extra = (await hub.request("POST", "/v1/api-keys", json={"scope": "admin"}, headers=tenant.admin)).json()
    keys = (await hub.request("GET", "/v1/api-keys", headers=tenant.admin)).json()["data"]
    first = next(k for k in keys if k["id"] != extra["id"] and k["scope"] == "admin")
    other = {"Authorization": f"Bearer {extra['key']}"}
    assert (await hub.request("DELETE", f"/v1/api-keys/{first['id']}", headers=other)).status_code == 204
    r = await _get(hub, "/console/events")
    assert r.status_code in (302, 303) and r.headers["location"] == "/console/login"


async def test_sign_out_ends_the_session(hub):
    await _signed_in(hub)
    token = await _csrf(hub, "/console/payments")
    r = await hub.request("POST", "/console/logout", data={"_csrf_token": token}, follow_redirects=False)
    assert r.status_code in (302, 303)
    r = await _get(hub, "/console/payments")
    assert r.status_code in (302, 303) and r.headers["location"] == "/console/login"


async def test_failed_sign_ins_are_rate_limited(hub):
    statuses = [(await _sign_in(hub, f"hub_ad_wrong-{n}")).status_code for n in range(12)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429


async def test_saving_credentials_shows_the_error_next_to_the_field_and_never_renders_secrets(hub):
    await _signed_in(hub)
    token = await _csrf(hub, "/console/stripe")
    bad = {"publishable_key": PK, "secret_key": "sk_nonsense", "webhook_secret": WH, "_csrf_token": token}
    r = await hub.request("POST", "/console/stripe", data=bad)
    assert r.status_code == 422
    assert 'id="secret_key_error"' in r.text
    assert "sk_nonsense" not in r.text and WH not in r.text
    good = {"publishable_key": PK, "secret_key": SK, "webhook_secret": WH, "_csrf_token": token}
    r = await hub.request("POST", "/console/stripe", data=good)
    assert r.status_code == 200, r.text
    assert "Saved" in r.text and "sk_test_…9876" in r.text
    assert SK not in r.text and WH not in r.text
    page = await hub.request("GET", "/console/stripe")
    assert SK not in page.text and WH not in page.text


async def test_another_tenants_payment_is_not_found(hub):
    other = await hub.create_tenant("Other")
    assert (await hub.register_stripe(other)).status_code == 200
    r = await hub.request("POST", "/v1/payments", json={"amount": 2000, "currency": "usd"}, headers=other.storefront)
    assert r.status_code == 201, r.text
    await _signed_in(hub)
    page = await hub.request("GET", f"/console/payments/{r.json()['id']}")
    assert page.status_code == 404


async def test_notification_endpoints_from_the_console_show_each_secret_once(hub):
    tenant = await _signed_in(hub)
    token = await _csrf(hub, "/console/notifications")
    form = {"url": "https://shop.example/hooks", "enabled_events": "payment.succeeded", "_csrf_token": token}
    r = await hub.request("POST", "/console/notifications", data=form)
    assert r.status_code == 200, r.text
    secret = re.search(r'id="new_secret" type="text" readonly value="(whsec_[^"]+)"', r.text)
    assert secret, "the new endpoint's secret is shown once, on the answer to its creation"
    [endpoint] = (await hub.request("GET", "/v1/notification-endpoints", headers=tenant.admin)).json()["data"]
    page = await hub.request("GET", f"/console/notifications/{endpoint['id']}")
    assert page.status_code == 200 and secret.group(1) not in page.text
    assert (await hub.request("GET", "/console/notifications")).text.count(secret.group(1)) == 0
    rotated = await hub.request("POST", f"/console/notifications/{endpoint['id']}/rotate", data={"_csrf_token": token})
    assert rotated.status_code == 200 and 'id="rotated_secret"' in rotated.text
    assert secret.group(1) not in rotated.text
    gone = await hub.request(
        "POST", f"/console/notifications/{endpoint['id']}/delete", data={"_csrf_token": token}, follow_redirects=False
    )
    assert gone.status_code in (302, 303)
    assert (await hub.request("GET", "/v1/notification-endpoints", headers=tenant.admin)).json()["data"] == []
    other = await hub.create_tenant("Other")
    theirs = await hub.request(
        "POST", "/v1/notification-endpoints", json={"url": "https://other.example/h"}, headers=other.admin
    )
    assert theirs.status_code == 201, theirs.text
    assert (await hub.request("GET", f"/console/notifications/{theirs.json()['id']}")).status_code == 404
