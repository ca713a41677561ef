"""Putting an Idempotency-Key (or a payment's in-flight marker) in the state a worker leaves when it
dies mid-request, straight in the hub's database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from hub.db.base import utcnow
from hub.db.idempotency import IdempotencyRecord
from hub.db.payments import Payment
from tests.support.problem import db_session


async def key_left_running(hub: Any, tenant_id: str, route: str, key: str, *, lease_left: timedelta) -> None:
    """The key's claim is running, its lease ending ``lease_left`` from now (negative: already over),
    as when the worker that held it died before it could store an answer or reopen the key."""
    async with db_session(hub) as s:
        await s.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.route == route)
            .where(IdempotencyRecord.key == key)
            .values(state="running", lease_until=utcnow() + lease_left, status_code=None, response=None)
        )
        await s.commit()


async def marker_left(hub: Any, payment_id: str, operation: str, *, age: timedelta) -> None:
    """The payment's in-flight marker, set ``age`` ago by a request whose worker then died."""
    async with db_session(hub) as s:
        await s.execute(
            update(Payment).where(Payment.id == payment_id).values(pending_op=operation, pending_since=utcnow() - age)
        )
        await s.commit()


async def key_state(hub: Any, tenant_id: str, route: str, key: str) -> str | None:
    async with db_session(hub) as s:
        return await s.scalar(
            select(IdempotencyRecord.state).where(
                IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.route == route, IdempotencyRecord.key == key
            )
        )
