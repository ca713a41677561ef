"""Idempotency records in the database: claim a key, store the response, reopen after a failure.

Keys are scoped to (tenant, route). The first request with a key inserts the record (the
primary key lets exactly one worker in) with a lease; while the lease runs, the same key gets
409 ``idempotency_in_progress``. The lease is bounded by the provider deadline, so a worker
that died mid-request blocks its key for a minute or two, not for minutes on end.
"""

from __future__ import annotations

import hashlib
import math
import random
from datetime import timedelta
from typing import Any, cast

import msgspec
from sqlalchemy import CursorResult, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.base import new_id, utcnow
from hub.db.idempotency import IdempotencyRecord
from hub.errors import Conflict, ValidationFailed

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
#: How long a stored response is kept (Stripe keeps its own keys at least as long).
RETENTION = timedelta(hours=24)
#: The most a client is asked to wait before trying again while a request runs.
MAX_RETRY_AFTER = 5
#: One new key in this many also deletes the records past retention (an indexed range delete),
#: so the table stays about a day of keys without a separate job.
PURGE_EVERY = 200


class Claimed(msgspec.Struct, frozen=True):
    """This request runs; ``seed`` is the same on every attempt with the key."""

    seed: str
    attempts: int


class Stored(msgspec.Struct, frozen=True):
    """The first request finished: replay its response."""

    status_code: int
    body: bytes


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


def _conflict() -> Conflict:
    return Conflict("This Idempotency-Key was used with a different request", code="idempotency_conflict", param=HEADER)


def _in_progress(seconds: float) -> Conflict:
    wait = max(1, min(MAX_RETRY_AFTER, math.ceil(seconds)))
    return Conflict(
        "A request with this Idempotency-Key is still in progress; retry later",
        code="idempotency_in_progress",
        param=HEADER,
        headers={"Retry-After": str(wait)},
    )


async def claim(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: str,
    route: str,
    key: str,
    fingerprint: str,
    lease: timedelta,
) -> Claimed | Stored:
    now = utcnow()
    async with sessions() as session:
        seed = new_id("idem")
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
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
        else:
            if random.randrange(PURGE_EVERY) == 0:
                await purge(session)
            return Claimed(seed=seed, attempts=1)
        row = await session.get(IdempotencyRecord, (tenant_id, route, key), populate_existing=True)
        if row is None or row.created_at < now - RETENTION:
            # Expired (or purged meanwhile): the key starts afresh.
            await session.execute(_pk(delete(IdempotencyRecord), tenant_id, route, key))
            await session.commit()
            return await claim(sessions, tenant_id, route, key, fingerprint, lease)
        if row.fingerprint != fingerprint:
            raise _conflict()
        if row.state == "done" and row.status_code is not None and row.response is not None:
            return Stored(status_code=row.status_code, body=row.response)
        if row.state == "running" and row.lease_until is not None and row.lease_until > now:
            raise _in_progress((row.lease_until - now).total_seconds())
        # The last attempt failed, or its worker died: take over, exactly one of the racers.
        taken = await session.execute(
            _pk(update(IdempotencyRecord), tenant_id, route, key)
            .where(IdempotencyRecord.attempts == row.attempts)
            .values(state="running", lease_until=now + lease, attempts=row.attempts + 1)
        )
        await session.commit()
        if cast("CursorResult[Any]", taken).rowcount != 1:
            raise _in_progress(lease.total_seconds())
        return Claimed(seed=row.seed, attempts=row.attempts + 1)


async def purge(session: AsyncSession) -> None:
    """Forget keys older than the retention period."""
    await session.execute(
        delete(IdempotencyRecord)
        .where(IdempotencyRecord.created_at < utcnow() - RETENTION)
        .execution_options(synchronize_session=False)
    )
    await session.commit()


def _pk(statement: Any, tenant_id: str, route: str, key: str) -> Any:
    return statement.where(
        IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.route == route, IdempotencyRecord.key == key
    ).execution_options(synchronize_session=False)


async def finish(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: str,
    route: str,
    key: str,
    claimed: Claimed,
    status_code: int,
    body: bytes,
) -> None:
    async with sessions() as session:
        await session.execute(
            _pk(update(IdempotencyRecord), tenant_id, route, key)
            .where(IdempotencyRecord.attempts == claimed.attempts)
            .values(state="done", lease_until=None, status_code=status_code, response=body)
        )
        await session.commit()


async def reopen(
    sessions: async_sessionmaker[AsyncSession], tenant_id: str, route: str, key: str, claimed: Claimed
) -> None:
    """The attempt failed (nothing stored): a retry with the key may run again, under the same seed."""
    async with sessions() as session:
        await session.execute(
            _pk(update(IdempotencyRecord), tenant_id, route, key)
            .where(IdempotencyRecord.attempts == claimed.attempts)
            .values(state="open", lease_until=None)
        )
        await session.commit()
