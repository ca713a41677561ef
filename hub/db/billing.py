"""billing_* tables: the platform's customers, subscriptions and received billing events.

They live on the shared Base (one schema, one Alembic chain) but hold only platform-billing
facts; no tenant Stripe credential, payment or tenant webhook event is stored here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, utcnow
from providers.base.statuses import SubscriptionStatus, check_in


class BillingCustomer(Base):
    """The tenant as a Customer on the PLATFORM's Stripe account (one per tenant)."""

    __tablename__ = "billing_customers"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BillingSubscription(Base):
    """A Subscription on the platform's account; a tenant's newest one is its billing status."""

    __tablename__ = "billing_subscriptions"
    __table_args__ = (
        Index("ix_billing_subscriptions_tenant_id_id", "tenant_id", "id"),
        CheckConstraint(check_in("status", SubscriptionStatus), name="status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    stripe_subscription_id: Mapped[str] = mapped_column(String(255), unique=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(255))
    plan_id: Mapped[str | None] = mapped_column(String(64), default=None)
    price_id: Mapped[str | None] = mapped_column(String(255), default=None)
    status: Mapped[str] = mapped_column(String(30))
    # Stripe time (epoch seconds) of the fact that set ``status``: an older event never overrides it.
    status_as_of: Mapped[int] = mapped_column(BigInteger, default=0)
    current_period_end: Mapped[datetime | None] = mapped_column(default=None)
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BillingEvent(Base):
    """One row per distinct platform webhook event; the unique event id is the dedup rule."""

    __tablename__ = "billing_events"
    # Retention: handled events older than their window.
    __table_args__ = (Index("ix_billing_events_outcome_received_at", "outcome", "received_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    stripe_event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(120))
    tenant_id: Mapped[str | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="SET NULL"), default=None, index=True
    )
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255), default=None)
    outcome: Mapped[str] = mapped_column(String(20))
    deliveries: Mapped[int] = mapped_column(default=1)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_delivery_at: Mapped[datetime] = mapped_column(default=utcnow)
