"""Idempotency records in the database: claim a key, store the response, reopen or forget it.

Keys are scoped to (tenant, route). The first request with a key inserts the record (the
primary key lets exactly one worker in) with a lease; while the lease runs, the same key gets
409 ``idempotency_in_progress``. The lease is bounded by the provider deadline, so a worker
that died mid-request blocks its key for a minute or two, not for minutes on end.

A claim is either committed on its own (:func:`claim`) or staged in the transaction of the
route's own first write (:func:`stage`, then :func:`decide` when that insert loses), and a
response is either stored on its own (:func:`finish`) or in the route's last transaction
(:func:`settle`): the hot create path pays statements, not transactions, for its key.
"""

from __future__ import annotations

import hashlib
import math
from datetime import timedelta
from typing import Any, cast

import msgspec
from sqlalchemy import CursorResult, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.base import new_id, utcnow
from hub.db.idempotency import IdempotencyRecord
from hub.errors import Conflict, ValidationFailed
from hub.operations.unit import transaction
from hub.settings import Settings

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
#: How long a stored response is kept (Stripe keeps its own keys at least as long).
RETENTION = timedelta(hours=24)
#: The most a client is asked to wait before trying again while a request runs.
MAX_RETRY_AFTER = 5
#: Provider calls one request may make in a row (a re-read, then the operation).
CALLS_PER_REQUEST = 2
#: Time around the provider calls (database round trips, scheduling).
MARGIN = timedelta(seconds=10)


class Claimed(msgspec.Struct, frozen=True):
    """This request runs; ``seed`` is the same on every attempt with the key."""

    seed: str
    attempts: int

    @property
    def resumed(self) -> bool:
        """An earlier attempt with this key ran (and failed, or its worker died): its objects may exist."""
        return self.attempts > 1


class Stored(msgspec.Struct, frozen=True):
    """The first request finished: replay its response."""

    status_code: int
    body: bytes


def lease_for(settings: Settings) -> timedelta:
    """How long a running request holds what it claimed (its key, a payment's in-flight marker):
    past this its worker is presumed dead, and a later request may take over."""
    return timedelta(seconds=settings.stripe.deadline_seconds * CALLS_PER_REQUEST) + MARGIN


def retry_after(seconds: float) -> str:
    """The ``Retry-After`` for something held ``seconds`` longer: at least 1, at most MAX_RETRY_AFTER."""
    return str(max(1, min(MAX_RETRY_AFTER, math.ceil(seconds))))


