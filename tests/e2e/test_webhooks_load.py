"""Load proof (PostgreSQL, `hub serve --workers 2`): 20 distinct events, each delivered 10 times at
once, end as exactly 20 stored events, each applied once with 10 deliveries, and no error answers."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator

import pytest

from tests.support import stripe_events as se
from tests.support.canaries.ledger import LEDGER
from tests.support.databases import backends, create_pg_database, drop_pg_database, pg_url
from tests.support.hub import PLATFORM
from tests.support.inbox import wait_applied
from tests.support.payment_rows import count_rows, hub_payment, payment_row
from tests.support.process import HubProcess

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.alone,  # a load: its figures are the hub's, not its neighbours'
    pytest.mark.skipif("postgresql" not in backends(), reason="the load proof runs on PostgreSQL"),
]

SECRET = "whsec_loadTenantSecret01"
PAYMENTS, DELIVERIES, CONCURRENCY = 10, 10, 40


@pytest.fixture
def pg_database() -> Iterator[str]:
    name = create_pg_database()
    try:
        yield pg_url(name)
        LEDGER.scan_database_blocking(pg_url(name), keep=False)
    finally:
        drop_pg_database(name)


@pytest.fixture
def hub_process(pg_database, emulator, tmp_path) -> Iterator[HubProcess]:
    proc = HubProcess(pg_database, tmp_path / "home", workers=2, HUB_STRIPE_API_BASE=emulator.url)
    yield proc
    proc.stop()


async def test_concurrent_duplicate_deliveries_across_two_workers_apply_each_event_once(
    hub_process, pg_database, emulator
):
    async with hub_process.client(timeout=30) as http:
        r = await http.post("/v1/tenants", json={"name": "Load"}, headers=PLATFORM)
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

        # Two events per payment (succeeded and a partial refund), so deliveries of different
        # events also meet on the same payment row.
        payments, bodies = [], []
        for _ in range(PAYMENTS):
            payment_id, pi_id = await hub_payment(pg_database, emulator.url, tenant_id)
            payments.append(payment_id)
            meta = {"hub_tenant_id": tenant_id, "hub_payment_id": payment_id}
            bodies.append(
                se.encode(
                    se.event(
                        "payment_intent.succeeded",
                        se.payment_intent(pi_id, "succeeded", amount_received=2000, metadata=meta),
                    )
                )
            )
            bodies.append(se.encode(se.event("refund.updated", se.refund(pi_id, "re_" + pi_id[3:], 500))))
        deliveries = [b for b in bodies for _ in range(DELIVERIES)]
        random.Random(7).shuffle(deliveries)

        limit = asyncio.Semaphore(CONCURRENCY)

        async def deliver(body: bytes) -> int:
            async with limit:
                r = await http.post(
                    f"/v1/webhooks/stripe/{tenant_id}",
                    content=body,
                    headers={"Stripe-Signature": se.sign(body, SECRET), "Content-Type": "application/json"},
                )
                return r.status_code

        statuses = await asyncio.gather(*(deliver(b) for b in deliveries))
        assert statuses == [200] * len(deliveries), hub_process.log()
        await wait_applied(pg_database, tenant_id)

        r = await http.get("/v1/events?limit=100", headers=admin)
        events = r.json()["data"]
    assert len(events) == 2 * PAYMENTS and await count_rows(pg_database, "webhook_events") == 2 * PAYMENTS
    assert {e["deliveries"] for e in events} == {DELIVERIES}
    assert {e["outcome"] for e in events} == {"applied"}
    assert await count_rows(pg_database, "refunds") == PAYMENTS
    for payment_id in payments:
        row = await payment_row(pg_database, payment_id)
        assert (row["status"], row["amount_received"], row["amount_refunded"]) == ("partially_refunded", 2000, 500)
