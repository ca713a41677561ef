"""A worker killed with SIGKILL while webhook events are pending loses none and applies none twice.

Deliveries are acknowledged once stored. The first worker is killed outright (no shutdown of any
kind): ingest-only (HUB_APPLIER=0), so every event is certainly still pending; or with its applier
running, killed at whatever point it has reached. A new worker then applies what is pending, and
every event ends applied exactly once (one attempt each, one refund row per refund).

And under load (PostgreSQL, ``--workers 2``): one worker is killed while deliveries are in flight
and keep coming; the other worker and the one uvicorn starts in its place store and apply every
acknowledged event exactly once.
"""

from __future__ import annotations

import os
import signal

import httpx
import pytest

from hub.db.base import new_id
from tests.support import stripe_events as se
from tests.support.databases import backends
from tests.support.hub import PLATFORM
from tests.support.inbox import pending_count, wait_applied
from tests.support.payment_rows import count_rows, insert_payment, payment_row
from tests.support.process import HubProcess
from tests.support.rawdb import execute
from tests.support.reliability import worker_killed

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("fault-stack")]

SECRET = "whsec_crashTenantSecret1"
PAYMENTS, DELIVERIES = 6, 2


def kill(proc: HubProcess) -> None:
    os.killpg(proc.proc.pid, signal.SIGKILL)  # its own session: the group is this test's alone
    proc.proc.wait(10)
    proc.stop()  # closes the log; the process is gone already


async def tenant_with_credentials(http: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    r = await http.post("/v1/tenants", json={"name": "Crash"}, headers=PLATFORM)
    assert r.status_code == 201, r.text
    tenant_id, admin = r.json()["id"], {"Authorization": f"Bearer {r.json()['api_keys']['admin']}"}
    r = await http.put(
        "/v1/providers/stripe/credentials",
        headers=admin,
        json={
            "publishable_key": "pk_test_tenantkey00000001",
            "secret_key": "sk_test_tenantkey00000001",
            "webhook_secret": SECRET,
        },
    )
    assert r.status_code == 200, r.text
    return tenant_id, admin


@pytest.mark.parametrize("first_worker_applies", [False, True], ids=["ingest_only", "applier_running"])
async def test_events_pending_when_a_worker_is_killed_are_applied_once_by_the_next(
    database_url, emulator, tmp_path, first_worker_applies
):
    env = {"HUB_STRIPE_API_BASE": emulator.url, "HUB_APPLIER": "1" if first_worker_applies else "0"}
    first = HubProcess(database_url, tmp_path / "first", **env)
    try:
        async with first.client(timeout=30) as http:
            tenant_id, admin = await tenant_with_credentials(http)
            payments, bodies = [], []
            for _ in range(PAYMENTS):
                pi_id = "pi_" + new_id("x")[2:]
                payment_id = await insert_payment(
                    database_url, tenant_id=tenant_id, provider_payment_id=pi_id, amount=2000
                )
                payments.append(payment_id)
                meta = {"hub_tenant_id": tenant_id, "hub_payment_id": payment_id}
                paid = se.payment_intent(pi_id, "succeeded", amount_received=2000, metadata=meta)
                bodies.append(se.encode(se.event("payment_intent.succeeded", paid)))
                bodies.append(se.encode(se.event("refund.updated", se.refund(pi_id, "re_" + pi_id[3:], 500))))
            bodies.append(se.encode(se.event("customer.created", {"id": "cus_1", "object": "customer"})))
            for body in bodies * DELIVERIES:
                r = await http.post(
                    f"/v1/webhooks/stripe/{tenant_id}",
                    content=body,
                    headers={"Stripe-Signature": se.sign(body, SECRET), "Content-Type": "application/json"},
                )
                assert (r.status_code, r.json()) == (200, {"received": True}), r.text
        if not first_worker_applies:
            assert await pending_count(database_url, tenant_id) == len(bodies)
    finally:
        kill(first)

    second = HubProcess(database_url, tmp_path / "second", HUB_STRIPE_API_BASE=emulator.url)
    try:
        await wait_applied(database_url, tenant_id)
        async with second.client(timeout=30) as http:
            events = (await http.get("/v1/events?limit=100", headers=admin)).json()["data"]
    finally:
        second.stop()
    assert len(events) == len(bodies) and {e["deliveries"] for e in events} == {DELIVERIES}
    outcomes = sorted(e["outcome"] for e in events)
    assert outcomes == ["applied"] * (2 * PAYMENTS) + ["ignored"], events
    # Exactly once: each event took one attempt, and each refund is one row.
    assert await execute(database_url, "SELECT DISTINCT attempts FROM webhook_events") == [(1,)]
    assert await count_rows(database_url, "refunds") == PAYMENTS
    for payment_id in payments:
        row = await payment_row(database_url, payment_id)
        assert (row["status"], row["amount_received"], row["amount_refunded"]) == ("partially_refunded", 2000, 500)


@pytest.mark.skipif("postgresql" not in backends(), reason="the load runs on PostgreSQL, as the load test")
@pytest.mark.alone  # a timed load on the shared two-worker stack
async def test_a_worker_killed_while_deliveries_are_in_flight_loses_no_acknowledged_event(fault_stack):
    facts = await worker_killed(fault_stack, clients=8, payments=10, before=2.0, after=3.0)
    # The load went on through the kill: acknowledged deliveries before it and after it.
    assert any(a.ok for a in facts.load if a.ended < facts.fault_at), facts.summary()
    assert facts.after()["2xx"] > 0, facts.summary()
    # Only 200s, or no answer at all on the killed worker's connections: never an error answer.
    assert all(a.ok or a.status is None for a in facts.load), facts.summary()
    # The supervisor stayed, the killed worker is gone, and a new one took its place.
    supervisor, workers = facts.pids_before
    assert facts.killed in workers and facts.pids_after[0] == supervisor
    assert facts.killed not in facts.pids_after[1] and len(facts.pids_after[1]) == 2
    # Nothing acknowledged is lost; every stored event is applied exactly once (one attempt).
    assert facts.lost_events == set()
    assert facts.not_applied_once == {}
    assert facts.unpaid == set()
    assert facts.unanswered_retries() == set(), facts.retry_summary()
