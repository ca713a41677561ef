"""Applying a provider event about an invoice the hub created, under the invoice's row lock."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.base import utcnow
from hub.db.recurring import Invoice
from hub.invoices.status import apply_snapshot
from providers.base.invoices import InvoiceSnapshot


async def apply_invoice(session: AsyncSession, tenant_id: str, provider: str, snap: InvoiceSnapshot) -> str | None:
    """The hub invoice id the news was applied to, or ``None`` when the hub has no such invoice
    (a subscription's invoice, made by the provider itself)."""
    row = (
        await session.execute(
            select(Invoice)
            .where(
                Invoice.tenant_id == tenant_id,
                Invoice.provider == provider,
                Invoice.provider_invoice_id == snap.provider_invoice_id,
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    apply_snapshot(row, snap)
    row.updated_at = utcnow()
    await session.flush()
    return row.id
