"""Console sign-in throttling and session lifetime.

Failed sign-ins are counted per client address and never forgiven by a success; they do not
stop a valid admin key from signing in. Successful sign-ins are limited per key. Suspending a
tenant ends its console sessions for good.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest

from hub.boundary.ratelimit import SIGN_INS_PER_KEY
from hub.console import sessions
from hub.console.sessions import COOKIE
from hub.db.engine import make_engine, make_sessionmaker
from tests.integration.test_console import _get, _sign_in
from tests.support.hub import PLATFORM, HubClient, build_client, make_settings
from tests.support.rawdb import execute

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["memory", "redis"])
async def console(request, database_url, tmp_path) -> AsyncIterator[HubClient]:
    """The hub with its limits in memory or in Redis, reached from an address of this run only."""
    env = {"HUB_REDIS_URL": REDIS_URL} if request.param == "redis" else {}
    settings = make_settings(database_url, str(tmp_path), **env)
    address = f"198.51.100.{secrets.randbelow(250) + 1}-{secrets.token_hex(4)}"
    async with build_client(settings, address=address) as client:
        yield HubClient(client, settings)


def _signed_in(r) -> bool:
    return r.status_code in (302, 303) and r.headers["location"] == "/console/payments"


async def _sessions_of(database_url: str, tenant_id: str) -> int:
    rows = await execute(database_url, "SELECT count(*) FROM console_sessions WHERE tenant_id = :t", t=tenant_id)
    return rows[0][0]


async def test_bad_sign_ins_from_an_address_do_not_lock_out_the_real_admin(console):
    tenant = await console.create_tenant()
    statuses = [(await _sign_in(console, f"hub_ad_wrong-{n}")).status_code for n in range(15)]
    assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}, statuses
    r = await _sign_in(console, tenant.admin_key)
    assert _signed_in(r), (r.status_code, r.text)
    assert (await _get(console, "/console/payments")).status_code == 200
    # The wrong keys are still refused with 429 and Retry-After.
    r = await _sign_in(console, "hub_ad_wrong-again")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert "Too many failed sign-ins" in r.text


async def test_a_valid_sign_in_does_not_reset_the_failure_count(console):
    tenant = await console.create_tenant()
    statuses = []
    for n in range(10):
        statuses.append((await _sign_in(console, f"hub_ad_wrong-{n}")).status_code)
        if n % 3 == 2:  # someone with their own admin key signs in between the guesses
            assert _signed_in(await _sign_in(console, tenant.admin_key))
    assert statuses == [401] * 10
    r = await _sign_in(console, "hub_ad_wrong-11")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


async def test_successful_sign_ins_with_one_key_are_throttled(console, database_url):
    tenant = await console.create_tenant()
    results = [await _sign_in(console, tenant.admin_key) for _ in range(3 * SIGN_INS_PER_KEY)]
    assert all(_signed_in(r) for r in results[:SIGN_INS_PER_KEY])
    refused = results[SIGN_INS_PER_KEY:]
    assert all(r.status_code == 429 for r in refused), [r.status_code for r in refused]
    assert all(1 <= int(r.headers["retry-after"]) <= 60 for r in refused)
    assert "Too many sign-ins with this key" in refused[0].text
    assert not any(COOKIE in r.headers.get("set-cookie", "") for r in refused)
    assert await _sessions_of(database_url, tenant.id) == SIGN_INS_PER_KEY
    # The throttle is the key's: another admin key of the same tenant, from the same address, signs in.
    other = (await console.request("POST", "/v1/api-keys", json={"scope": "admin"}, headers=tenant.admin)).json()
    assert _signed_in(await _sign_in(console, other["key"]))


async def test_suspending_a_tenant_ends_its_console_sessions_for_good(hub, database_url):
    tenant = await hub.create_tenant()
    assert _signed_in(await _sign_in(hub, tenant.admin_key))
    assert (await _get(hub, "/console/payments")).status_code == 200
    assert await _sessions_of(database_url, tenant.id) == 1
    assert (await hub.request("POST", f"/v1/tenants/{tenant.id}/suspend", headers=PLATFORM)).status_code == 200
    assert await _sessions_of(database_url, tenant.id) == 0
    assert (await hub.request("POST", f"/v1/tenants/{tenant.id}/activate", headers=PLATFORM)).status_code == 200
    r = await _get(hub, "/console/payments")
    assert r.status_code in (302, 303) and r.headers["location"] == "/console/login"
    # Signing in again works once the tenant is active.
    assert _signed_in(await _sign_in(hub, tenant.admin_key))
    assert (await _get(hub, "/console/payments")).status_code == 200


async def test_a_suspension_after_the_key_was_read_opens_no_session(hub, database_url):
    """The sign-in that read an active tenant just before the platform suspended it opens nothing."""
    tenant = await hub.create_tenant()
    engine = make_engine(database_url)  # the test's own: the app's runs on the test client's loop
    try:
        async with make_sessionmaker(engine)() as session:
            who = await sessions.admin_key(session, tenant.admin_key)
            r = await hub.request("POST", f"/v1/tenants/{tenant.id}/suspend", headers=PLATFORM)
            assert r.status_code == 200
            with pytest.raises(sessions.SignInRefused, match="suspended"):
                await sessions.open_session(session, who)
    finally:
        await engine.dispose()
    assert await _sessions_of(database_url, tenant.id) == 0
