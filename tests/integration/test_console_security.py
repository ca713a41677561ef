"""The console's cookies and CSRF token, and the API documentation page on the console's origin."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

import pytest

from tests.support.hub import HubClient, build_client, make_settings

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
SESSION, CSRF = "hub_console", "hub_console_csrf"


async def _token(hub: HubClient, path: str) -> str:
    r = await hub.request("GET", path)
    assert r.status_code == 200, r.text
    found = CSRF_FIELD.search(r.text)
    assert found
    return found.group(1)


async def _sign_in(hub: HubClient, key: str) -> None:
    token = await _token(hub, "/console/login")
    r = await hub.request("POST", "/console/login", data={"api_key": key, "_csrf_token": token}, follow_redirects=False)
    assert r.status_code in (302, 303), r.text


async def test_a_csrf_token_from_another_session_is_refused(hub):
    tenant = await hub.create_tenant()
    # An attacker's own session: a valid token and its cookie, which they can plant elsewhere.
    await _sign_in(hub, tenant.admin_key)
    planted_token = await _token(hub, "/console/api-keys")
    planted_cookie = hub.http.cookies.get(CSRF)
    assert planted_cookie
    hub.http.cookies.clear()
    # The victim's session, given the planted cookie and token.
    await _sign_in(hub, tenant.admin_key)
    await _token(hub, "/console/api-keys")
    victim = hub.http.cookies.get(SESSION)
    assert victim
    before = (await hub.request("GET", "/v1/api-keys", headers=tenant.admin)).json()["data"]
    r = await hub.request(
        "POST",
        "/console/api-keys",
        data={"scope": "admin", "_csrf_token": planted_token},
        headers={"cookie": f"{SESSION}={victim}; {CSRF}={planted_cookie}"},
    )
    assert r.status_code == 403
    assert (await hub.request("GET", "/v1/api-keys", headers=tenant.admin)).json()["data"] == before
    # The session's own token works.
    own = await _token(hub, "/console/api-keys")
    r = await hub.request("POST", "/console/api-keys", data={"scope": "storefront", "_csrf_token": own})
    assert r.status_code == 200, r.text


def _set_cookies(headers) -> dict[str, str]:
    """name -> the whole Set-Cookie line."""
    found = {}
    for name, value in headers.multi_items():
        if name == "set-cookie":
            found[next(iter(SimpleCookie(value).keys()))] = value
    return found


@pytest.fixture
async def prod_hub(database_url, hub_home):
    settings = make_settings(database_url, str(hub_home), HUB_ENV="prod", HUB_PUBLIC_URL="https://hub.test")
    async with build_client(settings) as client:
        yield HubClient(client, settings)


async def test_in_prod_the_console_cookies_are_host_prefixed(prod_hub):
    tenant = await prod_hub.create_tenant()
    page = await prod_hub.request("GET", "/console/login")
    cookies = _set_cookies(page.headers)
    csrf = cookies.get(f"__Host-{CSRF}", "")
    assert "Secure" in csrf and "Path=/;" in csrf + ";" and "Domain" not in csrf, cookies
    token = CSRF_FIELD.search(page.text)
    assert token
    csrf_value = SimpleCookie(csrf)[f"__Host-{CSRF}"].value
    r = await prod_hub.request(
        "POST",
        "/console/login",
        data={"api_key": tenant.admin_key, "_csrf_token": token.group(1)},
        headers={"cookie": f"__Host-{CSRF}={csrf_value}"},
        follow_redirects=False,
    )
    assert r.status_code in (302, 303), r.text
    session = _set_cookies(r.headers).get(f"__Host-{SESSION}", "")
    assert "Secure" in session and "Path=/;" in session + ";" and "Domain" not in session
    value = SimpleCookie(session)[f"__Host-{SESSION}"].value
    shown = await prod_hub.request(
        "GET", "/console/payments", headers={"cookie": f"__Host-{SESSION}={value}"}, follow_redirects=False
    )
    assert shown.status_code == 200 and "Sign out" in shown.text


EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


async def test_the_schema_page_loads_nothing_from_another_host_and_sends_a_csp(hub):
    r = await hub.request("GET", "/schema")
    assert r.status_code == 200
    assert EXTERNAL.search(r.text) is None, r.text
    csp = r.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, csp
    scripts = re.findall(r'<script[^>]* src="([^"]+)"', r.text)
    styles = re.findall(r'<link[^>]* href="([^"]+)"', r.text)
    assert scripts, r.text
    for asset in scripts + styles:
        served = await hub.request("GET", asset)
        assert served.status_code == 200, asset
        kind = "javascript" if asset in scripts else "css"
        assert kind in served.headers["content-type"], (asset, served.headers["content-type"])
