"""Neutral invoice and payment-link types, and that part of the provider contract.

Defaults raise ``NotSupported`` (the hub answers 501), so a payments-only plugin keeps working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from providers.base.errors import NotSupported
from providers.base.statuses import InvoiceStatus
from providers.base.types import Amount

if TYPE_CHECKING:  # the Provider module imports this one
    from providers.base.provider import TenantContext


class InvoiceLine(msgspec.Struct, frozen=True):
    description: str
    #: Unit amount in minor units.
    amount: int
    quantity: int = 1


class InvoiceCreate(msgspec.Struct, frozen=True):
    provider_customer_id: str
    currency: str
    lines: tuple[InvoiceLine, ...]
    days_until_due: int
    #: Carries ``hub_tenant_id`` and ``hub_invoice_id``.
    metadata: dict[str, str]


class InvoiceSnapshot(msgspec.Struct, frozen=True):
    """An invoice at one moment. ``hosted_invoice_url`` is the page the customer pays on (once finalized)."""

    provider_invoice_id: str
    status: InvoiceStatus
    amount_due: Amount
    amount_paid: Amount
    currency: str
    hosted_invoice_url: str | None = None
    #: Epoch seconds.
    due_date: Amount | None = None
    metadata: dict[str, str] = {}


class PaymentLinkLine(msgspec.Struct, frozen=True):
    provider_price_id: str
    quantity: int = 1


class PaymentLinkCreate(msgspec.Struct, frozen=True):
    lines: tuple[PaymentLinkLine, ...]
    metadata: dict[str, str]


class PaymentLinkSnapshot(msgspec.Struct, frozen=True):
    provider_payment_link_id: str
    url: str
    active: bool


class InvoicesAPI:
    """Invoices a provider emails and hosts, and shareable payment links."""

    async def create_invoice(self, ctx: TenantContext, data: InvoiceCreate, *, idempotency_key: str) -> InvoiceSnapshot:
        """Create a draft invoice with its lines, to be paid on the provider's hosted page once sent."""
        raise NotSupported(f"{type(self).__name__} has no invoices")

    async def send_invoice(
        self, ctx: TenantContext, provider_invoice_id: str, *, idempotency_key: str
    ) -> InvoiceSnapshot:
        """Finalize the invoice if it is a draft and email its hosted page to the customer."""
        raise NotSupported(f"{type(self).__name__} has no invoices")

    async def void_invoice(
        self, ctx: TenantContext, provider_invoice_id: str, *, idempotency_key: str
    ) -> InvoiceSnapshot:
        """Void an open invoice (a draft is voided by finalizing it first)."""
        raise NotSupported(f"{type(self).__name__} has no invoices")

    async def create_payment_link(
        self, ctx: TenantContext, data: PaymentLinkCreate, *, idempotency_key: str
    ) -> PaymentLinkSnapshot:
        """A shareable URL where anyone may pay for the given prices."""
        raise NotSupported(f"{type(self).__name__} has no payment links")

    async def deactivate_payment_link(
        self, ctx: TenantContext, provider_payment_link_id: str, *, idempotency_key: str
    ) -> PaymentLinkSnapshot:
        """Stop a payment link from taking payments."""
        raise NotSupported(f"{type(self).__name__} has no payment links")
