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
from hub.payment_links import schemas
from hub.payments import common
from hub.recurring import objects
from hub.recurring.pages import page
from hub.services import Services
from providers.base.invoices import PaymentLinkCreate, PaymentLinkLine, PaymentLinkSnapshot

ROUTE_CREATE, ROUTE_DEACTIVATE = "payment_links.create", "payment_links.deactivate"


def view(row: PaymentLink) -> schemas.PaymentLink:
    return schemas.PaymentLink(
        id=row.id,
        provider=row.provider,
        provider_payment_link_id=row.provider_payment_link_id,
        url=row.url,
        active=row.active,
        line_items=[schemas.PaymentLinkItem(**i) for i in row.line_items or []],
        created_at=row.created_at,
    )


async def owned(session: AsyncSession, tenant_id: str, link_id: str) -> PaymentLink:
    return await objects.owned(session, PaymentLink, tenant_id, link_id)


async def create_payment_link(
    session: AsyncSession, services: Services, who: TenantPrincipal, data: schemas.PaymentLinkCreate, attempt: Attempt
) -> schemas.PaymentLink:
    lines: list[PaymentLinkLine] = []
    providers = set()
    for n, item in enumerate(data.line_items):
        price = await owned_price(session, who.tenant_id, item.price_id, f"line_items.{n}.price_id")
        providers.add(price.provider)
        lines.append(PaymentLinkLine(provider_price_id=price.provider_price_id, quantity=item.quantity))
    if len(providers) > 1:
        raise ValidationFailed("All prices of a payment link must belong to one provider", param="line_items")
    provider = common.provider_by_name(services, providers.pop())
    ctx = await common.tenant_context(session, services, provider, who.tenant_id)
    hub_lines = [{"price_id": i.price_id, "quantity": i.quantity} for i in data.line_items]

    def build(hub_id: str, snap: PaymentLinkSnapshot) -> PaymentLink:
        now = utcnow()
        return PaymentLink(
            id=hub_id,
            tenant_id=who.tenant_id,
            provider=provider.name,
            provider_payment_link_id=snap.provider_payment_link_id,
            url=snap.url,
            active=snap.active,
            line_items=hub_lines,
            created_at=now,
            updated_at=now,
        )

    row = await objects.created(
        session,
        PaymentLink,
        attempt,
        prefix="plink",
        call=lambda hub_id: provider.create_payment_link(
            ctx,
            PaymentLinkCreate(
                lines=tuple(lines), metadata={"hub_tenant_id": who.tenant_id, "hub_payment_link_id": hub_id}
            ),
            idempotency_key=store.provider_key(hub_id, "payment_link"),
        ),
        build=build,
    )
    return await objects.answer(session, attempt, row, view)


async def list_payment_links(
    session: AsyncSession, who: TenantPrincipal, *, limit: int, starting_after: str | None, active: bool | None
) -> schemas.PaymentLinkList:
    rows, more = await page(
        session, PaymentLink, who.tenant_id, limit=limit, starting_after=starting_after, active=active
    )
    return schemas.PaymentLinkList(data=[view(r) for r in rows], has_more=more)


async def deactivate_payment_link(
    session: AsyncSession, services: Services, who: TenantPrincipal, link_id: str, attempt: Attempt
) -> schemas.PaymentLink:
    row = await owned(session, who.tenant_id, link_id)
    provider = common.provider_by_name(services, row.provider)
    ctx = await common.tenant_context(session, services, provider, who.tenant_id)

    def apply(link: PaymentLink, snap: PaymentLinkSnapshot) -> None:
        link.active = snap.active
        link.updated_at = utcnow()

    # Deactivating twice is harmless at the provider: nothing is refused before the call.
    row = await objects.acted(
        session,
        PaymentLink,
        who.tenant_id,
        link_id,
        check=lambda link: None,
        call=lambda link: provider.deactivate_payment_link(
            ctx, link.provider_payment_link_id, idempotency_key=store.provider_key(link_id, "deactivate")
        ),
        apply=apply,
    )
    return await objects.answer(session, attempt, row, view, status=200)
