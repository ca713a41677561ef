"""Notifications to tenants' own applications: endpoints, the outbox (messages), deliveries, attempts.

A message is written once, in the transaction of the change it reports, with its body frozen;
each enabled endpoint gets one delivery row, which the dispatcher claims, sends and updates.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db.base import Base, utcnow


class NotificationEndpoint(Base):
    __tablename__ = "notification_endpoints"
    __table_args__ = (
        # The one read every payment change makes: this tenant's enabled endpoints.
        Index("ix_notification_endpoints_tenant_id_status", "tenant_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    enabled_events: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    # Sealed by the vault, bound to (tenant, this endpoint): never readable elsewhere.
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    previous_secret: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationMessage(Base):
    __tablename__ = "notification_messages"
    # Retention: messages older than their window (then: is any delivery of it left?).
    __table_args__ = (Index("ix_notification_messages_created_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(80))
    payment_id: Mapped[str | None] = mapped_column(String(40), default=None)
    # The exact bytes every attempt sends: one message id never carries two bodies.
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationDelivery(Base):
    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "message_id"),
        Index("ix_notification_deliveries_endpoint_id_id", "endpoint_id", "id"),
        # The dispatcher's claim: due pending deliveries, oldest first.
        Index("ix_notification_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        # Retention: delivered or failed deliveries whose last change is older than their window.
        Index("ix_notification_deliveries_status_updated_at", "status", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("notification_endpoints.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(ForeignKey("notification_messages.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # While a worker sends, this is its lease's end: a worker that dies mid-send leaves the
    # delivery due again then, and claim_token tells a late writer its lease was taken over.
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    claim_token: Mapped[str | None] = mapped_column(String(40), default=None)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(80), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # Only so that one flush inserts the message before its deliveries; never loaded.
    message: Mapped[NotificationMessage] = relationship(lazy="raise")


class NotificationAttempt(Base):
    __tablename__ = "notification_attempts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    delivery_id: Mapped[str] = mapped_column(ForeignKey("notification_deliveries.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    #: A class of failure (timeout, connect_error, blocked_address, http_status...), never a message.
    error: Mapped[str | None] = mapped_column(String(80), default=None)
    duration_ms: Mapped[int] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(String(512), default=None)
