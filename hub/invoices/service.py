"""Invoices: create with lines (optionally sending at once), send, void, read, list.

The provider emails its hosted page and takes the payment; events keep the status true.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.customers.service import owned as owned_customer
from hub.db.base import utcnow
from hub.db.recurring import Invoice
from hub.errors import Conflict
from hub.idempotency import store
from hub.idempotency.attempt import OUTCOME_UNKNOWN, Attempt
from hub.invoices import schemas
from hub.invoices.status import FINAL, apply_snapshot
from hub.payments import common, money
from hub.recurring import objects
from hub.recurring.pages import page
from hub.services import Services
from providers.base.errors import ProviderError
from providers.base.invoices import InvoiceCreate, InvoiceLine, InvoiceSnapshot
from providers.base.provider import Provider, TenantContext

ROUTE_CREATE, ROUTE_SEND, ROUTE_VOID = "invoices.create", "invoices.send", "invoices.void"


def view(row: Invoice) -> schemas.Invoice:
    return schemas.Invoice(
        id=row.id,
        provider=row.provider,
        provider_invoice_id=row.provider_invoice_id,
        customer_id=row.customer_id,
        status=row.status,
        amount_due=row.amount_due,
        amount_paid=row.amount_paid,
        currency=row.currency,
        items=[schemas.Line(**i) for i in row.items or []],
        hosted_invoice_url=row.hosted_invoice_url,
        due_date=row.due_date,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def owned(session: AsyncSession, tenant_id: str, invoice_id: str) -> Invoice:
    return await objects.owned(session, Invoice, tenant_id, invoice_id)


async def create_invoice(
    session: AsyncSession, services: Services, who: TenantPrincipal, data: schemas.InvoiceCreate, attempt: Attempt
) -> schemas.Invoice:
    currency = money.normalize_currency(data.currency)
    total = 0
    for n, line in enumerate(data.items):
        money.check_amount(line.amount, currency, param=f"items.{n}.amount", minimum=False)
        total += line.amount * line.quantity
    money.check_amount(total, currency, param="items")
    customer = await owned_customer(session, who.tenant_id, data.customer_id, param="customer_id")
    provider = common.provider_by_name(services, customer.provider)
    ctx = await common.tenant_context(session, services, provider, who.tenant_id)
    lines = [{"description": i.description, "amount": i.amount, "quantity": i.quantity} for i in data.items]
    customer_id, provider_customer_id = customer.id, common.remote_customer_id(customer)

    def build(hub_id: str, snap: InvoiceSnapshot) -> Invoice:
        now = utcnow()
        row = Invoice(
            id=hub_id,
            tenant_id=who.tenant_id,
            provider=provider.name,
            provider_invoice_id=snap.provider_invoice_id,
            customer_id=customer_id,
            status="draft",
            currency=currency,
            amount_due=snap.amount_due,
            amount_paid=0,
            items=lines,
            created_at=now,
            updated_at=now,
        )
        apply_snapshot(row, snap)
        return row

    row = await objects.created(
        session,
        Invoice,
        attempt,
        prefix="inv",
        call=lambda hub_id: provider.create_invoice(
            ctx,
            InvoiceCreate(
                provider_customer_id=provider_customer_id,
                currency=currency,
                lines=tuple(InvoiceLine(i.description, i.amount, i.quantity) for i in data.items),
                days_until_due=data.days_until_due,
                metadata={"hub_tenant_id": who.tenant_id, "hub_invoice_id": hub_id},
            ),
            idempotency_key=store.provider_key(hub_id, "invoice"),
        ),
        build=build,
    )
    if data.send and row.status == "draft":
        # The draft is kept first: a retry with the key after a failed send sends this one.
        await session.commit()
        try:
            snap = await provider.send_invoice(
                ctx, row.provider_invoice_id, idempotency_key=store.provider_key(row.id, "send")
            )
        except ProviderError as exc:
            if not isinstance(exc, OUTCOME_UNKNOWN):
                # Refused, with the draft made (here and at the provider): the key answers with this
                # refusal from now on rather than making a second draft.
                await attempt.settle_error(session, exc)
                await session.commit()
            raise
        apply_snapshot(row, snap)
    return await objects.answer(session, attempt, row, view)


async def _act(
    session: AsyncSession,
    services: Services,
    who: TenantPrincipal,
    invoice_id: str,
    attempt: Attempt,
    operation: str,
    call: Callable[[Provider, TenantContext, str, str], Awaitable[InvoiceSnapshot]],
) -> schemas.Invoice:
    """Send or void: refuse a final invoice, call the provider, apply its answer."""
    row = await owned(session, who.tenant_id, invoice_id)
    provider = common.provider_by_name(services, row.provider)
    ctx = await common.tenant_context(session, services, provider, who.tenant_id)

    def check(inv: Invoice) -> None:
        if inv.status in FINAL:
            raise Conflict(f"An invoice in status {inv.status} cannot be {operation}", code="invalid_state")

    def apply(inv: Invoice, snap: InvoiceSnapshot) -> None:
        apply_snapshot(inv, snap)
        inv.updated_at = utcnow()

    row = await objects.acted(
        session,
        Invoice,
        who.tenant_id,
        invoice_id,
        check=check,
        call=lambda inv: call(provider, ctx, inv.provider_invoice_id, store.provider_key(invoice_id, operation)),
        apply=apply,
    )
    return await objects.answer(session, attempt, row, view, status=200)


async def send_invoice(
    session: AsyncSession, services: Services, who: TenantPrincipal, invoice_id: str, attempt: Attempt
) -> schemas.Invoice:
    return await _act(
        session,
        services,
        who,
        invoice_id,
        attempt,
        "sent",
        lambda p, ctx, pid, k: p.send_invoice(ctx, pid, idempotency_key=k),
    )


async def void_invoice(
    session: AsyncSession, services: Services, who: TenantPrincipal, invoice_id: str, attempt: Attempt
) -> schemas.Invoice:
    return await _act(
        session,
        services,
        who,
        invoice_id,
        attempt,
        "voided",
        lambda p, ctx, pid, k: p.void_invoice(ctx, pid, idempotency_key=k),
    )


async def get_invoice(session: AsyncSession, who: TenantPrincipal, invoice_id: str) -> schemas.Invoice:
    row = await owned(session, who.tenant_id, invoice_id)
    await session.commit()
    return view(row)


async def list_invoices(
    session: AsyncSession,
    who: TenantPrincipal,
    *,
    limit: int,
    starting_after: str | None,
    customer_id: str | None,
    status: str | None,
) -> schemas.InvoiceList:
    rows, more = await page(
        session,
        Invoice,
        who.tenant_id,
        limit=limit,
        starting_after=starting_after,
        customer_id=customer_id,
        status=status,
    )
    return schemas.InvoiceList(data=[view(r) for r in rows], has_more=more)
