"""The statements each hot path sends, pinned: a new round trip shows up here, not in production.

PostgreSQL counts are round trips (BEGIN and COMMIT included). On SQLite the hub opens each
transaction with its own BEGIN IMMEDIATE, so SQLAlchemy's BEGIN is listed beside it and sends
nothing: one more line per transaction, no more work.
"""

from __future__ import annotations

from tests.support.contexts import warm, webhook_context
from tests.support.hub import HubClient
from tests.support.payments import create_payment, stripe_tenant
from tests.support.statements import count_statements


def round_trips(hub: HubClient, statements: int, transactions: int) -> int:
    """``statements`` (BEGIN and COMMIT included) in ``transactions``; SQLite lists one BEGIN more each."""
    return statements if hub.settings.database.url.startswith("postgresql") else statements + transactions


def _kinds(seen) -> list[str]:
    """The statements that do the work, with their table: ``INSERT payments``…"""
    kinds = []
    for s in seen.seen:
        words = s.split()
        if words[0] == "SELECT":
            kinds.append("SELECT")
        elif words[0] in {"INSERT", "UPDATE"}:
            kinds.append(f"{words[0]} {words[2] if words[0] == 'INSERT' else words[1]}")
    return kinds


async def test_create_payment_with_a_warm_cache_is_one_read_then_one_transaction_either_side_of_stripe(hub):
    tenant, _ = await stripe_tenant(hub)
    await warm(hub, tenant.id)
    with count_statements(hub.http.app.state.services.engine) as seen:
        r = await create_payment(hub, tenant)
    assert r.status_code == 201, r.text
    # BEGIN, the authenticating read (key, tenant status, credentials version), COMMIT (on
    # PostgreSQL in autocommit: SQLAlchemy reports the BEGIN and COMMIT, asyncpg sends neither);
    # BEGIN, INSERT payment, COMMIT; Stripe; BEGIN, UPDATE payment, COMMIT.
    assert seen.count == round_trips(hub, 9, transactions=3), str(seen)
    assert _kinds(seen) == ["SELECT", "INSERT payments", "UPDATE payments"], str(seen)


async def test_a_keyed_create_adds_the_claim_and_the_answer_as_statements_not_transactions(hub):
    tenant, _ = await stripe_tenant(hub)
    await warm(hub, tenant.id)
    with count_statements(hub.http.app.state.services.engine) as seen:
        r = await create_payment(hub, tenant, idempotency_key="order-1")
    assert r.status_code == 201, r.text
    # The same three transactions as without a key, each side of Stripe one statement longer:
    # the Idempotency-Key's claim is inserted with the payment row (a taken key fails there, before
    # Stripe), and the answer to replay is stored with the row's update. 9 + 2 = 11.
    assert seen.count == round_trips(hub, 11, transactions=3), str(seen)
    assert _kinds(seen) == [
        "SELECT",
        "INSERT idempotency_records",
        "INSERT payments",
        "UPDATE payments",
        "UPDATE idempotency_records",
    ], str(seen)


async def test_a_replayed_create_is_the_read_the_refused_claim_and_the_stored_answer(hub):
    tenant, _ = await stripe_tenant(hub)
    await warm(hub, tenant.id)
    first = await create_payment(hub, tenant, idempotency_key="order-1")
    with count_statements(hub.http.app.state.services.engine) as seen:
        again = await create_payment(hub, tenant, idempotency_key="order-1")
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    # The read; the refused claim (BEGIN, INSERT, ROLLBACK); the stored answer (BEGIN, SELECT, COMMIT).
    assert _kinds(seen) == ["SELECT", "INSERT idempotency_records", "SELECT"], str(seen)
    assert seen.count == round_trips(hub, 9, transactions=3), str(seen)


async def test_an_authenticated_get_is_the_authenticating_read_and_the_row(hub):
    tenant, _ = await stripe_tenant(hub)
    payment = (await create_payment(hub, tenant)).json()
    with count_statements(hub.http.app.state.services.engine) as seen:
        r = await hub.request("GET", f"/v1/payments/{payment['id']}", headers=tenant.storefront)
    assert r.status_code == 200 and r.json()["publishable_key"] == payment["publishable_key"]
    assert seen.count == round_trips(hub, 6, transactions=2), str(seen)


async def test_a_warm_webhook_context_lookup_sends_no_statement(hub):
    tenant, _ = await stripe_tenant(hub)
    first = await warm(hub, tenant.id)
    with count_statements(hub.http.app.state.services.engine) as seen:
        again = await webhook_context(hub, tenant.id)
    assert again is first
    assert seen.count == 0, str(seen)
