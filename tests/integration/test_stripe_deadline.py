"""One overall deadline per Stripe call, the SDK's retries included (HUB_STRIPE_DEADLINE_SECONDS).

Stripe is played by an httpx.MockTransport that never answers: without the deadline the call
would wait forever (a mock transport has no network timeout), so only the deadline ends it.
"""

from __future__ import annotations

import asyncio

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
