"""Idempotency for the recurring routes: one claim per (tenant, route, Idempotency-Key).

The rules are the payments' (same key and body: the first answer again; another body: 409
``idempotency_conflict``; still running: 409 ``idempotency_in_progress``), kept in one table
for every route instead of a column on each resource. Each route calls :func:`claim` once,
before the provider, and :func:`settle` in the transaction that writes its result.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import msgspec
from sqlalchemy import and_, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.base import utcnow
from hub.db.recurring import RequestClaim
from hub.errors import Conflict
from hub.payments import idempotency
from providers.base.errors import ProviderError, ProviderUnavailable, RateLimited

T = TypeVar("T")

#: A claim this old whose request never finished belongs to a worker that died: a retry takes over.
LEASE = timedelta(minutes=5)


class Claim(msgspec.Struct):
    """What a request may do: ``replay`` the finished first answer, or run for ``object_id``."""

    object_id: str
    key: str | None = None
    route: str = ""
    replay: bool = False
    response_status: int | None = None


def _in_progress() -> Conflict:
    return Conflict(
        "A request with this Idempotency-Key is still in progress; retry later",
        code="idempotency_in_progress",
        param=idempotency.HEADER,
        headers={"Retry-After": "1"},
    )


async def claim(
    session: AsyncSession, tenant_id: str, route: str, raw_key: str | None, request: dict[str, Any], object_id: str
) -> Claim:
    """Claim ``raw_key`` for this request, whose hub object will be ``object_id`` (or already is).

    Without a key every request runs. Commits its own claim, so no transaction is open when the
    caller goes on to the provider.
    """
    key = idempotency.check_key(raw_key)
    if key is None:
        return Claim(object_id=object_id)
    fingerprint = idempotency.fingerprint(request)
    # The claim is decided in a session of its own: a lost race rolls back there, never expiring
    # the rows the caller has loaded. The caller holds no transaction (SQLite has one writer).
    await session.commit()
    async with _own(session) as own:
        return await _decide(own, tenant_id, route, key, fingerprint, object_id)


def _own(session: AsyncSession) -> AsyncSession:
    return AsyncSession(session.bind, expire_on_commit=False)


def _where(tenant_id: str, route: str, key: str) -> Any:
    return and_(RequestClaim.tenant_id == tenant_id, RequestClaim.route == route, RequestClaim.idempotency_key == key)


async def _decide(
    session: AsyncSession, tenant_id: str, route: str, key: str, fingerprint: str, object_id: str
) -> Claim:
    session.add(
        RequestClaim(
            tenant_id=tenant_id, route=route, idempotency_key=key, fingerprint=fingerprint, object_id=object_id
        )
    )
    try:
        await session.commit()
        return Claim(object_id=object_id, key=key, route=route)
    except IntegrityError:
        await session.rollback()
    where = _where(tenant_id, route, key)
    found = (await session.execute(select(RequestClaim).where(where))).scalar_one()
    await session.commit()
    if found.fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was used with a different request",
            code="idempotency_conflict",
            param=idempotency.HEADER,
        )
    if found.response_status is not None:
        return Claim(
            object_id=found.object_id, key=key, route=route, replay=True, response_status=found.response_status
        )
    now = utcnow()
    # The first request's worker died (or the provider's answer never came): take over its claim,
    # keeping its object id, so the provider sees the same idempotency key again.
    taken = await session.execute(
        update(RequestClaim)
        .where(where, RequestClaim.response_status.is_(None), RequestClaim.claimed_at < now - LEASE)
        .values(claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    if getattr(taken, "rowcount", 0) != 1:
        raise _in_progress()
    return Claim(object_id=found.object_id, key=key, route=route)


async def settle(session: AsyncSession, tenant_id: str, claim_: Claim, status: int) -> None:
    """Record the answer of a claimed request, in the caller's transaction (not committed here)."""
    if claim_.key is None:
        return
    await session.execute(
        update(RequestClaim)
        .where(_where(tenant_id, claim_.route, claim_.key))
        .values(response_status=status)
        .execution_options(synchronize_session=False)
    )


async def release(session: AsyncSession, tenant_id: str, claim_: Claim) -> None:
    """Forget a claim whose request was refused before anything was made: the key may be used again."""
    if claim_.key is None:
        return
    await session.commit()
    async with _own(session) as own:
        await own.execute(delete(RequestClaim).where(_where(tenant_id, claim_.route, claim_.key)))
        await own.commit()


def provider_key(object_id: str, operation: str, *detail: str) -> str:
    """The provider idempotency key of one operation on a hub object: stable across retries."""
    return idempotency.operation_key(object_id, operation, *detail)


async def call_provider(session: AsyncSession, tenant_id: str, claim_: Claim, call: Awaitable[T]) -> T:
    """Await a provider call made under ``claim_``.

    A refusal made nothing: the claim is released and the key may be used again. An unknown
    outcome (unreachable, rate-limited) keeps the claim but lets a retry take it over at once;
    the retry asks under the same provider idempotency key.
    """
    try:
        return await call
    except (ProviderUnavailable, RateLimited):
        if claim_.key is not None:
            await session.commit()
            async with _own(session) as own:
                await own.execute(
                    update(RequestClaim)
                    .where(_where(tenant_id, claim_.route, claim_.key))
                    .values(claimed_at=datetime(2000, 1, 1, tzinfo=UTC))
                    .execution_options(synchronize_session=False)
                )
                await own.commit()
        raise
    except ProviderError:
        await release(session, tenant_id, claim_)
        raise
