"""Retention: each rule prunes exactly what it should, never what is pending or still needed.

Rows are seeded straight into the database with old timestamps (the hub never backdates), then
pruned by the library (what every worker runs in the background), by ``hub prune`` and by a
running hub's pruner.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.db.base import UTCDateTime, new_id, utcnow
from hub.db.billing import BillingEvent
from hub.db.console import ConsoleSession
from hub.db.engine import make_engine
from hub.db.events import WebhookEvent
from hub.db.idempotency import IdempotencyRecord
from hub.db.notifications import NotificationAttempt, NotificationDelivery, NotificationEndpoint, NotificationMessage
from hub.db.tenants import ApiKey
from hub.db.vault import ProviderCredential
from hub.retention.rules import SIGNATURE_NOTES, TABLES, count, lock_key, prune
from hub.settings import RetentionSettings
from tests.support import stripe_events as se
from tests.support.cli import hub_env, run_hub
from tests.support.hub import PLATFORM, HubClient, TenantHandle, build_client, make_settings
from tests.support.notifications import eventually
from tests.support.payments import stripe_tenant

DAY = timedelta(days=1)
#: What the seeded world holds past its windows (the defaults), table by table.
EXPECTED = {
    "webhook_events": 3,
    "billing_events": 2,
    "notification_deliveries": 2,
    "notification_attempts": 3,
    "notification_messages": 2,
    "idempotency_records": 2,
    "console_sessions": 1,
    SIGNATURE_NOTES: 1,
}


@dataclass
class Seeded:
    kept: dict[str, set[str]]
    gone: dict[str, set[str]]


def _ago(now: datetime, days: float) -> datetime:
    return now - timedelta(days=days)


async def _seed(engine: AsyncEngine, a: str, b: str) -> Seeded:
    """Two tenants' worth of old and recent rows; which must go and which must stay."""
    now = utcnow()
    kept: dict[str, set[str]] = {t: set() for t in EXPECTED}
    gone: dict[str, set[str]] = {t: set() for t in EXPECTED}
    future = now + timedelta(days=365)

    def mark(table: str, row_id: str, goes: bool) -> str:
        (gone if goes else kept)[table].add(row_id)
        return row_id

    async with engine.begin() as conn:
        # Webhook events, oldest id first; tenant b's one event is its newest, however old.
        events = [
            (a, "applied", 31, True),
            (a, "ignored", 31, True),
            (a, "failed", 91, True),
            (a, "failed", 60, False),
            (a, "pending", 400, False),  # never applied yet: never pruned
            (a, "applied", 29, False),
            (b, "applied", 200, False),  # the newest of tenant b's provider: last_event_at reads it
        ]
        rows = []
        ids = sorted(new_id("event") for _ in events)  # ids made in one millisecond are not in order
        for event_id, (tenant, outcome, days, goes) in zip(ids, events, strict=True):
            eid = mark("webhook_events", event_id, goes)
            rows.append(
                {
                    "id": eid,
                    "tenant_id": tenant,
                    "provider": "stripe",
                    "provider_event_id": f"evt_{eid}",
                    "type": "customer.created",
                    "outcome": outcome,
                    "received_at": _ago(now, days),
                    "last_delivery_at": _ago(now, days),
                    "next_attempt_at": future if outcome == "pending" else None,
                }
            )
        await conn.execute(insert(WebhookEvent), rows)
        await conn.execute(
            insert(BillingEvent),
            [
                {
                    "id": mark("billing_events", new_id("bevt"), goes),
                    "stripe_event_id": f"evt_billing_{n}",
                    "type": "customer.subscription.updated",
                    "outcome": outcome,
                    "received_at": _ago(now, days),
                    "last_delivery_at": _ago(now, days),
                }
                for n, (outcome, days, goes) in enumerate(
                    [("applied", 31, True), ("stale", 31, True), ("pending", 400, False), ("applied", 29, False)]
                )
            ],
        )
        endpoint = new_id("we")
        await conn.execute(
            insert(NotificationEndpoint).values(
                id=endpoint,
                tenant_id=a,
                url="https://example.test/hook",
                enabled_events=["payment.succeeded"],
                status="disabled",
                secret=b"sealed elsewhere",
                created_at=now,
                updated_at=now,
            )
        )
        # (delivery status, days since its last change, attempts, whether delivery and message go)
        deliveries = [
            ("delivered", 31, 2, True),
            ("delivered", 29, 1, False),
            ("failed", 91, 1, True),
            ("failed", 60, 1, False),
            ("pending", 400, 1, False),  # still to be sent: never pruned, nor its message
        ]
        for status, days, attempts, goes in deliveries:
            message = mark("notification_messages", new_id("msg"), goes)
            delivery = mark("notification_deliveries", new_id("dlv"), goes)
            at = _ago(now, days)
            await conn.execute(
                insert(NotificationMessage).values(
                    id=message, tenant_id=a, type="payment.succeeded", body="{}", created_at=_ago(now, 100)
                )
            )
            await conn.execute(
                insert(NotificationDelivery).values(
                    id=delivery,
                    tenant_id=a,
                    endpoint_id=endpoint,
                    message_id=message,
                    type="payment.succeeded",
                    status=status,
                    attempts=attempts,
                    next_attempt_at=future if status == "pending" else None,
                    created_at=at,
                    updated_at=at,
                    delivered_at=at if status == "delivered" else None,
                )
            )
            for _ in range(attempts):
                await conn.execute(
                    insert(NotificationAttempt).values(
                        id=mark("notification_attempts", new_id("att"), goes),
                        tenant_id=a,
                        delivery_id=delivery,
                        attempted_at=at,
                        duration_ms=5,
                    )
                )
        # Idempotency keys: (state, lease end, age in days, goes)
        keys = [
            ("done", None, 8, True),
            ("running", _ago(now, 8), 8, True),  # its worker died a week ago: not in flight
            ("done", None, 6, False),
            ("running", future, 400, False),  # in flight (its lease runs): never pruned
        ]
        for n, (state, lease, days, goes) in enumerate(keys):
            await conn.execute(
                insert(IdempotencyRecord).values(
                    tenant_id=a,
                    route="POST /v1/payments",
                    key=mark("idempotency_records", f"key-{n}", goes),
                    fingerprint="f" * 64,
                    seed=new_id("idem"),
                    state=state,
                    lease_until=lease,
                    created_at=_ago(now, days),
                )
            )
        admin = (await conn.execute(select(ApiKey.id).where(ApiKey.tenant_id == a, ApiKey.scope == "admin"))).scalar()
        for expires, goes in ((now - timedelta(minutes=1), True), (now + timedelta(hours=1), False)):
            await conn.execute(
                insert(ConsoleSession).values(
                    id=mark("console_sessions", new_id("cs"), goes),
                    tenant_id=a,
                    api_key_id=admin,
                    created_at=expires - timedelta(hours=8),
                    expires_at=expires,
                )
            )
        for tenant, days, goes in ((a, 8, True), (b, 6, False)):
            await conn.execute(
                update(ProviderCredential)
                .where(ProviderCredential.tenant_id == tenant)
                .values(last_signature_failure_at=_ago(now, days))
            )
            mark(SIGNATURE_NOTES, tenant, goes)
    return Seeded(kept=kept, gone=gone)


