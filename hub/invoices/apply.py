"""Applying a provider event about an invoice the hub created, under the invoice's row lock."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.base import utcnow
from hub.db.recurring import Invoice
from hub.invoices.status import apply_snapshot
from hub.recurring.found import created_row
from providers.base.invoices import InvoiceSnapshot


async def apply_invoice(
    session: AsyncSession, tenant_id: str, provider: str, snap: InvoiceSnapshot, hub_id: str | None = None
) -> str | None:
    """The hub invoice id the news was applied to, or ``None`` when the hub has no such invoice
    (a subscription's invoice, made by the provider itself). ``hub_id``: the hub's id the invoice
    names (its metadata), which finds a row whose creation answer has not arrived yet."""
    row = await created_row(session, Invoice, tenant_id, provider, snap.provider_invoice_id, hub_id)
    if row is None:
        return None
    apply_snapshot(row, snap)
    row.updated_at = utcnow()
    await session.flush()
    return row.id
