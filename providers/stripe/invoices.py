"""Stripe invoices (emailed, paid on Stripe's hosted page) and Payment Links."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from providers.base.invoices import (
    InvoiceCreate,
    InvoiceSnapshot,
    PaymentLinkCreate,
    PaymentLinkSnapshot,
)
from providers.stripe import invoice_transformers as rtx
from providers.stripe.errors import stripe_errors

if TYPE_CHECKING:
    from providers.base.provider import TenantContext
    from providers.stripe.host import StripeHost


class StripeInvoices:
    """Mixed into StripeProvider; uses ``self.client(ctx)`` for the tenant's StripeClient."""

    async def create_invoice(
        self: StripeHost, ctx: TenantContext, data: InvoiceCreate, *, idempotency_key: str
    ) -> InvoiceSnapshot:
        client = self.client(ctx)
        params: Any = rtx.invoice_params(data)
        with stripe_errors():
            invoice = await client.v1.invoices.create_async(params, {"idempotency_key": idempotency_key})
            for n, line in enumerate(data.lines):
                # Each line under its own key derived from the invoice's: a retry adds none twice.
                item: Any = rtx.invoice_item_params(data, line, invoice_id=invoice["id"])
                await client.v1.invoice_items.create_async(item, {"idempotency_key": f"{idempotency_key}-line-{n}"})
            invoice = await client.v1.invoices.retrieve_async(invoice["id"])
        return rtx.invoice_from_stripe(invoice)

    async def send_invoice(
        self: StripeHost, ctx: TenantContext, provider_invoice_id: str, *, idempotency_key: str
    ) -> InvoiceSnapshot:
        invoices = self.client(ctx).v1.invoices
        return await _finalized_then(invoices, invoices.send_invoice_async, provider_invoice_id, idempotency_key)

    async def void_invoice(
        self: StripeHost, ctx: TenantContext, provider_invoice_id: str, *, idempotency_key: str
    ) -> InvoiceSnapshot:
        # Stripe voids only finalized invoices (a draft would be deleted, losing its record).
        invoices = self.client(ctx).v1.invoices
        return await _finalized_then(invoices, invoices.void_invoice_async, provider_invoice_id, idempotency_key)

    async def create_payment_link(
        self: StripeHost, ctx: TenantContext, data: PaymentLinkCreate, *, idempotency_key: str
    ) -> PaymentLinkSnapshot:
        params: Any = {
            "line_items": [{"price": line.provider_price_id, "quantity": line.quantity} for line in data.lines],
            "metadata": dict(data.metadata),
            # The PaymentIntent each purchase makes carries the tenant's stamp too.
            "payment_intent_data": {"metadata": {"hub_tenant_id": data.metadata.get("hub_tenant_id", "")}},
        }
        with stripe_errors():
            link = await self.client(ctx).v1.payment_links.create_async(params, {"idempotency_key": idempotency_key})
        return rtx.payment_link_from_stripe(link)

    async def deactivate_payment_link(
        self: StripeHost, ctx: TenantContext, provider_payment_link_id: str, *, idempotency_key: str
    ) -> PaymentLinkSnapshot:
        params: Any = {"active": False}
        with stripe_errors():
            link = await self.client(ctx).v1.payment_links.update_async(
                provider_payment_link_id, params, {"idempotency_key": idempotency_key}
            )
        return rtx.payment_link_from_stripe(link)


async def _finalized_then(invoices: Any, action: Any, invoice_id: str, idempotency_key: str) -> InvoiceSnapshot:
    """Finalize the invoice if it is still a draft (never auto-advanced: the hub decides), then act on it."""
    with stripe_errors():
        invoice = await invoices.retrieve_async(invoice_id)
        if invoice["status"] == "draft":
            params: Any = {"auto_advance": False}
            await invoices.finalize_invoice_async(
                invoice_id, params, {"idempotency_key": f"{idempotency_key}-finalize"}
            )
        invoice = await action(invoice_id, {}, {"idempotency_key": idempotency_key})
    return rtx.invoice_from_stripe(invoice)
