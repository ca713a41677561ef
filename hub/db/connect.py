"""The tenant's marketplace sellers: connected accounts at its provider (Stripe Connect).

Provider-neutral like the payment tables: the provider's opaque account id and the facts the
hub reports (status, what the provider still needs), never a provider's wire shape.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, utcnow
from providers.base.statuses import ConnectedAccountStatus, check_in


class ConnectedAccount(Base):
    __tablename__ = "connected_accounts"
    __table_args__ = (
        Index("ix_connected_accounts_tenant_id_id", "tenant_id", "id"),
        UniqueConstraint("tenant_id", "provider", "provider_account_id"),
        CheckConstraint(check_in("status", ConnectedAccountStatus), name="status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(40))
    #: Null until the provider answered the creation (the row is written first, then the call).
    provider_account_id: Mapped[str | None] = mapped_column(String(255), default=None)
    type: Mapped[str] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    business_type: Mapped[str | None] = mapped_column(String(40), default=None)
    status: Mapped[str] = mapped_column(String(20), default=ConnectedAccountStatus.ONBOARDING.value)
    charges_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    payouts_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    details_submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Whether the account may receive transfers (Stripe: its ``transfers`` capability is active).
    transfers_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    #: {"currently_due": [...], "eventually_due": [...], "past_due": [...], "disabled_reason": str|None}
    requirements: Mapped[dict] = mapped_column(JSON, default=dict)
    metadata_: Mapped[dict] = mapped_column("metadata", default=dict)
    #: The provider time (epoch seconds) of the newest news applied; older news changes nothing.
    provider_updated_at: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
