"""PostgreSQL stopped and started under a load of payment creations and webhook deliveries.

`hub serve --workers 2` reaches PostgreSQL through a TCP proxy the test cuts for a few seconds in
the middle of the load (listening socket closed, open connections reset: a stopped server) and
restores. While it is down the hub answers 503 ``database_unavailable`` with ``Retry-After``;
it recovers without a restart; nothing it acknowledged is lost; and a client retrying each
failed request with the same Idempotency-Key (Stripe redelivering each unacknowledged event)
gets its answer without a second PaymentIntent at Stripe.
"""

from __future__ import annotations

import pytest

from tests.support.databases import backends
from tests.support.reliability import Facts, Stack, database_outage

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.alone,  # a timed load on the shared two-worker stack
    pytest.mark.xdist_group("fault-stack"),
    pytest.mark.skipif("postgresql" not in backends(), reason="the outage is PostgreSQL's (a server that stops)"),
]

CLIENTS, BEFORE, CUT, AFTER = 8, 2.0, 3.0, 2.0
LOAD_ANSWERS = {"2xx", "503 database_unavailable"}


# One run of the scenario for the module: the two tests read different facts of it.
@pytest.fixture(scope="module")
async def outage(fault_stack: Stack) -> Facts:
    return await database_outage(fault_stack, clients=CLIENTS, before=BEFORE, cut=CUT, after=AFTER)


async def test_an_outage_under_load_is_503_database_unavailable_and_loses_nothing_acknowledged(fault_stack, outage):
    facts = outage
    labels = {a.label for a in facts.load}
    assert labels <= LOAD_ANSWERS, (facts.summary(), fault_stack.hub.log())
    unavailable = [a for a in facts.load if a.code == "database_unavailable"]
    assert all(a.status == 503 and int(a.retry_after or 0) >= 1 for a in unavailable)
    # Not vacuous: the cut was met by requests, and the hub answered 2xx again after it.
    assert facts.during()["503 database_unavailable"] > 0, facts.summary()
    assert facts.after()["2xx"] > 0, facts.summary()
    # Same processes throughout: it recovered by itself.
    assert facts.same_processes()
    assert len(facts.pids_before[1]) == 2
    # Every 2xx payment is a row; every acknowledged event is stored and applied exactly once.
    assert facts.lost_payments == set()
    assert facts.lost_events == set()
    assert facts.not_applied_once == {}
    assert facts.unpaid == set()


async def test_retrying_with_the_same_keys_after_an_outage_creates_no_second_payment_intent(fault_stack, outage):
    facts = outage
    assert any(not a.ok for a in facts.load), "the outage failed no request: nothing was retried"
    # Every retry ended in a 2xx: no key or event was left without an answer.
    assert facts.keys_without_payment == set()
    stuck = {key: (*row, facts.intents[row[0]]) for key, row in facts.unanswered.items()}
    assert facts.unanswered_retries() == set(), (facts.retry_summary(), stuck)
    assert {a.label for a in facts.retries} <= {*LOAD_ANSWERS, "409 idempotency_in_progress"}
    # One PaymentIntent per payment, one payment per key.
    assert set(facts.intents) == facts.payment_rows
    assert set(facts.intents.values()) == {1}, facts.retry_summary()
    assert facts.not_applied_once == {}
