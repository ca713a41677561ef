"""The audit trail: who changed what, when. Callers pass names of things, never their values."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.base import new_id, utcnow
from hub.db.tenants import AuditEntry


def record(
    session: AsyncSession,
    *,
    tenant_id: str,
    actor: str,
    action: str,
    target: str,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            id=new_id("aud"),
            tenant_id=tenant_id,
            actor=actor,
            action=action,
            target=target,
            details=details or {},
            created_at=utcnow(),
        )
    )
