"""A worker killed with SIGKILL while webhook events are pending loses none and applies none twice.

Deliveries are acknowledged once stored. The first worker is killed outright (no shutdown of any
kind): ingest-only (HUB_APPLIER=0), so every event is certainly still pending; or with its applier
running, killed at whatever point it has reached. A new worker then applies what is pending, and
every event ends applied exactly once (one attempt each, one refund row per refund).
"""

from __future__ import annotations

import os
import signal

import httpx
import pytest

from hub.db.base import new_id
from tests.support import stripe_events as se
from tests.support.hub import PLATFORM
from tests.support.inbox import pending_count, wait_applied
from tests.support.payment_rows import count_rows, insert_payment, payment_row
from tests.support.process import HubProcess
from tests.support.rawdb import execute

pytestmark = pytest.mark.e2e

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
