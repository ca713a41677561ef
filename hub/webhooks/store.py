"""The event store (the inbox): each verified event once per (tenant, provider, provider event id).

Storing is the whole of the request's database work: one INSERT ... ON CONFLICT DO NOTHING
(built once, bound parameters, on a pooled connection; autocommit on PostgreSQL, a short
transaction on SQLite), the unique constraint deciding. Of many concurrent deliveries of one
event (any worker, any process) exactly one inserts; the others insert nothing and count
themselves with one atomic UPDATE. The applier (hub.webhooks.applier) applies the row later.

Deliveries verified while an INSERT is in flight share the next one (hub/webhooks/inbox.py: no
window is waited for, each answer comes after its own row's commit, the constraint still decides
per event).
"""

from __future__ import annotations

import functools
import hashlib
from typing import cast

import msgspec
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import defer
from sqlalchemy.sql.expression import Executable

from hub.db.base import new_id, utcnow
from hub.db.engine import single_statements
from hub.db.events import WebhookEvent
from hub.db.pages import newest_first
from hub.webhooks import inbox
from hub.webhooks.schemas import Event, EventList
from providers.base.webhooks import ProviderEvent, VerifiedEvent

PENDING, FAILED = "pending", "failed"
_encode = msgspec.msgpack.Encoder().encode
_ID_WIDTH, _TYPE_WIDTH, REASON_WIDTH = 255, 120, 500


def storable_id(provider_event_id: str) -> str:
    """The event id as stored: itself when it fits the column, else a prefix and its SHA-256.

    Deterministic, so repeated deliveries of an odd (over-long, NUL-carrying) id still meet at
    the unique constraint; and two different ids never share a stored one.
    """
    if len(provider_event_id) <= _ID_WIDTH and "\x00" not in provider_event_id:
        return provider_event_id
    digest = hashlib.sha256(provider_event_id.encode("utf-8", "surrogatepass")).hexdigest()
    return provider_event_id[:120].replace("\x00", "?") + "~sha256:" + digest


def _text(value: str, width: int) -> str:
    """Fit for a text column of ``width`` on both databases (PostgreSQL refuses NUL characters)."""
    return value[:width].replace("\x00", "?")


_EVENTS = cast(Table, WebhookEvent.__table__)
_COLUMNS = (
    "id",
    "tenant_id",
    "provider",
    "provider_event_id",
    "type",
    "outcome",
    "payload",
    "reason",
    "deliveries",
    "attempts",
    "received_at",
    "last_delivery_at",
)
#: The repeated delivery's count: one atomic UPDATE, bound parameters only.
_COUNT = (
    update(_EVENTS)
    .where(
        _EVENTS.c.tenant_id == bindparam("w_tenant_id"),
        _EVENTS.c.provider == bindparam("w_provider"),
        _EVENTS.c.provider_event_id == bindparam("w_provider_event_id"),
    )
    .values(deliveries=_EVENTS.c.deliveries + 1, last_delivery_at=bindparam("w_now"))
)


@functools.cache
def _insert(dialect: str) -> Executable:
    """The inbox INSERT for ``dialect``, built once: every value a bound parameter, the constraint deciding."""
    build = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        build(_EVENTS)
        .values({name: bindparam("v_" + name) for name in _COLUMNS})
        .on_conflict_do_nothing(index_elements=["tenant_id", "provider", "provider_event_id"])
        .returning(_EVENTS.c.tenant_id, _EVENTS.c.provider, _EVENTS.c.provider_event_id)
    )


async def record(
    engine: AsyncEngine,
    tenant_id: str,
    provider: str,
    verified: VerifiedEvent,
    event: ProviderEvent | None,
    reason: str | None = None,
) -> bool:
    """Store a verified delivery: ``pending`` with ``event`` to apply, or ``failed`` with ``reason``.

    True when this delivery stored the event, False for a repeated delivery (counted). Core
    statements on a pooled connection, no ORM session.
    """
    now = utcnow()
    provider_event_id = storable_id(verified.provider_event_id)
    values = {
        "id": new_id("event"),
        "tenant_id": tenant_id,
        "provider": provider,
        "provider_event_id": provider_event_id,
        "type": _text(verified.type, _TYPE_WIDTH),
        "outcome": PENDING if event is not None else FAILED,
        "payload": _encode(event) if event is not None else None,
        "reason": None if event is not None else _text(reason or "The event could not be read", REASON_WIDTH),
        "deliveries": 1,
        "attempts": 0,
        "received_at": now,
        "last_delivery_at": now,
    }
    return await inbox.batcher(engine, write_batch).store(values)


async def write_batch(engine: AsyncEngine, batch: list[inbox.Values]) -> list[bool]:
    """Store ``batch`` (the rows' values) in one INSERT; for each, True when it stored its event.

    Every repeat (an event stored before, or delivered twice in this batch) counts itself with
    the atomic UPDATE, in the same short transaction on SQLite.
    """
    first = inbox.firsts(batch)
    storing = single_statements(engine)  # autocommit on PostgreSQL: each statement is atomic on its own
    async with storing.begin() as conn:
        rows = await conn.execute(
            _insert(storing.dialect.name), [{"v_" + k: v for k, v in batch[n].items()} for n in first]
        )
        inserted = {tuple(row) for row in rows}
        firsts = set(first)
        stored = [n in firsts and inbox.key_of(values) in inserted for n, values in enumerate(batch)]
        again = [values for values, done in zip(batch, stored, strict=True) if not done]
        if again:
            await conn.execute(
                _COUNT,
                [
                    {
                        "w_tenant_id": v["tenant_id"],
                        "w_provider": v["provider"],
                        "w_provider_event_id": v["provider_event_id"],
                        "w_now": v["last_delivery_at"],
                    }
                    for v in again
                ],
            )
    return stored


def _view(row: WebhookEvent) -> Event:
    return Event(
        id=row.id,
        provider=row.provider,
        provider_event_id=row.provider_event_id,
        type=row.type,
        received_at=row.received_at,
        last_delivery_at=row.last_delivery_at,
        deliveries=row.deliveries,
        payment_id=row.payment_id,
        outcome=row.outcome,
        reason=row.reason if row.outcome == FAILED else None,
    )


async def list_events(session: AsyncSession, tenant_id: str, limit: int, starting_after: str | None) -> EventList:
    q = select(WebhookEvent).options(defer(WebhookEvent.payload)).where(WebhookEvent.tenant_id == tenant_id)
    rows, more = await newest_first(session, q, WebhookEvent.id, limit=limit, starting_after=starting_after)
    return EventList(data=[_view(r) for r in rows], has_more=more)
