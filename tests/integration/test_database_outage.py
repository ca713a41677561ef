"""PostgreSQL going away: 503 ``database_unavailable`` meanwhile, and recovery without a restart.

The hub reaches a real PostgreSQL through a TCP proxy the test cuts (listening socket closed,
open connections reset, as a stopped server does) and restores.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Iterator

import pytest

from hub.db.migrate import upgrade_to_head
from tests.support.databases import PG_HOST, PG_PORT, PG_USER, backends, create_pg_database, drop_pg_database
from tests.support.hub import PLATFORM, HubClient, build_client, make_settings
from tests.support.payments import create_payment, stripe_tenant
from tests.support.tcpproxy import TcpProxy


@pytest.fixture
def proxied_pg() -> Iterator[tuple[TcpProxy, str]]:
    name = create_pg_database()
    proxy = TcpProxy(PG_HOST, PG_PORT)
    proxy.restore()
    try:
        url = f"postgresql+asyncpg://{PG_USER}@127.0.0.1:{proxy.port}/{name}"
        upgrade_to_head(url)
        yield proxy, url
    finally:
        proxy.close()
        drop_pg_database(name)


async def _until(check, within: float = 15.0):
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


async def test_a_database_outage_is_503_database_unavailable_and_the_hub_recovers(proxied_pg, emulator, tmp_path):
    proxy, url = proxied_pg
    settings = make_settings(url, str(tmp_path), HUB_STRIPE_API_BASE=emulator.url)
    async with build_client(settings) as client:
        hub = HubClient(client, settings)
        tenant, _ = await stripe_tenant(hub)
        assert (await create_payment(hub, tenant)).status_code == 201

        proxy.cut()
        for method, path, kwargs in (
            ("POST", "/v1/payments", {"json": {"amount": 2000, "currency": "usd"}, "headers": tenant.storefront}),
            ("GET", "/v1/payments", {"headers": tenant.storefront}),
            ("POST", "/v1/tenants", {"json": {"name": "B"}, "headers": PLATFORM}),
        ):
            r = await hub.request(method, path, **kwargs)
            assert r.status_code == 503, (path, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "database_unavailable" and "Traceback" not in r.text
            assert int(r.headers["retry-after"]) >= 1

        proxy.restore()

        async def created():
            r = await create_payment(hub, tenant)
            return r if r.status_code == 201 else None

        payment = (await _until(created)).json()
        r = await hub.request("GET", f"/v1/payments/{payment['id']}", headers=tenant.storefront)
        assert r.status_code == 200


async def test_a_database_that_never_answers_is_503_not_500(emulator, tmp_path):
    # A port with nothing listening: the very first connection is refused.
    proxy = TcpProxy(PG_HOST, PG_PORT)  # never started: nothing listens on its port
    try:
        url = f"postgresql+asyncpg://{PG_USER}@127.0.0.1:{proxy.port}/nowhere"
        settings = make_settings(url, str(tmp_path))
        async with build_client(settings) as client:
            r = await client.post("/v1/tenants", json={"name": "A"}, headers=PLATFORM)
            assert r.status_code == 503 and r.json()["code"] == "database_unavailable", r.text
            r = await client.get("/v1/payments", headers={"Authorization": "Bearer hub_st_whatever"})
            assert r.status_code == 503 and r.json()["code"] == "database_unavailable", r.text
    finally:
        proxy.close()


@pytest.mark.parametrize("backend", backends())
async def test_a_path_with_a_line_feed_cannot_forge_a_log_line(emulator, tmp_path, backend):
    # The outage warning names the request path; a %0A in it must not start a new line.
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    proxy = TcpProxy(PG_HOST, PG_PORT)  # nothing listens
    unreachable = {
        "postgresql": f"postgresql+asyncpg://{PG_USER}@127.0.0.1:{proxy.port}/nowhere",
        "sqlite": f"sqlite+aiosqlite:///{tmp_path}/no-such-directory/hub.db",  # cannot be opened
    }[backend]
    try:
        settings = make_settings(unreachable, str(tmp_path))
        async with build_client(settings) as client:
            r = await client.get(
                "/v1/payments/x%0ACRITICAL forged", headers={"Authorization": "Bearer hub_st_whatever"}
            )
            assert r.status_code == 503
    finally:
        root.removeHandler(handler)
        proxy.close()
    lines = stream.getvalue().splitlines()
    assert any("x\\x0aCRITICAL forged" in line for line in lines), lines
    assert not any(line.startswith("CRITICAL forged") for line in lines)
