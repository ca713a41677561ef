"""The event store: each verified event once per (tenant, provider, provider event id), applied once.

Insert first, with the unique constraint deciding: of many concurrent deliveries of one event
(any worker, any process) exactly one inserts and applies; the others wait for it at the
constraint, insert nothing and count themselves with one atomic UPDATE. The apply runs in
the same transaction as the insert, so a crash leaves either nothing or both.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.base import new_id, utcnow
from hub.db.events import WebhookEvent
from hub.db.upsert import insert_ignoring_conflict
from hub.observability.metrics import observe_apply_lag
from hub.webhooks.apply import IGNORED, apply_event
from hub.webhooks.schemas import Event, EventList
from providers.base.webhooks import ProviderEvent

DUPLICATE = "duplicate"


async def record(session: AsyncSession, tenant_id: str, provider: str, event: ProviderEvent) -> str:
    """Store and apply ``event``; returns its outcome, or ``duplicate`` for a repeated delivery. Commits."""
    now = utcnow()
    key = (
        WebhookEvent.tenant_id == tenant_id,
        WebhookEvent.provider == provider,
        WebhookEvent.provider_event_id == event.provider_event_id,
    )
    inserted = (
        await session.execute(
            insert_ignoring_conflict(
                session,
                WebhookEvent,
                ["tenant_id", "provider", "provider_event_id"],
                id=new_id("event"),
                tenant_id=tenant_id,
                provider=provider,
                provider_event_id=event.provider_event_id,
                type=event.type[:120],
                outcome=IGNORED,
                deliveries=1,
                received_at=now,
                last_delivery_at=now,
            ).returning(WebhookEvent.id)
        )
    ).scalar_one_or_none()
    if inserted is None:
        await session.execute(
            update(WebhookEvent).where(*key).values(deliveries=WebhookEvent.deliveries + 1, last_delivery_at=now)
        )
        await session.commit()
        return DUPLICATE
    outcome, payment_id = await apply_event(session, tenant_id, provider, event)
    await session.execute(
        update(WebhookEvent).where(WebhookEvent.id == inserted).values(outcome=outcome, payment_id=payment_id)
    )
    await session.commit()
    observe_apply_lag((utcnow() - now).total_seconds())
    return outcome


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
    )


async def list_events(session: AsyncSession, tenant_id: str, limit: int, starting_after: str | None) -> EventList:
    q = (
        select(WebhookEvent)
        .where(WebhookEvent.tenant_id == tenant_id)
        .order_by(WebhookEvent.id.desc())
        .limit(limit + 1)
    )
    if starting_after:
        q = q.where(WebhookEvent.id < starting_after)
    rows = (await session.execute(q)).scalars().all()
    return EventList(data=[_view(r) for r in rows[:limit]], has_more=len(rows) > limit)
