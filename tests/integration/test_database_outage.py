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

import httpx
import pytest

from hub.db.migrate import upgrade_to_head
from tests.support.canaries.ledger import LEDGER
from tests.support.databases import PG_HOST, PG_PORT, PG_USER, backends, create_pg_database, drop_pg_database
from tests.support.hub import PLATFORM, HubClient, build_client, make_settings
from tests.support.payment_rows import payment_row
from tests.support.payments import Recorder, create_payment, emulator_intents, recorded_hub, stripe_tenant
from tests.support.rawdb import execute
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
        LEDGER.scan_database_blocking(f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}", keep=False)
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


def _waiting(r: httpx.Response) -> bool:
    """An answer a client retrying after the outage may get for a moment, then tries again."""
    # 409 idempotency_in_progress while the hub finishes the first attempt; 503 on a pooled
    # connection the cut killed, noticed by this request.
    code = r.json().get("code") if r.status_code >= 400 else None
    return (r.status_code, code) in {(409, "idempotency_in_progress"), (503, "database_unavailable")}


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


async def test_a_creation_the_outage_cut_off_after_stripe_answered_is_replayed_once_the_database_is_back(
    proxied_pg, emulator, tmp_path
):
    # The database goes away while Stripe creates the PaymentIntent: the hub cannot write the
    # answer, says 503, and must not hold the Idempotency-Key as "in progress" for the whole
    # in-flight lease (minutes) once the database is back: the retry finds the payment.
    proxy, url = proxied_pg
    recorder = Recorder(emulator.url)
    forward = recorder.transport.handle_async_request
    armed = {"cut": False}

    async def cut_after_stripe(request: httpx.Request) -> httpx.Response:
        response = await forward(request)
        if armed["cut"] and request.method == "POST" and request.url.path == "/v1/payment_intents":
            armed["cut"] = False
            proxy.cut()
        return response

    recorder.transport = httpx.MockTransport(cut_after_stripe)
    async with recorded_hub(url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, secret_key = await stripe_tenant(hub)
        armed["cut"] = True
        r = await create_payment(hub, tenant, idempotency_key="order-7")
        assert (r.status_code, r.json()["code"]) == (503, "database_unavailable"), r.text
        proxy.restore()

        async def replayed():
            r = await create_payment(hub, tenant, idempotency_key="order-7")
            return None if _waiting(r) else r

        r = await _until(replayed, within=10)
        # A replay answers with the first response: its status (201) and body, marked as replayed.
        assert r.status_code == 201 and r.headers["idempotent-replayed"] == "true", r.text
        payment = r.json()
    assert recorder.calls("POST", "/v1/payment_intents") == 1
    intents = emulator_intents(emulator, secret_key, hub_payment_id=payment["id"])
    assert [pi["id"] for pi in intents] == [payment["provider_payment_id"]]
    row = await payment_row(url, payment["id"])
    assert (row["pending_op"], row["provider_payment_id"]) == (None, payment["provider_payment_id"])


async def test_a_creation_whose_claim_was_written_but_never_confirmed_runs_on_retry_once_the_database_is_back(
    proxied_pg, emulator, tmp_path
):
    # The worst moment: PostgreSQL commits the new payment row (the key's claim) and stops before
    # saying so. The hub answers 503 without calling Stripe; the row must not hold the key as
    # "in progress" for the whole lease: the retry creates the payment, once.
    proxy, url = proxied_pg
    recorder = Recorder(emulator.url)
    async with recorded_hub(url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, secret_key = await stripe_tenant(hub)
        proxy.lose_reply(b"order-8", b"COMMIT")
        r = await create_payment(hub, tenant, idempotency_key="order-8")
        assert (r.status_code, r.json()["code"]) == (503, "database_unavailable"), r.text
        assert recorder.calls("POST", "/v1/payment_intents") == 0
        rows = await execute(url.replace(f":{proxy.port}/", f":{PG_PORT}/"), "SELECT pending_op FROM payments")
        assert rows == [("create",)]  # committed although the hub was told otherwise
        proxy.restore()

        async def created():
            r = await create_payment(hub, tenant, idempotency_key="order-8")
            return None if _waiting(r) else r

        r = await _until(created, within=10)
        assert r.status_code in (200, 201), r.text
        payment = r.json()
    assert recorder.calls("POST", "/v1/payment_intents") == 1
    intents = emulator_intents(emulator, secret_key, hub_payment_id=payment["id"])
    assert [pi["id"] for pi in intents] == [payment["provider_payment_id"]]


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
    assert any("x\\nCRITICAL forged" in line for line in lines), lines
    assert not any(line.startswith("CRITICAL forged") for line in lines)
