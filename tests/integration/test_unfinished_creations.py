"""What a worker writes for a request a database outage cut off: only over its own attempt, only
for an outage, and as soon as the database answers again.

The end-to-end paths (the database cut after Stripe answered, a claim committed but never
confirmed) are in test_database_outage.py; these are the rules that keep the late write safe.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import msgspec
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.base import new_id, utcnow
from hub.db.engine import make_engine, make_sessionmaker
from hub.db.idempotency import IdempotencyRecord
from hub.db.payments import Payment
from hub.idempotency import store
from hub.idempotency.deferred import Deferred, KeyWrite
from hub.payments.create import _answered, deferred_rows
from providers.base.payments import PaymentSnapshot
from providers.base.statuses import PaymentStatus
from tests.support.databases import PG_HOST, PG_PORT
from tests.support.payment_rows import insert_payment, payment_row
from tests.support.tcpproxy import TcpProxy

ROUTE, KEY = "payments.create", "order-1"


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def deferred(sessions) -> AsyncIterator[Deferred]:
    """A worker's keeper of cut-off writes, on the test database (the app's runs in its own loop)."""
    keeper = Deferred(sessions)
    yield keeper
    await keeper.aclose()


async def _claimed(sessions, database_url: str, tenant_id: str, since: datetime) -> tuple[str, store.Claimed]:
    """The key's record and the payment row as a creation leaves them before the provider call."""
    payment_id = await insert_payment(database_url, tenant_id=tenant_id, provider_payment_id=None, amount=2000)
    async with sessions() as session:
        claimed = store.stage(session, tenant_id, ROUTE, KEY, "fp", timedelta(minutes=1))
        claim = update(Payment).where(Payment.id == payment_id).values(pending_op="create", pending_since=since)
        await session.execute(claim)
        await session.commit()
    return payment_id, claimed


async def _record(sessions, tenant_id: str) -> IdempotencyRecord:
    async with sessions() as session:
        row = (
            await session.execute(select(IdempotencyRecord).where(IdempotencyRecord.tenant_id == tenant_id))
        ).scalar_one()
        await session.commit()
    return row


def _snapshot() -> PaymentSnapshot:
    return PaymentSnapshot(
        provider_payment_id="pi_" + new_id("x")[2:],
        status=PaymentStatus.REQUIRES_PAYMENT_METHOD,
        amount=2000,
        currency="usd",
        capture_method="automatic",
    )


def _answer_write(tenant_id: str, payment_id: str, claimed: store.Claimed, since: datetime, snap) -> KeyWrite:
    rows = deferred_rows(payment_id, tenant_id, since, _answered(snap), "pk_test_1")
    return KeyWrite(tenant_id, ROUTE, KEY, claimed, "reopen", None, rows)


async def _written(deferred: Deferred) -> None:
    for _ in range(300):
        if not len(deferred):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the kept write was not written")


async def test_a_kept_write_stores_the_providers_answer_with_the_row_and_ends_both_claims(
    hub, database_url, sessions, deferred
):
    tenant = await hub.create_tenant()
    since, snap = utcnow(), _snapshot()
    payment_id, claimed = await _claimed(sessions, database_url, tenant.id, since)
    await deferred.write_or_keep(_answer_write(tenant.id, payment_id, claimed, since, snap))
    row = await payment_row(database_url, payment_id)
    assert (row["pending_op"], row["provider_payment_id"]) == (None, snap.provider_payment_id)
    record = await _record(sessions, tenant.id)
    assert (record.state, record.status_code) == ("done", 201)
    assert record.response is not None
    answer = msgspec.json.decode(record.response)
    assert (answer["id"], answer["provider_payment_id"]) == (payment_id, snap.provider_payment_id)


async def test_a_kept_write_never_lands_on_a_payment_claimed_since(hub, database_url, sessions, deferred):
    tenant = await hub.create_tenant()
    ours = utcnow() - timedelta(minutes=6)  # our marker ended; another request took the row over
    payment_id, claimed = await _claimed(sessions, database_url, tenant.id, utcnow())
    await deferred.write_or_keep(_answer_write(tenant.id, payment_id, claimed, ours, _snapshot()))
    row = await payment_row(database_url, payment_id)
    assert (row["pending_op"], row["provider_payment_id"]) == ("create", None)
    assert (await _record(sessions, tenant.id)).state == "running"  # the key is not answered either


async def test_a_kept_write_never_lands_on_a_key_taken_over_since(hub, database_url, sessions, deferred):
    tenant = await hub.create_tenant()
    since = utcnow()
    payment_id, claimed = await _claimed(sessions, database_url, tenant.id, since)
    async with sessions() as session:  # another request took the key over (its second attempt)
        taken = update(IdempotencyRecord).where(IdempotencyRecord.tenant_id == tenant.id).values(attempts=2)
        await session.execute(taken)
        await session.commit()
    await deferred.write_or_keep(_answer_write(tenant.id, payment_id, claimed, since, _snapshot()))
    row = await payment_row(database_url, payment_id)
    assert (row["pending_op"], row["provider_payment_id"]) == ("create", None)
    record = await _record(sessions, tenant.id)
    assert (record.state, record.attempts) == ("running", 2)


async def test_a_kept_reopening_leaves_an_answer_stored_meanwhile(hub, database_url, sessions, deferred):
    tenant = await hub.create_tenant()
    _, claimed = await _claimed(sessions, database_url, tenant.id, utcnow())
    async with sessions() as session:
        await store.settle(session, tenant.id, ROUTE, KEY, claimed, 201, b"{}")
        await session.commit()
    await deferred.write_or_keep(KeyWrite(tenant.id, ROUTE, KEY, claimed, "reopen"))
    assert (await _record(sessions, tenant.id)).state == "done"


async def test_a_write_that_fails_for_another_reason_than_an_outage_is_not_kept(hub, database_url, sessions, deferred):
    tenant = await hub.create_tenant()
    _, claimed = await _claimed(sessions, database_url, tenant.id, utcnow())

    async def broken(session: AsyncSession) -> bool:
        raise ValueError("a bug")

    await deferred.write_or_keep(KeyWrite(tenant.id, ROUTE, KEY, claimed, "reopen", None, broken))
    assert len(deferred) == 0
    assert (await _record(sessions, tenant.id)).state == "running"  # left to the lease


async def test_a_write_the_outage_cut_off_is_written_once_the_database_answers_again(hub, database_url, sessions):
    if not database_url.startswith("postgresql"):
        pytest.skip("the outage is PostgreSQL's connection going away (a TCP proxy in front of it)")
    tenant = await hub.create_tenant()
    since, snap = utcnow(), _snapshot()
    payment_id, claimed = await _claimed(sessions, database_url, tenant.id, since)
    proxy = TcpProxy(PG_HOST, PG_PORT)  # not listening yet: the database is away
    engine = make_engine(database_url.replace(f":{PG_PORT}/", f":{proxy.port}/"))
    keeper = Deferred(make_sessionmaker(engine))
    try:
        await keeper.write_or_keep(_answer_write(tenant.id, payment_id, claimed, since, snap))
        assert len(keeper) == 1  # kept, not dropped
        assert (await payment_row(database_url, payment_id))["pending_op"] == "create"
        proxy.restore()
        await _written(keeper)
    finally:
        await keeper.aclose()
        await engine.dispose()
        proxy.close()
    row = await payment_row(database_url, payment_id)
    assert (row["pending_op"], row["provider_payment_id"]) == (None, snap.provider_payment_id)
    assert (await _record(sessions, tenant.id)).state == "done"
