"""The hub through its public HTTP API only: tenants, credentials, payments, the event list."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import NamedTuple, TypeVar

import httpx

from bench.procs import PLATFORM_TOKEN

T = TypeVar("T")


class Tenant(NamedTuple):
    id: str
    admin: str
    storefront: str
    webhook_secret: str


def _check(r: httpx.Response, expected: int) -> httpx.Response:
    if r.status_code != expected:
        raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:500]}")
    return r


async def register(http: httpx.AsyncClient, name: str, platform_token: str = PLATFORM_TOKEN) -> Tenant:
    """A tenant with credentials pointed at the stand-in, registered WITH a webhook secret (so the
    hub needs no webhook-endpoint calls at Stripe)."""
    r = _check(
        await http.post("/v1/tenants", json={"name": name}, headers={"Authorization": f"Bearer {platform_token}"}),
        201,
    )
    body = r.json()
    tenant = Tenant(
        body["id"], body["api_keys"]["admin"], body["api_keys"]["storefront"], "whsec_" + secrets.token_hex(16)
    )
    suffix = secrets.token_hex(12)
    _check(
        await http.put(
            "/v1/providers/stripe/credentials",
            headers={"Authorization": f"Bearer {tenant.admin}"},
            json={
                "publishable_key": f"pk_test_{suffix}",
                "secret_key": f"sk_test_{suffix}",
                "webhook_secret": tenant.webhook_secret,
            },
        ),
        200,
    )
    return tenant


async def create_payment(http: httpx.AsyncClient, tenant: Tenant) -> tuple[str, str]:
    """(hub payment id, Stripe PaymentIntent id)."""
    r = await http.post(
        "/v1/payments",
        headers={"Authorization": f"Bearer {tenant.storefront}"},
        json={"amount": 2000, "currency": "usd", "metadata": {"order": "bench"}},
    )
    body = _check(r, 201).json()
    return body["id"], body["provider_payment_id"]


async def gather_limited(count: int, concurrency: int, make: Callable[[int], Awaitable[T]]) -> list[T]:
    limit = asyncio.Semaphore(concurrency)

    async def one(n: int) -> T:
        async with limit:
            return await make(n)

    return list(await asyncio.gather(*(one(n) for n in range(count))))


async def pending_events(
    http: httpx.AsyncClient, tenant: Tenant, still_pending: set[str] | None
) -> tuple[set[str], int]:
    """Events with outcome ``pending``, walking ``GET /v1/events`` newest first; and how many were read.

    An event's outcome only moves forward, so after the first full walk a walk may stop once it
    has read again every event that was pending before (no new events arrive after the load).
    """
    pending: set[str] = set()
    remaining = None if still_pending is None else set(still_pending)
    seen, cursor = 0, None
    while True:
        params: dict[str, str | int] = {"limit": 100}
        if cursor:
            params["starting_after"] = cursor
        r = _check(
            await http.get("/v1/events", params=params, headers={"Authorization": f"Bearer {tenant.admin}"}), 200
        )
        page = r.json()
        for event in page["data"]:
            seen += 1
            if event["outcome"] == "pending":
                pending.add(event["id"])
            if remaining is not None:
                remaining.discard(event["id"])
        if not page["has_more"] or not page["data"] or (remaining is not None and not remaining):
            return pending, seen
        cursor = page["data"][-1]["id"]


class Drain(NamedTuple):
    seconds: float  # from the end of the load to the end of the walk that found nothing pending
    events: int  # events stored
    first_walk: float  # seconds the first full walk took: the resolution of ``seconds``
    still_pending: int  # > 0 when the wait was given up


async def drain(url: str, tenant: Tenant, load_ended: float, give_up_after: float = 60) -> Drain:
    """How long after the load the event list first shows no ``pending`` event (an upper bound:
    it includes the walk that saw it, and the first walk reads every event)."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        start = time.monotonic()
        pending, total = await pending_events(http, tenant, None)
        first_walk = time.monotonic() - start
        while pending and time.monotonic() - load_ended < give_up_after:
            await asyncio.sleep(0.02)
            pending, _ = await pending_events(http, tenant, pending)
        return Drain(time.monotonic() - load_ended, total, first_walk, len(pending))


async def timed_creates(url: str, tenants: list[Tenant], count: int) -> list[float]:
    """``count`` payment creations one after another, cycling over ``tenants``: seconds each."""
    times = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        for n in range(count):
            start = time.perf_counter()
            await create_payment(http, tenants[n % len(tenants)])
            times.append(time.perf_counter() - start)
    return times
