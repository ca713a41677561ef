"""The pool recovers from connections the database closed, without a pre-ping round trip per checkout."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.payments import create_payment, stripe_tenant
from tests.support.rawdb import execute


@pytest.mark.parametrize("migrated_db", ["postgresql"], indirect=True)  # SQLite has no server to lose
async def test_after_the_servers_connections_are_killed_a_request_fails_at_most_once_then_all_succeed(
    hub, database_url
):
    tenant, _ = await stripe_tenant(hub)
    payment = (await create_payment(hub, tenant)).json()
    path = f"/v1/payments/{payment['id']}"
    # Several pooled connections, all idle in the pool when they are killed.
    answers = await asyncio.gather(*(hub.request("GET", path, headers=tenant.storefront) for _ in range(6)))
    assert {r.status_code for r in answers} == {200}
    killed = await execute(
        database_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    assert len(killed) >= 2  # the pool's connections and the context listener

    statuses = [(await hub.request("GET", path, headers=tenant.storefront)).status_code for _ in range(8)]
    failures = [s for s in statuses if s != 200]
    assert len(failures) <= 1 and statuses[-7:] == [200] * 7, statuses
    r = await create_payment(hub, tenant)
    assert r.status_code == 201, r.text
