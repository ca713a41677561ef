"""Two hub workers on one database: what one changes, the other's cached contexts follow within a second.

PostgreSQL carries the change by NOTIFY (a trigger, in the changing transaction); SQLite by a
short time bound on each entry. Neither reads the database per webhook delivery while warm.
"""

from __future__ import annotations

import pytest

from hub.errors import HubError
from providers.base.provider import TenantContext
from tests.support.contexts import (
    WITHIN,
    contexts_of,
    listening,
    warm,
    webhook_context,
    webhook_secrets,
    within,
)
from tests.support.credentials import URL, creds
from tests.support.hub import PLATFORM, HubClient, build_client, make_settings
from tests.support.payments import Recorder, create_payment, recorded_hub
from tests.support.rawdb import execute

# Each test gives the other worker a second: it has the machine to itself while it counts.
pytestmark = pytest.mark.alone


def postgresql(hub: HubClient) -> bool:
    return hub.settings.database.url.startswith("postgresql")


@pytest.fixture
async def workers(database_url, emulator, shared_home):
    """Two app instances (as two `hub serve` workers would be) sharing one database; each built
    once for the run (two homes: two settings) and started afresh for each test."""
    # SQLite's bound is the entry lifetime: half a second, so "within a second" holds with room.
    extra = {"HUB_STRIPE_API_BASE": emulator.url, "HUB_TENANT_CONTEXT_TTL_SECONDS": "0.5"}
    settings_a = make_settings(database_url, str(shared_home / "a"), **extra)
    settings_b = make_settings(database_url, str(shared_home / "b"), **extra)
    async with build_client(settings_a, shared=True) as a, build_client(settings_b, shared=True) as b:
        hubs = HubClient(a, settings_a), HubClient(b, settings_b)
        if postgresql(hubs[0]):
            assert await listening(hubs[0]) and await listening(hubs[1])
        yield hubs


async def registered_and_warm(a: HubClient, b: HubClient):
    tenant = await a.create_tenant()
    assert (await a.request("PUT", URL, json=creds(), headers=tenant.admin)).status_code == 200
    await warm(b, tenant.id)
    return tenant


async def test_credentials_replaced_through_one_worker_reach_the_other_within_a_second(workers):
    a, b = workers
    tenant = await registered_and_warm(a, b)
    r = await a.request("PUT", URL, json=creds(webhook_secret="whsec_RolledWebhookSec02"), headers=tenant.admin)
    assert r.status_code == 200, r.text

    async def b_has_version_2() -> bool:
        ctx = await webhook_context(b, tenant.id)
        return isinstance(ctx, TenantContext) and ctx.credentials_version == 2

    assert await within(WITHIN, b_has_version_2)
    ctx = await webhook_context(b, tenant.id)
    assert webhook_secrets(ctx) == ("whsec_RolledWebhookSec02", creds()["webhook_secret"])


async def test_credentials_deleted_through_one_worker_are_unknown_to_the_other_within_a_second(workers):
    a, b = workers
    tenant = await registered_and_warm(a, b)
    assert (await a.request("DELETE", URL, headers=tenant.admin)).status_code == 204

    async def b_answers_404() -> bool:
        result = await webhook_context(b, tenant.id)
        return isinstance(result, HubError) and result.status == 404

    assert await within(WITHIN, b_answers_404)
    # The create path does not even wait for that: its authenticating read sees no credentials.
    r = await create_payment(b, tenant)
    assert r.status_code == 404 and r.json()["code"] == "credentials_missing", r.text


async def test_a_suspension_through_one_worker_is_refused_by_the_other_at_once_and_evicts_within_a_second(workers):
    a, b = workers
    tenant = await registered_and_warm(a, b)
    assert (await create_payment(b, tenant)).status_code == 201
    assert (await a.request("POST", f"/v1/tenants/{tenant.id}/suspend", headers=PLATFORM)).status_code == 200
    r = await create_payment(b, tenant)
    assert r.status_code == 403 and r.json()["code"] == "tenant_suspended", r.text

    async def b_evicted() -> bool:
        return contexts_of(b).peek(tenant.id, "stripe") is None

    assert await within(WITHIN, b_evicted)


async def test_a_tenant_deleted_in_the_database_is_unknown_to_every_worker_within_a_second(workers, database_url):
    a, b = workers
    tenant = await registered_and_warm(a, b)
    assert isinstance(await webhook_context(a, tenant.id), TenantContext)
    # An operator's SQL, not the hub's code: the database itself tells the workers (PostgreSQL).
    await execute(database_url, "DELETE FROM tenants WHERE id = :id", id=tenant.id)

    async def both_404() -> bool:
        results = [await webhook_context(hub, tenant.id) for hub in (a, b)]
        return all(isinstance(r, HubError) and r.status == 404 for r in results)

    assert await within(WITHIN, both_404)


