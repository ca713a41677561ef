"""Property: provider news about one payment, in any order and with repeats, ends in one payment.

Hypothesis draws orders (and repeated deliveries) of a payment's events and its refunds' events;
each is applied by the webhook applier in its own transaction, on the real database. Then:
- the payment is the same as with the events in their natural order;
- its status agrees with its amounts (the one refund accounting rule);
- a sync of the refunds afterwards (what ``POST /sync`` applies) changes nothing.

The refund transitions drawn are Stripe's usual ones: pending -> succeeded, pending -> failed.
"""

from __future__ import annotations

import secrets

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hub.db.engine import make_engine, make_sessionmaker
from hub.db.payments import Payment, Refund
from hub.payments.apply import apply_refunds
from hub.payments.status import refund_status
from hub.webhooks.apply import apply_events
from providers.base.webhooks import ProviderEvent, RefundUpdate
from tests.support.payment_rows import insert_payment

RECEIVED = 2000
#: (refund id, amount, the statuses it passes through, in order)
REFUNDS = [("re_a", 500, ["pending", "succeeded"]), ("re_b", 300, ["pending", "failed"]), ("re_c", 700, ["pending"])]
REFUNDS += [("re_d", 200, ["succeeded"])]


def _events(pi: str) -> list[ProviderEvent]:
    paid = ProviderEvent(
        provider_event_id="evt_paid",
        type="payment_intent.succeeded",
        created=1,
        provider_payment_id=pi,
        status="succeeded",
        amount_received=RECEIVED,
    )
    refunds = [
        ProviderEvent(
            provider_event_id=f"evt_{rid}_{status}",
            type=f"refund.{'created' if status == 'pending' else 'updated'}",
            created=2 + n,
            provider_payment_id=pi,
            refund=RefundUpdate(provider_refund_id=f"{rid}_{pi}", amount=amount, status=status),
        )
        for rid, amount, statuses in REFUNDS
        for n, status in enumerate(statuses)
    ]
    return [paid, *refunds]


orders = st.lists(st.integers(min_value=0, max_value=len(_events("x")) - 1), max_size=4).flatmap(
    lambda repeats: st.permutations(list(range(len(_events("x")))) + repeats)
)


async def _final(sessions, tenant_id: str, database_url: str, order: list[int]) -> tuple[str, tuple]:
    """(payment id, its final state) after the events in ``order``, one transaction each."""
    pi = "pi_" + secrets.token_hex(8)
    payment_id = await insert_payment(database_url, tenant_id=tenant_id, provider_payment_id=pi, amount=RECEIVED)
    events = _events(pi)
    for i in order:
        async with sessions() as session:
            await apply_events(session, tenant_id, "stripe", [events[i]])
            await session.commit()
    async with sessions() as session:
        return payment_id, await _state(session, payment_id)


async def _state(session, payment_id: str) -> tuple:
    p = await session.get(Payment, payment_id, populate_existing=True)
    refunds = (await session.execute(select(Refund.amount, Refund.status).where(Refund.payment_id == payment_id))).all()
    return (p.status, p.amount_received, p.amount_refunded, sorted((a, s) for a, s in refunds))


NATURAL = (
    "partially_refunded",
    RECEIVED,
    500 + 200,
    [(200, "succeeded"), (300, "failed"), (500, "succeeded"), (700, "pending")],
)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(order=orders)
async def test_any_order_of_payment_and_refund_events_ends_in_one_consistent_payment(hub, database_url, order):
    tenant = await hub.create_tenant("Property")
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        _, natural = await _final(sessions, tenant.id, database_url, list(range(len(_events("x")))))
        assert natural == NATURAL
        payment_id, final = await _final(sessions, tenant.id, database_url, order)
        assert final == natural, order
        status, received, refunded, _ = final
        assert status == (refund_status(received, refunded) or "succeeded")
        async with sessions() as session:  # what sync applies changes nothing
            payment = await session.get_one(Payment, payment_id)
            await apply_refunds(session, payment)
            await session.commit()
            assert await _state(session, payment_id) == final
    finally:
        await engine.dispose()
