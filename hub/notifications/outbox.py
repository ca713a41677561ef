"""The outbox: notifications recorded in the very transaction of the change they report.

A payment change and its messages commit or roll back together, so a crash never loses a
message and a rolled-back change never sends one. Each message's body is frozen here, once;
the dispatcher only signs and sends it. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import event, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from hub.db.base import new_id, utcnow
from hub.db.notifications import NotificationDelivery, NotificationEndpoint, NotificationMessage
from hub.db.payments import Payment
from hub.db.vault import ProviderCredential
from hub.payments.common import payment_view
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
PING = "ping"
#: A subscription is announced moving into any of its statuses (the provider's own names).
SUBSCRIPTION_STATUSES = tuple(SubscriptionStatus)
INVOICE_TYPES = ("invoice.paid", "invoice.payment_failed")
EVENT_TYPES = (
    *(f"payment.{s}" for s in NOTIFIED_STATUSES),
    DISPUTE_UPDATED,
    *(f"subscription.{s}" for s in SUBSCRIPTION_STATUSES),
    *INVOICE_TYPES,
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


#: (message, payment, publishable key) whose bodies are rendered again just before the commit.
_BODIES = "hub.notifications.bodies"


@event.listens_for(Session, "before_commit")
def _final_bodies(session: Session) -> None:
    # The transaction may touch the payment again after the change was recorded (releasing its
    # in-flight marker, say), which moves updated_at: the body must show the row as committed.
    for message, payment, publishable_key in session.info.pop(_BODIES, ()):
        if session.is_modified(payment):
            payment.updated_at = utcnow()
        message.body = encode_body(message.type, message.created_at, payment_view(payment, publishable_key))


@event.listens_for(Session, "after_commit")
def _wake_dispatchers(session: Session) -> None:
    if session.info.pop(WAKE, False):
        for wake in list(_wakers):
            wake()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(WAKE, None)
    session.info.pop(_BODIES, None)


def subscribed(enabled_events: Sequence[str], type_: str) -> bool:
    return type_ == PING or "*" in enabled_events or type_ in enabled_events


def encode_body(type_: str, at: datetime, data: Any) -> str:
    return msgspec.json.encode({"type": type_, "timestamp": at, "data": data}).decode()


def _announced(payment: Payment, previous_status: str | None) -> list[str]:
    state = inspect(payment)
    if previous_status is None:
        # The status it had when loaded (or last flushed) in this transaction.
        deleted = state.attrs.status.history.deleted
        previous_status = deleted[0] if deleted else payment.status
    types = []
    if payment.status != previous_status and payment.status in NOTIFIED_STATUSES:
        types.append(f"payment.{payment.status}")
    if state.attrs.dispute_status.history.added and payment.dispute_status is not None:
        types.append(DISPUTE_UPDATED)
    return types


async def payment_changed(session: AsyncSession, payment: Payment, previous_status: str | None = None) -> None:
    """Add the messages this change of ``payment`` causes, one delivery per subscribed endpoint.

    ``previous_status`` is the status before the change; when omitted, the status the payment
    had when it was loaded (or last flushed) in this transaction. No statement at all when the
    change is not news, one indexed read when the tenant has no endpoint.
    """
    types = _announced(payment, previous_status)
    if not types:
        return
    endpoints = (
        await session.execute(
            select(NotificationEndpoint.id, NotificationEndpoint.enabled_events).where(
                NotificationEndpoint.tenant_id == payment.tenant_id, NotificationEndpoint.status == "enabled"
            )
        )
    ).all()
    if not endpoints:
        return
    payment.updated_at = utcnow()
    publishable_key = await session.scalar(
        select(ProviderCredential.publishable_key).where(
            ProviderCredential.tenant_id == payment.tenant_id, ProviderCredential.provider == payment.provider
        )
    )
    data = payment_view(payment, publishable_key)
    for type_ in types:
        message = record(
            session, payment.tenant_id, type_, data, [(e.id, e.enabled_events) for e in endpoints], payment.id
        )
        if message is not None:
            session.info.setdefault(_BODIES, []).append((message, payment, publishable_key))


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
