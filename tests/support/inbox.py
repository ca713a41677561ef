"""Waiting for the applier: webhook deliveries are acknowledged once stored and applied just after."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

#: Generous: an applier wakes as soon as an event is stored; this only bounds a broken one.
APPLY_TIMEOUT_SECONDS = 20.0


async def pending_count(database_url: str, tenant_id: str | None = None) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            sql = "SELECT count(*) FROM webhook_events WHERE outcome = 'pending'"
            if tenant_id is not None:
                sql += " AND tenant_id = :tenant_id"
            return int((await conn.execute(text(sql), {"tenant_id": tenant_id})).scalar_one())
    finally:
        await engine.dispose()


async def wait_applied(database_url: str, tenant_id: str | None = None, within: float = APPLY_TIMEOUT_SECONDS) -> None:
    """Return once no event (of ``tenant_id``, or of anyone) is pending; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        left = await pending_count(database_url, tenant_id)
        if left == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{left} webhook event(s) still pending after {within} s")
        await asyncio.sleep(0.02)


async def delivered(hub: Any, tenant_id: str, body: bytes, secret: str) -> httpx.Response:
    """Deliver a signed event to ``hub`` (a HubClient), then wait until the tenant has none pending."""
    from tests.support import stripe_events as se

    response = await se.deliver(hub.http, tenant_id, body, secret)
    await wait_applied(hub.settings.database.url, tenant_id)
    return response
