"""Payment links: a shareable URL (WhatsApp, email) where anyone pays for catalogue prices."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.catalog.service import owned_price
from hub.db.base import utcnow
from hub.db.recurring import PaymentLink
from hub.errors import ValidationFailed
from hub.idempotency import store
from hub.idempotency.attempt import Attempt
from hub.operations.driver import declare
from hub.payment_links import schemas
from hub.payments import common
from hub.recurring import objects
from hub.recurring.objects import Action, Creation, provider_id
from hub.recurring.pages import page
from hub.services import Services
from providers.base.invoices import PaymentLinkCreate, PaymentLinkLine, PaymentLinkSnapshot

ROUTE_CREATE, ROUTE_DEACTIVATE = "payment_links.create", "payment_links.deactivate"


def view(row: PaymentLink) -> schemas.PaymentLink:
    return schemas.PaymentLink(
        id=row.id,
        provider=row.provider,
        provider_payment_link_id=provider_id(row),
        url=row.url,
        active=row.active,
        line_items=[schemas.PaymentLinkItem(**i) for i in row.line_items or []],
        created_at=row.created_at,
    )


async def owned(session: AsyncSession, tenant_id: str, link_id: str) -> PaymentLink:
    return await objects.owned(session, PaymentLink, tenant_id, link_id)


@declare("POST", "/v1/payment-links")
class CreatePaymentLink(Creation[PaymentLinkSnapshot]):
    route = ROUTE_CREATE
    model, prefix = PaymentLink, "plink"

    def __init__(self, services: Services, who: TenantPrincipal, data: schemas.PaymentLinkCreate) -> None:
        super().__init__(services, who)
        self.data = data

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        self.lines: list[PaymentLinkLine] = []
        providers = set()
        for n, item in enumerate(self.data.line_items):
            price = await owned_price(tx, self.who.tenant_id, item.price_id, f"line_items.{n}.price_id")
            providers.add(price.provider)
            self.lines.append(PaymentLinkLine(provider_price_id=provider_id(price), quantity=item.quantity))
        if len(providers) > 1:
            raise ValidationFailed("All prices of a payment link must belong to one provider", param="line_items")
        self.provider = common.provider_by_name(self.services, providers.pop())
        self.ctx = await common.provider_context(tx, self.services, self.provider, self.who.tenant_id)

    async def call(self) -> PaymentLinkSnapshot:
        hub_id = self.hub_id
        return await self.provider.create_payment_link(
            self.ctx,
            PaymentLinkCreate(
                lines=tuple(self.lines), metadata={"hub_tenant_id": self.who.tenant_id, "hub_payment_link_id": hub_id}
            ),
            idempotency_key=store.provider_key(hub_id, "payment_link"),
        )

    def pending(self) -> PaymentLink:
        return self.new_row(
            url="",  # the provider's, with its answer
            active=False,
            line_items=[{"price_id": i.price_id, "quantity": i.quantity} for i in self.data.line_items],
        )

    def fill(self, row: PaymentLink, answer: PaymentLinkSnapshot) -> None:
        row.provider_payment_link_id, row.url, row.active = answer.provider_payment_link_id, answer.url, answer.active

    def view(self, row: PaymentLink) -> schemas.PaymentLink:
        return view(row)


async def list_payment_links(
    session: AsyncSession, who: TenantPrincipal, *, limit: int, starting_after: str | None, active: bool | None
) -> schemas.PaymentLinkList:
    rows, more = await page(
        session, PaymentLink, who.tenant_id, limit=limit, starting_after=starting_after, active=active
    )
    return schemas.PaymentLinkList(data=[view(r) for r in rows], has_more=more)


@declare("POST", "/v1/payment-links/{link_id:str}/deactivate")
class DeactivatePaymentLink(Action[PaymentLinkSnapshot]):
    """Deactivating twice is harmless at the provider: nothing is refused before the call."""

    route = ROUTE_DEACTIVATE
    model = PaymentLink

    async def call(self) -> PaymentLinkSnapshot:
        return await self.provider.deactivate_payment_link(
            self.ctx,
            self.row.provider_payment_link_id,
            idempotency_key=store.provider_key(self.object_id, "deactivate"),
        )

    def apply(self, row: PaymentLink, answer: PaymentLinkSnapshot) -> None:
        row.active = answer.active
        row.updated_at = utcnow()

    def view(self, row: PaymentLink) -> schemas.PaymentLink:
        return view(row)