def check_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not 1 <= len(raw) <= MAX_KEY_LENGTH or not raw.isprintable():
        raise ValidationFailed(f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters", param=HEADER)
    return raw


def fingerprint(path: str, body: Any) -> str:
    """SHA-256 of the path and the request as the hub understood it (sorted keys)."""
    encoded = msgspec.json.encode({"path": path, "body": msgspec.to_builtins(body)}, order="sorted")
    return hashlib.sha256(encoded).hexdigest()


def derived_id(seed: str, prefix: str) -> str:
    """An id for an object created under ``seed``: the same on every attempt, time-ordered like new_id."""
    return f"{prefix}_{seed.partition('_')[2]}"


def provider_key(object_id: str, operation: str, *detail: str) -> str:
    """The provider idempotency key of one operation on a hub object (its creation, a capture, a
    refund…): derived from the object's id, so every attempt that resumes the object sends the same."""
    digest = hashlib.sha256("\x00".join((object_id, operation, *detail)).encode()).hexdigest()[:48]
    return f"hub-{operation}-{digest}"


def conflict() -> Conflict:
    return Conflict("This Idempotency-Key was used with a different request", code="idempotency_conflict", param=HEADER)


def in_progress(seconds: float) -> Conflict:
    return Conflict(
        "A request with this Idempotency-Key is still in progress; retry later",
        code="idempotency_in_progress",
        param=HEADER,
        headers={"Retry-After": retry_after(seconds)},
    )


def stage(
    session: AsyncSession,
    tenant_id: str,
    route: str,
    key: str,
    fingerprint: str,
    lease: timedelta,
    *,
    seed: str | None = None,
) -> Claimed:
    """Add a new claim to ``session``'s transaction (not flushed): it holds once that commits."""
    now = utcnow()
    seed = seed or new_id("idem")
    session.add(
        IdempotencyRecord(
            tenant_id=tenant_id,
            route=route,
            key=key,
            fingerprint=fingerprint,
            seed=seed,
            state="running",
            lease_until=now + lease,
            attempts=1,
            created_at=now,
        )
    )
    return Claimed(seed=seed, attempts=1)


async def claim(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: str,
    route: str,
    key: str,
    fingerprint: str,
    lease: timedelta,
) -> Claimed | Stored:
    """Claim the key in a transaction of its own; an existing record decides (see :func:`decide`)."""
    try:
        async with transaction(sessions) as session:
            claimed = stage(session, tenant_id, route, key, fingerprint, lease)
    except IntegrityError:
        return await decide(sessions, tenant_id, route, key, fingerprint, lease)
    return claimed


async def decide(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: str,
    route: str,
    key: str,
    fingerprint: str,
    lease: timedelta,
) -> Claimed | Stored:
    """The key is taken: replay the stored response, refuse (conflict, in progress), or take over
    an attempt that failed or whose worker died, keeping its seed."""
    now = utcnow()
    async with transaction(sessions) as session:
        row = await session.get(IdempotencyRecord, (tenant_id, route, key), populate_existing=True)
        if row is None or row.created_at < now - RETENTION:
            # Expired (or forgotten meanwhile): the key starts afresh.
            await session.execute(_pk(delete(IdempotencyRecord), tenant_id, route, key))
            row = None
        else:
            stored = _answer(row, fingerprint)
            if stored is not None:
                return stored
            if row.state == "running" and row.lease_until is not None and row.lease_until > now:
                raise in_progress((row.lease_until - now).total_seconds())
            # The last attempt failed, or its worker died: take over, exactly one of the racers.
            taken = await session.execute(
                _pk(update(IdempotencyRecord), tenant_id, route, key)
                .where(IdempotencyRecord.attempts == row.attempts)
                .values(state="running", lease_until=now + lease, attempts=row.attempts + 1)
            )
    if row is None:
        return await claim(sessions, tenant_id, route, key, fingerprint, lease)
    if cast("CursorResult[Any]", taken).rowcount != 1:
        raise in_progress(lease.total_seconds())
    return Claimed(seed=row.seed, attempts=row.attempts + 1)


async def peek(
    sessions: async_sessionmaker[AsyncSession], tenant_id: str, route: str, key: str, fingerprint: str
) -> Stored | None:
    """The stored response of a finished request with this key, if any; another body is a conflict."""
    async with transaction(sessions) as session:
        row = await session.get(IdempotencyRecord, (tenant_id, route, key))
    if row is None or row.created_at < utcnow() - RETENTION:
        return None
    return _answer(row, fingerprint)


def _answer(row: IdempotencyRecord, fingerprint: str) -> Stored | None:
    """The stored answer of the request that finished with this key; another body is a conflict."""
    if row.fingerprint != fingerprint:
        raise conflict()
    if row.state == "done" and row.status_code is not None and row.response is not None:
        return Stored(status_code=row.status_code, body=row.response)
    return None


def _pk(statement: Any, tenant_id: str, route: str, key: str) -> Any:
    return statement.where(
        IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.route == route, IdempotencyRecord.key == key
    ).execution_options(synchronize_session=False)


def _attempt(statement: Any, tenant_id: str, route: str, key: str, claimed: Claimed) -> Any:
    """Only this attempt's record: one that was taken over since is left to its new owner."""
    return _pk(statement, tenant_id, route, key).where(IdempotencyRecord.attempts == claimed.attempts)


async def settle(
    session: AsyncSession,
    tenant_id: str,
    route: str,
    key: str,
    claimed: Claimed,
    status_code: int,
    body: bytes,
) -> bool:
    """Store the response in ``session``'s transaction (not committed here); False when the
    record no longer carries this attempt (taken over since, or gone)."""
    result = await session.execute(
        _attempt(update(IdempotencyRecord), tenant_id, route, key, claimed).values(
            state="done", lease_until=None, status_code=status_code, response=body
        )
    )
    return cast("CursorResult[Any]", result).rowcount == 1


async def finish(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: str,
    route: str,
    key: str,
    claimed: Claimed,
    status_code: int,
    body: bytes,
) -> None:
    async with transaction(sessions) as session:
        await settle(session, tenant_id, route, key, claimed, status_code, body)


async def reopen(
    sessions: async_sessionmaker[AsyncSession], tenant_id: str, route: str, key: str, claimed: Claimed
) -> None:
    """The outcome is unknown (nothing stored): a retry with the same request takes over at once,
    under the same seed, so it lands on what this attempt may have made."""
    async with transaction(sessions) as session:
        await reopen_in(session, tenant_id, route, key, claimed)


async def reopen_in(session: AsyncSession, tenant_id: str, route: str, key: str, claimed: Claimed) -> bool:
    """:func:`reopen` in ``session``'s transaction; False when the record is no longer this attempt's."""
    result = await session.execute(
        _attempt(update(IdempotencyRecord), tenant_id, route, key, claimed)
        .where(IdempotencyRecord.state == "running")  # an answer stored meanwhile stays
        .values(state="open", lease_until=None)
    )
    return cast("CursorResult[Any]", result).rowcount == 1


async def forget(
    sessions: async_sessionmaker[AsyncSession], tenant_id: str, route: str, key: str, claimed: Claimed
) -> None:
    """The provider refused the request, so nothing exists anywhere: the key is free for any request."""
    async with transaction(sessions) as session:
        await forget_in(session, tenant_id, route, key, claimed)


async def forget_in(session: AsyncSession, tenant_id: str, route: str, key: str, claimed: Claimed) -> bool:
    """:func:`forget` in ``session``'s transaction; False when the record is no longer this attempt's."""
    result = await session.execute(_attempt(delete(IdempotencyRecord), tenant_id, route, key, claimed))
    return cast("CursorResult[Any]", result).rowcount == 1
