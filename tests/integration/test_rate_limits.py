"""Rate limits: per API key (HUB_RATE_LIMIT_PER_KEY, bursts of twice that) and failed
authentication per client address; in-process by default, shared through Redis with HUB_REDIS_URL.
"""

from __future__ import annotations

import secrets

import pytest
from litestar.testing import AsyncTestClient

from hub.app import create_app
from tests.support.canaries.http import observed
from tests.support.hub import HubClient, build_client, make_settings
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


def from_address(app, address: str):
    """The app as a client at ``address`` reaches it (the test client always says "testclient")."""

    async def wrapped(scope, receive, send):
        if scope["type"] == "http":
            scope = {**scope, "client": (address, 50000)}
        await app(scope, receive, send)

    return wrapped


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
