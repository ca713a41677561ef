"""Rate limits: per API key (HUB_RATE_LIMIT_PER_KEY, bursts of twice that) and failed
authentication per client address; in-process by default, shared through Redis with HUB_REDIS_URL.
"""

from __future__ import annotations

import secrets

import pytest
from litestar.testing import AsyncTestClient

from hub.app import create_app
from tests.support.canaries.http import observed
from tests.support.hub import PLATFORM, HubClient, build_client, from_address, make_settings
from tests.support.problem import assert_problem

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["memory", "redis"])
def limit_env(request) -> dict[str, str]:
    env = {"HUB_RATE_LIMIT_PER_KEY": "3"}
    if request.param == "redis":
        env["HUB_REDIS_URL"] = REDIS_URL
    return env


async def test_one_key_past_twice_its_rate_is_429_with_retry_after(database_url, tmp_path, limit_env):
    settings = make_settings(database_url, str(tmp_path), **limit_env)
    async with build_client(settings) as client:
        hub = HubClient(client, settings)
        tenant = await hub.create_tenant(f"T{secrets.token_hex(3)}")
        other = await hub.create_tenant(f"U{secrets.token_hex(3)}")
        codes = [(await hub.request("GET", "/v1/payments", headers=tenant.storefront)).status_code for _ in range(10)]
        # A burst of 2 x 3 passes; the rest of the burst is refused (the window is 2 seconds long,
        # far longer than these requests take).
        assert codes[:6] == [200] * 6 and 429 in codes[6:], codes
        r = await hub.request("GET", "/v1/payments", headers=tenant.storefront)
        body = assert_problem(r, 429, "rate_limited")
        assert 1 <= int(r.headers["retry-after"]) <= 2 and body["detail"]
        # Another key of the same caller address is not affected.
        assert (await hub.request("GET", "/v1/payments", headers=other.storefront)).status_code == 200


async def test_repeated_failed_authentication_from_one_address_is_429(database_url, tmp_path, limit_env):
    settings = make_settings(database_url, str(tmp_path), **{**limit_env, "HUB_RATE_LIMIT_PER_KEY": "1000"})
    # A fresh address each run: Redis keeps its counters between runs.
    address = f"198.51.100.{secrets.randbelow(250) + 1}-{secrets.token_hex(4)}"
    async with observed(AsyncTestClient(from_address(create_app(settings), address))) as client:
        codes = []
        for n in range(40):
            r = await client.get("/v1/payments", headers={"Authorization": f"Bearer hub_st_guess{n:04d}"})
            codes.append(r.status_code)
        assert codes[:30] == [401] * 30 and set(codes[30:]) == {429}, codes
        r = await client.get("/v1/payments", headers={"Authorization": "Bearer hub_st_another"})
        assert_problem(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) >= 1
        assert r.headers.get("cache-control") == "no-store"
    # Another address is not affected.
    async with observed(AsyncTestClient(from_address(create_app(settings), address + "x"))) as client:
        r = await client.get("/v1/payments", headers={"Authorization": "Bearer hub_st_guess"})
        assert_problem(r, 401, "unauthorized")


def fresh_address() -> str:
    """An address of this run only: Redis keeps its counters between runs."""
    return f"198.51.100.{secrets.randbelow(250) + 1}-{secrets.token_hex(4)}"


async def _junk(hub: HubClient, count: int, headers: dict[str, str] | None = None) -> list[int]:
    codes = []
    for _ in range(count):
        junk = {"Authorization": f"Bearer hub_st_{secrets.token_urlsafe(32)}", **(headers or {})}
        codes.append((await hub.request("GET", "/v1/payments", headers=junk)).status_code)
    return codes


async def test_junk_tokens_from_an_address_do_not_lock_out_a_valid_key_from_it(database_url, tmp_path, limit_env):
    """Behind a proxy every tenant shares one address: junk from anyone must not refuse a real key."""
    settings = make_settings(database_url, str(tmp_path), **{**limit_env, "HUB_RATE_LIMIT_PER_KEY": "1000"})
    async with build_client(settings, address=fresh_address()) as client:
        hub = HubClient(client, settings)
        tenant = await hub.create_tenant(f"T{secrets.token_hex(3)}")
        codes = await _junk(hub, 100)
        assert codes[:30] == [401] * 30 and set(codes[30:]) == {429}, codes
        # The brute-force protection holds: junk (or no token at all) still gets 429 with Retry-After ...
        r = await hub.request("GET", "/v1/payments")
        assert_problem(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) >= 1
        # ... while every valid key from the same address is served: admin, storefront, the platform.
        for headers in (tenant.admin, tenant.storefront, PLATFORM):
            path = "/v1/tenants" if headers is PLATFORM else "/v1/payments"
            r = await hub.request("GET", path, headers=headers)
            assert r.status_code == 200, r.text
        assert await _junk(hub, 3) == [429] * 3


@pytest.mark.parametrize(
    ("trusted", "peer", "honoured"),
    [
        (None, "127.0.0.1", False),  # the default trusts no proxy, not even one on this machine
        ("10.9.8.0/24, 192.0.2.1", "10.9.9.9", False),  # a peer outside the trusted ones
        ("10.9.8.0/24, 192.0.2.1", "10.9.8.7", True),
        ("10.9.8.0/24, 192.0.2.1", "192.0.2.1", True),
    ],
)
async def test_forwarded_for_is_honoured_only_from_a_trusted_proxy(database_url, tmp_path, trusted, peer, honoured):
    env = {"HUB_RATE_LIMIT_PER_KEY": "1000"} | ({"HUB_TRUSTED_PROXIES": trusted} if trusted else {})
    settings = make_settings(database_url, str(tmp_path), **env)
    async with build_client(settings, address=peer) as client:
        hub = HubClient(client, settings)
        assert await _junk(hub, 30, {"X-Forwarded-For": "203.0.113.1"}) == [401] * 30
        assert await _junk(hub, 1, {"X-Forwarded-For": "203.0.113.1"}) == [429]
        # A prepended address is the client's own text: the proxy's own entry (the last) counts.
        assert await _junk(hub, 1, {"X-Forwarded-For": "203.0.113.77, 203.0.113.1"}) == [429]
        # Another client behind the same proxy: its own count if the proxy is trusted, the proxy's if not.
        assert await _junk(hub, 1, {"X-Forwarded-For": "203.0.113.2"}) == [401 if honoured else 429]


async def test_an_unreachable_redis_does_not_take_the_api_down(database_url, tmp_path):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = make_settings(
        database_url, str(tmp_path), HUB_RATE_LIMIT_PER_KEY="1", HUB_REDIS_URL=f"redis://127.0.0.1:{port}/0"
    )
    async with build_client(settings) as client:
        hub = HubClient(client, settings)
        tenant = await hub.create_tenant("T")
        codes = [(await hub.request("GET", "/v1/payments", headers=tenant.storefront)).status_code for _ in range(4)]
        assert codes == [200] * 4
