"""Reaching an app's tenant-context cache from a test, and waiting (bounded) for what it should see."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

from hub.errors import HubError
from hub.tenancy.contexts import TenantContexts
from providers.base.provider import TenantContext
from tests.support.hub import HubClient
from tests.support.statements import count_statements

T = TypeVar("T")

#: What the hub promises: a change is seen by every worker within a second.
WITHIN = 1.0


def contexts_of(hub: HubClient) -> TenantContexts:
    return hub.http.app.state.services.tenant_contexts


async def in_app(hub: HubClient, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Await ``fn(*args)`` on the app's own event loop (its engine's connections live there)."""
    return await anyio.to_thread.run_sync(hub.http.blocking_portal.call, fn, *args)


async def webhook_context(hub: HubClient, tenant_id: str) -> TenantContext | HubError:
    """What the ingest path would get for this tenant: its context, or the error it would answer."""
    try:
        return await in_app(hub, contexts_of(hub).for_webhook, tenant_id, "stripe")
    except HubError as exc:
        return exc


def context(result: TenantContext | HubError) -> TenantContext:
    assert isinstance(result, TenantContext), result
    return result


def webhook_secrets(result: TenantContext | HubError) -> tuple[str, ...]:
    """The secrets the context verifies webhooks with (the plugin's own credentials type holds them)."""
    secrets = context(result).credentials.webhook_secrets  # type: ignore[attr-defined]
    return tuple(secrets)


async def within(bound: float, check: Callable[[], Awaitable[bool]]) -> bool:
    """Poll ``check`` until it holds or ``bound`` seconds have passed; whether it held."""
    deadline = time.monotonic() + bound
    while True:
        if await check():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.02)


async def listening(hub: HubClient, bound: float = 10.0) -> bool:
    """Whether the app's PostgreSQL listener is connected (waited for, bounded)."""
    contexts = contexts_of(hub)

    async def check() -> bool:
        return contexts.listening

    return await within(bound, check)


async def warm(hub: HubClient, tenant_id: str) -> TenantContext:
    """Make ``hub`` hold the tenant's context, answered from memory (bounded wait).

    A change's own notice may reach the worker just after its first read and evict what that
    read kept: poll until a lookup sends no statement.
    """
    engine = hub.http.app.state.services.engine
    found: list[TenantContext] = []

    async def served_from_memory() -> bool:
        await webhook_context(hub, tenant_id)
        with count_statements(engine) as seen:
            ctx = await webhook_context(hub, tenant_id)
        found[:] = [ctx] if isinstance(ctx, TenantContext) else []
        return bool(found) and seen.count == 0

    assert await within(WITHIN, served_from_memory)
    return found[0]
