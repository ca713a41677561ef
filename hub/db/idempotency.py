"""Idempotency records: one row per (tenant, route, Idempotency-Key), kept at least 24 hours."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, utcnow


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"

    # The primary key is the rule: of two workers claiming one key, the database lets one in.
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    route: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    # A time-ordered id fixed at the first attempt; the objects a request creates take their ids
    # from it, so a retry after an unknown outcome resumes the same objects instead of new ones.
    seed: Mapped[str] = mapped_column(String(40))
    #: running (a worker holds the lease), done (the response is stored), open (the last attempt
    #: failed; a retry may run again).
    state: Mapped[str] = mapped_column(String(10))
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    #: Bumped at each claim, so a conditional UPDATE lets exactly one worker take over an attempt.
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    response: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
