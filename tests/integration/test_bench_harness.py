"""The benchmark's own pieces, cheaply, so they do not rot: the Stripe stand-in serves what the hub
and stripe-python ask of it, the signer's deliveries pass the hub's verification, the event-list
walk sees them, and the verify-only baseline accepts exactly what the hub accepts. No load here:
the load is ``bench/run``, never CI."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import stripe
from litestar.testing import AsyncTestClient

from bench import hubapi, loadgen, procs, signer, verify_only
from tests.support.hub import PLATFORM_TOKEN, HubClient, build_client, make_settings

# One worker runs the module: the bench stand-ins are a module fixture.
pytestmark = pytest.mark.xdist_group("bench-harness")


@pytest.fixture(scope="module")
def standin(tmp_path_factory) -> Iterator[procs.Proc]:
    proc = procs.standin(tmp_path_factory.mktemp("standin")).start()
    yield proc
    proc.stop()


@pytest.fixture
async def hub_on_standin(database_url: str, hub_home: Path, standin):
    settings = make_settings(database_url, str(hub_home), HUB_STRIPE_API_BASE=standin.url)
    async with build_client(settings) as client:
        yield HubClient(client, settings)


async def test_the_standin_answers_a_create_payment_through_stripe_python(standin):
    http = stripe.HTTPXClient()
    client = loadgen.direct_client(standin.url, http)
    pi = await loadgen.direct_create(client)
    assert pi.object == "payment_intent" and pi.id.startswith("pi_")
    assert (pi.amount, pi.currency, pi.status, pi.metadata["order"]) == (
        2000,
        "usd",
        "requires_payment_method",
        "bench",
    )
    again = await client.v1.payment_intents.retrieve_async(pi.id)
    assert again.id == pi.id and again.client_secret == pi.client_secret
    with pytest.raises(stripe.InvalidRequestError):  # an unknown call fails loudly, never a silent success
        await client.v1.refunds.create_async({"payment_intent": pi.id})
    await http.close_async()


async def test_the_hub_registers_and_creates_payments_against_the_standin(hub_on_standin):
    tenant = await hubapi.register(hub_on_standin.http, "bench", platform_token=PLATFORM_TOKEN)
    payment_id, pi_id = await hubapi.create_payment(hub_on_standin.http, tenant)
    assert payment_id.startswith("pay_") and pi_id.startswith("pi_")


async def test_signed_deliveries_are_accepted_by_the_hub_and_walked_until_none_is_pending(hub_on_standin):
    http = hub_on_standin.http
    tenant = await hubapi.register(http, "bench", platform_token=PLATFORM_TOKEN)
    payment = await hubapi.create_payment(http, tenant)
    requests = signer.deliveries(tenant.id, tenant.webhook_secret, [payment], 4)
    for r in requests:
        answer = await http.post(
            r.path, content=r.body, headers={"Stripe-Signature": r.signature, "Content-Type": "application/json"}
        )
        assert answer.status_code == 200, answer.text
    forged = signer.deliveries(tenant.id, "whsec_not_the_tenants", [payment], 1)[0]
    answer = await http.post(forged.path, content=forged.body, headers={"Stripe-Signature": forged.signature})
    assert answer.status_code == 400

    pending, seen = await hubapi.pending_events(http, tenant, None)
    deadline = time.monotonic() + 10
    while pending and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        pending, _ = await hubapi.pending_events(http, tenant, pending)
    assert (pending, seen) == (set(), 4)
    r = await http.get(f"/v1/payments/{payment[0]}", headers={"Authorization": f"Bearer {tenant.storefront}"})
    assert (r.json()["status"], r.json()["amount_received"]) == ("succeeded", 2000)


async def test_the_verify_only_baseline_accepts_signed_deliveries_and_refuses_forged_ones(monkeypatch):
    monkeypatch.setattr(verify_only, "SECRET", "whsec_baseline")
    good = signer.deliveries("ten_x", "whsec_baseline", [("pay_x", "pi_x")], 1)[0]
    bad = signer.deliveries("ten_x", "whsec_other", [("pay_x", "pi_x")], 1)[0]
    async with AsyncTestClient(verify_only.app) as client:
        assert (
            await client.post(good.path, content=good.body, headers={"Stripe-Signature": good.signature})
        ).json() == {"received": True}
        assert (
            await client.post(bad.path, content=bad.body, headers={"Stripe-Signature": bad.signature})
        ).status_code == 400


def test_request_files_hold_one_request_per_line_in_the_wrk_scripts_five_fields(tmp_path):
    requests = signer.deliveries("ten_x", "whsec_x", [("pay_x", "pi_x")], 3) + signer.create_payments(["hub_st_x"], 2)
    path = tmp_path / "r.requests"
    assert signer.write(path, requests) == 5
    lines = path.read_bytes().splitlines()
    fields = [line.split(b"\t") for line in lines]
    assert [len(f) for f in fields] == [5] * 5
    assert fields[0][3].startswith(b"t=") and fields[0][2] == b"-" and fields[4][2] == b"Bearer hub_st_x"
    assert len({f[4] for f in fields[:3]}) == 3  # distinct events
