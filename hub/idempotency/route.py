"""Running one route's work at most once per Idempotency-Key, and replaying its response.

Every route that honours the header goes through :func:`once`; the work it runs gets an
:class:`Attempt`, from which it takes the ids of what it creates (the same on every attempt
with the key) and, on the hot paths, the claim and the stored answer as statements of its own
transactions.

What becomes of the key when the work fails (the table: hub/operations/policy.py):
- the provider refused (a ``ProviderError`` other than unavailable or rate-limited): nothing
  exists anywhere, so the key is forgotten and may be used again, with any body;
- the card was declined: the provider keeps the failed attempt, so the decline is the answer
  and is replayed like a success;
- anything else (the provider's outcome is unknown, the hub refused, the database failed): the
  key reopens, and a retry with the same request takes over at once under the same seed, so it
  lands on the objects and the provider idempotency keys of this attempt.
A worker that dies leaves its claim running until the lease (see ``store.lease_for``) ends; a
worker the database left mid-request keeps what it still has to write and writes it once the
database answers again (hub/idempotency/deferred.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import msgspec
from litestar import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from hub.errors import PROBLEM_JSON, HubError, is_database_outage
from hub.idempotency import deferred, store
from hub.idempotency.attempt import Attempt, Taken, problem_of
from hub.operations.policy import rule_for
from hub.services import Services, services_of
from providers.base.errors import ProviderError

log = logging.getLogger("hub.idempotency")

REPLAYED = "Idempotent-Replayed"


class Sealing(Protocol):
    """How an answer holding a secret shown once is stored and opened (hub/idempotency/sealed.py,
    passed in by the route that needs it, so this module, and the operation driver above it,
    reach no vault: platform billing runs on the driver and may not)."""

    async def seal(self, services: Services, tenant_id: str, route: str, key: str, body: bytes) -> bytes: ...

    async def unseal(self, services: Services, tenant_id: str, route: str, key: str, blob: bytes) -> bytes: ...


async def once(
    request: Request,
    session: AsyncSession,
    tenant_id: str,
    route: str,
    body: Any,
    run: Callable[[Attempt], Awaitable[msgspec.Struct]],
    *,
    status_code: int,
    joined: bool = False,
    sealing: Sealing | None = None,
    form_key: str | None = None,
    services: Services | None = None,
) -> Response[Any]:
    """Run ``run(attempt)`` unless this (tenant, route, Idempotency-Key) already ran.

    ``session`` is the request's own: the work's transaction is over before the key is written
    in another (SQLite has one writer at a time).

    ``joined``: the work puts the claim in its first transaction (``attempt.join``) instead of
    :func:`once` committing it first, and the answer in its last (``attempt.settle``).
    ``sealing``: the answer holds a secret shown once, so it is stored sealed (hub/idempotency/sealed.py).
    ``form_key``: the key a console form carries (a hidden field) instead of the header.
    ``services``: the process's services (read from the application when not given).
    """
    key = store.check_key(form_key if form_key is not None else request.headers.get(store.HEADER))
    if key is None:
        return Response(await run(Attempt(tenant_id, route)), status_code=status_code)
    services = services or services_of(request)
    sessions, lease = services.sessions, store.lease_for(services.settings)
    attempt = Attempt(tenant_id, route, key, store.fingerprint(request.url.path, body), lease)
    if not joined:
        await _end(session, commit=True)
        found = await store.claim(sessions, tenant_id, route, key, attempt.fingerprint, lease)
        if isinstance(found, store.Stored):
            return await _replay(services, tenant_id, route, key, found, sealing)
        attempt.hold(found)
    while True:
        try:
            result = await run(attempt)
            break
        except Taken:
            found = await store.decide(sessions, tenant_id, route, key, attempt.fingerprint, lease)
            if isinstance(found, store.Stored):
                return await _replay(services, tenant_id, route, key, found, sealing)
            attempt.hold(found)
        except Exception as exc:
            await _end(session, commit=False)
            stored = await _after_failure(services, attempt, exc)
            if stored is not None:
                return await _replay(services, tenant_id, route, key, stored, sealing)
            raise
    if attempt.settled is not None:
        content = attempt.settled[1]
    else:
        await _end(session, commit=True)
        content = msgspec.json.encode(result)
        if attempt.claimed is not None:  # (a joined work that never claimed has nothing to store)
            kept = await sealing.seal(services, tenant_id, route, key, content) if sealing else content
            try:
                await store.finish(sessions, tenant_id, route, key, attempt.claimed, status_code, kept)
            except Exception as exc:
                if is_database_outage(exc):  # the work is done: its answer is written once the database is back
                    services.deferred.keep(
                        deferred.KeyWrite(tenant_id, route, key, attempt.claimed, "settle", (status_code, kept))
                    )
                raise
    return Response(content=content, status_code=status_code, media_type="application/json")


async def _end(session: AsyncSession, *, commit: bool) -> None:
    """Close a transaction the work left open: after a failure its writes are void."""
    if not session.in_transaction():
        return
    try:
        # The Idempotency-Key runner is the driver's (hub/operations/driver.py ``run``): it ends the
        # work's transaction before the key's own is written, on the one connection SQLite lets write.
        await (session.commit() if commit else session.rollback())
    except Exception as exc:  # the connection may be what failed; the pool discards it
        log.warning("could not end the request's transaction (%s)", type(exc).__name__)
        if commit:
            raise


async def _after_failure(services: Services, attempt: Attempt, exc: Exception) -> store.Stored | None:
    """Settle the key after ``exc``; returns a stored answer to replay instead, if there is one."""
    sessions, claimed, key = services.sessions, attempt.claimed, attempt.key
    assert key is not None
    if claimed is None:
        # Failed before its claim (a joined route): a request that already finished with this key
        # is still replayed, e.g. after the customer it named was deleted since.
        try:
            return await store.peek(sessions, attempt.tenant_id, attempt.route, key, attempt.fingerprint)
        except HubError:
            raise  # another body with the key: the conflict is the answer
        except Exception as failure:  # the database may be what failed: the first error is the answer
            log.warning("could not look up an idempotency key after a failure (%s)", type(failure).__name__)
            return None
    # The database going away cut the work off: what it still had to write goes with the key's write.
    outage = is_database_outage(exc) and not isinstance(exc, ProviderError)
    rows = attempt.rows if outage else None
    if attempt.settled is not None:
        if outage:
            # The last transaction, with the answer, may not have happened. Without the work's rows
            # to write again, a retry must be able to take over instead.
            op: deferred.Op = "settle" if rows is not None else "reopen"
            await services.deferred.write_or_keep(
                deferred.KeyWrite(attempt.tenant_id, attempt.route, key, claimed, op, attempt.settled, rows)
            )
        return None
    op = rule_for(exc).key  # the one table: hub/operations/policy.py
    answer = problem_of(exc) if isinstance(exc, ProviderError) and op == "settle" else None
    await services.deferred.write_or_keep(
        deferred.KeyWrite(attempt.tenant_id, attempt.route, key, claimed, op, answer, rows)
    )
    return None


async def _replay(
    services: Services, tenant_id: str, route: str, key: str, stored: store.Stored, sealing: Sealing | None
) -> Response[Any]:
    body = await sealing.unseal(services, tenant_id, route, key, stored.body) if sealing else stored.body
    return Response(
        content=body,
        status_code=stored.status_code,
        media_type=PROBLEM_JSON if stored.status_code >= 400 else "application/json",
        headers={REPLAYED: "true"},
    )