async def _present(engine: AsyncEngine) -> dict[str, set[str]]:
    async with engine.connect() as conn:

        async def ids(column: Any, *where: Any) -> set[str]:
            return set((await conn.execute(select(column).where(*where))).scalars())

        return {
            "webhook_events": await ids(WebhookEvent.id),
            "billing_events": await ids(BillingEvent.id),
            "notification_deliveries": await ids(NotificationDelivery.id),
            "notification_attempts": await ids(NotificationAttempt.id),
            "notification_messages": await ids(NotificationMessage.id),
            "idempotency_records": await ids(IdempotencyRecord.key),
            "console_sessions": await ids(ConsoleSession.id),
            SIGNATURE_NOTES: await ids(
                ProviderCredential.tenant_id, ProviderCredential.last_signature_failure_at.is_not(None)
            ),
        }


def _pruned_metric(body: str, table: str) -> float:
    found = re.search(rf'^hub_pruned_rows_total\{{table="{table}"\}} (\S+)$', body, re.M)
    return float(found.group(1)) if found else 0.0


async def _two_tenants(hub: HubClient) -> tuple[TenantHandle, TenantHandle]:
    a, _ = await stripe_tenant(hub, "Old Co")
    b, _ = await stripe_tenant(hub, "Quiet Co")
    return a, b


