"""The webhook event store (the inbox): one row per distinct (tenant, provider, provider event id).

A row is written ``pending`` with the neutral event in ``payload`` when a delivery is verified,
and moved to ``applied``, ``ignored`` or ``failed`` by the applier, in the transaction that
applies it. ``attempts`` and ``next_attempt_at`` pace the retries of an event that failed to apply.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, utcnow


class WebhookEvent(Base):
    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "provider", "provider_event_id"),
        Index("ix_webhook_events_tenant_id_id", "tenant_id", "id"),
        # The applier's claim: the oldest pending events first.
        Index("ix_webhook_events_outcome_id", "outcome", "id"),
        # Retention: finished events older than their window.
        Index("ix_webhook_events_outcome_received_at", "outcome", "received_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(40))
    provider_event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(120))
    payment_id: Mapped[str | None] = mapped_column(String(40), default=None)
    outcome: Mapped[str] = mapped_column(String(20))
    deliveries: Mapped[int] = mapped_column(default=1)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_delivery_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The neutral event (msgpack), kept until it is applied; none when it could not be interpreted.
    payload: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    #: Why the event is ``failed`` (or why its last attempt failed); never a secret, never a value.
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
