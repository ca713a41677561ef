"""Saved payment methods, the catalogue, subscriptions, invoices and payment links.

Provider-neutral like the payment tables: each row holds the provider's opaque id and the
facts the hub reports, never a provider's wire shape.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, utcnow
from providers.base.statuses import Interval, InvoiceStatus, SetupStatus, SubscriptionStatus, check_in


class SetupIntent(Base):
    __tablename__ = "setup_intents"
    __table_args__ = (
        Index("ix_setup_intents_tenant_id_id", "tenant_id", "id"),
        CheckConstraint(check_in("status", SetupStatus), name="status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(40))
    #: None until the provider's answer: the row is written before the provider is called.
    provider_setup_intent_id: Mapped[str | None] = mapped_column(String(255), index=True, default=None)
    customer_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(40))
    client_secret: Mapped[str | None] = mapped_column(String(255), default=None)
    payment_method: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (Index("ix_products_tenant_id_id", "tenant_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(40))
    #: None until the provider's answer: the row is written before the provider is called.
    provider_product_id: Mapped[str | None] = mapped_column(String(255), default=None)
    name: Mapped[str] = mapped_column(String(250))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    metadata_: Mapped[dict] = mapped_column("metadata", default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Price(Base):
    __tablename__ = "prices"
    __table_args__ = (
        Index("ix_prices_tenant_id_id", "tenant_id", "id"),
        CheckConstraint(check_in("interval", Interval), name="interval"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(40))
    #: None until the provider's answer: the row is written before the provider is called.
    provider_price_id: Mapped[str | None] = mapped_column(String(255), default=None)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    currency: Mapped[str] = mapped_column(String(3))
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    #: None for a one-off price.
    interval: Mapped[str | None] = mapped_column(String(10), default=None)
    interval_count: Mapped[int | None] = mapped_column(Integer, default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "provider", "provider_subscription_id"),
        Index("ix_subscriptions_tenant_id_id", "tenant_id", "id"),
        CheckConstraint(check_in("status", SubscriptionStatus), name="status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(40))
    #: None until the provider's answer: the row is written before the provider is called.
    provider_subscription_id: Mapped[str | None] = mapped_column(String(255), default=None)
    customer_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(30))
    #: The provider's time (epoch seconds) of the fact the status came from: an older one is history.
    status_as_of: Mapped[int] = mapped_column(BigInteger, default=0)
    #: [{"price_id", "quantity"}] in hub ids.
    items: Mapped[list] = mapped_column(JSON, default=list)
    current_period_end: Mapped[datetime | None] = mapped_column(default=None)
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    latest_invoice_id: Mapped[str | None] = mapped_column(String(255), default=None)
    metadata_: Mapped[dict] = mapped_column("metadata", default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("tenant_id", "provider", "provider_invoice_id"),
        Index("ix_invoices_tenant_id_id", "tenant_id", "id"),
        CheckConstraint(check_in("status", InvoiceStatus), name="status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(40))
    #: None until the provider's answer: the row is written before the provider is called.
    provider_invoice_id: Mapped[str | None] = mapped_column(String(255), default=None)
    customer_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    amount_due: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    #: [{"description", "amount", "quantity"}] as asked.
    items: Mapped[list] = mapped_column(JSON, default=list)
    hosted_invoice_url: Mapped[str | None] = mapped_column(Text, default=None)
    due_date: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PaymentLink(Base):
    __tablename__ = "payment_links"
    __table_args__ = (Index("ix_payment_links_tenant_id_id", "tenant_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(40))
    #: None until the provider's answer: the row is written before the provider is called.
    provider_payment_link_id: Mapped[str | None] = mapped_column(String(255), default=None)
    url: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: [{"price_id", "quantity"}] in hub ids.
    line_items: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
