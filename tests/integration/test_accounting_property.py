"""Property: provider news about one payment, in any order and with repeats, ends in one payment.

Hypothesis draws a provider history and then a delivery of it:
- the history: the payment succeeds, then refunds move through Stripe's lifecycle, interleaved
  (pending -> succeeded, pending -> failed, pending -> canceled, and succeeded -> failed: a bank
  may refuse a refund after Stripe called it succeeded). Each refund's creation comes with the
  ``charge.refunded`` event Stripe sends, carrying the charge's cumulative ``amount_refunded``
  (refunds not known to have failed) at that time; other charge events may follow later. Some
  refunds were made in the Stripe Dashboard and reach the hub only through those cumulative
  figures: the hub has no row for them.
- the delivery: every event, in any order, some repeated, applied by the webhook applier in
  batches of any size (one transaction each), on the real database.

Then the payment is the one the history implies (its refunds' final states; the money returned,
Dashboard refunds included), its status agrees with its amounts, and a sync through the API
(``POST /v1/payments/{id}/sync``, Stripe answering with the history's final state) changes nothing.
"""

from __future__ import annotations

import secrets
from typing import Any, NamedTuple

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hub.db.engine import make_engine, make_sessionmaker
from hub.db.payments import Payment, Refund
from hub.payments.status import refund_status
from hub.webhooks.apply import apply_events
from providers.base.webhooks import ProviderEvent, VerifiedEvent
from providers.stripe.provider import StripeProvider
from tests.support import stripe_events as se
from tests.support.payment_rows import insert_payment
from tests.support.payments import Recorder, recorded_hub, stripe_tenant

RECEIVED = 2000
#: The paths a refund may take (Stripe's lifecycle: pending and requires_action are "not yet").
PATHS = (
    ("pending",),
    ("pending", "succeeded"),
    ("pending", "failed"),
    ("pending", "canceled"),
    ("succeeded",),
    ("succeeded", "failed"),
    ("pending", "succeeded", "failed"),
)
#: States in which the charge's cumulative amount_refunded counts a refund.
IN_FIGURE = ("pending", "succeeded")


class Refunded(NamedTuple):
    rid: str
    amount: int
    path: tuple[str, ...]
    has_row: bool  # False: made in the Dashboard and known only from the charge's figures


class History(NamedTuple):
    refunds: list[Refunded]
    #: (time, kind, refund index or None): kind "step" moves the refund one state on, "charge"
    #: is a charge.refunded event with the cumulative figure at that time.
    timeline: list[tuple[int, str, int | None]]


@st.composite
def histories(draw: st.DrawFn) -> History:
    made = draw(
        st.lists(st.tuples(st.sampled_from([100, 300, 500, 700]), st.sampled_from(PATHS)), min_size=1, max_size=3)
    )
    dashboard = draw(st.lists(st.sampled_from([200, 400]), max_size=2))
    refunds = [Refunded(f"re_{n}", a, p, True) for n, (a, p) in enumerate(made)]
    refunds += [Refunded(f"re_d{n}", a, ("succeeded",), False) for n, a in enumerate(dashboard)]
    while sum(r.amount for r in refunds) > RECEIVED:  # Stripe refunds at most what was captured
        refunds.pop()
    # Each refund's steps, interleaved in any order (its own steps keep theirs).
    steps = draw(st.permutations([i for i, r in enumerate(refunds) for _ in r.path]))
    later_charges = draw(st.lists(st.booleans(), min_size=len(steps), max_size=len(steps)))
    timeline: list[tuple[int, str, int | None]] = []
    seen: dict[int, int] = {}
    for n, i in enumerate(steps):
        t = 10 + 2 * n  # distinct provider times; odd ones for later charge events
        timeline.append((t, "step", i))
        if seen.setdefault(i, 0) == 0:  # a creation: Stripe sends charge.refunded with it
            timeline.append((t, "charge", None))
        seen[i] += 1
        if later_charges[n]:
            timeline.append((t + 1, "charge", None))
    return History(refunds, timeline)


def _states(history: History, until: int) -> list[str | None]:
    """Each refund's state at provider time ``until`` (None before it exists)."""
    states: list[str | None] = [None] * len(history.refunds)
    done = [0] * len(history.refunds)
    for t, kind, i in history.timeline:
        if t <= until and kind == "step" and i is not None:
            states[i] = history.refunds[i].path[done[i]]
            done[i] += 1
    return states


