"""Stripe <-> neutral shapes for invoices and payment links."""

from __future__ import annotations

from typing import Any

from providers.base.invoices import InvoiceCreate, InvoiceLine, InvoiceSnapshot, PaymentLinkSnapshot
from providers.base.statuses import InvoiceStatus
from providers.stripe import wire
from providers.stripe.transformers import status_of

#: Stripe's invoice statuses are the neutral ones, name for name.
_INVOICE_STATUS = {s.value: s for s in InvoiceStatus}


def invoice_params(data: InvoiceCreate) -> dict[str, Any]:
    return {
        "customer": data.provider_customer_id,
        "currency": data.currency,
        # Stripe emails the hosted page and the customer pays there; nothing is charged automatically.
        "collection_method": "send_invoice",
        "days_until_due": data.days_until_due,
        # The hub decides when the draft is finalized and sent (``send``), not Stripe's timer.
        "auto_advance": False,
        # Only the lines of this request, never the customer's other pending items.
        "pending_invoice_items_behavior": "exclude",
        "metadata": dict(data.metadata),
    }


def invoice_item_params(data: InvoiceCreate, line: InvoiceLine, *, invoice_id: str) -> dict[str, Any]:
    return {
        "customer": data.provider_customer_id,
        "invoice": invoice_id,
        "currency": data.currency,
        "description": line.description,
        "unit_amount_decimal": str(line.amount),
        "quantity": line.quantity,
        "metadata": {k: v for k, v in data.metadata.items() if k.startswith("hub_")},
    }


def invoice_from_stripe(obj: object) -> InvoiceSnapshot:
    """Read strictly: a field of the wrong type raises ``FieldError`` naming it (never coerced)."""
    invoice = wire.decode(obj, wire.Invoice)
    return InvoiceSnapshot(
        provider_invoice_id=invoice.id,
        status=status_of(invoice.status, _INVOICE_STATUS, "invoice"),
        amount_due=invoice.amount_due or 0,
        amount_paid=invoice.amount_paid or 0,
        currency=(invoice.currency or "").lower(),
        hosted_invoice_url=invoice.hosted_invoice_url,
        due_date=invoice.due_date,
        metadata=invoice.metadata,
    )


def payment_link_from_stripe(obj: object) -> PaymentLinkSnapshot:
    link = wire.decode(obj, wire.PaymentLink)
    return PaymentLinkSnapshot(provider_payment_link_id=link.id, url=link.url or "", active=link.active)
