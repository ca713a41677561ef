"""What recording a payment change costs, what it announces, and that no secret reaches a log."""

from __future__ import annotations

import logging

import pytest

from hub.db.engine import make_engine, make_sessionmaker
from hub.db.payments import Payment
from hub.payments.notify import payment_changed
from tests.support import stripe_events as se
from tests.support.notifications import add_endpoint, eventually, notify_hub, receiver, settled
from tests.support.payment_rows import hub_payment
from tests.support.statements import count_statements

WEBHOOK_SECRET = "whsec_tenantAsecret0001"


@pytest.fixture
async def nhub(database_url, emulator, shared_home):
    async with notify_hub(database_url, str(shared_home), emulator.url, HUB_LOG_LEVEL="DEBUG") as client:
        yield client


async def _change(database_url: str, payment_id: str, status: str) -> list[str]:
    """The statements payment_changed adds when ``payment_id`` moves to ``status``."""
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            payment = await session.get(Payment, payment_id)
            assert payment is not None
            previous, payment.status = payment.status, status
            await session.flush()  # the change's own UPDATE, not the outbox's cost
            with count_statements(engine) as stats:
                await payment_changed(session, payment, previous)
            await session.rollback()
        return stats.seen
    finally:
        await engine.dispose()


async def test_a_change_costs_one_indexed_read_without_endpoints_and_nothing_when_it_is_not_news(
    nhub, database_url, emulator
):
    tenant = await nhub.create_tenant()
    payment_id, _ = await hub_payment(database_url, emulator.url, tenant.id)
    [read] = await _change(database_url, payment_id, "succeeded")
    assert read.startswith("SELECT") and "notification_endpoints" in read
    assert await _change(database_url, payment_id, "requires_payment_method") == []  # its own status
    assert await _change(database_url, payment_id, "requires_confirmation") == []  # not announced


async def test_a_dispute_applied_from_stripe_announces_payment_dispute_updated(nhub, database_url, emulator):
    tenant = await nhub.create_tenant()
    assert (await nhub.register_stripe(tenant, webhook_secret=WEBHOOK_SECRET)).status_code == 200
    async with receiver() as app:
        endpoint = await add_endpoint(nhub, tenant, app.url, ["payment.dispute_updated"])
        payment_id, pi_id = await hub_payment(database_url, emulator.url, tenant.id)
        meta = {"hub_tenant_id": tenant.id, "hub_payment_id": payment_id}
        succeeded = se.event("payment_intent.succeeded", se.payment_intent(pi_id, "succeeded", metadata=meta))
        await se.deliver(nhub.http, tenant.id, se.encode(succeeded), WEBHOOK_SECRET)
        disputed = se.event("charge.dispute.created", se.dispute(pi_id, "needs_response"))
        assert (await se.deliver(nhub.http, tenant.id, se.encode(disputed), WEBHOOK_SECRET)).status_code == 200
        [message] = await eventually(lambda: app.messages)
        assert message.verify(endpoint["secret"])["type"] == "payment.dispute_updated"
        assert message.json()["data"]["id"] == payment_id


async def test_no_endpoint_secret_reaches_a_log_line(nhub, caplog):
    caplog.set_level(logging.DEBUG)
    tenant = await nhub.create_tenant()
    async with receiver(script=[500]) as app:
        endpoint = await add_endpoint(nhub, tenant, app.url)
        r = await nhub.request(
            "POST", f"/v1/notification-endpoints/{endpoint['id']}/rotate-secret", headers=tenant.admin
        )
        rotated = r.json()["secret"]
        await nhub.request("POST", f"/v1/notification-endpoints/{endpoint['id']}/test", headers=tenant.admin)
        await eventually(settled(nhub, tenant, endpoint["id"], 1))
    assert len(app.messages) == 2
    assert caplog.records  # the capture really saw the hub's logging
    for secret in (endpoint["secret"], rotated):
        for needle in (secret, secret.removeprefix("whsec_")):
            assert not any(needle in rec.getMessage() + repr(rec.args) for rec in caplog.records)
