"""Payments, refunds, customers and checkout sessions: provider-neutral, opaque provider ids only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, utcnow
from providers.base.statuses import DisputeStatus, PaymentStatus, RefundReason, RefundStatus, check_in


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        Index("ix_payments_tenant_id_id", "tenant_id", "id"),
        Index("ix_payments_provider_payment", "provider", "provider_payment_id"),
        Index("ix_payments_tenant_id_status_id", "tenant_id", "status", "id"),
        Index("ix_payments_status_capture_before", "status", "capture_before"),
        CheckConstraint(check_in("status", PaymentStatus), name="status"),
        CheckConstraint(check_in("dispute_status", DisputeStatus), name="dispute_status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(40))
    provider_payment_id: Mapped[str | None] = mapped_column(String(255), default=None)
    status: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    capture_method: Mapped[str] = mapped_column(String(20))
    amount_capturable: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_received: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    client_secret: Mapped[str | None] = mapped_column(String(255), default=None)
    customer_id: Mapped[str | None] = mapped_column(String(40), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    metadata_: Mapped[dict] = mapped_column("metadata", default=dict)
    # Kept so that a creation retried under the same provider idempotency key asks for exactly
    # what the first attempt asked (a provider refuses the same key with other parameters).
    payment_method: Mapped[str | None] = mapped_column(String(255), default=None)
    confirm: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Charged without the customer present (a saved card): the provider must not ask them to act.
    off_session: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The type of the method paid with, when known (``Capabilities.payment_method_types``).
    payment_method_type: Mapped[str | None] = mapped_column(String(40), default=None)
    #: Where the buyer must go while the payment waits for them (a bank's page).
    next_action_url: Mapped[str | None] = mapped_column(Text, default=None)
    last_error_code: Mapped[str | None] = mapped_column(String(80), default=None)
    decline_code: Mapped[str | None] = mapped_column(String(80), default=None)
    dispute_status: Mapped[str | None] = mapped_column(String(40), default=None)
    # The provider's cumulative refunded figure (a charge's amount_refunded) and the provider time
    # (epoch seconds) it was true at: only newer news replaces it (hub.payments.apply).
    provider_refunded: Mapped[int | None] = mapped_column(BigInteger, default=None)
    provider_refunded_at: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # The operation (create, capture, cancel, refund) a worker is running at the provider now.
    # Set by a conditional UPDATE, so of two racing workers exactly one reaches the provider;
    # pending_since lets a later request take over from a worker that died mid-call.
    pending_op: Mapped[str | None] = mapped_column(String(20), default=None)
    pending_since: Mapped[datetime | None] = mapped_column(default=None)
    # A held authorization's last moment of capture (the provider's), and when the tenant was
    # warned it is near (hub/payments/expiry.py: set by the one worker whose claim took it).
    capture_before: Mapped[datetime | None] = mapped_column(default=None)
    capture_warned_at: Mapped[datetime | None] = mapped_column(default=None)
    # A destination charge: the connected account (hub id) the money goes to, and the tenant's fee.
    transfer_to: Mapped[str | None] = mapped_column(String(40), default=None)
    application_fee_amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # What its transfers sent to connected accounts, less the reversals the provider confirmed
    # (hub/payments/transfers.py keeps it under the payment's row lock).
    amount_transferred: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # A destination charge: the part of amount_refunded whose refunds took the seller's share back
    # (``Refund.reversed_transfer``); what the seller still holds follows (hub.payments.common).
    amount_refund_reversed: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Why the provider canceled it (``automatic``: a hold that lapsed uncaptured).
    cancellation_reason: Mapped[str | None] = mapped_column(String(80), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (
        UniqueConstraint("tenant_id", "provider_refund_id"),
        CheckConstraint(check_in("status", RefundStatus), name="status"),
        CheckConstraint(check_in("reason", RefundReason), name="reason"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    provider_refund_id: Mapped[str | None] = mapped_column(String(255), default=None)
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(40))
    # The earliest provider time (epoch seconds) the refund was known in its status (hub.payments.apply).
    status_at: Mapped[int | None] = mapped_column(BigInteger, default=None)
    reason: Mapped[str | None] = mapped_column(String(80), default=None)
    # The refund reversed its destination charge's transfer (and refunded the fee) in proportion:
    # asked for by the hub, or reported by the provider. Once true, it stays true.
    reversed_transfer: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Transfer(Base):
    """Money sent from a payment to a seller's connected account (separate charges and transfers).

    Written (no provider id, ``pending``) under the payment's row lock before the provider is
    called, so concurrent releases count each other and never overdraw the payment.
    """

    __tablename__ = "transfers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "provider_transfer_id"),
        CheckConstraint("status IN ('pending', 'paid', 'partially_reversed', 'reversed')", name="status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    connected_account_id: Mapped[str] = mapped_column(ForeignKey("connected_accounts.id", ondelete="CASCADE"))
    provider_transfer_id: Mapped[str | None] = mapped_column(String(255), default=None)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # The reversals the provider confirmed (a reversal still being asked for frees nothing yet).
    amount_reversed: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(40))
    metadata_: Mapped[dict] = mapped_column("metadata", default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TransferReversal(Base):
    """A reversal of (part of) a transfer: written before the provider is asked, like a refund."""

    __tablename__ = "transfer_reversals"
    __table_args__ = (UniqueConstraint("tenant_id", "provider_reversal_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    transfer_id: Mapped[str] = mapped_column(ForeignKey("transfers.id", ondelete="CASCADE"), index=True)
    #: The refund that asked for it (a refund with ``reverse_transfers``), if any.
    refund_id: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    provider_reversal_id: Mapped[str | None] = mapped_column(String(255), default=None)
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    # Null between the row's insert and the provider's answer: the row is written first, so a
    # request that cannot be stored never leaves a customer at the provider the hub does not know.
    provider_customer_id: Mapped[str | None] = mapped_column(String(255), default=None)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    metadata_: Mapped[dict] = mapped_column("metadata", default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CheckoutSession(Base):
    __tablename__ = "checkout_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    provider_session_id: Mapped[str] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text, default=None)
    payment_id: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
