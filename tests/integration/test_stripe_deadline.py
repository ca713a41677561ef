"""One overall deadline per Stripe call, the SDK's retries included (HUB_STRIPE_DEADLINE_SECONDS).

Stripe is played by an httpx.MockTransport that never answers: without the deadline the call
would wait forever (a mock transport has no network timeout), so only the deadline ends it.
"""

from __future__ import annotations

import asyncio
import json
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.support.hub import HubClient, build_client, make_settings
from tests.support.payments import create_payment, stripe_tenant
from tests.support.stripe_mock import BALANCE


def silent_stripe(state: dict) -> httpx.MockTransport:
    async def handle(request: httpx.Request) -> httpx.Response:
        state["calls"] = state.get("calls", 0) + 1
        if request.url.path == "/v1/balance":
            return httpx.Response(200, json=BALANCE)
        await asyncio.Event().wait()  # never answers
        raise AssertionError("unreachable")

    return httpx.MockTransport(handle)


async def test_a_silent_stripe_is_503_provider_unavailable_within_the_deadline(database_url, tmp_path):
    state: dict = {}
    settings = make_settings(
        database_url,
        str(tmp_path),
        HUB_STRIPE_DEADLINE_SECONDS="0.5",
        HUB_STRIPE_TIMEOUT_SECONDS="60",
        HUB_STRIPE_MAX_NETWORK_RETRIES="2",
    )
    async with build_client(settings, provider_options={"http_transport": silent_stripe(state)}) as client:
        hub = HubClient(client, settings)
        tenant, _ = await stripe_tenant(hub)
        # The outer bound only keeps a broken deadline from hanging the suite.
        r = await asyncio.wait_for(create_payment(hub, tenant), 60)
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "provider_unavailable" and "deadline" in r.json()["detail"]
        # The payment row is kept for a retry or sync (the outcome at Stripe is unknown).
        payment = (await hub.request("GET", f"/v1/payments/{r.json()['payment_id']}", headers=tenant.storefront)).json()
        assert payment["last_error_code"] == "provider_unavailable"


def test_the_deadline_defaults_to_25_seconds(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    assert make_settings(url, str(tmp_path)).stripe.deadline_seconds == 25.0
    assert make_settings(url, str(tmp_path), HUB_STRIPE_DEADLINE_SECONDS="7").stripe.deadline_seconds == 7.0


@contextmanager
def _silent_server(state: dict) -> Iterator[int]:
    """Stripe over the network (the hub's own HTTP client, no transport given), in a thread of its
    own: answers every read (the credentials check) and never answers a payment's creation."""
    balance = json.dumps(BALANCE).encode()
    release = threading.Event()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            while not release.is_set():
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = self.rfile.readline()
                    if not line:
                        return
                    head += line
                length = next(
                    (int(h.split(b":", 1)[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")),
                    0,
                )
                self.rfile.read(length)
                state["calls"] = state.get("calls", 0) + 1
                if head.startswith(b"POST /v1/payment_intents"):
                    release.wait(30)  # never answers (until the test ends)
                    return
                self.wfile.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(balance)).encode()
                    + b"\r\n\r\n"
                    + balance
                )

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        release.set()
        server.shutdown()
        server.server_close()


async def test_over_the_network_a_silent_stripe_is_503_within_the_deadline(database_url, tmp_path):
    state: dict = {}
    with _silent_server(state) as port:
        settings = make_settings(
            database_url,
            str(tmp_path),
            HUB_STRIPE_API_BASE=f"http://127.0.0.1:{port}",
            HUB_STRIPE_DEADLINE_SECONDS="0.5",
            HUB_STRIPE_TIMEOUT_SECONDS="60",
            HUB_STRIPE_MAX_NETWORK_RETRIES="2",
        )
        async with build_client(settings) as client:
            hub = HubClient(client, settings)
            tenant, _ = await stripe_tenant(hub)
            started = time.monotonic()
            r = await asyncio.wait_for(create_payment(hub, tenant), 60)
            # Each attempt is bounded by the deadline too (min of the two), so the first attempt's
            # own timeout and the deadline end together: either names the outage, within the bound.
            assert r.status_code == 503 and r.json()["code"] == "provider_unavailable", r.text
            assert time.monotonic() - started < 5
            assert state["calls"] >= 2  # the credentials check, then the create that got no answer