async def test_each_rule_prunes_exactly_what_it_should_and_nothing_pending_or_needed(hub, database_url, tmp_path):
    a, b = await _two_tenants(hub)
    engine = make_engine(database_url)
    try:
        seeded = await _seed(engine, a.id, b.id)
        before = await _present(engine)
        for table in EXPECTED:
            assert seeded.gone[table] | seeded.kept[table] <= before[table], table

        # hub prune --dry-run: per table counts, and nothing changes.
        dry = run_hub("prune", "--dry-run", env=hub_env(database_url, tmp_path / "home"))
        assert dry.returncode == 0, dry.stderr
        printed = dict(re.findall(r"^(\w+)\s+would prune (\d+)$", dry.stdout, re.M))
        assert {t: int(n) for t, n in printed.items()} == {t: EXPECTED.get(t, 0) for t in TABLES}, dry.stdout
        assert await _present(engine) == before
        assert await count(engine, RetentionSettings()) == {t: EXPECTED.get(t, 0) for t in TABLES}

        # hub prune, one row a batch: every rule goes through many batches, each its own transaction.
        done = run_hub("prune", env=hub_env(database_url, tmp_path / "home", HUB_RETENTION_BATCH_SIZE="1"))
        assert done.returncode == 0, done.stderr
        printed = dict(re.findall(r"^(\w+)\s+pruned (\d+)$", done.stdout, re.M))
        assert {t: int(n) for t, n in printed.items()} == {t: EXPECTED.get(t, 0) for t in TABLES}, done.stdout

        after = await _present(engine)
        for table in EXPECTED:
            assert not (after[table] & seeded.gone[table]), f"{table}: {after[table] & seeded.gone[table]} left"
            assert seeded.kept[table] <= after[table], f"{table}: {seeded.kept[table] - after[table]} pruned"
            assert before[table] - after[table] == seeded.gone[table], table
        assert await count(engine, RetentionSettings()) == dict.fromkeys(TABLES, 0)

        # Still served: the quiet tenant's credentials report its one (old) event as its last.
        quiet = await hub.request("GET", "/v1/providers/stripe/credentials", headers=b.admin)
        assert quiet.status_code == 200 and quiet.json()["last_event_at"] is not None, quiet.text
    finally:
        await engine.dispose()


async def _bulk_old_events(engine: AsyncEngine, tenant_id: str, n: int, at: datetime) -> None:
    """``n`` applied events received at ``at``, in one INSERT … SELECT (ids sorting before any new one)."""
    if engine.dialect.name == "postgresql":
        source = "generate_series(1, :n) AS g(n)"
        event_id = "'event_' || lpad(n::text, 26, '0')"
    else:
        source = "(WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :n) SELECT n FROM g)"
        event_id = "'event_' || printf('%026d', n)"
    sql = text(
        "INSERT INTO webhook_events (id, tenant_id, provider, provider_event_id, type, outcome, deliveries,"
        " received_at, last_delivery_at, attempts)"
        f" SELECT {event_id}, :tenant, 'stripe', 'evt_old_' || n, 'customer.created', 'applied', 1, :at, :at, 0"
        f" FROM {source}"
    ).bindparams(bindparam("at", type_=UTCDateTime()))
    async with engine.begin() as conn:
        await conn.execute(sql, {"n": n, "tenant": tenant_id, "at": at})


async def test_pruning_100k_old_events_runs_in_batches_beside_a_concurrent_ingest(hub, database_url):
    tenant = await hub.create_tenant("Busy Co")
    secret = "whsec_retention_ingest_0001"
    r = await hub.register_stripe(tenant, webhook_secret=secret)
    assert r.status_code == 200, r.text
    engine = make_engine(database_url)
    total = 100_000
    try:
        started = time.perf_counter()
        await _bulk_old_events(engine, tenant.id, total, utcnow() - 100 * DAY)
        seeded_in = time.perf_counter() - started

        async def ingest() -> float:
            body = se.encode(se.event("customer.created", {"id": f"cus_{new_id('x')[2:]}", "object": "customer"}))
            t0 = time.perf_counter()
            response = await se.deliver(hub.http, tenant.id, body, secret)
            assert response.status_code == 200, response.text
            return time.perf_counter() - t0

        def prune_elsewhere() -> dict[str, int]:
            # In a thread and loop of its own, like another worker: the test client blocks this
            # loop while the hub answers a request.
            async def run() -> dict[str, int]:
                other = make_engine(database_url)
                try:
                    return await prune(other, RetentionSettings())
                finally:
                    await other.dispose()

            return asyncio.run(run())

        await ingest()  # a newer event: every old one may go
        pruning = asyncio.ensure_future(asyncio.to_thread(prune_elsewhere))
        started = time.perf_counter()
        during: list[float] = []
        while not pruning.done():
            during.append(await ingest())
            await asyncio.sleep(0.05)  # a steady trickle; the test client answers without yielding to this loop
        pruned = await pruning
        pruned_in = time.perf_counter() - started

        print(
            f"\n[{engine.dialect.name}] seeded {total} old events in {seeded_in:.2f} s; pruned them in "
            f"{pruned_in:.2f} s ({total // RetentionSettings().batch_size} batches); {len(during)} webhook "
            f"deliveries ingested meanwhile, median {statistics.median(during) * 1000:.1f} ms, "
            f"max {max(during) * 1000:.1f} ms"
        )
        assert pruned["webhook_events"] == total
        # Ingest went on while the pruning ran (one delete of 100,000 rows would hold SQLite's lock
        # throughout), and everything it stored is kept.
        assert len(during) >= 2
        async with engine.connect() as conn:
            left = (await conn.execute(select(func.count()).select_from(WebhookEvent))).scalar_one()
        assert left == len(during) + 1
    finally:
        await engine.dispose()


