"""The outbox: notifications recorded in the very transaction of the change they report.

A payment change and its messages commit or roll back together, so a crash never loses a
message and a rolled-back change never sends one. Each message's body is frozen here, once;
the dispatcher only signs and sends it. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

import msgspec
from sqlalchemy import Table, event, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from hub.db.base import new_id, utcnow
from hub.db.notifications import NotificationDelivery, NotificationEndpoint, NotificationMessage
from providers.base.statuses import PaymentStatus, SubscriptionStatus

#: Statuses a payment is announced moving into (its starting statuses are not news).
NOTIFIED_STATUSES = (
    PaymentStatus.REQUIRES_ACTION,
    PaymentStatus.PROCESSING,
    PaymentStatus.REQUIRES_CAPTURE,
    PaymentStatus.SUCCEEDED,
    PaymentStatus.FAILED,
    PaymentStatus.CANCELED,
    PaymentStatus.PARTIALLY_REFUNDED,
    PaymentStatus.REFUNDED,
)
DISPUTE_UPDATED = "payment.dispute_updated"
#: A held authorization lapses within HUB_CAPTURE_WARNING_HOURS (hub/payments/expiry.py).
CAPTURE_EXPIRING = "payment.capture_expiring"
TRANSFER_CREATED = "transfer.created"
TRANSFER_REVERSED = "transfer.reversed"
PING = "ping"
#: A subscription is announced moving into any of its statuses (the provider's own names).
SUBSCRIPTION_STATUSES = tuple(SubscriptionStatus)
INVOICE_TYPES = ("invoice.paid", "invoice.payment_failed")
#: A connected account (a marketplace seller) changed: its status, what it may do, what is due.
CONNECTED_ACCOUNT_UPDATED = "connected_account.updated"
EVENT_TYPES = (
    *(f"payment.{s}" for s in NOTIFIED_STATUSES),
    DISPUTE_UPDATED,
    CAPTURE_EXPIRING,
    TRANSFER_CREATED,
    TRANSFER_REVERSED,
    *(f"subscription.{s}" for s in SUBSCRIPTION_STATUSES),
    *INVOICE_TYPES,
    CONNECTED_ACCOUNT_UPDATED,
    PING,
)

#: Set on a session whose transaction added due deliveries: its commit wakes the dispatchers.
WAKE = "hub.notifications.recorded"
_wakers: set[Callable[[], None]] = set()


def add_waker(wake: Callable[[], None]) -> None:
    """``wake`` is called after a commit that recorded messages (the dispatcher's in-process event)."""
    _wakers.add(wake)


def remove_waker(wake: Callable[[], None]) -> None:
    _wakers.discard(wake)


@event.listens_for(Session, "after_commit")
def _wake_dispatchers(session: Session) -> None:
    if session.info.pop(WAKE, False):
        for wake in list(_wakers):
            wake()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(WAKE, None)


def subscribed(enabled_events: Sequence[str], type_: str) -> bool:
    return type_ == PING or "*" in enabled_events or type_ in enabled_events


def encode_body(type_: str, at: datetime, data: Any) -> str:
    return msgspec.json.encode({"type": type_, "timestamp": at, "data": data}).decode()


async def object_changed(session: AsyncSession, tenant_id: str, type_: str, data: Any) -> None:
    """Add the message of a change to another of the tenant's objects (a subscription, an invoice).

    ``data`` is the object as the API shows it, frozen now: unlike a payment, nothing later in
    the transaction touches it again. One indexed read when the tenant has no endpoint.
    """
    endpoints = (
        await session.execute(
            select(NotificationEndpoint.id, NotificationEndpoint.enabled_events).where(
                NotificationEndpoint.tenant_id == tenant_id, NotificationEndpoint.status == "enabled"
            )
        )
    ).all()
    if endpoints:
        record(session, tenant_id, type_, data, [(e.id, e.enabled_events) for e in endpoints])


def record(
    session: AsyncSession,
    tenant_id: str,
    type_: str,
    data: Any,
    endpoints: Sequence[tuple[str, Sequence[str]]],
    payment_id: str | None = None,
) -> NotificationMessage | None:
    """Add one message and a delivery to each endpoint subscribed to its type (None when none is)."""
    targets = [endpoint_id for endpoint_id, events in endpoints if subscribed(events, type_)]
    if not targets:
        return None
    now = utcnow()
    message = NotificationMessage(
        id=new_id("msg"),
        tenant_id=tenant_id,
        type=type_,
        payment_id=payment_id,
        body=encode_body(type_, now, data),
        created_at=now,
    )
    session.add(message)
    session.add_all(
        NotificationDelivery(
            id=new_id("ndl"),
            tenant_id=tenant_id,
            endpoint_id=endpoint_id,
            message=message,
            type=type_,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        for endpoint_id in targets
    )
    session.sync_session.info[WAKE] = True
    return message


# -- set-wise, for the webhook applier: one read of endpoints and one INSERT per table a batch --


async def enabled_endpoints(
    session: AsyncSession, tenant_ids: Sequence[str]
) -> dict[str, list[tuple[str, Sequence[str]]]]:
    """Each tenant's enabled endpoints (id, enabled events), in one indexed read for them all."""
    found: dict[str, list[tuple[str, Sequence[str]]]] = {}
    if not tenant_ids:
        return found
    rows = await session.execute(
        select(NotificationEndpoint.tenant_id, NotificationEndpoint.id, NotificationEndpoint.enabled_events).where(
            NotificationEndpoint.tenant_id.in_(sorted(set(tenant_ids))), NotificationEndpoint.status == "enabled"
        )
    )
    for tenant_id, endpoint_id, events in rows:
        found.setdefault(tenant_id, []).append((endpoint_id, events))
    return found


class News(msgspec.Struct, frozen=True):
    """One message to record: its type, its object as the API shows it, and the tenant's endpoints."""

    tenant_id: str
    type: str
    data: Any
    endpoints: Sequence[tuple[str, Sequence[str]]]
    payment_id: str | None = None


async def record_many(session: AsyncSession, news: Sequence[News]) -> int:
    """``record`` for many messages: one INSERT of the messages and one of their deliveries.

    Core statements, executed many; the bodies are frozen here. Returns the messages recorded.
    """
    now = utcnow()
    messages: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    for item in news:
        targets = [endpoint_id for endpoint_id, events in item.endpoints if subscribed(events, item.type)]
        if not targets:
            continue
        message_id = new_id("msg")
        messages.append(
            {
                "id": message_id,
                "tenant_id": item.tenant_id,
                "type": item.type,
                "payment_id": item.payment_id,
                "body": encode_body(item.type, now, item.data),
                "created_at": now,
            }
        )
        deliveries += [
            {
                "id": new_id("ndl"),
                "tenant_id": item.tenant_id,
                "endpoint_id": endpoint_id,
                "message_id": message_id,
                "type": item.type,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for endpoint_id in targets
        ]
    if not messages:
        return 0
    await session.execute(insert(cast(Table, NotificationMessage.__table__)), messages)
    await session.execute(insert(cast(Table, NotificationDelivery.__table__)), deliveries)
    session.sync_session.info[WAKE] = True
    return len(messages)