def provider_events(history: History, pi: str) -> list[dict[str, Any]]:
    """The history as Stripe would send it, each event once."""
    events = [se.event("payment_intent.succeeded", se.payment_intent(pi, "succeeded", amount_received=RECEIVED))]
    events[0]["created"] = 1
    done = [0] * len(history.refunds)
    for t, kind, i in history.timeline:
        if kind == "charge":
            figure = sum(r.amount for r, s in zip(history.refunds, _states(history, t), strict=True) if s in IN_FIGURE)
            events.append(se.event("charge.refunded", se.charge(pi, amount_refunded=figure), created=t))
            continue
        assert i is not None
        refund = history.refunds[i]
        status = refund.path[done[i]]
        done[i] += 1
        if not refund.has_row:
            continue
        type_ = "refund.created" if done[i] == 1 else ("refund.failed" if status == "failed" else "refund.updated")
        events.append(se.event(type_, se.refund(pi, f"{refund.rid}_{pi}", refund.amount, status), created=t))
    return events


def truth(history: History) -> tuple:
    """(status, received, refunded, the hub's refund rows) the history implies."""
    final = _states(history, 10**9)
    refunded = sum(r.amount for r, s in zip(history.refunds, final, strict=True) if s == "succeeded")
    rows = sorted((r.amount, s) for r, s in zip(history.refunds, final, strict=True) if r.has_row)
    return (refund_status(RECEIVED, refunded) or "succeeded", RECEIVED, refunded, rows)


def deliveries(n: int) -> st.SearchStrategy[tuple[list[int], list[int]]]:
    """(an order of every event with some repeated, the sizes of the applier's batches)."""
    orders = st.lists(st.integers(0, n - 1), max_size=4).flatmap(lambda extra: st.permutations(list(range(n)) + extra))
    return orders.flatmap(lambda order: st.tuples(st.just(order), st.lists(st.integers(1, 4), min_size=len(order))))


class Stripe:
    """Stripe's answers for the synced payments: each history's final state."""

    def __init__(self) -> None:
        self.payments: dict[str, History] = {}

    def answer(self, request: httpx.Request) -> httpx.Response | None:
        path = request.url.path
        if request.method == "GET" and path.startswith("/v1/payment_intents/"):
            pi = path.rsplit("/", 1)[1]
            return httpx.Response(200, json=se.payment_intent(pi, "succeeded", amount_received=RECEIVED))
        if request.method == "GET" and path == "/v1/refunds":
            pi = request.url.params["payment_intent"]
            history = self.payments[pi]
            data = [
                se.refund(pi, f"{r.rid}_{pi}", r.amount, s)
                for r, s in zip(history.refunds, _states(history, 10**9), strict=True)
                if s is not None
            ]
            return httpx.Response(200, json={"object": "list", "data": data, "has_more": False, "url": path})
        return None


@pytest.fixture
async def stripe_hub(database_url, emulator, tmp_path):
    stripe = Stripe()
    async with recorded_hub(
        database_url, str(tmp_path), emulator.url, Recorder(emulator.url, answer=stripe.answer)
    ) as hub:
        tenant, _ = await stripe_tenant(hub)
        yield hub, tenant, stripe


async def _state(session, payment_id: str) -> tuple:
    p = await session.get(Payment, payment_id, populate_existing=True)
    rows = (await session.execute(select(Refund.amount, Refund.status).where(Refund.payment_id == payment_id))).all()
    return (p.status, p.amount_received, p.amount_refunded, sorted((a, s) for a, s in rows))


def _interpreted(events: list[dict[str, Any]]) -> list[ProviderEvent]:
    """What ingest stores for each event: the plugin's reading of it."""
    plugin = StripeProvider()
    return [plugin.interpret_webhook(VerifiedEvent(provider_event_id=e["id"], type=e["type"], body=e)) for e in events]


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(history=histories(), data=st.data())
async def test_any_order_of_payment_refund_and_charge_events_ends_in_the_payment_the_history_implies(
    stripe_hub, database_url, history, data
):
    hub, tenant, stripe = stripe_hub
    pi = "pi_" + secrets.token_hex(8)
    stripe.payments[pi] = history
    events = _interpreted(provider_events(history, pi))
    order, sizes = data.draw(deliveries(len(events)))
    payment_id = await insert_payment(database_url, tenant_id=tenant.id, provider_payment_id=pi, amount=RECEIVED)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        start = 0
        for size in sizes:  # the applier folds each payment's events of one batch into one update
            batch = order[start : start + size]
            start += size
            if not batch:
                break
            async with sessions() as session:
                await apply_events(session, tenant.id, "stripe", [events[i] for i in batch])
                await session.commit()
        async with sessions() as session:
            final = await _state(session, payment_id)
        expected = truth(history)
        assert final == expected, (order, sizes)
        status, received, refunded, _ = final
        assert status == (refund_status(received, refunded) or "succeeded")

        r = await hub.request("POST", f"/v1/payments/{payment_id}/sync", headers=tenant.storefront)
        assert r.status_code == 200, r.text
        async with sessions() as session:
            assert await _state(session, payment_id) == final  # sync changes nothing
    finally:
        await engine.dispose()