async def test_a_running_hub_prunes_old_rows_in_the_background(database_url, emulator, tmp_path):
    settings = make_settings(
        database_url, str(tmp_path / "home"), HUB_STRIPE_API_BASE=emulator.url, HUB_RETENTION_INTERVAL_SECONDS="0.05"
    )
    async with build_client(settings) as client:
        hub = HubClient(client, settings)
        a, b = await _two_tenants(hub)
        engine = make_engine(database_url)
        try:
            metrics_before = (await hub.request("GET", "/metrics", headers=PLATFORM)).text
            seeded = await _seed(engine, a.id, b.id)

            async def all_gone() -> bool:
                present = await _present(engine)
                return all(not (present[t] & seeded.gone[t]) for t in EXPECTED)

            await eventually(all_gone, within=20)
            present = await _present(engine)
            for table in EXPECTED:
                assert seeded.kept[table] <= present[table], table
            metrics_after = (await hub.request("GET", "/metrics", headers=PLATFORM)).text
            for table, n in EXPECTED.items():
                assert _pruned_metric(metrics_after, table) - _pruned_metric(metrics_before, table) == n, table
        finally:
            await engine.dispose()


async def test_pruners_of_several_workers_remove_each_row_once_and_a_claimed_table_is_left_alone(hub, database_url):
    a, b = await _two_tenants(hub)
    engine = make_engine(database_url)
    try:
        seeded = await _seed(engine, a.id, b.id)
        postgres = engine.dialect.name == "postgresql"
        if postgres:
            # Another worker is pruning webhook_events (it holds that table's claim): this one
            # leaves the table for this round and prunes the others.
            async with engine.connect() as holder:
                got = await holder.execute(select(func.pg_try_advisory_lock(lock_key("webhook_events"))))
                assert got.scalar_one() is True
                await holder.commit()
                first = await prune(engine, RetentionSettings(batch_size=1))
                await holder.execute(select(func.pg_advisory_unlock_all()))
                await holder.commit()
            assert first["webhook_events"] == 0
            assert first["billing_events"] == EXPECTED["billing_events"]
            assert seeded.gone["webhook_events"] <= (await _present(engine))["webhook_events"]

        def prune_elsewhere() -> dict[str, int]:
            async def run() -> dict[str, int]:
                other = make_engine(database_url)
                try:
                    return await prune(other, RetentionSettings(batch_size=1))
                finally:
                    await other.dispose()

            return asyncio.run(run())

        # Two workers at once: every row goes exactly once, and neither fails.
        results = await asyncio.gather(*(asyncio.to_thread(prune_elsewhere) for _ in range(2)))
        together = {t: sum(r[t] for r in results) for t in TABLES}
        if postgres:
            together = {t: together[t] + first[t] for t in TABLES}
        assert together == {t: EXPECTED.get(t, 0) for t in TABLES}
        present = await _present(engine)
        for table in EXPECTED:
            assert not (present[table] & seeded.gone[table]) and seeded.kept[table] <= present[table], table
    finally:
        await engine.dispose()


def test_hub_prune_against_an_unreachable_database_fails_with_one_clear_line(tmp_path):
    done = run_hub("prune", env=hub_env("postgresql+asyncpg://postgres@127.0.0.1:1/nothing", tmp_path / "home"))
    assert done.returncode == 1
    assert done.stderr.startswith("hub: pruning failed") and "Traceback" not in done.stderr, done.stderr