async def test_a_previous_webhook_secret_removed_in_the_database_stops_verifying_everywhere_within_a_second(
    workers, database_url
):
    a, b = workers
    tenant = await registered_and_warm(a, b)
    r = await a.request("PUT", URL, json=creds(webhook_secret="whsec_RolledWebhookSec02"), headers=tenant.admin)
    assert r.status_code == 200

    async def b_has_both() -> bool:
        ctx = await webhook_context(b, tenant.id)
        return isinstance(ctx, TenantContext) and len(webhook_secrets(ctx)) == 2

    assert await within(WITHIN, b_has_both)
    await execute(
        database_url,
        "UPDATE provider_credentials SET previous_webhook_secret_ct = NULL, previous_webhook_secret_expires_at = NULL"
        " WHERE tenant_id = :id",
        id=tenant.id,
    )

    async def b_has_only_the_new() -> bool:
        ctx = await webhook_context(b, tenant.id)
        return isinstance(ctx, TenantContext) and webhook_secrets(ctx) == ("whsec_RolledWebhookSec02",)

    assert await within(WITHIN, b_has_only_the_new)


@pytest.mark.parametrize("migrated_db", ["postgresql"], indirect=True)  # SQLite has no listener
async def test_the_listener_reconnects_after_its_connection_is_killed_and_keeps_evicting(workers, database_url):
    a, b = workers
    tenant = await registered_and_warm(a, b)
    before = contexts_of(b).connections
    killed = await execute(
        database_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = 'hub-tenant-contexts' AND datname = current_database()",
    )
    assert len(killed) == 2  # both workers' listeners
    # Deaf meanwhile (what was cached is dropped: notices may have been missed), then it listens again.

    async def reconnected() -> bool:
        return contexts_of(b).connections > before and contexts_of(b).listening

    assert await within(10.0, reconnected)
    assert contexts_of(b).peek(tenant.id, "stripe") is None
    await warm(b, tenant.id)
    r = await a.request("PUT", URL, json=creds(webhook_secret="whsec_RolledWebhookSec02"), headers=tenant.admin)
    assert r.status_code == 200

    async def b_has_version_2() -> bool:
        ctx = await webhook_context(b, tenant.id)
        return isinstance(ctx, TenantContext) and ctx.credentials_version == 2

    assert await within(WITHIN, b_has_version_2)


async def test_a_checkout_through_the_other_worker_uses_keys_registered_again_at_once(database_url, emulator, tmp_path):
    """Deleted and registered again, the credentials restart at version 1: the row tells them apart."""
    recorder = Recorder(emulator.url)
    settings = make_settings(database_url, str(tmp_path / "a"), HUB_STRIPE_API_BASE=emulator.url)
    async with (
        build_client(settings) as client,
        recorded_hub(database_url, str(tmp_path / "b"), emulator.url, recorder) as b,
    ):
        a = HubClient(client, settings)
        tenant = await a.create_tenant()
        assert (await a.request("PUT", URL, json=creds(), headers=tenant.admin)).status_code == 200
        assert (await create_payment(b, tenant)).status_code == 201  # B caches the first keys
        assert (await a.request("DELETE", URL, headers=tenant.admin)).status_code == 204
        new_key = "sk_test_51AcmeRegisteredAgain0002"
        r = await a.request("PUT", URL, json=creds(secret_key=new_key), headers=tenant.admin)
        assert r.status_code == 200 and r.json()["secret_key_hint"].endswith("0002")
        assert (await create_payment(b, tenant)).status_code == 201
    used = [h["authorization"] for (m, p, _), h in zip(recorder.requests, recorder.headers, strict=True)]
    assert used == [f"Bearer {creds()['secret_key']}", f"Bearer {new_key}"], used


async def test_a_connect_webhook_secret_removed_in_the_database_stops_verifying_everywhere_within_a_second(
    workers, database_url
):
    """Stripe's Connect secret, a declared sealed field kept in its own column, follows the same rule."""
    a, b = workers
    tenant = await registered_and_warm(a, b)
    connect = "whsec_ConnectWebhookSec01"
    r = await a.request("PUT", URL, json=creds(connect_webhook_secret=connect), headers=tenant.admin)
    assert r.status_code == 200 and r.json()["connect_webhook_secret_set"] is True, r.text

    async def b_has(secret: str | None) -> bool:
        ctx = await webhook_context(b, tenant.id)
        return isinstance(ctx, TenantContext) and ctx.credentials.connect_webhook_secret == secret  # type: ignore[attr-defined]

    assert await within(WITHIN, lambda: b_has(connect))
    # An operator's SQL on that column alone: the database itself tells the workers (PostgreSQL).
    await execute(
        database_url,
        "UPDATE provider_credentials SET connect_webhook_secret_ct = NULL WHERE tenant_id = :id",
        id=tenant.id,
    )
    assert await within(WITHIN, lambda: b_has(None))
