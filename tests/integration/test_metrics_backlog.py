"""/metrics shows the backlog the database holds: pending webhook events and notification deliveries.

These are figures of the whole hub (every worker reads the same rows), read when /metrics is
scraped: what an operator alerts on when appliers or dispatchers fall behind or none runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from hub.db.notifications import NotificationDelivery, NotificationEndpoint, NotificationMessage
from tests.support import stripe_events as se
from tests.support.hub import PLATFORM, HubClient, TenantHandle, build_client, make_settings
from tests.support.rawdb import execute

SECRET = "whsec_backlogtenant00001"


def _gauges(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def _scrape(hub: HubClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = await hub.request("GET", "/metrics", headers=PLATFORM)
    assert r.status_code == 200, r.text
    return _gauges(r.text)


@pytest.fixture
async def ingest_only(database_url, emulator, hub_home) -> AsyncIterator[HubClient]:
    """A worker that applies no event and sends no notification: what it stores stays pending."""
    settings = make_settings(
        database_url,
        str(hub_home / "ingest"),
        HUB_STRIPE_API_BASE=emulator.url,
        HUB_APPLIER="0",
        HUB_NOTIFY_DISPATCH="0",
    )
    async with build_client(settings) as client:
        yield HubClient(client, settings)


async def _tenant(hub: HubClient) -> TenantHandle:
    tenant = await hub.create_tenant("Backlog")
    assert (await hub.register_stripe(tenant, webhook_secret=SECRET)).status_code == 200
    return tenant


async def _deliver(hub: HubClient, tenant: TenantHandle, n: int) -> None:
    for i in range(n):
        evt = se.event("payment_intent.succeeded", se.payment_intent(f"pi_backlog{i:06d}", "succeeded"))
        r = await se.deliver(hub.http, tenant.id, se.encode(evt), SECRET)
        assert r.status_code == 200, r.text


async def test_pending_events_are_counted_per_provider_with_the_age_of_the_oldest(ingest_only, database_url):
    before = await _scrape(ingest_only)
    assert before[("hub_webhook_events_pending", (("provider", "stripe"),))] == 0
    assert before[("hub_webhook_events_pending", (("provider", "wompi"),))] == 0
    assert before[("hub_webhook_oldest_pending_event_seconds", ())] == 0

    tenant = await _tenant(ingest_only)
    await _deliver(ingest_only, tenant, 3)
    # The oldest of them received ten minutes ago (a worker that stopped applying long ago).
    old = datetime.now(UTC) - timedelta(minutes=10)
    await execute(
        database_url,
        "UPDATE webhook_events SET received_at = :at WHERE id = "
        "(SELECT min(id) FROM webhook_events WHERE tenant_id = :t)",
        at=old,
        t=tenant.id,
    )

    after = await _scrape(ingest_only)
    assert after[("hub_webhook_events_pending", (("provider", "stripe"),))] == 3
    assert after[("hub_webhook_events_pending", (("provider", "wompi"),))] == 0
    assert 600 <= after[("hub_webhook_oldest_pending_event_seconds", ())] < 900


async def test_once_applied_nothing_is_pending(hub):
    tenant = await _tenant(hub)
    await _deliver(hub, tenant, 2)
    deadline = time.monotonic() + 20
    while (await _scrape(hub))[("hub_webhook_events_pending", (("provider", "stripe"),))] != 0:
        assert time.monotonic() < deadline, "the applier left events pending for 20 s"
        await asyncio.sleep(0.05)
    assert (await _scrape(hub))[("hub_webhook_oldest_pending_event_seconds", ())] == 0


async def test_pending_deliveries_and_how_overdue_the_most_overdue_one_is(ingest_only, database_url):
    tenant = await ingest_only.create_tenant("Deliveries")
    before = await _scrape(ingest_only)
    assert before[("hub_notification_deliveries_pending", ())] == 0
    assert before[("hub_notification_oldest_due_delivery_seconds", ())] == 0
    now = datetime.now(UTC)
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(NotificationEndpoint).values(
                    id="ne_backlog",
                    tenant_id=tenant.id,
                    url="https://example.com/h",
                    enabled_events=["*"],
                    status="enabled",
                    secret=b"sealed",
                    created_at=now,
                    updated_at=now,
                )
            )
            # One 30 minutes overdue (no dispatcher runs), one not due for an hour, one delivered.
            for i, (status, due) in enumerate(
                (("pending", now - timedelta(minutes=30)), ("pending", now + timedelta(hours=1)), ("delivered", None))
            ):
                await conn.execute(
                    insert(NotificationMessage).values(
                        id=f"nm_backlog{i}", tenant_id=tenant.id, type="payment.succeeded", body="{}", created_at=now
                    )
                )
                await conn.execute(
                    insert(NotificationDelivery).values(
                        id=f"nd_backlog{i}",
                        tenant_id=tenant.id,
                        endpoint_id="ne_backlog",
                        message_id=f"nm_backlog{i}",
                        type="payment.succeeded",
                        status=status,
                        attempts=0,
                        next_attempt_at=due,
                        created_at=now,
                        updated_at=now,
                    )
                )
    finally:
        await engine.dispose()
    after = await _scrape(ingest_only)
    assert after[("hub_notification_deliveries_pending", ())] == 2
    assert 1800 <= after[("hub_notification_oldest_due_delivery_seconds", ())] < 2100
