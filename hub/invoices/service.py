"""Invoices: create with lines (optionally sending at once), send, void, read, list.

The provider emails its hosted page and takes the payment; events keep the status true.
"""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.customers.service import owned as owned_customer
from hub.db.base import utcnow
from hub.db.recurring import Invoice
from hub.errors import Conflict
from hub.idempotency import store
from hub.idempotency.attempt import Attempt
from hub.invoices import schemas
from hub.invoices.status import FINAL, apply_snapshot
from hub.operations.driver import declare, end
from hub.operations.policy import Rule
from hub.payments import common, money
from hub.recurring import objects
from hub.recurring.objects import Action, Creation
from hub.recurring.pages import page
from hub.services import Services
from hub.tenancy.loader import provider_by_name, provider_context
from providers.base.errors import ProviderError
from providers.base.invoices import InvoiceCreate, InvoiceLine, InvoiceSnapshot

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


@declare("POST", "/v1/invoices")
class CreateInvoice(Creation[InvoiceSnapshot]):
    """An invoice, sent at once with ``send``. The provider is asked twice then (the draft, then its
    sending); a draft made is kept even when the sending fails, so a retry with the key sends this
    one instead of making a second draft."""

    route = ROUTE_CREATE
    model, prefix = Invoice, "inv"

    def __init__(self, services: Services, who: TenantPrincipal, data: schemas.InvoiceCreate) -> None:
        super().__init__(services, who)
        self.data = data
        #: The draft: an earlier attempt's row, or the one this attempt's answer makes.
        self.draft: Invoice | None = None

    def validate(self) -> None:
        currency = self.currency = money.normalize_currency(self.data.currency)
        total = 0
        for n, line in enumerate(self.data.items):
            money.check_amount(line.amount, currency, param=f"items.{n}.amount", minimum=False)
            total += line.amount * line.quantity
        money.check_amount(total, currency, param="items")

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        customer = await owned_customer(tx, self.who.tenant_id, self.data.customer_id, param="customer_id")
        self.provider = provider_by_name(self.services, customer.provider)
        self.ctx = await provider_context(tx, self.services, self.provider, self.who.tenant_id)
        self.customer_id, self.provider_customer_id = customer.id, common.remote_customer_id(customer)

    async def resume(self, tx: AsyncSession, attempt: Attempt) -> schemas.Invoice | None:
        earlier = await tx.get(Invoice, attempt.object_id(self.prefix))
        if earlier is not None and self._to_send(earlier):
            self.draft = earlier  # made, but its sending failed: send it now
            return None
        return view(earlier) if earlier is not None else None

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> None:
        await super().prepare(tx, attempt)
        self.attempt, self.made = attempt, self.draft is None

    def _to_send(self, row: Invoice) -> bool:
        return self.data.send and row.status == "draft"

    async def call(self) -> InvoiceSnapshot:
        hub_id = self.hub_id
        if self.draft is None:
            snap = await self.provider.create_invoice(
                self.ctx,
                InvoiceCreate(
                    provider_customer_id=self.provider_customer_id,
                    currency=self.currency,
                    lines=tuple(InvoiceLine(i.description, i.amount, i.quantity) for i in self.data.items),
                    days_until_due=self.data.days_until_due,
                    metadata={"hub_tenant_id": self.who.tenant_id, "hub_invoice_id": hub_id},
                ),
                idempotency_key=store.provider_key(hub_id, "invoice"),
            )
            self.draft = self.build(snap)
            if not self._to_send(self.draft):
                return snap
        return await self.provider.send_invoice(
            self.ctx, self.draft.provider_invoice_id, idempotency_key=store.provider_key(hub_id, "send")
        )

    def build(self, answer: InvoiceSnapshot) -> Invoice:
        now = utcnow()
        row = Invoice(
            id=self.hub_id,
            tenant_id=self.who.tenant_id,
            provider=self.provider.name,
            provider_invoice_id=answer.provider_invoice_id,
            customer_id=self.customer_id,
            status="draft",
            currency=self.currency,
            amount_due=answer.amount_due,
            amount_paid=0,
            items=[{"description": i.description, "amount": i.amount, "quantity": i.quantity} for i in self.data.items],
            created_at=now,
            updated_at=now,
        )
        apply_snapshot(row, answer)
        return row

    async def record(self, tx: AsyncSession, answer: InvoiceSnapshot) -> schemas.Invoice:
        row = self.draft
        assert row is not None
        if self.made:
            tx.add(row)
        apply_snapshot(row, answer)  # the sending's answer (the draft's again, without one)
        await tx.flush()  # an update time is set by the flush: the answer shows what is stored
        return view(row)

    async def failed(self, tx: AsyncSession, exc: ProviderError, rule: Rule) -> None:
        if self.draft is None:
            return  # no draft was made: the table's rule alone
        # The sending failed: the draft is kept (here as at the provider).
        if self.made:
            tx.add(self.draft)
        if rule.key == "forget":
            # Refused, with the draft made: the key answers with this refusal from now on rather
            # than making a second draft (what exists at the provider is kept, as after a decline).
            await self.attempt.settle_error(tx, exc)

    def view(self, row: Invoice) -> schemas.Invoice:
        return view(row)


class _InvoiceAction(Action[InvoiceSnapshot]):
    """Send or void: refuse a final invoice, call the provider, apply its answer."""

    model = Invoice
    #: The operation's name in the refusal and in the provider idempotency key.
    operation: ClassVar[str]

    def check(self, row: Invoice) -> None:
        if row.status in FINAL:
            raise Conflict(f"An invoice in status {row.status} cannot be {self.operation}", code="invalid_state")

    def key(self) -> str:
        return store.provider_key(self.object_id, self.operation)

    def apply(self, row: Invoice, answer: InvoiceSnapshot) -> None:
        apply_snapshot(row, answer)
        row.updated_at = utcnow()

    def view(self, row: Invoice) -> schemas.Invoice:
        return view(row)


@declare("POST", "/v1/invoices/{invoice_id:str}/send")
class SendInvoice(_InvoiceAction):
    route, operation = ROUTE_SEND, "sent"

    async def call(self) -> InvoiceSnapshot:
        return await self.provider.send_invoice(self.ctx, self.row.provider_invoice_id, idempotency_key=self.key())


@declare("POST", "/v1/invoices/{invoice_id:str}/void")
class VoidInvoice(_InvoiceAction):
    route, operation = ROUTE_VOID, "voided"

    async def call(self) -> InvoiceSnapshot:
        return await self.provider.void_invoice(self.ctx, self.row.provider_invoice_id, idempotency_key=self.key())


async def get_invoice(session: AsyncSession, who: TenantPrincipal, invoice_id: str) -> schemas.Invoice:
    row = await owned(session, who.tenant_id, invoice_id)
    await end(session)
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
