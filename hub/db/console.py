"""Console sign-in sessions: server-side, so the browser's cookie holds only a random id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, utcnow


class ConsoleSession(Base):
    __tablename__ = "console_sessions"

    # SHA-256 hex digest of the cookie's random value: a copy of the table signs nobody in.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    # The admin key the session was opened with: revoking it ends the session at once.
    api_key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)  # retention: expired sessions go
