"""Envelope-encryption storage: per-tenant data keys and encrypted provider credentials."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, utcnow


class TenantDataKey(Base):
    """A tenant's AES-256 data key, wrapped (encrypted) by a master key named by ``master_key_id``."""

    __tablename__ = "tenant_data_keys"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    master_key_id: Mapped[str] = mapped_column(String(64), index=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(default=None)


class ProviderCredential(Base):
    """One tenant's credentials for one provider. Secret fields are vault ciphertexts."""

    __tablename__ = "provider_credentials"
    __table_args__ = (UniqueConstraint("tenant_id", "provider"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    # Bumped on every change: the provider client cache is keyed by (tenant, version).
    version: Mapped[int] = mapped_column(default=1)
    mode: Mapped[str] = mapped_column(String(10))
    publishable_key: Mapped[str] = mapped_column(String(255))
    secret_key_hint: Mapped[str] = mapped_column(String(40))
    secret_key_ct: Mapped[bytes] = mapped_column(LargeBinary)
    webhook_secret_ct: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    previous_webhook_secret_ct: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    previous_webhook_secret_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    # The plugin's other secret fields (CredentialRole.SEALED), one ciphertext of a JSON object.
    sealed_secrets_ct: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    #: The signing secret of the tenant's Connect endpoint (events about its connected accounts).
    connect_webhook_secret_ct: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    webhook_endpoint_id: Mapped[str | None] = mapped_column(String(255), default=None)
    # A sign of a wrong signing secret; written at most once a minute per process (webhook_health).
    last_signature_failure_at: Mapped[datetime | None] = mapped_column(default=None)
    verified_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
