"""Round trips of the webhook hot paths, pinned: a regression shows up here, not in production.

Ingest is the tenant's context (from the in-process cache: no statement when warm), then one
short transaction: BEGIN, INSERT ... ON CONFLICT DO NOTHING RETURNING, COMMIT (a repeated
delivery adds one UPDATE). Nothing of the payment is read
or written on the request path. The applier applies a batch set-wise: one locked read of all
its payments and one UPDATE of them, whatever the number of payments and events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from hub.db.engine import make_engine, make_sessionmaker
from hub.settings import ApplierSettings
from hub.webhooks import inbox, store
from hub.webhooks.applier import Applier
from providers.base.webhooks import ProviderEvent, VerifiedEvent
from tests.integration.test_webhooks_inbox import (  # the same ingest-only hub and tenant
    ingest,
    life_of_a_payment,
    listed,
    new_payment,
    send,
    succeeded,
    tenant,
)
from tests.support.statements import Statements, count_statements

__all__ = ["ingest", "tenant"]

#: What ingest sends once the tenant's context is cached: one short transaction on SQLite. On
#: PostgreSQL the store runs in autocommit: SQLAlchemy still reports its BEGIN and COMMIT, but
#: asyncpg sends neither, so the INSERT is the one round trip.
STORE = ["BEGIN", "INSERT INTO webhook_events", "COMMIT"]


def ingest_trips(stats: Statements, database_url: str) -> list[str]:
    """The round trips of one delivery with the tenant's context cached.

    On SQLite the cache keeps a context for at most a second (no NOTIFY there): on a loaded
    machine it may have lapsed between the warming delivery and the counted one, and the reload
    (its own short read, pinned in test_round_trips) is then dropped from the count here.
    On PostgreSQL the context stays cached: nothing is dropped.
    """
    trips = round_trips(stats)
    if database_url.startswith("sqlite") and "INSERT INTO webhook_events" in trips:
        start = trips.index("INSERT INTO webhook_events") - 1
        trips = trips[start:]
    return trips


def round_trips(stats: Statements) -> list[str]:
    """Each statement as its first words; SQLite's BEGIN IMMEDIATE (sent by a hook) is its one BEGIN."""
    out: list[str] = []
    for sql in stats.seen:
        words = sql.split()
        if words[0] == "BEGIN" and out and out[-1] == "BEGIN":
            continue  # the "begin" event after SQLite's own BEGIN IMMEDIATE: no second round trip
        if words[0] in ("INSERT", "DELETE"):
            out.append(" ".join(words[:3]))
        elif words[0] == "UPDATE":
            out.append(" ".join(words[:2]))
        elif words[0] == "SELECT":
            out.append("SELECT " + words[words.index("FROM") + 1])
        else:
            out.append(words[0])
    return out


async def test_a_new_delivery_with_its_tenant_cached_is_one_three_statement_transaction(ingest, tenant, database_url):
    payment_id, pi_id = await new_payment(database_url, tenant)
    other_id, other_pi = await new_payment(database_url, tenant)
    await send(ingest, tenant, succeeded(tenant, other_id, other_pi))  # warms the tenant's context
    engine = ingest.http.app.state.services.engine
    with count_statements(engine) as stats:
        await send(ingest, tenant, succeeded(tenant, payment_id, pi_id))
    assert ingest_trips(stats, database_url) == STORE, str(stats)


async def test_a_repeated_delivery_adds_one_update(ingest, tenant, database_url):
    payment_id, pi_id = await new_payment(database_url, tenant)
    evt = succeeded(tenant, payment_id, pi_id)
    await send(ingest, tenant, evt)
    engine = ingest.http.app.state.services.engine
    with count_statements(engine) as stats:
        await send(ingest, tenant, evt)
    expected = ["BEGIN", "INSERT INTO webhook_events", "UPDATE webhook_events", "COMMIT"]
    assert ingest_trips(stats, database_url) == expected, str(stats)
    assert (await listed(ingest, tenant))[evt["id"]]["deliveries"] == 2


async def test_the_applier_applies_a_batch_in_a_fixed_handful_of_statements(ingest, tenant, database_url):
    payments = 3
    for _ in range(payments):
        payment_id, pi_id = await new_payment(database_url, tenant)
        for evt in life_of_a_payment(tenant, payment_id, pi_id)[:3]:  # three status events each
            await send(ingest, tenant, evt)
    engine = make_engine(database_url)  # the test's own: the app's engine belongs to the app's loop
    try:
        applier = Applier(make_sessionmaker(engine), ApplierSettings(), asyncio.Event())
        with count_statements(engine) as stats:
            assert await applier.apply_batch() == (3 * payments, None)
    finally:
        await engine.dispose()
    # Set-wise, whatever the number of payments and events: one locked read of every payment,
    # one UPDATE of them all (executed many), the outbox's one read of the tenants' endpoints
    # (none here: nothing to insert), one UPDATE of the events. No savepoint.
    expected = [
        "BEGIN",
        "SELECT webhook_events",
        "SELECT payments",
        "UPDATE payments",
        "SELECT notification_endpoints",
        "UPDATE webhook_events",
        "COMMIT",
    ]
    assert round_trips(stats) == expected, str(stats)


async def test_deliveries_arriving_while_an_insert_is_in_flight_share_the_next_one(ingest, tenant, database_url):
    """Through the store on the test's own engine: the test client sends one request at a time."""
    events = [
        ProviderEvent(provider_event_id=f"evt_batch_{n}", type="payment_intent.succeeded", created=1) for n in range(8)
    ]
    burst = [*events[1:], events[1], events[0]]  # a repeat within the burst, and of an event stored before

    def record(evt: ProviderEvent) -> Awaitable[bool]:
        return store.record(engine, tenant.id, "stripe", VerifiedEvent(evt.provider_event_id, evt.type, {}), evt)

    engine, blocker = make_engine(database_url), make_engine(database_url)
    try:
        assert await record(events[0]) is True
        with count_statements(engine) as stats:
            async with blocker.begin() as conn:  # holds the table: the first INSERT stays in flight
                if database_url.startswith("postgresql"):
                    await conn.exec_driver_sql("LOCK TABLE webhook_events IN EXCLUSIVE MODE")
                batcher = inbox.batcher(engine, store.write_batch)
                first = asyncio.ensure_future(record(burst[0]))
                while batcher.writer is None or batcher.waiting:  # its INSERT is sent, and waits
                    await asyncio.sleep(0.01)
                rest = asyncio.gather(*(record(evt) for evt in burst[1:]))
                for _ in range(500):  # the others queue behind it meanwhile
                    if len(batcher.waiting) == len(burst) - 1:
                        break
                    await asyncio.sleep(0.01)
                assert len(batcher.waiting) == len(burst) - 1
                sent = asyncio.gather(first, rest)
                assert not sent.done()  # nobody is answered before its row is stored
            one, others = await sent
            stored = [one, *others]
    finally:
        await blocker.dispose()
        await engine.dispose()
    assert stored == [True] * 7 + [False, False]
    assert round_trips(stats).count("INSERT INTO webhook_events") == 2, str(stats)
    seen = await listed(ingest, tenant)
    assert [seen[e.provider_event_id]["deliveries"] for e in events] == [2, 2, 1, 1, 1, 1, 1, 1]
    assert all(seen[e.provider_event_id]["outcome"] == "pending" for e in events)
