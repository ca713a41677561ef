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


def per_transaction(hub: HubClient, postgresql: int) -> int:
    """``postgresql`` statements in ``postgresql // 3`` short transactions; SQLite lists one more each."""
    return postgresql if hub.settings.database.url.startswith("postgresql") else postgresql + postgresql // 3


async def test_create_payment_with_a_warm_cache_is_one_read_then_one_transaction_either_side_of_stripe(hub):
    tenant, _ = await stripe_tenant(hub)
    await warm(hub, tenant.id)
    with count_statements(hub.http.app.state.services.engine) as seen:
        r = await create_payment(hub, tenant, idempotency_key="order-1")
    assert r.status_code == 201, r.text
    # BEGIN, the authenticating read (key, tenant status, credentials version), COMMIT;
    # BEGIN, INSERT payment (the idempotency claim), COMMIT; Stripe; BEGIN, UPDATE payment, COMMIT.
    assert seen.count == per_transaction(hub, 9), str(seen)
    kinds = [s.split()[0] for s in seen.seen if s.split()[0] in {"SELECT", "INSERT", "UPDATE"}]
    assert kinds == ["SELECT", "INSERT", "UPDATE"], str(seen)


async def test_a_replayed_create_is_the_read_the_refused_claim_and_the_first_requests_row(hub):
    tenant, _ = await stripe_tenant(hub)
    await warm(hub, tenant.id)
    first = await create_payment(hub, tenant, idempotency_key="order-1")
    with count_statements(hub.http.app.state.services.engine) as seen:
        again = await create_payment(hub, tenant, idempotency_key="order-1")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    # The read; the refused claim (INSERT, ROLLBACK); the first request's row and its view.
    kinds = [s.split()[0] for s in seen.seen if s.split()[0] in {"SELECT", "INSERT", "UPDATE"}]
    assert kinds == ["SELECT", "INSERT", "SELECT", "SELECT"], str(seen)


async def test_an_authenticated_get_is_the_authenticating_read_and_the_row(hub):
    tenant, _ = await stripe_tenant(hub)
    payment = (await create_payment(hub, tenant)).json()
    with count_statements(hub.http.app.state.services.engine) as seen:
        r = await hub.request("GET", f"/v1/payments/{payment['id']}", headers=tenant.storefront)
    assert r.status_code == 200 and r.json()["publishable_key"] == payment["publishable_key"]
    assert seen.count == per_transaction(hub, 6), str(seen)


async def test_a_warm_webhook_context_lookup_sends_no_statement(hub):
    tenant, _ = await stripe_tenant(hub)
    first = await warm(hub, tenant.id)
    with count_statements(hub.http.app.state.services.engine) as seen:
        again = await webhook_context(hub, tenant.id)
    assert again is first
    assert seen.count == 0, str(seen)
