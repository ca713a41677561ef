"""A payment's news in the outbox: which messages a change of a payment causes, and their bodies.

The payment side of the outbox (``hub.notifications.outbox`` records the messages): the body is
the payment as the API shows it, rendered again just before the commit. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import event, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from hub.db.base import utcnow
from hub.db.notifications import NotificationEndpoint
from hub.db.payments import Payment
from hub.db.vault import ProviderCredential
from hub.notifications.outbox import DISPUTE_UPDATED, NOTIFIED_STATUSES, encode_body, record
from hub.payments.common import payment_view

#: (message, payment, publishable key) whose bodies are rendered again just before the commit.
_BODIES = "hub.payments.bodies"


@event.listens_for(Session, "before_commit")
def _final_bodies(session: Session) -> None:
    # The transaction may touch the payment again after the change was recorded (releasing its
    # in-flight marker, say), which moves updated_at: the body must show the row as committed.
    for message, payment, publishable_key in session.info.pop(_BODIES, ()):
        if session.is_modified(payment):
            payment.updated_at = utcnow()
        message.body = encode_body(message.type, message.created_at, payment_view(payment, publishable_key))


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_BODIES, None)


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


def news(payment: Payment, previous_status: str, previous_dispute: str | None) -> list[str]:
    """The message types a change of ``payment`` from (``previous_status``, ``previous_dispute``) causes."""
    types = []
    if payment.status != previous_status and payment.status in NOTIFIED_STATUSES:
        types.append(f"payment.{payment.status}")
    if payment.dispute_status != previous_dispute and payment.dispute_status is not None:
        types.append(DISPUTE_UPDATED)
    return types


async def publishable_keys(session: AsyncSession, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The publishable key of each (tenant, provider), in one read (a payment's view shows it)."""
    pairs = set(pairs)
    if not pairs:
        return {}
    rows = await session.execute(
        select(ProviderCredential.tenant_id, ProviderCredential.provider, ProviderCredential.publishable_key).where(
            ProviderCredential.tenant_id.in_(sorted({t for t, _ in pairs}))
        )
    )
    return {(t, p): key for t, p, key in rows if (t, p) in pairs}


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
