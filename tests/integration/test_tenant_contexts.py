"""The tenant-context cache in one worker: what it answers, that the worker's own changes apply at once, its bound."""

from __future__ import annotations

import pytest

from hub.errors import HubError
from hub.tenancy.contexts import TenantContexts
from providers.base.provider import TenantContext
from tests.support.contexts import context, contexts_of, in_app, webhook_context, webhook_secrets
from tests.support.credentials import URL, creds
from tests.support.hub import PLATFORM, build_client, make_settings
from tests.support.hub import HubClient as Hub


def assert_not_found(result: TenantContext | HubError) -> None:
    assert isinstance(result, HubError) and result.status == 404 and result.code == "not_found", result


async def test_the_webhook_context_is_the_tenants_decrypted_credentials(hub):
    tenant = await hub.create_tenant()
    await hub.request("PUT", URL, json=creds(), headers=tenant.admin)
    ctx = await webhook_context(hub, tenant.id)
    assert isinstance(ctx, TenantContext)
    assert ctx.tenant_id == tenant.id and ctx.credentials_version == 1
    assert webhook_secrets(ctx) == (creds()["webhook_secret"],)


async def test_unknown_tenants_malformed_ids_unknown_providers_and_tenants_without_credentials_get_404(hub):
    tenant = await hub.create_tenant()  # no credentials
    assert_not_found(await webhook_context(hub, tenant.id))
    assert_not_found(await webhook_context(hub, "ten_00000000000000000000000000"))
    assert_not_found(await webhook_context(hub, "ten_\x00"))
    try:
        await in_app(hub, contexts_of(hub).for_webhook, tenant.id, "nopay")
    except HubError as exc:
        assert exc.status == 404
    else:
        raise AssertionError("an unknown provider must be 404")
    assert len(contexts_of(hub)) == 0  # nothing negative is kept: a later registration is seen


async def test_credentials_replaced_through_this_worker_are_used_by_its_next_lookup(hub):
    tenant = await hub.create_tenant()
    await hub.request("PUT", URL, json=creds(), headers=tenant.admin)
    assert context(await webhook_context(hub, tenant.id)).credentials_version == 1  # cached now
    r = await hub.request("PUT", URL, json=creds(webhook_secret="whsec_RolledWebhookSec02"), headers=tenant.admin)
    assert r.status_code == 200, r.text
    ctx = context(await webhook_context(hub, tenant.id))
    assert ctx.credentials_version == 2
    assert webhook_secrets(ctx) == ("whsec_RolledWebhookSec02", creds()["webhook_secret"])


async def test_credentials_deleted_through_this_worker_are_unknown_to_its_next_lookup(hub):
    tenant = await hub.create_tenant()
    await hub.request("PUT", URL, json=creds(), headers=tenant.admin)
    assert isinstance(await webhook_context(hub, tenant.id), TenantContext)
    assert (await hub.request("DELETE", URL, headers=tenant.admin)).status_code == 204
    assert_not_found(await webhook_context(hub, tenant.id))


async def test_a_suspension_through_this_worker_evicts_the_tenant_and_its_webhooks_still_verify(hub):
    tenant = await hub.create_tenant()
    await hub.request("PUT", URL, json=creds(), headers=tenant.admin)
    await webhook_context(hub, tenant.id)
    assert contexts_of(hub).peek(tenant.id, "stripe") is not None
    r = await hub.request("POST", f"/v1/tenants/{tenant.id}/suspend", headers=PLATFORM)
    assert r.status_code == 200, r.text
    assert contexts_of(hub).peek(tenant.id, "stripe") is None
    # Suspended tenants' webhooks are still verified and stored: the context is still there.
    assert isinstance(await webhook_context(hub, tenant.id), TenantContext)


@pytest.fixture
async def small_cache(database_url, emulator, hub_home):
    settings = make_settings(
        database_url, str(hub_home), HUB_STRIPE_API_BASE=emulator.url, HUB_TENANT_CONTEXT_CACHE_SIZE="2"
    )
    async with build_client(settings) as client:
        yield Hub(client, settings)


async def test_the_cache_keeps_at_most_its_bound_dropping_the_least_recently_used(small_cache):
    hub = small_cache
    tenants = []
    for n in range(3):
        tenant = await hub.create_tenant(f"T{n}")
        await hub.request("PUT", URL, json=creds(), headers=tenant.admin)
        tenants.append(tenant)
    contexts: TenantContexts = contexts_of(hub)
    for tenant in tenants:
        assert isinstance(await webhook_context(hub, tenant.id), TenantContext)
    assert len(contexts) == 2
    assert contexts.peek(tenants[0].id, "stripe") is None
    assert contexts.peek(tenants[2].id, "stripe") is not None
    # Dropped is not lost: the next lookup reads it again.
    assert context(await webhook_context(hub, tenants[0].id)).tenant_id == tenants[0].id
