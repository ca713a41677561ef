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
from hub.recurring.objects import Action, Creation, provider_id
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
        provider_invoice_id=provider_id(row),
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
        #: The draft this attempt's call made (None: none, or an earlier attempt's is sent).
        self.created: InvoiceSnapshot | None = None

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
        self.row = await tx.get(Invoice, attempt.object_id(self.prefix))
        if self.row is None or self.row.provider_invoice_id is None or self._to_send(self.row.status):
            return None  # not made yet, or made but its sending failed: send it now
        return view(self.row)

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> None:
        await super().prepare(tx, attempt)
        self.attempt, self.draft_id = attempt, self.row.provider_invoice_id

    def _to_send(self, status: str) -> bool:
        return self.data.send and status == "draft"

    def pending(self) -> Invoice:
        return self.new_row(
            customer_id=self.customer_id,
            status="draft",
            currency=self.currency,
            amount_due=0,
            amount_paid=0,
            items=[{"description": i.description, "amount": i.amount, "quantity": i.quantity} for i in self.data.items],
        )

    async def call(self) -> InvoiceSnapshot:
        hub_id, draft_id = self.hub_id, self.draft_id
        if draft_id is None:
            self.created = snap = await self.provider.create_invoice(
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
            if not self._to_send(snap.status):
                return snap
            draft_id = snap.provider_invoice_id
        return await self.provider.send_invoice(self.ctx, draft_id, idempotency_key=store.provider_key(hub_id, "send"))

    def fill(self, row: Invoice, answer: InvoiceSnapshot) -> None:
        if self.created is not None:
            apply_snapshot(row, self.created)  # the draft's answer, before its sending's
        row.provider_invoice_id = answer.provider_invoice_id
        apply_snapshot(row, answer)

    async def failed(self, tx: AsyncSession, exc: ProviderError, rule: Rule) -> None:
        if self.draft_id is None and self.created is None:
            await super().failed(tx, exc, rule)  # no draft was made: the table's rule alone
            return
        # The sending failed: the draft is kept (here as at the provider).
        if self.created is not None:
            row = await tx.get(Invoice, self.hub_id, with_for_update=True, populate_existing=True)
            assert row is not None
            row.provider_invoice_id = self.created.provider_invoice_id
            apply_snapshot(row, self.created)
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
