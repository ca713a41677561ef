"""Running one route's work at most once per Idempotency-Key, and replaying its response."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import msgspec
from litestar import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from hub.idempotency import store

log = logging.getLogger("hub.idempotency")

REPLAYED = "Idempotent-Replayed"
#: Provider calls one request may make in a row (a re-read, then the operation).
CALLS_PER_REQUEST = 2
#: Time around the provider calls (database round trips, scheduling).
MARGIN = timedelta(seconds=10)


def lease_for(request: Request) -> timedelta:
    """How long a running request keeps its key: past this its worker is presumed dead."""
    deadline = request.app.state.services.settings.stripe.deadline_seconds
    return timedelta(seconds=deadline * CALLS_PER_REQUEST) + MARGIN


async def once(
    request: Request,
    tenant_id: str,
    route: str,
    body: Any,
    run: Callable[[str | None], Awaitable[msgspec.Struct]],
    *,
    session: AsyncSession,
    status_code: int,
) -> Response[Any]:
    """Run ``run(seed)`` unless this (tenant, route, Idempotency-Key) already ran.

    ``seed`` is None without a key; with one it is the same on every attempt, and the work
    derives the ids of what it creates from it (``store.derived_id``), so a retry after an
    unknown outcome lands on the same objects, here and at the provider. ``session`` is the one
    ``run`` works in: a failed run's open transaction is ended before the key is reopened.
    """
    key = store.check_key(request.headers.get(store.HEADER))
    if key is None:
        return Response(await run(None), status_code=status_code)
    sessions = request.app.state.services.sessions
    found = await store.claim(
        sessions, tenant_id, route, key, store.fingerprint(request.url.path, body), lease_for(request)
    )
    if isinstance(found, store.Stored):
        return Response(
            content=found.body,
            status_code=found.status_code,
            media_type="application/json",
            headers={REPLAYED: "true"},
        )
    try:
        result = await run(found.seed)
    except Exception:
        try:
            # What the failed work meant to keep it committed; the rest would be rolled back when
            # the request's session closes. Ending it now matters on SQLite, where even a read
            # holds the write lock (BEGIN IMMEDIATE): the reopen below would wait for it until the
            # busy timeout, stalling every write of the hub, then fail and leave the key "running".
            await session.rollback()
            await store.reopen(sessions, tenant_id, route, key, found)
        except Exception as exc:  # the database may be what failed; the lease then runs out by itself
            log.warning("could not reopen an idempotency key after a failure (%s)", type(exc).__name__)
        raise
    content = msgspec.json.encode(result)
    await store.finish(sessions, tenant_id, route, key, found, status_code, content)
    return Response(content=content, status_code=status_code, media_type="application/json")
